//! `demo-node admin`: submit a membership or compatibility transaction through a running node,
//! then wait until a block includes it; or hand the node's leadership to the other sealers.

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use crate::chain::hash::short;
use crate::cli::client;
use crate::cli::{FAILURE, NOT_RUNNING, OK};
use crate::node::message::{AdminOp, Request, Response, TxState};

#[derive(clap::Args)]
pub struct Args {
    /// A running node's directory (any member; the transaction reaches the sealers by gossip).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Return once submitted, without waiting for a block to include it.
    #[arg(long, global = true)]
    no_wait: bool,
    /// Seconds to wait for the transaction to commit.
    #[arg(long, global = true, default_value_t = 20)]
    timeout: u64,
    #[command(subcommand)]
    op: Op,
}

#[derive(clap::Subcommand)]
enum Op {
    /// Make a node a sealer (a voting member); an observer is promoted.
    AddSealer {
        /// Node id (conf/node.nodeid) or the name of a member or connected node.
        node: String,
        /// The name to record (default: the name the node announces).
        #[arg(long)]
        name: Option<String>,
    },
    /// Make a node an observer (follows, does not vote); a sealer is demoted.
    AddObserver {
        node: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a node from the chain (sealer or observer).
    RemoveNode { node: String },
    /// Raise the chain's `compatibility_version` (nodes with older binaries stop).
    SetCompatibility { version: String },
    /// Stop leading: the node passes its proposer turns to the next sealer until it restarts,
    /// so stopping it then costs the chain no round timeout. Exit 0 once it leads no round.
    MoveLeader,
}

pub fn main(args: &Args) -> u8 {
    let (op, target, name) = match &args.op {
        Op::AddSealer { node, name } => (AdminOp::AddSealer, node, name),
        Op::AddObserver { node, name } => (AdminOp::AddObserver, node, name),
        Op::RemoveNode { node } => (AdminOp::RemoveNode, node, &None),
        Op::SetCompatibility { version } => (AdminOp::SetCompatibility, version, &None),
        Op::MoveLeader => return move_leader(args),
    };
    let addr = match client::node_addr(&args.dir) {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: {e}");
            return FAILURE;
        }
    };
    let request = Request::Submit {
        op,
        target: target.clone(),
        name: name.clone(),
    };
    let hash = match ask(&addr, request) {
        Ok(Response::Submitted { hash, description }) => {
            println!("submitted {description} as transaction {}", short(&hash));
            hash
        }
        Ok(other) => return unexpected(&other),
        Err(code) => return code,
    };
    if args.no_wait {
        return OK;
    }
    wait_for_commit(&addr, &hash, Duration::from_secs(args.timeout))
}

/// One request; an error answer or no answer is printed and becomes the exit code.
fn ask(addr: &str, request: Request) -> Result<Response, u8> {
    match client::request(addr, request) {
        Ok(Response::Error { message }) => {
            eprintln!("error: {message}");
            Err(FAILURE)
        }
        Ok(answer) => Ok(answer),
        Err(e @ client::ClientError::NotRunning { .. }) => {
            eprintln!("error: {e}");
            Err(NOT_RUNNING)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(FAILURE)
        }
    }
}

fn unexpected(answer: &Response) -> u8 {
    eprintln!("error: unexpected answer {answer:?}");
    FAILURE
}

/// Asks the node to pass its turns, then waits until it no longer leads the round it is in
/// (a proposal already out commits first).
fn move_leader(args: &Args) -> u8 {
    let addr = match client::node_addr(&args.dir) {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: {e}");
            return FAILURE;
        }
    };
    match ask(&addr, Request::MoveLeader) {
        Ok(Response::Done { message }) => println!("{message}"),
        Ok(other) => return unexpected(&other),
        Err(code) => return code,
    }
    if args.no_wait {
        return OK;
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    while Instant::now() < deadline {
        match client::request(&addr, Request::Status) {
            Ok(Response::Status(report)) if !report.leading => return OK,
            _ => thread::sleep(Duration::from_millis(50)),
        }
    }
    eprintln!(
        "error: the node still leads its round after {} s",
        args.timeout
    );
    FAILURE
}

fn wait_for_commit(addr: &str, hash: &str, timeout: Duration) -> u8 {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match client::request(
            addr,
            Request::TxStatus {
                hash: hash.to_string(),
            },
        ) {
            Ok(Response::Tx(TxState::Committed { height })) => {
                println!("committed in block {height}");
                return OK;
            }
            Ok(Response::Tx(TxState::Dropped { reason })) => {
                eprintln!("error: the transaction was dropped: {reason}");
                return FAILURE;
            }
            Ok(_) | Err(_) => thread::sleep(Duration::from_millis(200)),
        }
    }
    eprintln!(
        "error: not committed within {} s (is a quorum of sealers up? `status --healthy` tells)",
        timeout.as_secs()
    );
    FAILURE
}
