//! Membership on a running demo chain made by `quorate demo --setup-only`: the playground
//! itself (inventory, running sealers, idle spares), and the built-in runbooks that change
//! the chain's membership.
//!
//! Each chain lives in a temp dir under /tmp on 127.0.0.1 ports; dropping it stops every
//! node it started by the pid in its `node.pid`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Quorate;

/// A demo chain made by `quorate demo --setup-only`, and the directory holding it, its
/// inventory and the run store.
struct Playground {
    dir: tempfile::TempDir,
}

impl Playground {
    fn create(sealers: u16, spares: u16) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("qmembers")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let pg = Self { dir };
        let out = Quorate::in_lab(pg.dir.path())
            .args(["demo", "--setup-only", "--dir"])
            .arg(pg.demo_dir())
            .args(["--sealers", &sealers.to_string()])
            .args(["--spares", &spares.to_string()])
            .run();
        assert_eq!(
            out.code, 0,
            "demo --setup-only failed:\n{}{}",
            out.stdout, out.stderr
        );
        pg
    }

    fn demo_dir(&self) -> PathBuf {
        self.dir.path().join("demo")
    }

    fn inventory(&self) -> PathBuf {
        self.demo_dir().join("inventory.yaml")
    }

    fn node_dir(&self, name: &str) -> PathBuf {
        self.demo_dir().join("chain").join(name)
    }

    /// `status.sh ARGS` in a node directory: (exit code, stdout).
    fn status(&self, name: &str, args: &[&str]) -> (i32, String) {
        let out = Command::new(self.node_dir(name).join("status.sh"))
            .args(args)
            .stderr(Stdio::null())
            .output()
            .expect("run status.sh");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        )
    }

    fn height(&self, name: &str) -> Option<u64> {
        self.status(name, &["--height"]).1.parse().ok()
    }

    /// The chain's sealer list as `name` reports it.
    fn sealers(&self, name: &str) -> Vec<String> {
        self.status(name, &["--sealers"])
            .1
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until node `name`'s height passes `above`.
    fn wait_height_above(&self, name: &str, above: u64, limit: Duration) -> u64 {
        let start = Instant::now();
        loop {
            if let Some(h) = self.height(name).filter(|&h| h > above) {
                return h;
            }
            assert!(
                start.elapsed() < limit,
                "{name} did not pass height {above} within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pid in a node's node.pid, if the file is there.
    fn pid(&self, name: &str) -> Option<i32> {
        std::fs::read_to_string(self.node_dir(name).join("node.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// Every node directory (`nodeK`) under a chain directory, archived ones too.
fn node_dirs(chain: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(chain)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.retain(|p| p.join("config.ini").is_file());
    dirs
}

impl Drop for Playground {
    fn drop(&mut self) {
        for dir in node_dirs(&self.demo_dir().join("chain")) {
            let pid = std::fs::read_to_string(dir.join("node.pid"))
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok());
            if let Some(pid) = pid.filter(|&p| alive(p)) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

#[test]
fn setup_only_makes_a_running_chain_with_an_inventory_and_idle_spares() {
    let pg = Playground::create(4, 2);
    let out = Quorate::in_lab(pg.dir.path())
        .arg("validate")
        .arg(pg.inventory())
        .run()
        .success();
    assert!(out.contains("ok:"), "validate said: {out}");
    let inventory = std::fs::read_to_string(pg.inventory()).expect("inventory");
    assert!(inventory.contains("spare: [node4, node5]"), "{inventory}");
    assert!(
        inventory.contains("sealers: [node0, node1, node2, node3]"),
        "{inventory}"
    );
    // The chain commits: every sealer is healthy and node0's height keeps rising.
    for i in 0..4 {
        let name = format!("node{i}");
        let (code, _) = pg.status(&name, &["--healthy"]);
        assert_eq!(code, 0, "{name} is not healthy");
        assert!(
            pg.pid(&name).is_some_and(alive),
            "{name} has no running pid"
        );
    }
    let h = pg.height("node0").expect("node0 height");
    pg.wait_height_above("node0", h + 2, Duration::from_secs(10));
    assert_eq!(pg.sealers("node0"), ["node0", "node1", "node2", "node3"]);
    // The spares are hosts only: no directory, nothing running.
    for spare in ["node4", "node5"] {
        assert!(!pg.node_dir(spare).exists(), "{spare} has a directory");
    }
    assert_eq!(node_dirs(&pg.demo_dir().join("chain")).len(), 4);
}
