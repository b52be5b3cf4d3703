//! `demo-node checkpoint`: snapshot a node's ledger under data/checkpoints/HEIGHT/ (at its tip,
//! or at `--at HEIGHT`); prints HEIGHT.

use std::path::PathBuf;

use crate::chain::checkpoint;
use crate::chain::genesis::Genesis;
use crate::layout::NodeDir;

#[derive(clap::Args)]
pub struct Args {
    /// The node directory (running or not).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Take the checkpoint at this height instead of the tip (the same height on every
    /// replica gives the same checkpoint).
    #[arg(long)]
    at: Option<u64>,
}

pub fn main(args: &Args) -> anyhow::Result<()> {
    let node = NodeDir::new(&args.dir);
    let genesis = Genesis::load(&node.genesis())?;
    let created = checkpoint::create(&node.ledger(), &genesis, &node.checkpoints(), args.at)?;
    if created.existed {
        eprintln!(
            "checkpoint {} already exists: {}",
            created.height,
            created.dir.display()
        );
    }
    println!("{}", created.height);
    Ok(())
}
