//! `demo-node status --key-check`: the node's key is the one its peers expect. Its
//! `conf/node.nodeid` must be the id of its `conf/ssl.key`, and the id the chain (its
//! ledger) records for the node's name: a restored or copied config with another node's
//! key is caught before the node starts. Works whether the node runs or not.

use std::fs;

use anyhow::Context as _;

use crate::certs;
use crate::chain::genesis::Genesis;
use crate::chain::hash::short;
use crate::chain::ledger;
use crate::config::NodeConfig;
use crate::layout::NodeDir;

/// `Ok(line)` when the key matches; `Err(why)` otherwise.
pub fn check(node: &NodeDir) -> anyhow::Result<Result<String, String>> {
    let node_id = fs::read_to_string(node.node_id())
        .with_context(|| format!("cannot read {}", node.node_id().display()))?
        .trim()
        .to_string();
    let key_path = node.conf().join("ssl.key");
    let key = fs::read_to_string(&key_path)
        .with_context(|| format!("cannot read {}", key_path.display()))?;
    let of_key = certs::node_id_of_key(&key)
        .with_context(|| format!("cannot read the key in {}", key_path.display()))?;
    let config = NodeConfig::load(&node.config())?;
    let name = &config.name;
    if of_key != node_id {
        return Ok(Err(format!(
            "{name}: conf/node.nodeid ({}) is not the id of conf/ssl.key ({})",
            short(&node_id),
            short(&of_key)
        )));
    }
    let genesis = Genesis::load(&node.genesis())?;
    let state = ledger::replay_file(&node.ledger(), Some(&genesis))?
        .state
        .context("the ledger has no valid genesis block")?;
    let Some(member) = state.member(name) else {
        return Ok(Err(format!("{name} is not a member of the chain")));
    };
    if member.node_id != node_id {
        return Ok(Err(format!(
            "{name}'s key {} is not the one its peers expect: the chain records {} for {name}",
            short(&node_id),
            short(&member.node_id)
        )));
    }
    Ok(Ok(format!(
        "{name}'s key matches: node id {} is the one the chain records for it",
        short(&node_id)
    )))
}
