//! A block and its hash: the hash covers every field but itself, so any edit shows.

use serde::{Deserialize, Serialize};

use crate::chain::genesis::Genesis;
use crate::chain::hash::sha256_hex;
use crate::chain::tx::Tx;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub height: u64,
    pub prev_hash: String,
    pub timestamp_ms: u64,
    /// The name of the sealer that built it (it may commit in a later round, led by another).
    pub proposer: String,
    /// Only block 0 carries the genesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis: Option<Genesis>,
    #[serde(default)]
    pub txs: Vec<Tx>,
    pub hash: String,
}

/// The hashed part of a block, in a fixed field order (`serde_json` keeps declaration order).
#[derive(Serialize)]
struct Body<'a> {
    height: u64,
    prev_hash: &'a str,
    timestamp_ms: u64,
    proposer: &'a str,
    genesis: &'a Option<Genesis>,
    txs: &'a [Tx],
}

impl Block {
    pub fn seal(
        height: u64,
        prev_hash: String,
        timestamp_ms: u64,
        proposer: String,
        genesis: Option<Genesis>,
        txs: Vec<Tx>,
    ) -> Self {
        let mut block = Self {
            height,
            prev_hash,
            timestamp_ms,
            proposer,
            genesis,
            txs,
            hash: String::new(),
        };
        block.hash = block.compute_hash();
        block
    }

    pub fn compute_hash(&self) -> String {
        let body = Body {
            height: self.height,
            prev_hash: &self.prev_hash,
            timestamp_ms: self.timestamp_ms,
            proposer: &self.proposer,
            genesis: &self.genesis,
            txs: &self.txs,
        };
        sha256_hex(&serde_json::to_vec(&body).unwrap_or_default())
    }
}
