//! SHA-256 as lowercase hex: the one digest the chain uses for blocks and transactions.

use std::fmt::Write;

use sha2::{Digest, Sha256};

/// The `prev_hash` of the genesis block.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The first 8 hex digits, enough to tell hashes and node ids apart in a log line.
pub fn short(hex: &str) -> &str {
    hex.get(..8).unwrap_or(hex)
}
