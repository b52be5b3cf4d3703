//! `demo-node status`: a node's status as JSON, or one question answered by the exit code.
//!
//! The running node answers over its port; a node that is not running is described from its
//! files (running=false) and the exit code is 3 whatever the question.

use std::fs;
use std::path::PathBuf;

use anyhow::Context;

use crate::chain::genesis::Genesis;
use crate::chain::ledger;
use crate::cli::client::{self, ClientError};
use crate::cli::key_check;
use crate::cli::{FAILURE, NOT_RUNNING, OK};
use crate::config::NodeConfig;
use crate::layout::NodeDir;
use crate::node::message::{Request, Response};
use crate::node::status::StatusReport;
use crate::version;

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("question").args(["healthy", "synced", "version", "height", "sealers", "live_sealers", "role", "key_check"]))]
pub struct Args {
    /// The node directory.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Exit 0 iff running, synced and hearing a quorum of sealers; else one line why.
    #[arg(long)]
    healthy: bool,
    /// Exit 0 iff synced (within one block of the highest height heard from live peers).
    #[arg(long)]
    synced: bool,
    /// Print the version of the binary in the node directory, running or not.
    #[arg(long)]
    version: bool,
    /// Print the height.
    #[arg(long)]
    height: bool,
    /// Print the current sealers (chain state), one name per line.
    #[arg(long)]
    sealers: bool,
    /// Print the sealers this node hears from (itself included), one name per line.
    #[arg(long)]
    live_sealers: bool,
    /// Print this node's part in the chain: sealer, observer or none (not a member).
    #[arg(long)]
    role: bool,
    /// Exit 0 iff conf/node.nodeid is the id of conf/ssl.key and the one the chain records
    /// for this node's name (running or not); else one line why.
    #[arg(long)]
    key_check: bool,
}

pub fn main(args: &Args) -> u8 {
    let node = NodeDir::new(&args.dir);
    if args.version {
        return match version::of_binary(&node.binary()) {
            Ok(v) => {
                println!("{v}");
                OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                FAILURE
            }
        };
    }
    if args.key_check {
        return match key_check::check(&node) {
            Ok(Ok(line)) => {
                println!("{line}");
                OK
            }
            Ok(Err(why)) => {
                println!("{why}");
                FAILURE
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                FAILURE
            }
        };
    }
    let report = match query(&node) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e:#}");
            return FAILURE;
        }
    };
    let code = answer(args, &report);
    if report.running {
        code
    } else {
        NOT_RUNNING
    }
}

fn answer(args: &Args, r: &StatusReport) -> u8 {
    if args.height {
        println!("{}", r.height);
        OK
    } else if args.live_sealers {
        for name in &r.live_sealers {
            println!("{name}");
        }
        OK
    } else if args.role {
        let role = serde_json::to_value(r.role).unwrap_or_default();
        println!("{}", role.as_str().unwrap_or("none"));
        OK
    } else if args.sealers {
        for name in &r.sealers {
            println!("{name}");
        }
        OK
    } else if args.healthy || args.synced {
        let why_not = if !r.running {
            Some(format!("{} is not running", r.name))
        } else if !r.synced {
            Some(format!(
                "{} is not synced: height {}, highest heard {} from {} live peers",
                r.name, r.height, r.highest_known_height, r.peers
            ))
        } else if args.healthy && !r.sees_quorum {
            Some(format!(
                "{} sees no quorum: {} of {} sealers live ({}), {} needed",
                r.name,
                r.live_sealers.len(),
                r.sealers.len(),
                r.live_sealers.join(","),
                r.quorum
            ))
        } else {
            None
        };
        if let Some(why) = why_not {
            println!("{why}");
            return FAILURE;
        }
        println!(
            "{} is {}: height {}, {} of {} sealers live (quorum {})",
            r.name,
            if args.healthy { "healthy" } else { "synced" },
            r.height,
            r.live_sealers.len(),
            r.sealers.len(),
            r.quorum
        );
        OK
    } else {
        println!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
        OK
    }
}

/// The running node's report, or one made from the node's files.
fn query(node: &NodeDir) -> anyhow::Result<StatusReport> {
    let node_id = fs::read_to_string(node.node_id())
        .with_context(|| format!("cannot read {}", node.node_id().display()))?
        .trim()
        .to_string();
    let addr = client::node_addr(&node.root)?;
    match client::request(&addr, Request::Status) {
        Ok(Response::Status(report)) if report.node_id == node_id => Ok(*report),
        Ok(Response::Status(report)) => {
            eprintln!(
                "warning: {addr} is answered by {} ({}), not this node; reporting this node from its files",
                report.name, report.node_id
            );
            offline(node, &node_id)
        }
        Ok(other) => anyhow::bail!("unexpected answer from {addr}: {other:?}"),
        Err(ClientError::NotRunning { .. }) => offline(node, &node_id),
        Err(e) => Err(e.into()),
    }
}

fn offline(node: &NodeDir, node_id: &str) -> anyhow::Result<StatusReport> {
    let config = NodeConfig::load(&node.config())?;
    let genesis = Genesis::load(&node.genesis())?;
    let replay = ledger::replay_file(&node.ledger(), Some(&genesis))?;
    if let Some(e) = &replay.error {
        eprintln!("warning: {e}");
    }
    let state = replay
        .state
        .context("the ledger has no valid genesis block")?;
    let version = version::of_binary(&node.binary())
        .map_or_else(|e| format!("unknown ({e})"), |v| v.to_string());
    Ok(StatusReport {
        running: false,
        version,
        role: state.role(node_id),
        height: state.height,
        synced: false,
        peers: 0,
        sealers: state.sealer_names(),
        compatibility_version: state.compatibility_version.to_string(),
        name: config.name,
        node_id: node_id.to_string(),
        observers: state.observer_names(),
        consensus: state.consensus.to_string(),
        quorum: state.quorum(),
        live_sealers: Vec::new(),
        sees_quorum: false,
        highest_known_height: state.height,
        round: 0,
        leading: false,
        steps_down: false,
    })
}

#[cfg(test)]
mod tests {
    use crate::chain::state::Role;

    #[test]
    fn role_serializes_lowercase() {
        assert_eq!(serde_json::to_string(&Role::Sealer).unwrap(), "\"sealer\"");
    }
}
