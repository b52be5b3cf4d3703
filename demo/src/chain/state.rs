//! Chain state: who seals and observes, the compatibility version, and the tip; blocks change it.

use serde::{Deserialize, Serialize};

use crate::chain::block::Block;
use crate::chain::genesis::{ConsensusKind, Genesis, Member};
use crate::chain::hash::short;
use crate::chain::tx::{Tx, TxOp};
use crate::version::Version;

/// A node's part in the chain. `None`: not a member (it may still follow and sync).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Sealer,
    Observer,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("{0} is already a sealer")]
    AlreadySealer(String),
    #[error("{0} is already an observer")]
    AlreadyObserver(String),
    #[error("node {0} is not a member of the chain")]
    UnknownNode(String),
    #[error("{0} is the last sealer; a chain needs at least one")]
    LastSealer(String),
    #[error("the name {name} is taken by another node ({node_id})")]
    NameTaken { name: String, node_id: String },
    #[error("compatibility_version cannot go down (from {current} to {requested})")]
    Downgrade {
        current: Version,
        requested: Version,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("expected height {expected}, found {found}")]
    Height { expected: u64, found: u64 },
    #[error("prev_hash {found} does not match the hash of block {prev_height} ({expected})")]
    Link {
        prev_height: u64,
        expected: String,
        found: String,
    },
    #[error("hash mismatch (stored {stored}, computed {computed})")]
    Hash { stored: String, computed: String },
    #[error("only block 0 may carry a genesis")]
    StrayGenesis,
    #[error("transaction {index} is invalid: {error}")]
    Tx { index: usize, error: TxError },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainState {
    pub chain_id: String,
    pub consensus: ConsensusKind,
    pub sealers: Vec<Member>,
    pub observers: Vec<Member>,
    pub compatibility_version: Version,
    /// Height and hash of the last applied block.
    pub height: u64,
    pub tip_hash: String,
}

impl ChainState {
    pub fn from_genesis(genesis: &Genesis, block0_hash: &str) -> Self {
        Self {
            chain_id: genesis.chain_id.clone(),
            consensus: genesis.consensus,
            sealers: genesis.sealers.clone(),
            observers: genesis.observers.clone(),
            compatibility_version: genesis.compatibility_version,
            height: 0,
            tip_hash: block0_hash.to_string(),
        }
    }

    pub fn faults(&self) -> usize {
        self.consensus.max_faults(self.sealers.len())
    }

    pub fn quorum(&self) -> usize {
        self.consensus.quorum(self.sealers.len())
    }

    /// The sealer that leads `round` at `height`: rotation by height, then by round.
    pub fn leader(&self, height: u64, round: u64) -> Option<&Member> {
        let n = u64::try_from(self.sealers.len()).ok().filter(|n| *n > 0)?;
        let index = usize::try_from(height.wrapping_add(round) % n).ok()?;
        self.sealers.get(index)
    }

    pub fn is_sealer(&self, node_id: &str) -> bool {
        self.sealers.iter().any(|m| m.node_id == node_id)
    }

    pub fn role(&self, node_id: &str) -> Role {
        if self.is_sealer(node_id) {
            Role::Sealer
        } else if self.observers.iter().any(|m| m.node_id == node_id) {
            Role::Observer
        } else {
            Role::None
        }
    }

    /// A member by node id or by name.
    pub fn member(&self, id_or_name: &str) -> Option<&Member> {
        self.sealers
            .iter()
            .chain(&self.observers)
            .find(|m| m.node_id == id_or_name || m.name == id_or_name)
    }

    pub fn sealer_names(&self) -> Vec<String> {
        self.sealers.iter().map(|m| m.name.clone()).collect()
    }

    pub fn observer_names(&self) -> Vec<String> {
        self.observers.iter().map(|m| m.name.clone()).collect()
    }

    /// Whether `tx` would apply now (without applying it).
    pub fn check_tx(&self, tx: &Tx) -> Result<(), TxError> {
        self.clone().apply_tx(tx)
    }

    pub fn apply_tx(&mut self, tx: &Tx) -> Result<(), TxError> {
        match &tx.op {
            TxOp::AddSealer { member } => {
                self.check_name(member)?;
                if self.is_sealer(&member.node_id) {
                    return Err(TxError::AlreadySealer(member.name.clone()));
                }
                self.observers.retain(|m| m.node_id != member.node_id);
                self.sealers.push(member.clone());
            }
            TxOp::AddObserver { member } => {
                self.check_name(member)?;
                if self.role(&member.node_id) == Role::Observer {
                    return Err(TxError::AlreadyObserver(member.name.clone()));
                }
                self.remove_sealer(&member.node_id)?;
                self.observers.push(member.clone());
            }
            TxOp::RemoveNode { node_id } => {
                if self.role(node_id) == Role::None {
                    return Err(TxError::UnknownNode(short(node_id).to_string()));
                }
                self.remove_sealer(node_id)?;
                self.observers.retain(|m| &m.node_id != node_id);
            }
            TxOp::SetCompatibility { version } => {
                if *version < self.compatibility_version {
                    return Err(TxError::Downgrade {
                        current: self.compatibility_version,
                        requested: *version,
                    });
                }
                self.compatibility_version = *version;
            }
        }
        Ok(())
    }

    /// Checks that `block` extends this state and applies its transactions.
    pub fn apply_block(&mut self, block: &Block) -> Result<(), BlockError> {
        if block.height != self.height + 1 {
            return Err(BlockError::Height {
                expected: self.height + 1,
                found: block.height,
            });
        }
        let computed = block.compute_hash();
        if computed != block.hash {
            return Err(BlockError::Hash {
                stored: block.hash.clone(),
                computed,
            });
        }
        if block.prev_hash != self.tip_hash {
            return Err(BlockError::Link {
                prev_height: self.height,
                expected: self.tip_hash.clone(),
                found: block.prev_hash.clone(),
            });
        }
        if block.genesis.is_some() {
            return Err(BlockError::StrayGenesis);
        }
        let mut next = self.clone();
        for (index, tx) in block.txs.iter().enumerate() {
            next.apply_tx(tx)
                .map_err(|error| BlockError::Tx { index, error })?;
        }
        next.height = block.height;
        next.tip_hash.clone_from(&block.hash);
        *self = next;
        Ok(())
    }

    fn remove_sealer(&mut self, node_id: &str) -> Result<(), TxError> {
        if self.is_sealer(node_id) && self.sealers.len() == 1 {
            return Err(TxError::LastSealer(self.sealers[0].name.clone()));
        }
        self.sealers.retain(|m| m.node_id != node_id);
        Ok(())
    }

    fn check_name(&self, member: &Member) -> Result<(), TxError> {
        match self
            .sealers
            .iter()
            .chain(&self.observers)
            .find(|m| m.name == member.name && m.node_id != member.node_id)
        {
            Some(other) => Err(TxError::NameTaken {
                name: member.name.clone(),
                node_id: short(&other.node_id).to_string(),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(i: usize) -> Member {
        Member {
            name: format!("node{i}"),
            node_id: format!("{i:0128}"),
        }
    }

    fn state(sealers: usize) -> ChainState {
        let genesis = Genesis {
            chain_id: "t".into(),
            consensus: ConsensusKind::Bft,
            compatibility_version: "1.0.0".parse().unwrap(),
            sealers: (0..sealers).map(member).collect(),
            observers: vec![],
            timestamp_ms: 1,
        };
        ChainState::from_genesis(&genesis, &genesis.block().hash)
    }

    fn tx(op: TxOp) -> Tx {
        Tx { op, nonce: 0 }
    }

    #[test]
    fn membership_changes_move_nodes_between_roles() {
        let mut s = state(4);
        let new = member(4);
        s.apply_tx(&tx(TxOp::AddObserver {
            member: new.clone(),
        }))
        .unwrap();
        assert_eq!(s.role(&new.node_id), Role::Observer);
        s.apply_tx(&tx(TxOp::AddSealer {
            member: new.clone(),
        }))
        .unwrap();
        assert_eq!(s.role(&new.node_id), Role::Sealer);
        assert_eq!((s.sealers.len(), s.faults(), s.quorum()), (5, 1, 4));
        assert!(s.observers.is_empty());
        assert_eq!(
            s.apply_tx(&tx(TxOp::AddSealer {
                member: new.clone()
            })),
            Err(TxError::AlreadySealer("node4".into()))
        );
        s.apply_tx(&tx(TxOp::RemoveNode {
            node_id: new.node_id.clone(),
        }))
        .unwrap();
        assert_eq!(s.role(&new.node_id), Role::None);
        assert_eq!(s.sealers.len(), 4);
    }

    #[test]
    fn refuses_to_remove_the_last_sealer_or_reuse_a_name() {
        let mut s = state(1);
        let only = member(0);
        assert!(matches!(
            s.apply_tx(&tx(TxOp::RemoveNode {
                node_id: only.node_id
            })),
            Err(TxError::LastSealer(_))
        ));
        let impostor = Member {
            name: "node0".into(),
            node_id: "f".repeat(128),
        };
        assert!(matches!(
            s.apply_tx(&tx(TxOp::AddObserver { member: impostor })),
            Err(TxError::NameTaken { .. })
        ));
    }

    #[test]
    fn leader_rotates_by_height_and_round() {
        let s = state(4);
        assert_eq!(s.leader(5, 0).unwrap().name, "node1");
        assert_eq!(s.leader(5, 1).unwrap().name, "node2");
        assert_eq!(s.leader(7, 1).unwrap().name, "node0");
    }
}
