//! Host task journals are removed when they are no longer needed: when a run ends done or
//! is abandoned, and by `quorate gc`; failed, paused and other unfinished runs keep
//! theirs, since resume reads them. Real sshd hosts on 127.0.0.x, a real store.

mod support;

use std::io::BufReader;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::lab::{run_id, Lab};
use support::read_transitions;

fn lab(hosts: usize) -> Lab {
    let lab = Lab::new(hosts, |c| c.inventory_yaml(""));
    for h in &lab.cluster.hosts {
        std::fs::create_dir_all(h.home.join("node")).unwrap();
    }
    lab
}

/// The files of a journal directory whose names end in `suffix`.
/// How many tasks in a run's journal finished: their `pid` file has its exit line.
fn finished(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".pid"))
            .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.lines().count() == 2))
            .count()
    })
}

fn count(dir: &Path, suffix: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
            .count()
    })
}

const GATED: &str = r#"
runbook: gated
on: all
steps:
  - id: before
    run: echo before > {{host.vars.node_dir}}/before
  - id: local
    on: controller
    run: "true"
  - id: ask
    approve: go on?
  - id: after
    run: echo after > {{host.vars.node_dir}}/after
"#;

#[test]
fn a_paused_run_keeps_its_journals_and_they_go_when_it_ends_done() {
    let lab = lab(2);
    let rb = lab.runbook(GATED);
    let out = lab.run(&rb);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let run = run_id(&out.stdout);
    for i in 0..2 {
        assert_eq!(
            finished(&lab.journal(i, &run)),
            1,
            "node{i} keeps the journal of its finished task while the run is paused"
        );
    }
    assert_eq!(finished(&lab.controller_journal(&run)), 1);

    lab.quorate().args(["approve", &run]).run().success();
    let out = lab
        .quorate()
        .args(["resume", &run, "--plain"])
        .run()
        .success();
    assert!(!out.contains("journal"), "{out}");
    for i in 0..2 {
        assert_eq!(lab.read(i, "after"), "after\n");
        assert!(
            !lab.journal(i, &run).exists(),
            "node{i} still has the journal of done run {run}"
        );
    }
    assert!(!lab.controller_journal(&run).exists());
}

#[test]
fn a_done_run_leaves_no_journal_and_a_failed_one_keeps_it() {
    let lab = lab(2);
    let rb = lab.runbook("runbook: once\non: all\nsteps:\n  - id: work\n    run: echo done > {{host.vars.node_dir}}/work\n");
    let out = lab.run(&rb);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    let run = run_id(&out.stdout);
    for i in 0..2 {
        assert_eq!(lab.read(i, "work"), "done\n");
        assert!(!lab.journal(i, &run).exists());
    }

    let rb = lab.runbook(
        "runbook: broken\non: all\nsteps:\n  - id: fail\n    run: \"[ {{host.name}} = node0 ] || exit 3\"\n",
    );
    let out = lab.run(&rb);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let run = run_id(&out.stdout);
    for i in 0..2 {
        assert_eq!(
            finished(&lab.journal(i, &run)),
            1,
            "a failed run keeps node{i}'s journal for resume"
        );
    }
}

/// `quorate gc -i INVENTORY EXTRA...` in the lab.
fn gc(lab: &Lab, extra: &[&str]) -> support::Output {
    lab.quorate()
        .args(["gc", "-i"])
        .arg(lab.path("inventory.yaml"))
        .args(extra)
        .run()
}

/// Waits until every task started in the journal has ended (a killed controller's last
/// tasks run to their end on the hosts).
fn wait_quiet(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(dir, ".pid") != finished(dir) {
        assert!(
            Instant::now() < deadline,
            "tasks in {} never ended",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts a run on every host and kills the controller once the first step is done on
/// both: the run stays `running`, its journals stay on the hosts. Returns its id.
fn killed_run(lab: &Lab) -> String {
    let rb = lab.runbook("runbook: killed\non: all\nsteps:\n  - id: first\n    run: echo a > {{host.vars.node_dir}}/a\n  - id: second\n    run: sleep 1\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .current_dir(support::root())
        .arg("--state")
        .arg(lab.path("state"))
        .args(["--log-format", "json", "run"])
        .arg(&rb)
        .arg("-i")
        .arg(lab.path("inventory.yaml"))
        .arg("--plain")
        .env("HOME", lab.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let seen = read_transitions(&mut err, 4);
    child.kill().unwrap();
    child.wait().unwrap();
    seen[0]["run"].as_str().unwrap().to_owned()
}

#[test]
fn abandon_cleans_reachable_hosts_warns_for_others_and_gc_removes_the_orphans_only() {
    let mut lab = lab(2);

    let killed = killed_run(&lab);
    for i in 0..2 {
        assert!(lab.journal(i, &killed).exists());
        wait_quiet(&lab.journal(i, &killed));
    }

    // Abandoned while node1 is down: node0 is cleaned, node1 is named with `gc`.
    lab.cluster.stop(1);
    let out = lab.quorate().args(["abandon", &killed]).run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!("run {killed} abandoned")),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&format!(
            "warning: cannot remove the task journal of run {killed} on host node1"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("`quorate gc -i INVENTORY`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("host node0"), "{}", out.stderr);
    assert!(!lab.journal(0, &killed).exists());
    assert!(lab.journal(1, &killed).exists());
    lab.cluster.restart(1);

    // Run B pauses at its approval: unfinished, its journals must survive gc.
    let rb = lab.runbook("runbook: paused\non: all\nsteps:\n  - id: mark\n    run: echo b > {{host.vars.node_dir}}/b\n  - id: ask\n    approve: go on?\n");
    let out = lab.run(&rb);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let paused = run_id(&out.stdout);
    // A journal no run of this store knows.
    let unknown = "20200101-000000-dead";
    std::fs::create_dir_all(lab.journal(0, unknown)).unwrap();
    std::fs::write(lab.journal(0, unknown).join("n0-a1.exit"), "0 0\n").unwrap();

    let listed = gc(&lab, &["--dry-run"]).success();
    assert_eq!(
        listed,
        format!(
            "node0: 1 to remove ({unknown}), 1 kept\nnode1: 1 to remove ({killed}), 1 kept\ncontroller: 0 to remove, 0 kept\n"
        )
    );
    assert!(lab.journal(0, unknown).exists() && lab.journal(1, &killed).exists());

    let cleaned = gc(&lab, &[]).success();
    assert_eq!(
        cleaned,
        "node0: 1 removed, 1 kept\nnode1: 1 removed, 1 kept\ncontroller: 0 removed, 0 kept\n"
    );
    assert!(!lab.journal(0, unknown).exists());
    assert!(!lab.journal(1, &killed).exists());
    for i in 0..2 {
        assert_eq!(finished(&lab.journal(i, &paused)), 1, "node{i}");
    }

    // The paused run still resumes to its end, and then its journals go too.
    lab.quorate().args(["approve", &paused]).run().success();
    lab.quorate()
        .args(["resume", &paused, "--plain"])
        .run()
        .success();
    for i in 0..2 {
        assert_eq!(lab.read(i, "b"), "b\n");
        assert!(!lab.journal(i, &paused).exists());
    }

    // A host that cannot be reached fails gc by name; the others are still cleaned.
    std::fs::create_dir_all(lab.journal(0, unknown)).unwrap();
    lab.cluster.stop(1);
    let out = gc(&lab, &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            == "node0: 1 removed, 0 kept\nnode1: not reached\ncontroller: 0 removed, 0 kept\n",
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("error: cannot clean the task journals on host node1"),
        "{}",
        out.stderr
    );
    assert!(!lab.journal(0, unknown).exists());
}
