//! A sealer's promises and accepted proposal at the current height, kept on disk.
//!
//! Paxos is safe across restarts only if an acceptor remembers what it promised and accepted:
//! each change is written (temp file + rename) before the message that announces it is sent.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::chain::block::Block;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub round: u64,
    pub block: Block,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteRecord {
    pub height: u64,
    /// No proposal of a lower round is accepted at this height.
    pub promised: u64,
    pub accepted: Option<Accepted>,
}

impl VoteRecord {
    pub fn fresh(height: u64) -> Self {
        Self {
            height,
            promised: 0,
            accepted: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VoteError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path} is unreadable ({reason}); it holds this node's consensus votes: restore it, or remove it only if no other sealer is down")]
    Corrupt { path: String, reason: String },
}

pub struct VoteStore {
    path: PathBuf,
}

impl VoteStore {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }

    /// The record for `height`; a record of an older height is stale (that height committed).
    pub fn load(&self, height: u64) -> Result<VoteRecord, VoteError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(VoteRecord::fresh(height)),
            Err(e) => {
                return Err(VoteError::Corrupt {
                    path: self.path.display().to_string(),
                    reason: e.to_string(),
                })
            }
        };
        let record: VoteRecord = serde_json::from_str(&text).map_err(|e| VoteError::Corrupt {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(if record.height == height {
            record
        } else {
            VoteRecord::fresh(height)
        })
    }

    pub fn save(&self, record: &VoteRecord) -> Result<(), VoteError> {
        let io = |source| VoteError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let tmp = self.path.with_extension("json.tmp");
        fs::write(&tmp, serde_json::to_vec(record).unwrap_or_default()).map_err(io)?;
        // A killed process leaves the old file or the new one, never a torn one.
        fs::rename(&tmp, &self.path).map_err(io)
    }
}
