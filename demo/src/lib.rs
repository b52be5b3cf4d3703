//! demo-node (library): a small consensus chain on loopback, laid out like a FISCO BCOS Air node.
//!
//! `cli` parses the command line and picks exit codes; `chain` is the ledger and its state;
//! `node` runs consensus, sync and the wire protocol; the rest are small helpers.

mod certs;
mod chain;
pub mod cli;
mod clock;
mod config;
mod layout;
mod logger;
mod node;
mod scripts;
mod version;

/// Runs the demo-node command line (what the `demo-node` binary does).
pub fn main() -> std::process::ExitCode {
    cli::main()
}
