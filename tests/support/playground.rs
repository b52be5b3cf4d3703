//! A demo chain made by `quorate demo --setup-only` for end-to-end runbook tests, and a
//! sampler of its height while a runbook runs.
//!
//! Each chain lives in a temp dir under /tmp on 127.0.0.1 ports; dropping it stops every
//! node it started by the pid in its `node.pid`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Output, Quorate};

/// A demo chain made by `quorate demo --setup-only`, and the directory holding it, its
/// inventory and the run store.
pub struct Playground {
    pub dir: tempfile::TempDir,
}

impl Playground {
    pub fn create(sealers: u16, spares: u16) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("qchain")
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

    pub fn demo_dir(&self) -> PathBuf {
        self.dir.path().join("demo")
    }

    pub fn inventory(&self) -> PathBuf {
        self.demo_dir().join("inventory.yaml")
    }

    pub fn node_dir(&self, name: &str) -> PathBuf {
        self.demo_dir().join("chain").join(name)
    }

    /// `status.sh ARGS` in a node directory: (exit code, stdout).
    pub fn status(&self, name: &str, args: &[&str]) -> (i32, String) {
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

    pub fn height(&self, name: &str) -> Option<u64> {
        height_of(&self.node_dir(name))
    }

    /// `quorate run RUNBOOK -i INVENTORY ARGS` with this playground's store.
    pub fn run(&self, runbook: &str, args: &[&str]) -> Output {
        Quorate::in_lab(self.dir.path())
            .args(["run", runbook, "--plain", "-i"])
            .arg(self.inventory())
            .args(args)
            .run()
    }

    /// The chain's sealer list as `name` reports it.
    pub fn sealers(&self, name: &str) -> Vec<String> {
        self.status(name, &["--sealers"])
            .1
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until node `name`'s height passes `above`.
    pub fn wait_height_above(&self, name: &str, above: u64, limit: Duration) -> u64 {
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

    /// `quorate run` with JSON logs, killed (SIGKILL) after `kill_at` task transitions, then
    /// `quorate resume`: (the transitions seen before the kill, the resume's output, the
    /// run id).
    pub fn run_killed_then_resumed(
        &self,
        runbook: &str,
        args: &[&str],
        kill_at: usize,
    ) -> (Vec<serde_json::Value>, Output, String) {
        let (seen, run) =
            super::run_killed(self.dir.path(), &self.inventory(), runbook, args, kill_at);
        assert!(
            seen.len() >= kill_at,
            "the run ended by itself after {} transitions, before the kill point {kill_at}",
            seen.len()
        );
        let out = Quorate::in_lab(self.dir.path())
            .args(["resume", &run, "--plain"])
            .run();
        (seen, out, run)
    }

    /// `quorate show RUN --format json`.
    pub fn show(&self, run: &str) -> serde_json::Value {
        let out = Quorate::in_lab(self.dir.path())
            .args(["show", run, "--format", "json"])
            .run();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("show {run}: {e}: {}{}", out.stdout, out.stderr))
    }

    /// Gives up a failed run, so that its cluster lock lets the next run go.
    pub fn abandon(&self, run: &str) {
        let out = Quorate::in_lab(self.dir.path())
            .args(["abandon", run])
            .run();
        assert_eq!(out.code, 0, "abandon {run}: {}{}", out.stdout, out.stderr);
    }

    /// Every node in `names` commits new blocks from now on.
    pub fn assert_all_advance(&self, names: &[&str]) {
        for name in names {
            let h = self
                .height(name)
                .unwrap_or_else(|| panic!("{name} has no height"));
            self.wait_height_above(name, h + 1, Duration::from_secs(10));
        }
    }

    /// The pid in a node's node.pid, if the file is there.
    pub fn pid(&self, name: &str) -> Option<i32> {
        std::fs::read_to_string(self.node_dir(name).join("node.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// The longest the chain may go without a new block while its membership changes: a
/// membership block and a new quorum take a round or two (1.9 s each); 10 s leaves room
/// for a loaded test machine.
pub const STALL_BOUND: Duration = Duration::from_secs(10);

/// Reads the chain's height (the highest its sealers `node0..` report) every 200 ms and
/// keeps the longest time it went without a new block.
pub struct HeightSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(Duration, u64)>,
}

impl HeightSampler {
    pub fn start(pg: &Playground, sealers: &[&str]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let dirs: Vec<PathBuf> = sealers.iter().map(|n| pg.node_dir(n)).collect();
        let thread = std::thread::spawn(move || {
            let (mut best, mut since, mut longest) = (0, Instant::now(), Duration::ZERO);
            while !flag.load(Ordering::Relaxed) {
                let height = dirs.iter().filter_map(|d| height_of(d)).max().unwrap_or(0);
                if height > best {
                    (best, since) = (height, Instant::now());
                }
                longest = longest.max(since.elapsed());
                std::thread::sleep(Duration::from_millis(200));
            }
            (longest, best)
        });
        Self { stop, thread }
    }

    /// (the longest time without a new block, the last height seen).
    pub fn finish(self) -> (Duration, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("sampler thread")
    }
}

/// The run id a failed or finished `quorate run` names (`run ID failed`, `starting run ID:`).
pub fn run_id_of(out: &Output) -> String {
    let text = format!("{}\n{}", out.stdout, out.stderr);
    super::find_run_id(&text)
        .or_else(|| {
            text.split_whitespace()
                .skip_while(|w| *w != "run")
                .nth(1)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no run id in:\n{text}"))
}

/// `BIN release --version VERSION`: a copy of the demo node binary `bin` that reports
/// `version`, written as `dir/demo-node-VERSION`.
pub fn release(bin: &Path, dir: &Path, version: &str) -> PathBuf {
    let out = dir.join(format!("demo-node-{version}"));
    let status = Command::new(bin)
        .args(["release", "--version", version, "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .expect("run demo-node release");
    assert!(status.success(), "demo-node release failed");
    out
}

pub fn height_of(node_dir: &Path) -> Option<u64> {
    let out = Command::new(node_dir.join("status.sh"))
        .arg("--height")
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// Every node directory (`nodeK`) under a chain directory, archived ones too.
pub fn node_dirs(chain: &Path) -> Vec<PathBuf> {
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
