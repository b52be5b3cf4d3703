//! A chain of real demo-node processes on 127.0.0.1 for one test, killed by pid when dropped.

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::BuildHasher;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU16, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_demo-node");

/// Port ranges handed out in this test binary, so parallel tests never share one.
static NEXT_SLOT: AtomicU16 = AtomicU16::new(0);
const PORTS_PER_CHAIN: u16 = 10;

pub struct Chain {
    pub dir: tempfile::TempDir,
}

impl Chain {
    /// `demo-node init` with a free port range; `args` are extra init flags.
    pub fn init(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = free_base_port();
        let chain_dir = dir.path().join("chain");
        let out = demo(
            &[
                &[
                    "init",
                    "--dir",
                    chain_dir.to_str().unwrap(),
                    "--base-port",
                    &base.to_string(),
                ],
                args,
            ]
            .concat(),
        );
        assert!(out.status.success(), "init failed: {}", text(&out));
        Self { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("chain")
    }

    pub fn node(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }

    pub fn script(&self, name: &str, script: &str) -> Output {
        Command::new(self.node(name).join(script)).output().unwrap()
    }

    pub fn start(&self, name: &str) {
        let out = self.script(name, "start.sh");
        assert!(
            out.status.success(),
            "{name}/start.sh failed: {}",
            text(&out)
        );
    }

    pub fn stop(&self, name: &str) {
        let out = self.script(name, "stop.sh");
        assert!(
            out.status.success(),
            "{name}/stop.sh failed: {}",
            text(&out)
        );
    }

    /// Runs `demo-node status --dir NODE ARGS`.
    pub fn status(&self, name: &str, args: &[&str]) -> Output {
        let dir = self.node(name);
        demo(&[&["status", "--dir", dir.to_str().unwrap()], args].concat())
    }

    pub fn json(&self, name: &str) -> Value {
        let out = self.status(name, &[]);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("status of {name}: {e}: {}", text(&out)))
    }

    /// The height a running node reports (None if it does not answer).
    pub fn height(&self, name: &str) -> Option<u64> {
        let out = self.status(name, &["--height"]);
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }

    pub fn heights(&self, names: &[&str]) -> Vec<Option<u64>> {
        names.iter().map(|n| self.height(n)).collect()
    }

    /// Waits until every named node reports at least `height`.
    pub fn wait_height(&self, names: &[&str], height: u64, timeout: Duration) {
        wait_for(
            timeout,
            &format!("{names:?} to reach height {height}"),
            || {
                self.heights(names)
                    .iter()
                    .all(|h| h.is_some_and(|h| h >= height))
            },
        );
    }

    /// Asserts the named nodes' heights do not move for `period` (the chain is stalled).
    pub fn assert_stalled(&self, names: &[&str], period: Duration) -> u64 {
        let before = self.heights(names);
        thread::sleep(period);
        let after = self.heights(names);
        assert_eq!(
            before, after,
            "heights moved while the chain should be stalled"
        );
        before.iter().flatten().copied().max().unwrap()
    }

    /// Every node's ledger is a prefix of the longest: no fork, ever.
    pub fn assert_one_chain(&self, names: &[&str]) {
        let ledgers: Vec<String> = names
            .iter()
            .map(|n| fs::read_to_string(self.node(n).join("data/blocks.jsonl")).unwrap())
            .collect();
        let longest = ledgers.iter().max_by_key(|l| l.len()).unwrap();
        for (name, ledger) in names.iter().zip(&ledgers) {
            let complete = &ledger[..ledger.rfind('\n').map_or(0, |i| i + 1)];
            assert!(
                longest.starts_with(complete),
                "{name}'s ledger forks from the longest one"
            );
        }
    }

    pub fn verify(&self, name: &str) -> Output {
        let dir = self.node(name);
        demo(&["verify", "--dir", dir.to_str().unwrap()])
    }
}

impl Drop for Chain {
    /// Kills every node of the chain by the pid in its node.pid, test passed or not.
    fn drop(&mut self) {
        let Ok(entries) = fs::read_dir(self.root()) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(pid) = fs::read_to_string(entry.path().join("node.pid")) else {
                continue;
            };
            let pid = pid.trim();
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                let _ = Command::new("kill").args(["-9", pid]).output();
            }
        }
    }
}

pub fn demo(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn wait_for(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// A base port whose next `PORTS_PER_CHAIN` ports are free now, distinct per chain here.
fn free_base_port() -> u16 {
    let seed = RandomState::new().hash_one(std::process::id());
    let start = 20_000 + u16::try_from(seed % 3000).unwrap() * PORTS_PER_CHAIN;
    for _ in 0..50 {
        let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
        let base = 20_000 + (start - 20_000 + slot * PORTS_PER_CHAIN) % 30_000;
        if (base..base + PORTS_PER_CHAIN).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no free port range found");
}
