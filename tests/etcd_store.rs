//! The team store on a real 3-member etcd cluster (started on loopback by the test) with
//! real sshd hosts: controllers with their own HOME and working directory share runs
//! through it, the cluster lock is a lease, and the store survives a member's death.
//!
//! The tests run one at a time (they time leases; each starts its own cluster).

#[path = "support/engine_lab.rs"]
mod lab;
mod support;

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lab::Lab;
use serde_json::Value;
use support::team_etcd::EtcdCluster;
use support::{read_transitions, Output, Quorate};

/// The lease TTL the tests give controllers: expiry takes seconds, not the default 15.
const TTL: &str = "3";

/// One test at a time: they kill members and wait out leases.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A rolling change over every host: two guarded effects per host (`creates:`), and a slow
/// idempotent step between them so a controller can be killed mid-run.
const ROLLING: &str = r#"
runbook: team-roll
on: all
steps:
  - id: roll
    rolling:
      batch: 1
      steps:
        - id: bump
          run: echo bump >> {{host.vars.node_dir}}/effects && touch {{host.vars.node_dir}}/bump.done
          creates: "{{host.vars.node_dir}}/bump.done"
        - id: write-version
          run: sleep 0.7 && echo v2 > {{host.vars.node_dir}}/version
          idempotent: true
        - id: swap
          run: echo swap >> {{host.vars.node_dir}}/effects && touch {{host.vars.node_dir}}/swap.done
          creates: "{{host.vars.node_dir}}/swap.done"
"#;

/// An operator's machine: its own HOME and working directory, the same team store.
struct Controller {
    home: tempfile::TempDir,
    state: String,
    ttl: &'static str,
}

impl Controller {
    fn new(state: &str) -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            state: state.to_owned(),
            ttl: TTL,
        }
    }

    /// A controller with the default lease TTL (15 s): an etcd election never costs it
    /// the lock.
    fn with_default_ttl(state: &str) -> Self {
        Self {
            ttl: "15",
            ..Self::new(state)
        }
    }

    fn quorate(&self) -> Quorate {
        Quorate::new()
            .current_dir(self.home.path())
            .env("HOME", self.home.path().to_str().unwrap())
            .env("NO_COLOR", "1")
            .args(["--state", &self.state, "--lock-ttl", self.ttl])
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorate"));
        cmd.current_dir(self.home.path())
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env_remove("QUORATE_RUNBOOKS")
            .args(["--state", &self.state, "--lock-ttl", self.ttl]);
        cmd
    }

    /// `quorate run` in the background, JSON logs on a pipe.
    fn spawn_run(&self, lab: &Lab, runbook: &Path) -> (Child, BufReader<ChildStderr>) {
        let mut child = self
            .command()
            .args(["--log-format", "json", "run"])
            .arg(runbook)
            .arg("-i")
            .arg(lab.path("inventory.yaml"))
            .arg("--plain")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = BufReader::new(child.stderr.take().unwrap());
        (child, err)
    }

    fn resume(&self, run: &str) -> Output {
        self.quorate().args(["resume", run, "--plain"]).run()
    }

    /// `resume` again while it is refused (4: the old lease lives; 5: etcd still electing),
    /// for at most `limit`; the first other outcome.
    fn resume_once_free(&self, run: &str, limit: Duration) -> Output {
        let since = Instant::now();
        loop {
            let out = self.resume(run);
            if out.code != 4 && out.code != 5 {
                return out;
            }
            assert!(
                since.elapsed() < limit,
                "still refused after {:?}:\n{}",
                since.elapsed(),
                out.stderr
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn show(&self, run: &str) -> Value {
        let out = self
            .quorate()
            .args(["show", run, "--format", "json"])
            .run()
            .success();
        serde_json::from_str(&out).unwrap()
    }
}

/// Every host applied each guarded effect exactly once.
fn assert_effects_once(lab: &Lab, hosts: usize) {
    for i in 0..hosts {
        assert_eq!(lab.read(i, "effects"), "bump\nswap\n", "host {i}");
        assert_eq!(lab.read(i, "version"), "v2\n", "host {i}");
    }
}

/// A fresh 3-member etcd cluster, `hosts` sshd hosts and the rolling runbook, with the
/// store's address under `prefix`.
struct Scene {
    etcd: EtcdCluster,
    lab: Lab,
    runbook: PathBuf,
    url: String,
}

fn scene(hosts: usize, prefix: &str) -> Scene {
    let etcd = EtcdCluster::start(3);
    let lab = Lab::new(hosts, "");
    let runbook = lab.runbook(ROLLING);
    let url = etcd.url(prefix);
    Scene {
        etcd,
        lab,
        runbook,
        url,
    }
}

impl Scene {
    /// Starts the runbook by `controller` and returns once `n` transitions are durable:
    /// the process, its log, the run id.
    fn start(&self, controller: &Controller, n: usize) -> (Child, BufReader<ChildStderr>, String) {
        let (child, mut err) = controller.spawn_run(&self.lab, &self.runbook);
        let seen = read_transitions(&mut err, n);
        let run = seen[0]["run"].as_str().unwrap().to_owned();
        (child, err, run)
    }
}

#[test]
fn a_killed_controller_s_run_is_refused_to_another_until_its_lease_expires_then_resumed_once() {
    let _serial = serial();
    let scene = scene(3, "/quorate/handover");
    let lab = &scene.lab;
    let a = Controller::new(&scene.url);
    let b = Controller::new(&scene.url);
    let (mut child, _log, run) = scene.start(&a, 3);

    // A is alive: B is refused at once, told who holds the cluster.
    let asked = Instant::now();
    let refused = b.resume(&run);
    let took = asked.elapsed();
    let said = refused.failure(4);
    println!("a second controller was refused in {took:?}");
    assert!(said.contains("is driven by another controller"), "{said}");
    assert!(said.contains(&format!("pid {}", child.id())), "{said}");
    assert!(said.contains("(since 20"), "{said}");
    assert!(took < Duration::from_secs(5), "refused after {took:?}");

    // A dies without a word; its lease outlives it by the TTL.
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    let still = b.resume(&run);
    assert_eq!(
        still.code, 4,
        "admitted while A's lease lives:\n{}",
        still.stderr
    );

    // Once the lease expired, B resumes the run to its end.
    let resumed = b.resume_once_free(&run, Duration::from_secs(30));
    let waited = killed.elapsed();
    println!("B was admitted {waited:?} after A was killed (TTL {TTL} s)");
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    assert!(
        waited >= Duration::from_secs(2),
        "admitted after {waited:?}"
    );
    assert_effects_once(lab, 3);

    // Both machines read the same history.
    let show = a.show(&run);
    assert_eq!(show["run"]["status"], "done");
    let tasks = show["tasks"].as_array().unwrap();
    assert!(tasks.iter().all(|t| t["state"] == "done"), "{show}");
    assert_eq!(b.show(&run), show);
}

#[test]
fn a_run_completes_when_the_etcd_leader_is_killed_mid_run_and_is_watched_from_another_machine() {
    let _serial = serial();
    let mut scene = scene(3, "/quorate/failover");
    let operator = Controller::with_default_ttl(&scene.url);
    let watcher = Controller::with_default_ttl(&scene.url);
    let (mut child, mut err, run) = scene.start(&operator, 2);
    let (lab, etcd) = (&scene.lab, &mut scene.etcd);
    let follower = watcher
        .command()
        .args(["logs", &run, "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let leader = etcd.wait_ready();
    etcd.kill(leader);
    println!("killed etcd member {leader} (the leader) mid-run");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "the run failed after the leader died:\n{rest}"
    );
    assert_effects_once(lab, 3);

    // The follower on the other machine saw the run to its end and exits as it did.
    let follow_output = follower.wait_with_output().unwrap();
    let printed = String::from_utf8_lossy(&follow_output.stdout);
    assert_eq!(
        follow_output.status.code(),
        Some(0),
        "{printed}\n{}",
        String::from_utf8_lossy(&follow_output.stderr)
    );
    // It started while node0 was being changed: what came after, it printed as it came.
    for step in ["bump", "write-version", "swap"] {
        for host in ["node1", "node2"] {
            let line = format!("-- done {step}@{host}");
            assert!(printed.contains(&line), "{line} in:\n{printed}");
        }
    }
    assert!(printed.ends_with("-- finished: done\n"), "{printed}");
    let show = watcher.show(&run);
    assert_eq!(show["run"]["status"], "done");

    // The member comes back and catches up: the run is there too.
    etcd.restart(leader);
    etcd.wait_ready();
    assert_eq!(watcher.show(&run), show);
}

#[test]
fn a_controller_that_loses_the_etcd_quorum_stops_starting_tasks_and_the_run_resumes_after() {
    let _serial = serial();
    let mut scene = scene(3, "/quorate/partition");
    let operator = Controller::new(&scene.url);
    let (mut child, mut err, run) = scene.start(&operator, 3);
    let (lab, etcd) = (&scene.lab, &mut scene.etcd);
    etcd.kill(1);
    etcd.kill(2);
    let lost = Instant::now();
    // What had started on the hosts when the quorum went (a task whose start was durable
    // just before may still begin).
    let started_then: usize = (0..3).map(|i| lab.read(i, "effects").lines().count()).sum();

    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut err, &mut stderr).unwrap();
    let status = child.wait().unwrap();
    let stopped = lost.elapsed();
    println!("the controller stopped {stopped:?} after the quorum was lost");
    assert_eq!(status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("lost its hold on cluster `sshd-test`"),
        "{stderr}"
    );
    assert!(
        stopped < Duration::from_secs(20),
        "stopped after {stopped:?}"
    );
    let started_after: usize = (0..3).map(|i| lab.read(i, "effects").lines().count()).sum();
    assert!(
        started_after <= started_then + 1,
        "{started_then} effects when the quorum went, {started_after} when the controller stopped"
    );

    // etcd is back: the run resumes (once the old lease is gone) and ends as if whole.
    etcd.restart(1);
    etcd.restart(2);
    etcd.wait_ready();
    let resumed = operator.resume_once_free(&run, Duration::from_secs(40));
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    assert_effects_once(lab, 3);
    assert_eq!(operator.show(&run)["run"]["status"], "done");
}

#[test]
fn migrate_copies_a_state_directory_s_runs_into_etcd_unchanged() {
    let _serial = serial();
    let scene = scene(2, "/quorate/migrated");
    let (lab, url) = (&scene.lab, &scene.url);
    let done = lab.run(&scene.runbook, &[]).success();
    let run = lab::run_id(&done);
    let dir = lab.path("state");
    let operator = Controller::new(url);

    let out = operator
        .quorate()
        .args(["store", "migrate", "--from"])
        .arg(&dir)
        .args(["--to", url])
        .run()
        .success();
    assert!(out.contains("copied 1 run(s)"), "{out}");

    let local = lab.show(&run);
    assert_eq!(operator.show(&run), local);
    let logs = |q: Quorate| q.args(["logs", &run, "--format", "json"]).run().success();
    assert_eq!(logs(operator.quorate()), logs(lab.quorate()));
    let listed = operator.quorate().args(["runs"]).run().success();
    assert!(listed.contains(&run), "{listed}");

    // Copying again changes nothing.
    let again = operator
        .quorate()
        .args(["store", "migrate", "--from"])
        .arg(&dir)
        .args(["--to", url])
        .run()
        .success();
    assert!(
        again.contains("copied 0 run(s)") && again.contains("1 were there already"),
        "{again}"
    );
    assert_eq!(operator.show(&run), local);
}

#[test]
fn a_store_whose_lease_was_revoked_writes_nothing_more() {
    use quorate::store::{
        Access, Change, EtcdOptions, EtcdStore, RunReader, RunRecord, RunStatus, RunStore,
        StateLocation, StoreError, TaskRecord,
    };
    let _serial = serial();
    let etcd = EtcdCluster::start(3);
    let StateLocation::Etcd(at) = StateLocation::parse(Path::new(&etcd.url("/q/lease"))).unwrap()
    else {
        panic!("not an etcd address")
    };
    let options = EtcdOptions {
        lock_ttl: Some(Duration::from_secs(3)),
        ..EtcdOptions::default()
    };
    let store = EtcdStore::open(&at, &options, Access::Write).unwrap();
    let run = RunRecord {
        id: "r1".to_owned(),
        runbook: "rb".to_owned(),
        cluster: "c1".to_owned(),
        status: RunStatus::Running,
        created_ms: 1,
        updated_ms: 1,
        paused: None,
        controller: "me".to_owned(),
        plan_digest: String::new(),
        tasks: 1,
    };
    store
        .create_run(&run, "{}", &[TaskRecord::pending(0, "s", None)])
        .unwrap();
    let note = |message: &str| Change::Event {
        node: None,
        kind: "note".to_owned(),
        message: message.to_owned(),
    };
    assert_eq!(store.commit("r1", vec![note("one")]).unwrap(), vec![1]);

    // A second controller is refused while the first holds the cluster.
    let second = EtcdStore::open(&at, &options, Access::Write).unwrap();
    match second.commit("r1", vec![note("intruder")]) {
        Err(StoreError::Controlled {
            cluster, holder, ..
        }) => {
            assert_eq!(cluster, "c1");
            assert!(
                holder.contains(&format!("pid {}", std::process::id())),
                "{holder}"
            );
        }
        other => panic!("the second controller was not refused: {other:?}"),
    }
    drop(second);

    // The lease goes (as when etcd expires it): the store refuses to write.
    let leases = etcd.etcdctl(&["lease", "list"]);
    let text = String::from_utf8_lossy(&leases.stdout);
    for id in text.lines().skip(1) {
        etcd.etcdctl(&["lease", "revoke", id.trim()]);
    }
    match store.commit("r1", vec![note("after")]) {
        Err(StoreError::LockLost { cluster, .. }) => assert_eq!(cluster, "c1"),
        other => panic!("a controller without its lease wrote: {other:?}"),
    }
    let reader = EtcdStore::open(&at, &options, Access::Read).unwrap();
    let messages: Vec<String> = reader
        .events("r1")
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(messages, ["one"]);
}
