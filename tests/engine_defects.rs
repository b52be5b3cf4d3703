//! Engine behaviour operators rely on, on real sshd hosts and a real store: a captured
//! result never stalls the scheduler, failures and rollbacks are reported, and plans and
//! hosts are never taken on trust.

#[path = "support/lab.rs"]
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
    assert!(
        cap_end < 3_000,
        "cap ended at {cap_end} ms: it was recorded only when the slow task ended"
    );
    assert!(
        use_start < 3_000,
        "the step after cap started at {use_start} ms, not right after cap (~1 s)"
    );
}
