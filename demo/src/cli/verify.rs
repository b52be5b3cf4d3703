//! `demo-node verify`: check a ledger's hash chain, in a node directory or a checkpoint.

use std::path::PathBuf;

use crate::chain::checkpoint::Manifest;
use crate::chain::genesis::Genesis;
use crate::chain::ledger::{self, LedgerError};
use crate::cli::{CORRUPT, FAILURE, OK};
use crate::layout::NodeDir;

#[derive(clap::Args)]
pub struct Args {
    /// A node directory, or a checkpoint directory (data/checkpoints/HEIGHT).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

pub fn main(args: &Args) -> u8 {
    match verify(args) {
        Ok(summary) => {
            println!("{summary}");
            OK
        }
        Err((code, message)) => {
            eprintln!("error: {message}");
            code
        }
    }
}

fn verify(args: &Args) -> Result<String, (u8, String)> {
    let node = NodeDir::new(&args.dir);
    let (ledger_path, is_checkpoint) = if node.ledger().is_file() {
        (node.ledger(), false)
    } else if args.dir.join("blocks.jsonl").is_file() {
        (args.dir.join("blocks.jsonl"), true)
    } else {
        return Err((
            FAILURE,
            format!(
                "no ledger in {} (data/blocks.jsonl or blocks.jsonl)",
                args.dir.display()
            ),
        ));
    };
    let genesis_path = args.dir.join("genesis.json");
    let genesis = if genesis_path.is_file() {
        Some(Genesis::load(&genesis_path).map_err(|e| (FAILURE, e.to_string()))?)
    } else {
        None
    };
    let replay = ledger::replay_file(&ledger_path, genesis.as_ref())
        .map_err(|e| (FAILURE, e.to_string()))?;
    let torn = replay.torn_tail;
    let replay = replay.into_strict().map_err(|e| match e {
        LedgerError::Corrupt { .. } => (CORRUPT, e.to_string()),
        other => (FAILURE, other.to_string()),
    })?;
    let tip = replay
        .tip
        .as_ref()
        .map(|b| (b.height, b.hash.clone()))
        .unwrap_or_default();
    if is_checkpoint {
        let manifest_path = args.dir.join("checkpoint.json");
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
            (
                FAILURE,
                format!("cannot read {}: {e}", manifest_path.display()),
            )
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| (FAILURE, format!("{}: {e}", manifest_path.display())))?;
        if (manifest.height, manifest.hash.as_str()) != (tip.0, tip.1.as_str()) {
            return Err((
                CORRUPT,
                format!(
                    "checkpoint.json claims height {} ({}) but the ledger ends at {} ({})",
                    manifest.height, manifest.hash, tip.0, tip.1
                ),
            ));
        }
    }
    let mut summary = format!("ok: {} blocks, height {}, tip {}", tip.0 + 1, tip.0, tip.1);
    if torn {
        summary.push_str(" (a torn last line after it is ignored: the node drops it on start)");
    }
    Ok(summary)
}
