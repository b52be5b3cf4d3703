//! `demo-node init-node`: one more node directory for an existing chain, ready to start and sync.

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::certs;
use crate::chain::genesis::Genesis;
use crate::cli::scaffold::{self, NodeSpec};
use crate::config::NodeConfig;
use crate::layout::{ChainDir, NodeDir};

#[derive(clap::Args)]
pub struct Args {
    /// The chain directory made by `init` (holds ca/ and genesis.json).
    #[arg(long)]
    dir: PathBuf,
    /// The new node's name (default: the next free nodeK).
    #[arg(long)]
    name: Option<String>,
    /// Its port on 127.0.0.1 (default: one above the highest port in the chain directory).
    #[arg(long)]
    port: Option<u16>,
    /// host:port of nodes to dial, comma-separated (default: every node in the chain directory).
    #[arg(long, value_delimiter = ',')]
    peers: Vec<String>,
}

pub fn main(args: &Args) -> anyhow::Result<()> {
    let chain = ChainDir::new(&args.dir);
    let genesis = Genesis::load(&chain.genesis())?;
    let ca_key = fs::read_to_string(chain.ca_key())
        .with_context(|| format!("cannot read the chain CA key {}", chain.ca_key().display()))?;
    let ca_crt = fs::read_to_string(chain.ca_crt())
        .with_context(|| format!("cannot read {}", chain.ca_crt().display()))?;

    let mut existing: Vec<NodeConfig> = Vec::new();
    let entries = fs::read_dir(&chain.root)
        .with_context(|| format!("cannot list {}", chain.root.display()))?;
    for entry in entries.flatten() {
        let config = entry.path().join("config.ini");
        if config.is_file() {
            existing.push(NodeConfig::load(&config)?);
        }
    }
    let name = match &args.name {
        Some(name) => name.clone(),
        None => (0..10_000)
            .map(|k| format!("node{k}"))
            .find(|n| !chain.root.join(n).exists())
            .unwrap_or_default(),
    };
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        bail!("`{name}` is not a usable node name");
    }
    if chain.root.join(&name).exists() {
        bail!("{} already exists", chain.root.join(&name).display());
    }
    let port = match args.port {
        Some(port) => port,
        None => existing
            .iter()
            .map(|c| c.listen_port)
            .max()
            .and_then(|p| p.checked_add(1))
            .context("no node directory to pick a port after; pass --port")?,
    };
    if let Some(other) = existing.iter().find(|c| c.listen_port == port) {
        bail!("port {port} is already {}'s", other.name);
    }
    let peers = if args.peers.is_empty() {
        existing.iter().map(NodeConfig::listen_addr).collect()
    } else {
        args.peers.clone()
    };
    let cert = certs::issue_node(&ca_key, &name)?;
    let config = NodeConfig {
        name: name.clone(),
        listen_ip: "127.0.0.1".into(),
        listen_port: port,
        peers,
        consensus: genesis.consensus,
    };
    let spec = NodeSpec {
        config,
        genesis: &genesis,
        cert: &cert,
        ca_crt: &ca_crt,
    };
    // Written aside, then renamed: an interrupted init-node never leaves a half-made
    // node directory that looks complete (runbooks skip creation once it exists).
    let partial = chain.root.join(format!(".{name}.partial"));
    if partial.exists() {
        fs::remove_dir_all(&partial)
            .with_context(|| format!("cannot clear {}", partial.display()))?;
    }
    scaffold::write_node(&NodeDir::new(&partial), &spec)?;
    let dir = chain.root.join(&name);
    fs::rename(&partial, &dir)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), dir.display()))?;
    println!(
        "created {name} at 127.0.0.1:{port}, node id {}",
        cert.node_id
    );
    println!(
        "start it with {}/start.sh; it syncs, then make it a member: demo-node admin --dir <a running node> add-observer {name}",
        dir.display()
    );
    Ok(())
}
