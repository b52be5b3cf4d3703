//! Membership on a running demo chain made by `quorate demo --setup-only`: the playground
//! itself (inventory, running sealers, idle spares), and the built-in runbooks that change
//! the chain's membership.
//!
//! Each chain lives in a temp dir under /tmp on 127.0.0.1 ports; dropping it stops every
//! node it started by the pid in its `node.pid`.

mod support;

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::{read_transitions, Quorate};

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
        height_of(&self.node_dir(name))
    }

    /// `quorate run RUNBOOK -i INVENTORY ARGS` with this playground's store.
    fn run(&self, runbook: &str, args: &[&str]) -> support::Output {
        Quorate::in_lab(self.dir.path())
            .args(["run", runbook, "--plain", "-i"])
            .arg(self.inventory())
            .args(args)
            .run()
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

/// The longest the chain may go without a new block while its membership changes: a
/// membership block and a new quorum take a round or two (1.9 s each); 10 s leaves room
/// for a loaded test machine.
const STALL_BOUND: Duration = Duration::from_secs(10);

/// Reads the chain's height (the highest its sealers `node0..` report) every 200 ms and
/// keeps the longest time it went without a new block.
struct HeightSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(Duration, u64)>,
}

impl HeightSampler {
    fn start(pg: &Playground, sealers: &[&str]) -> Self {
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
    fn finish(self) -> (Duration, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("sampler thread")
    }
}

fn height_of(node_dir: &Path) -> Option<u64> {
    let out = Command::new(node_dir.join("status.sh"))
        .arg("--height")
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
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

/// Every node in `names` commits new blocks from now on.
fn assert_all_advance(pg: &Playground, names: &[&str]) {
    for name in names {
        let h = pg
            .height(name)
            .unwrap_or_else(|| panic!("{name} has no height"));
        pg.wait_height_above(name, h + 1, Duration::from_secs(10));
    }
}

/// One chain for both runbooks: `add-node` takes it from 4 to 5 sealers, `remove-node`
/// back to 4, and a second removal is refused (bft needs 4).
#[test]
fn add_node_then_remove_node_change_the_live_membership_without_stalling_the_chain() {
    let pg = Playground::create(4, 1);
    let stall = run_sampled(
        &pg,
        "add-node",
        "node4",
        &["node0", "node1", "node2", "node3"],
    );
    for name in ["node0", "node3", "node4"] {
        assert_eq!(
            pg.sealers(name),
            ["node0", "node1", "node2", "node3", "node4"],
            "{name}'s sealer list"
        );
    }
    assert_eq!(pg.status("node4", &["--role"]).1, "sealer");
    assert_all_advance(&pg, &["node0", "node1", "node2", "node3", "node4"]);
    println!("add-node: longest time without a block {stall:?}");
    assert!(
        stall < STALL_BOUND,
        "the chain went {stall:?} without a block"
    );
    // A second run finds everything done: each mutating step is skipped by its guard.
    let again = pg.run("add-node", &["-p", "node=node4"]);
    assert_eq!(
        again.code, 0,
        "second add-node failed:\n{}{}",
        again.stdout, again.stderr
    );
    for step in ["create", "start", "observer", "sealer"] {
        assert!(
            again.stdout.contains(&format!("node4  {step}  skipped:"))
                || again.stderr.contains(&format!("node4  {step}  skipped:")),
            "{step} was not skipped on the second run:\n{}{}",
            again.stdout,
            again.stderr
        );
    }
    remove_node_leaves_four_sealers(&pg);
    // A host of the inventory's members cannot be added (this run fails: done last, as
    // its unfinished run holds the cluster lock).
    let member = pg.run("add-node", &["-p", "node=node2"]);
    assert_failed_with(
        &member,
        "node2 is already a member (cluster.members); nothing to add",
    );
}

/// Runs `runbook -p node=NODE` to success while sampling the heights of `sealers`;
/// returns the longest time the chain went without a new block.
fn run_sampled(pg: &Playground, runbook: &str, node: &str, sealers: &[&str]) -> Duration {
    let sampler = HeightSampler::start(pg, sealers);
    let out = pg.run(runbook, &["-p", &format!("node={node}")]);
    let (stall, _) = sampler.finish();
    assert_eq!(
        out.code, 0,
        "{runbook} failed:\n{}{}",
        out.stdout, out.stderr
    );
    stall
}

/// The run failed (exit 1) and its error names `message`.
fn assert_failed_with(out: &support::Output, message: &str) {
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(message),
        "expected `{message}` in:\n{}",
        out.stderr
    );
}

/// 5 sealers -> `remove-node node1` -> 4: the chain's list, the process, the archived
/// directory, a chain that never stops; then removing another is refused.
fn remove_node_leaves_four_sealers(pg: &Playground) {
    let pid = pg.pid("node1").expect("node1 runs");
    let stall = run_sampled(
        pg,
        "remove-node",
        "node1",
        &["node0", "node2", "node3", "node4"],
    );
    for name in ["node0", "node4"] {
        assert_eq!(
            pg.sealers(name),
            ["node0", "node2", "node3", "node4"],
            "{name}'s sealer list"
        );
    }
    assert!(!alive(pid), "node1 (pid {pid}) still runs");
    assert!(
        !pg.node_dir("node1").exists(),
        "node1's directory is still in place"
    );
    let chain = pg.demo_dir().join("chain");
    let archived: Vec<PathBuf> = node_dirs(&chain)
        .into_iter()
        .filter(|d| {
            d.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("removed-node1-"))
        })
        .collect();
    assert_eq!(archived.len(), 1, "archived directories: {archived:?}");
    assert!(
        archived[0].join("conf/node.nodeid").is_file(),
        "the archive lost the node's keys"
    );
    assert_all_advance(pg, &["node0", "node2", "node3", "node4"]);
    println!("remove-node: longest time without a block {stall:?}");
    assert!(
        stall < STALL_BOUND,
        "the chain went {stall:?} without a block"
    );
    // 4 bft sealers are the minimum: a further removal is refused before any change.
    let refused = pg.run("remove-node", &["-p", "node=node2"]);
    assert_failed_with(
        &refused,
        "refused: removing node2 would leave 3 sealers; bft needs at least 4",
    );
    assert_eq!(pg.sealers("node0"), ["node0", "node2", "node3", "node4"]);
    assert!(pg.pid("node2").is_some_and(alive), "node2 was stopped");
    // The refused run holds the cluster lock; give it up so that the next run may go.
    let run_id = refused
        .stderr
        .split_whitespace()
        .skip_while(|w| *w != "run")
        .nth(1)
        .expect("the failed run's id")
        .to_owned();
    Quorate::in_lab(pg.dir.path())
        .args(["abandon", &run_id])
        .run()
        .success();
}

/// `add-node` killed (SIGKILL) after a random number of task transitions, then `quorate
/// resume`: the same outcome as a straight run. `MEMBERSHIP_KILL_AT=N` replays one point.
#[test]
fn add_node_killed_at_a_random_point_and_resumed_ends_the_same() {
    let pg = Playground::create(4, 1);
    // 7 tasks run on node4 and the controller (running, then done or skipped), and the
    // other hosts' 24 are skipped: about 38 transitions.
    let kill_at = std::env::var("MEMBERSHIP_KILL_AT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .subsec_nanos();
            1 + usize::try_from(nanos).expect("u32 fits") % 36
        });
    let mut child = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .current_dir(support::root())
        .env_remove("QUORATE_RUNBOOKS")
        .env("HOME", pg.dir.path())
        .arg("--state")
        .arg(pg.dir.path().join("state"))
        .args(["--log-format", "json", "run", "add-node", "--plain", "-i"])
        .arg(pg.inventory())
        .args(["-p", "node=node4"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start quorate run");
    let mut err = BufReader::new(child.stderr.take().expect("stderr pipe"));
    let seen = read_transitions(&mut err, kill_at);
    child.kill().expect("SIGKILL the run");
    child.wait().expect("reap the run");
    let last = seen.last().expect("a transition before the kill");
    println!(
        "killed after transition {} (MEMBERSHIP_KILL_AT={kill_at}): {} {}@{}",
        seen.len(),
        last["state"],
        last["step"],
        last["host"]
    );
    let run = seen[0]["run"].as_str().expect("run id").to_owned();
    let out = Quorate::in_lab(pg.dir.path())
        .args(["resume", &run, "--plain"])
        .run();
    assert_eq!(
        out.code, 0,
        "resume after {kill_at} transitions:\n{}{}",
        out.stdout, out.stderr
    );
    assert_eq!(
        pg.sealers("node0"),
        ["node0", "node1", "node2", "node3", "node4"]
    );
    assert_eq!(pg.status("node4", &["--role"]).1, "sealer");
    assert_all_advance(&pg, &["node0", "node1", "node2", "node3", "node4"]);
}
