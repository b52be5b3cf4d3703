//! Watching runs: `runs`, `show` and `logs --follow` from a second process while a real
//! `quorate run` drives a runbook on `transport: local` hosts and holds the real sled store;
//! RUN arguments as people type them; the JSON of `runs` and `logs` against its schema;
//! read-only commands on a missing state directory.
//!
//! Timing is in the test's hands: the `hold` step waits for a file per host that the test
//! creates, and the test waits for what it expects to see (with a generous deadline), not
//! for a fixed time. The step gives up after 30 s, so a failed test leaves no process
//! polling behind.

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use quorate::schema::{output_violations, OutputKind};
use serde_json::Value;
use support::{read_transitions, Output, Quorate};

/// Longest wait for something a test expects to happen.
const PATIENCE: Duration = Duration::from_secs(30);

/// A controller directory (state, home, runbook, inventory) and two local hosts whose
/// `hold` step waits for `go-HOST` in it.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        std::fs::write(
            dir.path().join("inventory.yaml"),
            format!(
                "name: watched\nhosts:\n  n0: {{ transport: local, vars: {{ gate: {d}/go-n0 }} }}\n  n1: {{ transport: local, vars: {{ gate: {d}/go-n1 }} }}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("hold.yaml"),
            "runbook: hold\non: all\nsteps:\n  - id: hello\n    run: echo hello from {{host.name}}\n  - id: hold\n    needs: [hello]\n    run: i=0; while [ ! -f {{host.vars.gate}} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; test -f {{host.vars.gate}} && echo released {{host.name}}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("quick.yaml"),
            "runbook: quick\non: all\nsteps:\n  - id: say\n    run: echo said by {{host.name}}; echo to stderr >&2\n",
        )
        .unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn state(&self) -> PathBuf {
        self.path("state")
    }

    fn quorate(&self) -> Quorate {
        Quorate::in_lab(self.dir.path())
    }

    fn open_gate(&self, host: &str) {
        std::fs::write(self.path(&format!("go-{host}")), "").unwrap();
    }

    /// Runs a runbook to its end in the foreground.
    fn run(&self, runbook: &str) -> Output {
        self.quorate()
            .arg("run")
            .arg(self.path(runbook))
            .arg("-i")
            .arg(self.path("inventory.yaml"))
            .arg("--plain")
            .run()
    }

    /// Starts `quorate run hold.yaml` with JSON logs on a pipe.
    fn spawn_hold(&self) -> (Process, BufReader<std::process::ChildStderr>) {
        let mut child = self
            .command()
            .args(["--log-format", "json", "run"])
            .arg(self.path("hold.yaml"))
            .arg("-i")
            .arg(self.path("inventory.yaml"))
            .arg("--plain")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = BufReader::new(child.stderr.take().unwrap());
        (Process(child), err)
    }

    /// The `quorate` binary with this lab's state and home, for a process of its own.
    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorate"));
        cmd.current_dir(support::root())
            .arg("--state")
            .arg(self.state())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("QUORATE_RUNBOOKS");
        cmd
    }

    fn show(&self, run: &str) -> Value {
        let out = self
            .quorate()
            .args(["show", run, "--format", "json"])
            .run()
            .success();
        serde_json::from_str(&out).unwrap()
    }

    fn runs_json(&self) -> Value {
        let out = self
            .quorate()
            .args(["runs", "--format", "json"])
            .run()
            .success();
        let value: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            output_violations(OutputKind::Runs, &value),
            Vec::<String>::new()
        );
        value
    }
}

/// A process the test started; killed by its pid if the test ends before it does.
struct Process(Child);

impl Process {
    fn wait_code(&mut self) -> i32 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "process {} did not end",
                self.0.id()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn is_running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The stdout lines of a process, read on a thread so the test can wait for one.
struct Lines {
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn of(child: &mut Child) -> Self {
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits for a line equal to `want`; panics with what was seen after the deadline.
    fn wait_for(&mut self, want: &str) {
        if self.seen.iter().any(|l| l == want) {
            return;
        }
        let deadline = Instant::now() + PATIENCE;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    let found = line == want;
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no line {want:?} in:\n{}", self.seen.join("\n"));
    }

    /// Every line, once the process has closed its stdout.
    fn rest(mut self) -> Vec<String> {
        while let Ok(line) = self.rx.recv_timeout(PATIENCE) {
            self.seen.push(line);
        }
        self.seen
    }
}

fn task<'v>(show: &'v Value, step: &str, host: &str) -> &'v Value {
    show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["step"] == step && t["host"] == host)
        .unwrap_or_else(|| panic!("no task {step}@{host} in {show}"))
}

fn states(show: &Value) -> Vec<(String, String, String)> {
    show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["step"].as_str().unwrap().to_owned(),
                t["host"].as_str().unwrap_or("controller").to_owned(),
                t["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn tuple(step: &str, host: &str, state: &str) -> (String, String, String) {
    (step.to_owned(), host.to_owned(), state.to_owned())
}

/// Waits until the hold run has recorded both `hold` tasks as running (hello running and
/// done on both hosts, then hold running on both: 6 logged transitions, each durable).
fn wait_until_holding(err: &mut BufReader<std::process::ChildStderr>) -> String {
    let seen = read_transitions(err, 6);
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert!(
        seen[4..]
            .iter()
            .all(|t| t["step"] == "hold" && t["state"] == "running"),
        "{seen:?}"
    );
    seen[0]["run"].as_str().unwrap().to_owned()
}

fn logs_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(
                output_violations(OutputKind::Logs, &v),
                Vec::<String>::new(),
                "{l}"
            );
            v
        })
        .collect()
}

#[test]
fn a_second_process_watches_a_live_run_and_the_run_is_unaffected() {
    let lab = Lab::new();
    let (mut controller, mut err) = lab.spawn_hold();
    let id = wait_until_holding(&mut err);

    // `runs`, text and JSON, from another process: the run, running.
    let runs = lab.quorate().arg("runs").run().success();
    let row = runs
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{runs}"));
    assert!(row.contains(" running ") && row.contains(" hold "), "{row}");
    let json = lab.runs_json();
    assert_eq!(json["runs"][0]["id"], id.as_str());
    assert_eq!(json["runs"][0]["status"], "running");

    // `show latest`: the current state of every task.
    let live = lab.show("latest");
    assert_eq!(live["run"]["id"], id.as_str());
    assert_eq!(live["run"]["status"], "running");
    assert_eq!(
        states(&live),
        vec![
            tuple("hello", "n0", "done"),
            tuple("hello", "n1", "done"),
            tuple("hold", "n0", "running"),
            tuple("hold", "n1", "running"),
        ]
    );
    assert_eq!(task(&live, "hello", "n1")["stdout"], "hello from n1\n");
    let text = lab.quorate().args(["show", "latest"]).run().success();
    assert!(
        text.starts_with(&format!("run {id}: hold on watched, running\n")),
        "{text}"
    );

    // `logs --format json` of the live run: every line fits the schema; the end line says
    // where the run stands.
    let lines = logs_lines(
        &lab.quorate()
            .args(["logs", &id, "--format", "json"])
            .run()
            .success(),
    );
    assert_eq!(lines.len(), 5, "4 tasks and the end: {lines:?}");
    assert_eq!(lines[4]["type"], "end");
    assert_eq!(lines[4]["status"], "running");

    // `logs latest -f`: what already finished, then each task's output as it finishes,
    // while the run goes on; it ends when the run does, with the run's exit code.
    let mut follow = lab
        .command()
        .args(["logs", "latest", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Lines::of(&mut follow);
    let mut follow = Process(follow);
    lines.wait_for("hello from n1");
    lab.open_gate("n0");
    lines.wait_for("==> hold on n0 (done) <==");
    lines.wait_for("released n0");
    assert!(
        controller.is_running() && follow.is_running(),
        "the run waits for n1's gate; the follower follows it"
    );
    lab.open_gate("n1");
    assert_eq!(follow.wait_code(), 0, "a run that ends done: exit 0");
    let seen = lines.rest();
    assert_eq!(
        seen.iter()
            .filter(|l| l.starts_with("==> ") || l.starts_with("-- "))
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            "==> hello on n0 (done) <==",
            "==> hello on n1 (done) <==",
            "-- done hold@n0",
            "==> hold on n0 (done) <==",
            "-- done hold@n1",
            "==> hold on n1 (done) <==",
            "-- finished: done",
        ],
        "{seen:?}"
    );

    // The controller's own result and record: as without a watcher.
    assert_eq!(controller.wait_code(), 0);
    assert!(
        !lab.state().join("live.sock").exists(),
        "the controller removes its socket"
    );
    assert_recorded_as_without_a_watcher(&lab, &id);
}

/// The record of a finished hold run: every task done once, its output kept, the event
/// log whole.
fn assert_recorded_as_without_a_watcher(lab: &Lab, id: &str) {
    let after = lab.show(id);
    assert_eq!(after["run"]["status"], "done");
    assert_eq!(
        states(&after),
        vec![
            tuple("hello", "n0", "done"),
            tuple("hello", "n1", "done"),
            tuple("hold", "n0", "done"),
            tuple("hold", "n1", "done"),
        ]
    );
    assert!(after["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["attempts"] == 1 && t["exit"] == 0));
    assert_eq!(task(&after, "hold", "n1")["stdout"], "released n1\n");
    let seqs: Vec<u64> = after["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "the event log has no gaps"
    );
    let kinds: Vec<&str> = after["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"sources"));
    assert_eq!(kinds.last(), Some(&"finished"));
}

#[test]
fn a_killed_controllers_stale_socket_does_not_break_readers_or_the_next_controller() {
    let lab = Lab::new();
    let (mut controller, mut err) = lab.spawn_hold();
    let id = wait_until_holding(&mut err);
    let socket = lab.state().join("live.sock");
    assert!(socket.exists());
    controller.kill();
    assert!(socket.exists(), "SIGKILL leaves the socket behind");

    // Nothing listens on it now: readers read the store, and remove the socket.
    let runs = lab.quorate().arg("runs").run().success();
    assert!(runs.contains(&id), "{runs}");
    assert!(
        !socket.exists(),
        "a reader holding the store removes a dead socket"
    );
    let show = lab.show("latest");
    assert_eq!(task(&show, "hold", "n0")["state"], "running");

    // A follower of a run that no controller drives says so instead of waiting forever.
    let out = lab.quorate().args(["logs", "latest", "-f"]).run();
    let stderr = out.failure(1);
    assert!(
        stderr.contains(&format!(
            "error: run {id} is recorded as running but no controller drives it"
        )) && stderr.contains(&format!("`quorate resume {id}`")),
        "{stderr}"
    );

    // A dead socket left again: the next controller replaces it and serves reads.
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    drop(listener);
    assert!(socket.exists());
    lab.open_gate("n0");
    lab.open_gate("n1");
    let resumed = lab
        .quorate()
        .args(["resume", "latest", "--plain"])
        .run()
        .success();
    assert!(resumed.contains(&format!("run {id} done")), "{resumed}");
    assert!(!socket.exists());
    assert_eq!(lab.show(&id)["run"]["status"], "done");
}

#[test]
fn run_arguments_take_latest_and_unique_prefixes() {
    let lab = Lab::new();
    lab.run("quick.yaml").success();
    lab.run("quick.yaml").success();
    let runs = lab.runs_json();
    let ids: Vec<String> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    let (newest, oldest) = (&ids[0], &ids[1]);

    assert_eq!(lab.show("latest")["run"]["id"], newest.as_str());
    // The shortest prefix that only the oldest has.
    let common = newest
        .chars()
        .zip(oldest.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let unique = &oldest[..=common];
    assert_eq!(lab.show(unique)["run"]["id"], oldest.as_str());
    let logs = lab.quorate().args(["logs", unique]).run().success();
    assert!(logs.contains("said by n0"), "{logs}");

    // A prefix both have: an error naming both, newest first; exit 2.
    let shared = &oldest[..common.min(8)];
    let err = lab.quorate().args(["show", shared]).run().failure(2);
    assert!(
        err.starts_with(&format!(
            "error: run `{shared}` is ambiguous: 2 runs start with it: {newest}, {oldest}\n"
        )),
        "{err}"
    );
    let err = lab.quorate().args(["abandon", shared]).run().failure(2);
    assert!(err.contains("is ambiguous: 2 runs start with it"), "{err}");

    // An unknown id: says so, with the closest ids.
    let mut typo = oldest.clone();
    typo.replace_range(0..1, "3");
    let err = lab.quorate().args(["logs", &typo]).run().failure(2);
    assert!(
        err.starts_with(&format!(
            "error: no run `{typo}` in {}\n",
            lab.state().display()
        )) && err.contains("hint: the closest ids are ")
            && err.contains(oldest.as_str()),
        "{err}"
    );

    // The commands that change a run resolve the same way and name the whole id.
    let out = lab.quorate().args(["abandon", unique]).run().success();
    assert_eq!(out, format!("run {oldest} is already done\n"));
    let out = lab.quorate().args(["approve", "latest"]).run().success();
    assert_eq!(
        out,
        format!("run {newest} is already done; nothing to do\n")
    );
    let out = lab
        .quorate()
        .args(["resume", "latest", "--plain"])
        .run()
        .success();
    assert!(
        out.contains(&format!("run {newest} is already done")),
        "{out}"
    );
}

#[test]
fn runs_and_logs_json_follow_their_schemas() {
    let lab = Lab::new();
    lab.run("quick.yaml").success();
    let runs = lab.runs_json();
    assert_eq!(runs["version"], 1);
    assert_eq!(runs["runs"][0]["status"], "done");
    assert_eq!(runs["runs"][0]["tasks"], 2);
    // The check can fail: a status the schema does not know is caught.
    let mut broken = runs.clone();
    broken["runs"][0]["status"] = "finished".into();
    assert_eq!(output_violations(OutputKind::Runs, &broken).len(), 1);

    let text = lab
        .quorate()
        .args(["logs", "latest", "--format", "json", "--host", "n1"])
        .run()
        .success();
    let lines = logs_lines(&text);
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["type"], "task");
    assert_eq!(lines[0]["task"]["host"], "n1");
    assert_eq!(lines[0]["task"]["stdout"], "said by n1\n");
    assert_eq!(lines[0]["task"]["stderr"], "to stderr\n");
    assert_eq!(lines[1]["type"], "end");
    assert_eq!(lines[1]["status"], "done");

    // Following a run that has ended prints what it has and ends with its exit code.
    let text = lab
        .quorate()
        .args(["logs", "latest", "-f", "--format", "json"])
        .run()
        .success();
    let lines = logs_lines(&text);
    assert_eq!(
        lines
            .iter()
            .map(|l| l["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["task", "task", "end"]
    );
    let mut broken = lines[0].clone();
    broken["task"]["state"] = "finished".into();
    assert!(!output_violations(OutputKind::Logs, &broken).is_empty());
}

#[test]
fn read_only_commands_on_a_missing_state_directory_create_nothing() {
    let lab = Lab::new();
    for state in [lab.path("none"), lab.path("no/such/parent")] {
        for args in [
            &["runs"][..],
            &["runs", "--format", "json"],
            &["show", "latest"],
            &["logs", "latest"],
            &["logs", "latest", "-f"],
        ] {
            let out = Quorate::new().arg("--state").arg(&state).args(args).run();
            let err = out.failure(5);
            assert!(
                err.starts_with(&format!(
                    "error: there is no run store in {}: the directory does not exist\n",
                    state.display()
                )),
                "{args:?}: {err}"
            );
            assert!(!state.exists(), "{args:?} created {}", state.display());
        }
    }
    assert!(!lab.path("no").exists(), "no parent directory was created");
    // An empty directory holds no store, and stays empty.
    let empty = lab.path("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = Quorate::new()
        .arg("--state")
        .arg(&empty)
        .arg("runs")
        .run()
        .failure(5);
    assert!(err.contains("the directory holds no store"), "{err}");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    assert!(is_absent_or_empty(&lab.state()));
}

fn is_absent_or_empty(path: &Path) -> bool {
    std::fs::read_dir(path).map_or(true, |mut d| d.next().is_none())
}
