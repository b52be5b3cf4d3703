//! Transactions: the membership and compatibility changes that blocks carry.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::chain::genesis::Member;
use crate::chain::hash::{sha256_hex, short};
use crate::version::Version;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TxOp {
    AddSealer { member: Member },
    AddObserver { member: Member },
    RemoveNode { node_id: String },
    SetCompatibility { version: Version },
}

/// An operation plus a nonce, so the same command given twice is two transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tx {
    pub op: TxOp,
    pub nonce: u64,
}

impl Tx {
    pub fn hash(&self) -> String {
        sha256_hex(&serde_json::to_vec(self).unwrap_or_default())
    }
}

impl fmt::Display for TxOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AddSealer { member } => {
                write!(f, "add-sealer {} ({})", member.name, short(&member.node_id))
            }
            Self::AddObserver { member } => {
                write!(
                    f,
                    "add-observer {} ({})",
                    member.name,
                    short(&member.node_id)
                )
            }
            Self::RemoveNode { node_id } => write!(f, "remove-node {}", short(node_id)),
            Self::SetCompatibility { version } => write!(f, "set-compatibility {version}"),
        }
    }
}
