//! `demo-node run`: the node in the foreground; a refusal is written to node.failed for start.sh.

use std::fs;
use std::path::PathBuf;

use crate::cli::{CORRUPT, FAILURE, INCOMPATIBLE, OK};
use crate::layout::NodeDir;
use crate::node::runner;

#[derive(clap::Args)]
pub struct Args {
    /// The node directory.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

pub fn main(args: &Args) -> u8 {
    match runner::run(&args.dir) {
        Ok(()) => OK,
        Err(e) => {
            let message = format!("error: {e}");
            eprintln!("{message}");
            let _ = fs::write(
                NodeDir::new(&args.dir).failed_file(),
                format!("{message}\n"),
            );
            if e.is_incompatible() {
                INCOMPATIBLE
            } else if e.is_corrupt() {
                CORRUPT
            } else {
                FAILURE
            }
        }
    }
}
