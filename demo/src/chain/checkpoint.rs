//! Checkpoints: a consistent copy of the ledger at one height under `data/checkpoints/HEIGHT/`.
//!
//! The ledger is append-only, so any prefix of whole lines is a consistent ledger: a checkpoint
//! copies the lines up to the tip it reads, checks them, and appears by a rename, never half-written.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::chain::genesis::Genesis;
use crate::chain::ledger::{self, LedgerError};
use crate::clock;

/// `checkpoint.json`: what the checkpoint claims, checked by `verify`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub height: u64,
    pub hash: String,
    pub created_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the ledger ends at height {tip}, below the checkpoint height {at}")]
    Beyond { at: u64, tip: u64 },
    #[error("cannot write the checkpoint {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// The outcome: the height and whether that checkpoint was already there.
pub struct Created {
    pub height: u64,
    pub dir: PathBuf,
    pub existed: bool,
}

/// Snapshots `ledger_path` (with its genesis) into `checkpoints_dir/HEIGHT`: at its tip, or
/// at height `at` (the ledger's first `at + 1` blocks), so that every replica can take the
/// same checkpoint while they commit.
pub fn create(
    ledger_path: &Path,
    genesis: &Genesis,
    checkpoints_dir: &Path,
    at: Option<u64>,
) -> Result<Created, CheckpointError> {
    let mut bytes = fs::read(ledger_path).map_err(|source| LedgerError::Io {
        path: ledger_path.display().to_string(),
        source,
    })?;
    let mut replay = ledger::replay_bytes(&bytes, Some(genesis)).into_strict()?;
    if let Some(at) = at {
        let tip = replay.state.as_ref().map_or(0, |s| s.height);
        if at > tip {
            return Err(CheckpointError::Beyond { at, tip });
        }
        if at < tip {
            // The line of block `at + 1` starts where the prefix ends.
            let end = usize::try_from(at + 1)
                .ok()
                .and_then(|i| replay.offsets.get(i))
                .and_then(|&o| usize::try_from(o).ok())
                .unwrap_or(bytes.len());
            bytes.truncate(end);
            replay = ledger::replay_bytes(&bytes, Some(genesis)).into_strict()?;
        }
    }
    let (Some(state), Some(tip)) = (&replay.state, &replay.tip) else {
        return Err(LedgerError::Empty.into());
    };
    let height = state.height;
    let dir = checkpoints_dir.join(height.to_string());
    if dir.is_dir() {
        return Ok(Created {
            height,
            dir,
            existed: true,
        });
    }
    let tmp = checkpoints_dir.join(format!(".tmp-{height}-{}", std::process::id()));
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| CheckpointError::Io { path, source }
    };
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let good = usize::try_from(replay.good_len).unwrap_or(bytes.len());
    let manifest = Manifest {
        height,
        hash: tip.hash.clone(),
        created_ms: clock::now_ms(),
    };
    let files = [
        ("blocks.jsonl", bytes[..good].to_vec()),
        ("genesis.json", genesis.to_json().into_bytes()),
        ("state.json", to_json(state)),
        ("checkpoint.json", to_json(&manifest)),
    ];
    for (name, content) in files {
        let path = tmp.join(name);
        fs::write(&path, content).map_err(io(&path))?;
        File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(io(&path))?;
    }
    fs::rename(&tmp, &dir).map_err(io(&dir))?;
    // Make the rename itself durable.
    File::open(checkpoints_dir)
        .and_then(|d| d.sync_all())
        .map_err(io(checkpoints_dir))?;
    Ok(Created {
        height,
        dir,
        existed: false,
    })
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
