//! `demo-node release`: a copy of this binary that reports another version.

use std::path::PathBuf;

use anyhow::Context;

use crate::version::{self, Version};

#[derive(clap::Args)]
pub struct Args {
    /// The version the copy reports (X.Y.Z).
    #[arg(long)]
    version: Version,
    /// Where to write it (replaced atomically if it exists).
    #[arg(long)]
    out: PathBuf,
}

pub fn main(args: &Args) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot locate this demo-node binary")?;
    version::write_release(&exe, args.version, &args.out)?;
    println!("wrote {} (demo-node {})", args.out.display(), args.version);
    Ok(())
}
