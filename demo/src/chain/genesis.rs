//! Genesis: what a chain starts with (sealers, observers, consensus type, compatibility version).

use std::fmt;
use std::fs;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::chain::block::Block;
use crate::chain::hash::ZERO_HASH;
use crate::version::Version;

/// Which faults the chain tolerates, and so its quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsensusKind {
    /// PBFT-sized quorums: tolerates f = floor((n-1)/3) sealers down.
    Bft,
    /// Raft-sized quorums: tolerates f = floor((n-1)/2) sealers down.
    Cft,
}

impl ConsensusKind {
    pub fn max_faults(self, sealers: usize) -> usize {
        let n = sealers.max(1);
        match self {
            Self::Bft => (n - 1) / 3,
            Self::Cft => (n - 1) / 2,
        }
    }

    /// How many sealers must take part for a block to commit: n - f.
    pub fn quorum(self, sealers: usize) -> usize {
        sealers.max(1) - self.max_faults(sealers)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bft => "bft",
            Self::Cft => "cft",
        }
    }
}

impl fmt::Display for ConsensusKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConsensusKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bft" | "pbft" => Ok(Self::Bft),
            "cft" | "raft" => Ok(Self::Cft),
            _ => Err(format!("`{s}` is not a consensus type (bft or cft)")),
        }
    }
}

/// A node as the chain knows it: a name for people and an id (its public key) for the protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    pub node_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub chain_id: String,
    pub consensus: ConsensusKind,
    pub compatibility_version: Version,
    pub sealers: Vec<Member>,
    pub observers: Vec<Member>,
    pub timestamp_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid genesis file: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

impl Genesis {
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let text = fs::read_to_string(path).map_err(|source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| GenesisError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    pub fn to_json(&self) -> String {
        // Serializing plain data cannot fail; an empty object would fail loading loudly.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Block 0: the same bytes on every node, so its hash identifies the chain.
    pub fn block(&self) -> Block {
        Block::seal(
            0,
            ZERO_HASH.to_string(),
            self.timestamp_ms,
            "genesis".to_string(),
            Some(self.clone()),
            Vec::new(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_is_n_minus_f() {
        let table = [
            (ConsensusKind::Bft, 1, 0, 1),
            (ConsensusKind::Bft, 3, 0, 3),
            (ConsensusKind::Bft, 4, 1, 3),
            (ConsensusKind::Bft, 5, 1, 4),
            (ConsensusKind::Bft, 7, 2, 5),
            (ConsensusKind::Cft, 2, 0, 2),
            (ConsensusKind::Cft, 3, 1, 2),
            (ConsensusKind::Cft, 5, 2, 3),
        ];
        for (kind, n, f, q) in table {
            assert_eq!(kind.max_faults(n), f, "{kind} n={n}");
            assert_eq!(kind.quorum(n), q, "{kind} n={n}");
            // Any two quorums share a sealer: what keeps two commits at one height equal.
            assert!(2 * q > n, "{kind} n={n}");
        }
    }
}
