//! `--limit`: only the named hosts' tasks run, controller tasks still do, and the quorum
//! math and health gate still count every member. Real sshd hosts, a real store.

#[path = "support/engine_lab.rs"]
mod lab;
mod support;

use lab::{run_id, task, Lab};

const MEMBERS: &str = "groups:\n  members: [node0, node1, node2, node3]\n  pair: [node1, node2]\ncluster:\n  consensus: bft\n  members: members\n  health: test ! -f {{host.vars.node_dir}}/sick\n";

fn runbook(lab: &Lab) -> std::path::PathBuf {
    let note = lab.path("controller-note");
    lab.runbook(&format!(
        "
runbook: limited-roll
on: members
steps:
  - id: roll
    rolling:
      steps:
        - id: restart
          run: echo rolled >> {{{{host.vars.node_dir}}}}/rolled
  - id: note
    on: controller
    run: echo noted > {}
",
        note.display()
    ))
}

#[test]
fn the_plan_shows_which_tasks_a_limit_excludes() {
    let lab = Lab::new(4, MEMBERS);
    let rb = runbook(&lab);
    let text = lab
        .compile_command("plan", &rb, &["--limit", "node1"])
        .success();
    assert!(
        text.contains("limit: node1 (node1): 3 of 5 tasks excluded; controller tasks still run, and batch sizes and health gates still count every member"),
        "{text}"
    );
    assert_eq!(
        text.matches("excluded by --limit: does not run").count(),
        3,
        "{text}"
    );
    // The batches and the gate are those of the whole cluster.
    assert!(text.contains("batches: 4 of up to 1 host"), "{text}");
    assert!(
        text.contains("health gate before each batch: at least 3 of 4 members healthy"),
        "{text}"
    );
    let by_group = lab
        .compile_command("plan", &rb, &["--limit", "pair,node0"])
        .success();
    assert!(
        by_group.contains("limit: node0, node1, node2 (pair, node0): 1 of 5 tasks excluded"),
        "{by_group}"
    );
    let json = lab
        .compile_command("plan", &rb, &["--limit", "node1", "--format", "json"])
        .success();
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["limit"]["hosts"], serde_json::json!(["node1"]));
}

#[test]
fn an_unknown_limit_name_is_an_error_with_a_suggestion() {
    let lab = Lab::new(1, "groups:\n  members: [node0]\n");
    let rb = lab.runbook("runbook: one\non: all\nsteps:\n  - id: a\n    run: 'true'\n");
    for command in ["plan", "run"] {
        let err = lab
            .compile_command(command, &rb, &["--limit", "node0,membres"])
            .failure(2);
        assert!(
            err.contains("`--limit membres` names no host or group of the inventory"),
            "{err}"
        );
        assert!(err.contains("did you mean `members`?"), "{err}");
    }
    // Not even a store: the refused plan made nothing.
    let runs = lab.quorate().args(["runs"]).run().failure(5);
    assert!(
        runs.starts_with("error: there is no run store in"),
        "a refused limit starts no run:\n{runs}"
    );
}

#[test]
fn a_limited_run_touches_only_the_limited_hosts_and_the_gate_counts_every_member() {
    let lab = Lab::new(4, MEMBERS);
    let rb = runbook(&lab);
    // node3 is outside the limit, and sick: taking node1 down would leave 2 of the 3
    // healthy members needed, so the gate holds even though node3 runs nothing.
    std::fs::write(lab.node_dir(3).join("sick"), "").unwrap();
    let out = lab.run(&rb, &["--limit", "node1", "--health-timeout", "2s"]);
    let stdout = out.stdout.clone();
    let err = out.failure(1);
    assert!(
        err.contains("would leave 2 healthy members, fewer than the 3 needed (3 of 4 healthy now; unhealthy: node3)"),
        "{err}"
    );
    assert!((0..4).all(|i| lab.read(i, "rolled").is_empty()), "{stdout}");
    assert!(
        stdout.contains(": limited-roll on sshd-test, 5 tasks (--limit node1: 3 excluded)"),
        "{stdout}"
    );

    // Healthy again: the resume keeps the limit.
    std::fs::remove_file(lab.node_dir(3).join("sick")).unwrap();
    let run = run_id(&stdout);
    let resumed = lab
        .quorate()
        .args(["resume", &run, "--plain"])
        .run()
        .success();
    assert_eq!(lab.read(1, "rolled"), "rolled\n", "{resumed}");
    assert!(
        resumed.contains("5 tasks (--limit node1: 3 excluded)"),
        "the resumed run keeps the limit:\n{resumed}"
    );
    for i in [0, 2, 3] {
        assert_eq!(lab.read(i, "rolled"), "", "node{i} is outside the limit");
    }
    assert_eq!(
        std::fs::read_to_string(lab.path("controller-note")).unwrap(),
        "noted\n",
        "controller tasks still run"
    );
    assert!(
        resumed.contains("roll: batch 2 of 4: 4 of 4 members healthy, 3 needed"),
        "the gate checked every member:\n{resumed}"
    );
    let show = lab.show(&run);
    assert_eq!(task(&show, "restart", "node1")["state"], "done");
    for host in ["node0", "node2", "node3"] {
        let t = task(&show, "restart", host);
        assert_eq!(t["state"], "skipped");
        assert_eq!(t["reason"], "excluded by --limit");
    }
    assert!(
        resumed.contains(&format!("run {run} done: 2 done, 3 skipped, 0 failed")),
        "{resumed}"
    );
}
