//! Pending transactions: submitted or gossiped, waiting for a block; and why some were dropped.

use std::collections::{HashMap, HashSet};

use crate::chain::block::Block;
use crate::chain::state::{ChainState, TxError};
use crate::chain::tx::Tx;

/// Most transactions one block carries.
const MAX_PER_BLOCK: usize = 64;

#[derive(Default)]
pub struct Mempool {
    txs: Vec<Tx>,
    hashes: HashSet<String>,
    dropped: HashMap<String, String>,
}

impl Mempool {
    /// Adds a transaction that applies to `state` now; `Ok(false)` if it was already here.
    pub fn add(&mut self, tx: Tx, state: &ChainState) -> Result<bool, TxError> {
        let hash = tx.hash();
        if self.hashes.contains(&hash) {
            return Ok(false);
        }
        state.check_tx(&tx)?;
        self.hashes.insert(hash);
        self.txs.push(tx);
        Ok(true)
    }

    pub fn contains(&self, hash: &str) -> bool {
        self.hashes.contains(hash)
    }

    pub fn dropped(&self, hash: &str) -> Option<&String> {
        self.dropped.get(hash)
    }

    /// The transactions for the next block: those that apply, in order, on top of each other.
    pub fn batch(&self, state: &ChainState) -> Vec<Tx> {
        let mut scratch = state.clone();
        self.txs
            .iter()
            .filter(|tx| scratch.apply_tx(tx).is_ok())
            .take(MAX_PER_BLOCK)
            .cloned()
            .collect()
    }

    /// After a commit: forget what the block carried and drop what no longer applies.
    pub fn committed(&mut self, block: &Block, state: &ChainState) -> Vec<(Tx, TxError)> {
        let included: HashSet<String> = block.txs.iter().map(Tx::hash).collect();
        let mut dropped = Vec::new();
        let mut kept = Vec::new();
        for tx in self.txs.drain(..) {
            let hash = tx.hash();
            if included.contains(&hash) {
                self.hashes.remove(&hash);
            } else if let Err(error) = state.check_tx(&tx) {
                self.hashes.remove(&hash);
                self.dropped.insert(hash, error.to_string());
                dropped.push((tx, error));
            } else {
                kept.push(tx);
            }
        }
        self.txs = kept;
        dropped
    }
}
