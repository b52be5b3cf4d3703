//! demo-node: a small consensus chain on loopback, laid out like a FISCO BCOS Air node.
//!
//! `cli` parses the command line and picks exit codes; `chain` is the ledger and its state;
//! `node` runs consensus, sync and the wire protocol; the rest are small helpers.

mod certs;
mod chain;
mod cli;
mod clock;
mod config;
mod layout;
mod logger;
mod node;
mod scripts;
mod version;

fn main() -> std::process::ExitCode {
    cli::main()
}
