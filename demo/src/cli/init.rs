//! `demo-node init`: a CA, a genesis, and one directory per node, ready to start.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};

use crate::certs;
use crate::chain::genesis::{ConsensusKind, Genesis, Member};
use crate::chain::hash::short;
use crate::cli::scaffold::{self, NodeSpec};
use crate::clock;
use crate::config::NodeConfig;
use crate::layout::ChainDir;
use crate::scripts;
use crate::version::{self, Version};

#[derive(clap::Args)]
pub struct Args {
    /// The chain directory to create (must not exist, or be empty).
    #[arg(long)]
    dir: PathBuf,
    /// Voting members: node0 .. node{N-1}.
    #[arg(long)]
    sealers: usize,
    /// Non-voting members that follow the chain: the next M nodes.
    #[arg(long, default_value_t = 0)]
    observers: usize,
    /// bft tolerates floor((n-1)/3) sealers down, cft floor((n-1)/2).
    #[arg(long, default_value = "bft")]
    consensus: ConsensusKind,
    /// Node K listens on 127.0.0.1:(P + K).
    #[arg(long, default_value_t = 30300)]
    base_port: u16,
    /// The oldest binary version allowed to run on the chain (default: this binary's).
    #[arg(long)]
    compatibility_version: Option<Version>,
    /// A name for the chain, recorded in genesis.
    #[arg(long, default_value = "demo")]
    chain_id: String,
    /// Start every node once created.
    #[arg(long)]
    start: bool,
}

pub fn main(args: &Args) -> anyhow::Result<()> {
    if args.sealers == 0 {
        bail!("a chain needs at least one sealer (--sealers 1 or more)");
    }
    let total = args.sealers + args.observers;
    let last_port = u16::try_from(total - 1)
        .ok()
        .and_then(|n| args.base_port.checked_add(n))
        .context("--base-port plus the number of nodes does not fit in a port number")?;
    let chain = ChainDir::new(&args.dir);
    if fs::read_dir(&chain.root).is_ok_and(|mut d| d.next().is_some()) {
        bail!("{} already exists and is not empty", chain.root.display());
    }
    fs::create_dir_all(chain.ca_dir())
        .with_context(|| format!("cannot create {}", chain.ca_dir().display()))?;
    let ca = certs::create_ca()?;
    scaffold::write_file(&chain.ca_crt(), &ca.cert, 0o644)?;
    scaffold::write_file(&chain.ca_key(), &ca.key, 0o600)?;

    let names: Vec<String> = (0..total).map(|k| format!("node{k}")).collect();
    let node_certs = names
        .iter()
        .map(|name| certs::issue_node(&ca.key, name))
        .collect::<Result<Vec<_>, _>>()?;
    let members: Vec<Member> = names
        .iter()
        .zip(&node_certs)
        .map(|(name, cert)| Member {
            name: name.clone(),
            node_id: cert.node_id.clone(),
        })
        .collect();
    let genesis = Genesis {
        chain_id: args.chain_id.clone(),
        consensus: args.consensus,
        compatibility_version: args.compatibility_version.unwrap_or_else(version::own),
        sealers: members[..args.sealers].to_vec(),
        observers: members[args.sealers..].to_vec(),
        timestamp_ms: clock::now_ms(),
    };
    scaffold::write_file(&chain.genesis(), &genesis.to_json(), 0o644)?;

    let addr = |k: usize| format!("127.0.0.1:{}", usize::from(args.base_port) + k);
    for (k, (name, cert)) in names.iter().zip(&node_certs).enumerate() {
        let config = NodeConfig {
            name: name.clone(),
            listen_ip: "127.0.0.1".into(),
            listen_port: args.base_port + u16::try_from(k).unwrap_or(0),
            peers: (0..total).filter(|j| *j != k).map(addr).collect(),
            consensus: args.consensus,
        };
        let spec = NodeSpec {
            config,
            genesis: &genesis,
            cert,
            ca_crt: &ca.cert,
        };
        scaffold::write_node(&chain.node(name), &spec)?;
    }
    scaffold::write_file(
        &chain.root.join("start_all.sh"),
        &scripts::all("start"),
        0o755,
    )?;
    scaffold::write_file(
        &chain.root.join("stop_all.sh"),
        &scripts::all("stop"),
        0o755,
    )?;

    let n = args.sealers;
    println!(
        "created a {n}-sealer {} chain in {} (f={}, quorum {}), compatibility_version {}, ports {}..{last_port}",
        args.consensus,
        chain.root.display(),
        args.consensus.max_faults(n),
        args.consensus.quorum(n),
        genesis.compatibility_version,
        args.base_port,
    );
    for (k, member) in members.iter().enumerate() {
        let role = if k < n { "sealer" } else { "observer" };
        println!(
            "  {:<8} {role:<9} {}  {}",
            member.name,
            addr(k),
            short(&member.node_id)
        );
    }
    let root = chain.root.display();
    if args.start {
        let status = Command::new(chain.root.join("start_all.sh"))
            .status()
            .context("cannot run start_all.sh")?;
        if !status.success() {
            bail!("some nodes did not start; see {root}/node*/nohup.out");
        }
        println!("status: {root}/node0/status.sh    stop: {root}/stop_all.sh");
    } else {
        println!("start: {root}/start_all.sh    status: {root}/node0/status.sh    stop: {root}/stop_all.sh");
    }
    Ok(())
}
