//! Approvals (who, when, why; four eyes) and maintenance windows, on real sshd hosts with
//! a real store, through the `quorate` binary.

#[path = "support/engine_lab.rs"]
mod lab;
mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use lab::{run_id, task, Lab};
use support::read_transitions;

const GATED: &str = r"runbook: gated
on: node0
steps:
  - id: slow
    run: sleep 1; echo slow > {{host.vars.node_dir}}/slow
    idempotent: true
  - id: ask
    needs: []
    approve: go?
  - id: act
    needs: [ask, slow]
    run: echo acted > {{host.vars.node_dir}}/acted
";

#[test]
fn an_approval_pause_survives_a_controller_kill_and_records_who_and_why() {
    let lab = Lab::new(1, "");
    let rb = lab.runbook(GATED);
    let (mut child, mut err) = lab.spawn_run(&rb);
    // The gate is reached (recorded) while `slow` still runs: kill the controller then.
    let gate = loop {
        let seen = read_transitions(&mut err, 1);
        let Some(t) = seen.into_iter().next() else {
            panic!("the run ended before its gate was reached");
        };
        if t["step"] == "ask" && t["state"] == "pending" {
            break t;
        }
    };
    let run = gate["run"].as_str().unwrap().to_owned();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(lab.read(0, "acted"), "", "nothing after the gate ran");

    let out = lab
        .quorate()
        .args(["approve", &run, "--comment", "CHG-1234 checked"])
        .run()
        .success();
    let (user, host) = whoami();
    assert!(
        out.contains(&format!("approved ask in run {run} as {user}@{host}")),
        "{out}"
    );
    let show = lab.show(&run);
    let approval = &show["approvals"][0];
    assert_eq!(approval["step"], "ask");
    assert_eq!(approval["user"].as_str(), Some(user.as_str()));
    assert_eq!(approval["host"].as_str(), Some(host.as_str()));
    assert_eq!(approval["comment"], "CHG-1234 checked");
    assert!(approval["at_ms"].as_u64().unwrap() > 1_735_689_600_000);
    let text = lab.quorate().args(["show", &run]).run().success();
    assert!(
        text.contains(&format!("approved ask by {user}@{host} at 20"))
            && text.contains(": CHG-1234 checked"),
        "{text}"
    );

    let report = lab
        .quorate()
        .args(["report", &run, "--format", "markdown"])
        .run()
        .success();
    assert!(
        report.contains(&format!("| ask | {user}@{host} | 20"))
            && report.contains(" | CHG-1234 checked |"),
        "the report lists the approval: {report}"
    );
    lab.quorate()
        .args(["resume", &run, "--plain"])
        .run()
        .success();
    assert_eq!(lab.read(0, "slow"), "slow\n");
    assert_eq!(lab.read(0, "acted"), "acted\n");
    assert_eq!(lab.show(&run)["run"]["status"], "done");
}

/// Asserts the run is paused with a note containing `why`; returns `show --format json`.
fn assert_paused(lab: &Lab, run: &str, why: &str) -> serde_json::Value {
    let show = lab.show(run);
    assert_eq!(show["run"]["status"], "paused");
    let note = show["run"]["paused"].as_str().unwrap_or_default();
    assert!(note.contains(why), "{show}");
    show
}

/// This process's OS user and host name, as `quorate approve` records them.
fn whoami() -> (String, String) {
    let user = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    (user.trim().to_owned(), host.trim().to_owned())
}

/// Hands `path` and everything under it to user and group `id`.
fn hand_over(path: &Path, id: u32) {
    std::os::unix::fs::lchown(path, Some(id), Some(id)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            hand_over(&entry.unwrap().path(), id);
        }
    }
}

#[test]
fn four_eyes_refuses_the_operator_who_started_the_run_and_takes_another() {
    let lab = Lab::new(1, "approvals:\n  four_eyes: true\n");
    let rb = lab.runbook(
        "runbook: gated\non: node0\nsteps:\n  - id: ask\n    approve: go?\n  - id: act\n    run: echo acted > {{host.vars.node_dir}}/acted\n",
    );
    let out = lab.run(&rb, &[]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let run = run_id(&out.stdout);
    let (user, host) = whoami();
    let err = lab.quorate().args(["approve", &run]).run().failure(2);
    assert!(
        err.contains(&format!(
            "error: run {run} was started by {user}@{host}; its inventory requires an approval by another operator (approvals.four_eyes)"
        )),
        "{err}"
    );
    assert!(lab.show(&run)["approvals"].as_array().unwrap().is_empty());

    // Another OS user approves: the store (0700, its owner's only) is handed to them.
    if user != "root" {
        eprintln!(
            "not root: the second operator cannot be played here; only the refusal was checked"
        );
        return;
    }
    std::fs::set_permissions(lab.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    hand_over(&lab.path("state"), 65534);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_quorate"))
        .arg("--state")
        .arg(lab.path("state"))
        .args(["approve", &run, "--comment", "second pair of eyes"])
        .env("HOME", lab.dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let show = lab.show(&run);
    assert_eq!(show["approvals"][0]["user"], "nobody");
    assert_eq!(show["approvals"][0]["comment"], "second pair of eyes");
    lab.quorate()
        .args(["resume", &run, "--plain"])
        .run()
        .success();
    assert_eq!(lab.read(0, "acted"), "acted\n");
}

#[test]
fn a_run_outside_its_window_pauses_durably_and_resume_continues_inside_it() {
    let lab = Lab::new(1, "");
    let rb = lab.runbook(
        "runbook: windowed\non: node0\nsteps:\n  - id: one\n    run: echo one > {{host.vars.node_dir}}/one\n",
    );
    let out = lab.run(&rb, &["--window", "now+3s/1h"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let run = run_id(&out.stdout);
    assert!(
        out.stdout
            .contains(&format!("run {run} paused outside the window 20")),
        "{}",
        out.stdout
    );
    assert_eq!(lab.read(0, "one"), "", "no task started before the window");
    let show = assert_paused(&lab, &run, "outside the window");
    assert_eq!(task(&show, "one", "node0")["state"], "pending");

    // `resume` keeps the recorded window: it pauses again until the window opens.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = lab.quorate().args(["resume", &run, "--plain"]).run();
        if out.code == 0 {
            break;
        }
        assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
        assert_eq!(lab.read(0, "one"), "");
        assert!(Instant::now() < deadline, "the window never opened");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(lab.read(0, "one"), "one\n");
    assert_eq!(lab.show(&run)["run"]["status"], "done");
}

const MEMBERS: &str = "groups:\n  members: [node0, node1, node2]\ncluster:\n  consensus: cft\n  members: members\n  health: \"true\"\n";

#[test]
fn a_window_that_ends_mid_batch_lets_the_batch_finish_and_pauses_before_the_next() {
    let lab = Lab::new(3, MEMBERS);
    let rb = lab.runbook(
        "runbook: roll\non: members\nsteps:\n  - id: roll\n    rolling:\n      batch: 1\n      steps:\n        - id: stop\n          run: sleep 7; echo stop > {{host.vars.node_dir}}/stop\n        - id: start\n          run: echo start > {{host.vars.node_dir}}/start\n",
    );
    let out = lab.run(&rb, &["--window", "now/6s"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let run = run_id(&out.stdout);
    // `start` on node0 began after the window ended: its batch had started, so it ran.
    assert_eq!(lab.read(0, "stop"), "stop\n");
    assert_eq!(lab.read(0, "start"), "start\n");
    assert_eq!(lab.read(1, "stop"), "", "the next batch waits for a window");
    assert_paused(&lab, &run, "it is over; resume with a new --window");
    lab.quorate()
        .args(["resume", &run, "--plain", "--window", "now/1h"])
        .run()
        .success();
    for i in 0..3 {
        assert_eq!(lab.read(i, "start"), "start\n", "node{i}");
    }
}

#[test]
fn a_bad_window_is_refused_before_anything_runs() {
    let lab = Lab::new(1, "");
    let rb = lab.runbook("runbook: w\non: node0\nsteps:\n  - id: one\n    run: echo one\n");
    let err = lab.run(&rb, &["--window", "Sat 2am"]).failure(2);
    assert!(
        err.contains("error: `--window Sat 2am`: windows look like `Sat 02:00/4h`, `02:00/4h` (daily, UTC) or `now+10m/2h`"),
        "{err}"
    );
    assert!(!lab.path("state").exists(), "no run was recorded");
}

#[test]
fn on_a_terminal_run_asks_and_approves_in_place() {
    use std::io::{Read as _, Write as _};
    let lab = Lab::new(1, "");
    let rb = lab.runbook(
        "runbook: gated\non: node0\nsteps:\n  - id: ask\n    approve: go?\n  - id: act\n    run: echo acted > {{host.vars.node_dir}}/acted\n",
    );
    // `script` gives the run a terminal (a pseudo-terminal) as an operator's shell would.
    let command = format!(
        "{} --state {} run {} -i {} --plain",
        env!("CARGO_BIN_EXE_quorate"),
        lab.path("state").display(),
        rb.display(),
        lab.path("inventory.yaml").display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("HOME", lab.dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("? [y/N] ") {
        let n = stdout.read(&mut chunk).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    let (user, host) = whoami();
    assert!(
        String::from_utf8_lossy(&seen)
            .contains(&format!("go?\r\napprove now as {user}@{host}? [y/N] ")),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"y\n").unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    drop(stdin);
    assert!(
        child.wait().unwrap().success(),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    assert_eq!(lab.read(0, "acted"), "acted\n");
    let show = lab.show("latest");
    assert_eq!(show["run"]["status"], "done");
    assert_eq!(show["approvals"][0]["user"].as_str(), Some(user.as_str()));
}
