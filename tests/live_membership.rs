//! Live membership on real hosts: the inventory's `cluster.membership` prints the voting
//! members (here `cat` of a file the test controls), and before every rolling batch the
//! gate recomputes n and f from that answer rather than from the plan.

#[path = "support/engine_lab.rs"]
mod lab;
mod support;

use lab::{run_id, Lab};
use serde_json::Value;

const ROLL: &str = "runbook: live-roll\non: members\nsteps:\n  - id: roll\n    rolling:\n      batch: 1\n      steps:\n        - id: restart\n          run: echo rolled >> {{host.vars.node_dir}}/rolled\n";

/// A 4-member bft lab whose membership answer is the file `members.txt` of the lab.
fn lab_with_membership(answer: &str) -> Lab {
    let lab = Lab::new(4, "");
    let file = lab.path("members.txt");
    std::fs::write(&file, answer).unwrap();
    let cluster = format!(
        "groups:\n  members: [node0, node1, node2, node3]\ncluster:\n  consensus: bft\n  members: members\n  health: 'true'\n  membership: cat {}\n",
        file.display()
    );
    std::fs::write(
        lab.path("inventory.yaml"),
        lab.cluster.inventory_yaml(&cluster),
    )
    .unwrap();
    lab
}

/// The `(kind, message)` of every event of `kind` in `show --format json`.
fn events(show: &Value, kind: &str) -> Vec<String> {
    show["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn four_live_members_let_batches_of_one_through_and_the_answer_is_recorded() {
    let lab = lab_with_membership("node0\nnode1\nintruder\nnode2\nnode3\n");
    let rb = lab.runbook(ROLL);
    let plan = lab.compile_command("plan", &rb, &[]).success();
    assert!(
        plan.contains("n and f are recomputed from cluster.membership before every batch"),
        "{plan}"
    );
    let out = lab.run(&rb, &["--health-timeout", "2s"]);
    let stdout = out.stdout.clone();
    out.success();
    assert!((0..4).all(|i| lab.read(i, "rolled") == "rolled\n"));
    assert!(
        stdout.contains("roll: batch 2 of 4: live membership n = 4, f = 1 (node0, node1, node2, node3); 4 of 4 healthy, 3 needed"),
        "{stdout}"
    );
    let show = lab.show(&run_id(&stdout));
    let membership = events(&show, "membership");
    assert_eq!(membership.len(), 4, "one answer per batch: {membership:?}");
    for (k, m) in membership.iter().enumerate() {
        assert_eq!(
            m,
            &format!("batch {} of `roll`: live membership from node0: n = 4, f = 1, quorum 3 (node0, node1, node2, node3)", k + 1)
        );
    }
    let ignored = events(&show, "membership-ignored");
    assert_eq!(ignored.len(), 4, "{ignored:?}");
    assert_eq!(
        ignored[0],
        "batch 1 of `roll`: cluster.membership on node0 named \"intruder\", not a host of the inventory: line ignored"
    );
}

#[test]
fn a_batch_the_live_f_no_longer_allows_is_refused_with_the_numbers() {
    // The plan counts 4 members (f = 1); the live answer names 3, and bft n = 3 has f = 0.
    let lab = lab_with_membership("node0\nnode1\nnode2\n");
    let rb = lab.runbook(ROLL);
    let out = lab.run(&rb, &["--health-timeout", "2s"]);
    let stdout = out.stdout.clone();
    let err = out.failure(1);
    assert!(
        err.contains("batch 1 of `roll` takes 1 live member down, more than the live f = 0 allows (cluster.membership: n = 3, f = 0, quorum 3: node0, node1, node2)"),
        "{err}"
    );
    assert!(
        (0..4).all(|i| lab.read(i, "rolled").is_empty()),
        "no member went down"
    );
    assert!(
        stdout.contains("roll: batch 1 of 4: live membership n = 3, f = 0 (node0, node1, node2); 3 of 3 healthy, 3 needed"),
        "{stdout}"
    );
    let show = lab.show(&run_id(&stdout));
    assert_eq!(
        events(&show, "membership"),
        ["batch 1 of `roll`: live membership from node0: n = 3, f = 0, quorum 3 (node0, node1, node2)"]
    );
    let failed = events(&show, "gate-failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains("more than the live f = 0 allows"),
        "{}",
        failed[0]
    );
}

#[test]
fn an_answer_naming_no_member_holds_the_batch_instead_of_counting_a_cluster_of_none() {
    let lab = lab_with_membership("intruder\n\n");
    let rb = lab.runbook(ROLL);
    let err = lab.run(&rb, &["--health-timeout", "2s"]).failure(1);
    assert!(
        err.contains("batch 1 of `roll`: no healthy host answered cluster.membership with a host of the inventory, so the live n and f are unknown"),
        "{err}"
    );
    assert!((0..4).all(|i| lab.read(i, "rolled").is_empty()));
}

/// A host outside `cluster.members` (say a spare just made a member) that the live answer
/// names counts: in n and f, and in the healthy count, with its own health command.
#[test]
fn a_live_member_outside_the_members_group_counts_in_the_gate() {
    let lab = Lab::new(5, "");
    let file = lab.path("members.txt");
    std::fs::write(&file, "node0\nnode1\nnode2\nnode3\nnode4\n").unwrap();
    let cluster = format!(
        "groups:\n  members: [node0, node1, node2, node3]\ncluster:\n  consensus: bft\n  members: members\n  health: 'test ! -e {{{{host.vars.node_dir}}}}/down'\n  membership: cat {}\n",
        file.display()
    );
    std::fs::write(
        lab.path("inventory.yaml"),
        lab.cluster.inventory_yaml(&cluster),
    )
    .unwrap();
    let rb = lab.runbook(ROLL);
    let plan = lab.compile_command("plan", &rb, &[]).success();
    assert!(
        plan.contains("   also counted when cluster.membership names them: node4\n"),
        "{plan}"
    );
    assert_eq!(
        plan.matches("/down").count(),
        4,
        "the members' health commands only: {plan}"
    );
    let stdout = lab.run(&rb, &["--health-timeout", "2s"]).success();
    assert!(
        stdout.contains("roll: batch 1 of 4: live membership n = 5, f = 1 (node0, node1, node2, node3, node4); 5 of 5 healthy, 4 needed"),
        "{stdout}"
    );
    // node4 unhealthy: 4 of the 5 live members are healthy, and a batch of one would leave
    // 3 of the 4 needed, so the gate holds (counting the members group alone, it would pass).
    std::fs::write(lab.node_dir(4).join("down"), "").unwrap();
    let out = lab.run(&rb, &["--health-timeout", "2s"]);
    let err = out.failure(1);
    assert!(
        err.contains("batch 1 of `roll` would leave 3 healthy members, fewer than the 4 needed (4 of 5 healthy now; unhealthy: node4)"),
        "{err}"
    );
    assert!(
        (0..4).all(|i| lab.read(i, "rolled") == "rolled\n"),
        "only the first run rolled"
    );
}
