//! `demo-node run`: opens the node's files, listens, and drives the event loop.
//!
//! Everything that can refuse (config, genesis, ledger check, compatibility, port) happens
//! before `node.ready` is written, so `start.sh` reports a refusal with the node's own message.

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::chain::genesis::{Genesis, GenesisError, Member};
use crate::chain::hash::short;
use crate::chain::ledger::{Ledger, LedgerError, Opened};
use crate::config::{ConfigError, NodeConfig};
use crate::layout::NodeDir;
use crate::logger::Logger;
use crate::node::engine::{Engine, Fatal, Out};
use crate::node::links::Links;
use crate::node::listener::{self, Event};
use crate::node::message::{to_line, Hello, Message, Opening};
use crate::node::peers::PeerTable;
use crate::node::tls::{PeerTls, TlsError};
use crate::node::votes::VoteStore;
use crate::version::{self, Version};

const TICK: Duration = Duration::from_millis(20);
const HEARTBEAT: Duration = Duration::from_millis(200);
const DIAL: Duration = Duration::from_millis(500);
/// An unanswered sync request is sent again (perhaps to another peer) after this.
const SYNC_RETRY: Duration = Duration::from_secs(2);
/// How long a port in use is retried at start (see `bind`).
const BIND_PATIENCE: Duration = Duration::from_secs(3);
/// Most blocks asked for in one sync request.
pub const SYNC_BATCH: u64 = 256;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    #[error("cannot read the node id {path}: {source}")]
    NodeId {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("refusing to start: {0}. `demo-node verify --dir .` shows it; restore data/ from a checkpoint (data/checkpoints/) or remove data/blocks.jsonl to sync again from the peers")]
    Ledger(LedgerError),
    #[error("refusing to start: this binary is version {mine}, older than the chain's compatibility_version {chain}; replace ./demo-node with a release >= {chain}")]
    Incompatible { mine: Version, chain: Version },
    #[error("refusing to start: config.ini says consensus type {config} but genesis.json says {genesis}")]
    ConsensusMismatch { config: String, genesis: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("stopping: {0}")]
    Fatal(#[from] Fatal),
    #[error("refusing to start: {0}")]
    Tls(#[from] TlsError),
}

impl RunError {
    pub fn is_incompatible(&self) -> bool {
        matches!(
            self,
            Self::Incompatible { .. } | Self::Fatal(Fatal::Incompatible { .. })
        )
    }

    pub fn is_corrupt(&self) -> bool {
        matches!(self, Self::Ledger(LedgerError::Corrupt { .. }))
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What `run` checked before listening: every reason to refuse to start is behind it.
struct Checked {
    config: NodeConfig,
    genesis: Genesis,
    node_id: String,
    opened: Opened,
    version: Version,
    tls: PeerTls,
}

fn check(node_dir: &NodeDir) -> Result<Checked, RunError> {
    let config = NodeConfig::load(&node_dir.config())?;
    let genesis = Genesis::load(&node_dir.genesis())?;
    if config.consensus != genesis.consensus {
        return Err(RunError::ConsensusMismatch {
            config: config.consensus.to_string(),
            genesis: genesis.consensus.to_string(),
        });
    }
    let id_path = node_dir.node_id();
    let node_id = fs::read_to_string(&id_path)
        .map_err(|source| RunError::NodeId {
            path: id_path.display().to_string(),
            source,
        })?
        .trim()
        .to_string();
    let tls = PeerTls::load(node_dir)?;
    let opened = Ledger::open(&node_dir.ledger(), &genesis).map_err(RunError::Ledger)?;
    let version = version::own();
    if version < opened.state.compatibility_version {
        return Err(RunError::Incompatible {
            mine: version,
            chain: opened.state.compatibility_version,
        });
    }
    Ok(Checked {
        config,
        genesis,
        node_id,
        opened,
        version,
        tls,
    })
}

/// Runs the node in `dir` until the process is killed (or a fatal error).
pub fn run(dir: &Path) -> Result<(), RunError> {
    let node_dir = NodeDir::new(dir);
    let Checked {
        config,
        genesis,
        node_id,
        opened,
        version,
        tls,
    } = check(&node_dir)?;
    let addr = config.listen_addr();
    let listener = bind(&addr).map_err(|source| RunError::Bind {
        addr: addr.clone(),
        source,
    })?;
    let log = Logger::open(&node_dir.log_dir()).map_err(io_error(&node_dir.log_dir()))?;
    if opened.repaired_tail {
        log.warn(
            "LEDGER",
            "dropped a torn last line (the process died mid-write); it syncs again",
        );
    }
    let chain_id = genesis.block().hash;
    let me = Member {
        name: config.name.clone(),
        node_id,
    };
    let hello = Hello {
        chain_id: chain_id.clone(),
        node_id: me.node_id.clone(),
        name: me.name.clone(),
        addr: addr.clone(),
        version,
        session: random_u64(),
    };
    let now = Instant::now();
    let state = &opened.state;
    log.info(
        "NODE",
        format!(
            "starting {} ({}) version {version} on {addr}: height {}, role {:?}, sealers {} ({} consensus, quorum {})",
            me.name,
            short(&me.node_id),
            state.height,
            state.role(&me.node_id),
            state.sealer_names().join(","),
            state.consensus,
            state.quorum()
        ),
    );
    let links = Links::new(
        to_line(&Opening::Hello(hello)),
        &addr,
        &config.peers,
        tls.clone(),
        log.clone(),
    );
    let engine = Engine::new(
        me.clone(),
        version,
        opened.ledger,
        opened.state,
        opened.tx_heights,
        VoteStore::new(&node_dir.votes()),
        log.clone(),
        now,
    )?;
    let (events, inbox) = mpsc::channel();
    listener::spawn(listener, chain_id, tls, events, log.clone());
    let ready = node_dir.ready_file();
    fs::write(&ready, format!("{}\n", std::process::id())).map_err(io_error(&ready))?;
    let mut node = Node {
        engine,
        peers: PeerTable::default(),
        links,
        log: log.clone(),
        me,
        version,
        last_heartbeat: None,
        last_dial: None,
        sync_sent: None,
        submitted: 0,
    };
    let result = node.event_loop(&inbox);
    let _ = fs::remove_file(&ready);
    if let Err(e) = &result {
        log.error("NODE", e);
    }
    result
}

/// Binds the node's port. Just after a restart the previous process's closed links may
/// still hold it for a moment (their peers have not closed their end yet): retry for a
/// short while before refusing to start.
fn bind(addr: &str) -> io::Result<TcpListener> {
    let deadline = Instant::now() + BIND_PATIENCE;
    loop {
        match TcpListener::bind(addr) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// The node's state on the event-loop thread.
pub struct Node {
    pub(super) engine: Engine,
    pub(super) peers: PeerTable,
    pub(super) links: Links,
    pub(super) log: Logger,
    pub(super) me: Member,
    pub(super) version: Version,
    last_heartbeat: Option<Instant>,
    last_dial: Option<Instant>,
    sync_sent: Option<Instant>,
    /// Transactions submitted here, to make nonces unique.
    pub(super) submitted: u64,
}

impl Node {
    fn event_loop(&mut self, inbox: &mpsc::Receiver<Event>) -> Result<(), RunError> {
        let mut next_tick = Instant::now();
        loop {
            match inbox.recv_timeout(TICK) {
                Ok(event) => self.handle(event, Instant::now())?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            let now = Instant::now();
            if now >= next_tick {
                self.tick(now)?;
                next_tick = now + TICK;
            }
        }
    }

    fn send(&mut self, outs: Vec<Out>) {
        for out in outs {
            match out {
                Out::Broadcast(msg) => self.links.broadcast(&msg),
                Out::Send(node_id, msg) => {
                    if let Some(addr) = self.peers.get(&node_id).map(|p| p.addr.clone()) {
                        self.links.send(&addr, &msg);
                    }
                }
            }
        }
    }

    fn handle(&mut self, event: Event, now: Instant) -> Result<(), RunError> {
        match event {
            Event::Hello(hello) => {
                if hello.node_id == self.me.node_id {
                    return Ok(());
                }
                let fresh =
                    self.peers
                        .hello(&hello.node_id, &hello.name, &hello.addr, hello.session, now);
                self.links.learn(&hello.addr);
                if fresh {
                    // A new process of that peer: our old link to it (if any) is dead.
                    self.links.reset(&hello.addr);
                    self.links.dial(&hello.addr, now);
                    self.log.info(
                        "P2P",
                        format!(
                            "peer {} at {} (version {}) connected",
                            hello.name, hello.addr, hello.version
                        ),
                    );
                }
            }
            Event::Peer { from, msg } => self.on_peer_message(&from, msg, now)?,
            Event::Rpc { req, reply } => {
                let response = self.answer(req, now);
                let _ = reply.send(response);
            }
        }
        Ok(())
    }

    fn on_peer_message(&mut self, from: &str, msg: Message, now: Instant) -> Result<(), RunError> {
        self.peers.seen(from, now);
        match msg {
            Message::Heartbeat {
                height,
                hash,
                steps_down,
            } => {
                let state = self.engine.state();
                if height == state.height && hash != state.tip_hash {
                    let name = self
                        .peers
                        .get(from)
                        .map_or("?", |p| p.name.as_str())
                        .to_string();
                    self.log.error(
                        "SYNC",
                        format!(
                            "fork: {name} has block {height} {} but this node has {}",
                            short(&hash),
                            short(&state.tip_hash)
                        ),
                    );
                }
                self.peers.heartbeat(from, height, &hash, steps_down, now);
            }
            Message::SyncRequest { from: first, to } => {
                let last = to.min(first.saturating_add(SYNC_BATCH - 1));
                match self.engine.ledger().read_range(first, last) {
                    Ok(blocks) if !blocks.is_empty() => {
                        self.send(vec![Out::Send(
                            from.to_string(),
                            Message::SyncBlocks { blocks },
                        )]);
                    }
                    Ok(_) => {}
                    Err(e) => self
                        .log
                        .error("SYNC", format!("cannot serve blocks {first}..{last}: {e}")),
                }
            }
            Message::SyncBlocks { blocks } => {
                self.sync_sent = None;
                let span = blocks
                    .first()
                    .map(|b| b.height)
                    .zip(blocks.last().map(|b| b.height));
                let (applied, problem) = self.engine.apply_synced(blocks, now)?;
                let name = self
                    .peers
                    .get(from)
                    .map_or("?", |p| p.name.as_str())
                    .to_string();
                if let (Some((a, b)), true) = (span, applied > 0) {
                    self.log.info(
                        "SYNC",
                        format!(
                            "fetched blocks {a}..{b} from {name}; height now {}",
                            self.engine.state().height
                        ),
                    );
                }
                if let Some(problem) = problem {
                    self.log
                        .warn("SYNC", format!("refused a block from {name}: {problem}"));
                }
            }
            Message::Tx { tx } => {
                // Gossip once: only a transaction new here is passed on.
                if let Ok(true) = self.engine.add_tx(tx.clone()) {
                    self.links.broadcast(&Message::Tx { tx });
                }
            }
            other => {
                let outs = self.engine.on_message(from, other, now)?;
                self.send(outs);
            }
        }
        Ok(())
    }

    fn tick(&mut self, now: Instant) -> Result<(), RunError> {
        if self.last_dial.is_none_or(|t| now.duration_since(t) >= DIAL) {
            self.last_dial = Some(now);
            self.links.dial_missing(now);
        }
        if self
            .last_heartbeat
            .is_none_or(|t| now.duration_since(t) >= HEARTBEAT)
        {
            self.last_heartbeat = Some(now);
            let beat = self.engine.heartbeat();
            self.links.broadcast(&beat);
        }
        let outs = self.engine.on_tick(now, &self.peers)?;
        self.send(outs);
        self.maybe_sync(now);
        Ok(())
    }

    /// Asks the highest live peer for the blocks this node lacks.
    fn maybe_sync(&mut self, now: Instant) {
        let height = self.engine.state().height;
        let Some((id, best)) = self.peers.best(now) else {
            return;
        };
        if best.height <= height
            || self
                .sync_sent
                .is_some_and(|t| now.duration_since(t) < SYNC_RETRY)
        {
            return;
        }
        let request = Message::SyncRequest {
            from: height + 1,
            to: best.height.min(height + SYNC_BATCH),
        };
        self.sync_sent = Some(now);
        let id = id.clone();
        self.send(vec![Out::Send(id, request)]);
    }
}
