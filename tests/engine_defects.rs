//! Engine behaviour operators rely on, on real sshd hosts and a real store: a captured
//! result never stalls the scheduler, failures and rollbacks are reported, and plans and
//! hosts are never taken on trust.

#[path = "support/engine_lab.rs"]
mod lab;
mod support;

use lab::{run_id, task, Lab};
use serde_json::Value;

fn ms(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a time: {v}"))
}

#[test]
fn a_captured_result_does_not_hold_up_other_hosts_tasks() {
    let lab = Lab::new(2, "");
    let rb = lab.runbook(
        "
runbook: capture-stall
steps:
  - id: cap
    on: node0
    run: sleep 1; echo hi
    capture: true
  - id: use
    on: node0
    run: echo {{steps.cap.stdout}} > {{host.vars.node_dir}}/used
  - id: slow
    on: node1
    needs: []
    run: sleep 4
",
    );
    let out = lab.run(&rb, &[]);
    let run = run_id(&out.stdout);
    out.success();
    assert_eq!(lab.read(0, "used"), "hi\n");
    let show = lab.show(&run);
    let start = ms(&show["run"]["created_ms"]);
    let cap_end = ms(&task(&show, "cap", "node0")["ended_ms"]) - start;
    let use_start = ms(&task(&show, "use", "node0")["started_ms"]) - start;
    println!("cap ended at {cap_end} ms, the step after it started at {use_start} ms");
    assert!(
        cap_end < 3_000,
        "cap ended at {cap_end} ms: it was recorded only when the slow task ended"
    );
    assert!(
        use_start < 3_000,
        "the step after cap started at {use_start} ms, not right after cap (~1 s)"
    );
}

/// The plan `quorate plan` makes for `runbook` on the lab, as the library reads it.
fn planned(lab: &Lab, runbook: &std::path::Path) -> (String, quorate::plan::Plan) {
    let json = lab
        .compile_command("plan", runbook, &["--format", "json"])
        .success();
    let plan = serde_json::from_str(&json).unwrap();
    (json, plan)
}

const TOUCH: &str = "
runbook: touch
on: all
steps:
  - id: touch
    run: echo ran on $(hostname) > {{host.vars.node_dir}}/touched
";

#[test]
fn a_task_whose_host_has_no_connection_settings_fails_and_never_runs_on_the_controller() {
    let lab = Lab::new(2, "");
    let rb = lab.runbook(TOUCH);
    let (_, mut plan) = planned(&lab, &rb);
    plan.connection.hosts.retain(|h| h.name != "node1");
    let run = {
        let store = quorate::store::SledStore::open(&lab.path("state")).unwrap();
        quorate::exec::create_run(&store, &plan).unwrap()
    };
    let out = lab.quorate().args(["resume", &run, "--plain"]).run();
    let err = out.failure(1);
    assert!(
        err.contains("touch on node1: host `node1` is not in the plan's connection table"),
        "{err}"
    );
    assert_eq!(
        lab.read(1, "touched"),
        "",
        "node1's task ran somewhere (its node_dir is on this machine)"
    );
    let show = lab.show(&run);
    assert_eq!(task(&show, "touch", "node1")["state"], "failed");
}

#[test]
fn a_stored_plan_that_does_not_match_its_digest_is_refused_on_resume() {
    use quorate::store::{RunReader, RunStore, TaskRecord};
    let lab = Lab::new(1, "");
    let rb = lab.runbook(TOUCH);
    let (_, plan) = planned(&lab, &rb);
    let run = {
        let store = quorate::store::SledStore::open(&lab.path("state")).unwrap();
        let id = quorate::exec::create_run(&store, &plan).unwrap();
        // Store the run again with its recorded digest but an edited plan.
        let record = store.run(&id).unwrap().unwrap();
        let honest = store.plan_json(&id).unwrap().unwrap();
        let edited = honest.replace("touched", "elsewhere");
        assert_ne!(edited, honest);
        let tampered = format!("{id}-x");
        let mut copy = record.clone();
        copy.id.clone_from(&tampered);
        copy.cluster = "other".to_owned();
        let tasks: Vec<TaskRecord> = store.tasks(&id).unwrap();
        store.create_run(&copy, &edited, &tasks).unwrap();
        tampered
    };
    let out = lab.quorate().args(["resume", &run, "--plain"]).run();
    let err = out.failure(2);
    assert!(
        err.contains(&format!("the stored plan of run {run} cannot be used: it does not match the digest recorded when the run was created")),
        "{err}"
    );
    assert_eq!(lab.read(0, "touched"), "");
    assert_eq!(lab.read(0, "elsewhere"), "");
}

#[test]
fn a_failed_batch_and_its_rollback_show_in_progress_show_logs_and_the_summary() {
    let lab = Lab::new(4, "");
    let rb = lab.runbook(
        "
runbook: rollback
on: all
steps:
  - id: roll
    rolling:
      batch: 2
      steps:
        - id: swap
          run: echo new > {{host.vars.node_dir}}/bin
        - id: check
          run: test ! -f {{host.vars.node_dir}}/broken
      on_failure:
        - id: restore
          run: echo old > {{host.vars.node_dir}}/bin; echo restored {{host.name}}
",
    );
    std::fs::write(lab.node_dir(1).join("broken"), "").unwrap();
    let out = lab.run(&rb, &[]);
    let stdout = out.stdout.clone();
    let run = run_id(&stdout);
    out.failure(1);
    assert_eq!(lab.read(0, "bin"), "old\n");
    assert_eq!(lab.read(1, "bin"), "old\n");
    assert!(
        stdout.contains(&format!(
            "starting run {run}: rollback on sshd-test, 8 tasks"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("roll: batch 1 of 2 failed: rolling back node0, node1 (on_failure)"),
        "{stdout}"
    );
    for host in ["node0", "node1"] {
        assert!(
            stdout.contains(&format!(
                "{host:>12}  restore  done exit 0: on_failure of batch 1 of `roll`"
            )),
            "{stdout}"
        );
    }
    let show = lab.show(&run);
    let rolled_back = show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["reason"] == "rolled back by on_failure; runs again on resume")
        .count();
    assert!(rolled_back >= 1, "swap@node0 was done, then undone");
    assert!(
        stdout.contains(&format!(
            "run {run} failed: 0 done, 0 skipped, 1 failed; on_failure: 2 ran, 0 failed, {rolled_back} tasks rolled back"
        )),
        "{stdout}"
    );

    let table = lab.quorate().args(["show", &run]).run().success();
    let rows: Vec<&str> = table.lines().filter(|l| l.contains("restore")).collect();
    assert_eq!(rows.len(), 4, "one restore row per host:\n{table}");
    for host in ["node0", "node1"] {
        assert!(
            rows.iter().any(|r| r.starts_with(host)
                && r.contains(" done ")
                && r.ends_with("on_failure of batch 1 of `roll`")),
            "{table}"
        );
    }
    for host in ["node2", "node3"] {
        assert!(
            rows.iter().any(|r| r.starts_with(host)
                && r.contains(" pending ")
                && r.ends_with("on_failure of `roll`: runs only if its batch fails")),
            "{table}"
        );
    }
    assert_eq!(task(&show, "check", "node1")["state"], "failed");
    assert_eq!(task(&show, "swap", "node0")["state"], "pending");

    let logs = lab.quorate().args(["logs", &run]).run().success();
    assert!(
        logs.contains("==> restore on node0 (done) <==\nrestored node0\n"),
        "{logs}"
    );
    assert!(
        logs.contains("==> restore on node1 (done) <==\nrestored node1\n"),
        "{logs}"
    );

    // The resume does the whole batch again; the restore records stay as they ended.
    std::fs::remove_file(lab.node_dir(1).join("broken")).unwrap();
    let resumed = lab
        .quorate()
        .args(["resume", &run, "--plain"])
        .run()
        .success();
    assert!((0..4).all(|i| lab.read(i, "bin") == "new\n"), "{resumed}");
    assert!(
        resumed.contains(&format!("run {run} done: 8 done, 0 skipped, 0 failed")),
        "{resumed}"
    );
}

#[test]
fn a_rollback_the_controller_stopped_in_is_recorded_failed_on_resume() {
    let lab = Lab::new(2, "");
    let rb = lab.runbook(
        "
runbook: cut-rollback
on: all
steps:
  - id: roll
    rolling:
      batch: 1
      steps:
        - id: check
          run: test ! -f {{host.vars.node_dir}}/broken
      on_failure:
        - id: restore
          run: sleep 3; echo restored >> {{host.vars.node_dir}}/restored
",
    );
    std::fs::write(lab.node_dir(0).join("broken"), "").unwrap();
    let (mut child, mut err) = lab.spawn_run(&rb);
    let seen = support::read_transitions(&mut err, 3);
    assert_eq!(seen[2]["step"], "restore", "{seen:?}");
    assert_eq!(seen[2]["state"], "running");
    child.kill().unwrap();
    child.wait().unwrap();
    let run = seen[0]["run"].as_str().unwrap().to_owned();
    std::fs::remove_file(lab.node_dir(0).join("broken")).unwrap();
    let out = lab
        .quorate()
        .args(["resume", &run, "--plain"])
        .run()
        .success();
    assert!(
        out.contains(&format!(
            "run {run} done: 2 done, 0 skipped, 0 failed; on_failure: 1 ran, 1 failed"
        )),
        "{out}"
    );
    let show = lab.show(&run);
    let restore = task(&show, "restore", "node0");
    assert_eq!(restore["state"], "failed");
    assert_eq!(
        restore["reason"],
        "interrupted: the controller stopped while it ran; check its host"
    );
    assert_eq!(task(&show, "restore", "node1")["state"], "pending");
}
