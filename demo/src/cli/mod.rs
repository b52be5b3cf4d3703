//! The command line: clap arguments, one file per subcommand, and the exit codes.
//!
//! Exit codes (a contract for runbooks): 0 ok; 1 failed, or a check said no (not healthy,
//! not synced); 2 bad usage; 3 the node is not running (`status`); 4 the binary is older than
//! the chain's `compatibility_version` (`run`); 5 the ledger is corrupted (`run`, `verify`).

mod admin;
mod cert;
mod checkpoint;
mod client;
mod init;
mod init_node;
mod key_check;
mod release;
mod run;
mod scaffold;
mod status;
mod verify;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::version;

pub const OK: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const NOT_RUNNING: u8 = 3;
pub const INCOMPATIBLE: u8 = 4;
pub const CORRUPT: u8 = 5;

#[derive(Parser)]
#[command(
    name = "demo-node",
    about = "A small consensus chain on loopback, laid out like a FISCO BCOS Air node",
    disable_version_flag = true
)]
struct Cli {
    /// Print this binary's version (its release trailer, else the Cargo version).
    #[arg(short = 'V', long = "version")]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Create a chain: a CA, genesis and one directory per node.
    Init(init::Args),
    /// Add one more node directory to an existing chain (certificates from its CA, its genesis).
    InitNode(init_node::Args),
    /// Run a node in the foreground (what start.sh launches with nohup).
    Run(run::Args),
    /// Report a node's status as JSON, or answer one question with the exit code.
    Status(status::Args),
    /// Submit a membership or compatibility transaction through a running node.
    Admin(admin::Args),
    /// Check a ledger's hash chain (a node directory or a checkpoint directory).
    Verify(verify::Args),
    /// Snapshot a node's ledger at its current height under data/checkpoints/HEIGHT/.
    Checkpoint(checkpoint::Args),
    /// Issue a node's TLS certificate from the chain CA, or print a certificate's fingerprint.
    Cert(cert::Args),
    /// Write a copy of this binary that reports another version (a "release").
    Release(release::Args),
    /// Print this binary's version alone (X.Y.Z).
    Version,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.version {
        println!("demo-node {}", version::own());
        return ExitCode::SUCCESS;
    }
    let code = match cli.command {
        None => {
            let _ = Cli::command().print_help();
            USAGE
        }
        Some(Command::Version) => {
            println!("{}", version::own());
            OK
        }
        Some(Command::Init(args)) => report(init::main(&args)),
        Some(Command::InitNode(args)) => report(init_node::main(&args)),
        Some(Command::Run(args)) => run::main(&args),
        Some(Command::Status(args)) => status::main(&args),
        Some(Command::Admin(args)) => admin::main(&args),
        Some(Command::Verify(args)) => verify::main(&args),
        Some(Command::Checkpoint(args)) => report(checkpoint::main(&args)),
        Some(Command::Release(args)) => report(release::main(&args)),
        Some(Command::Cert(args)) => report(cert::main(&args)),
    };
    ExitCode::from(code)
}

/// Prints an error the way every command does and maps it to FAILURE.
fn report(result: anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => OK,
        Err(e) => {
            eprintln!("error: {e:#}");
            FAILURE
        }
    }
}
