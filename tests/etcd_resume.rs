//! Each built-in runbook on a real etcd cluster, killed (SIGKILL) at a random task
//! transition and resumed: the same outcome as a straight run, asserted with `etcdctl`.
//! `ETCD_KILL_AT=N` replays one point for all of them.

mod support;

use support::etcd::EtcdCluster;
use support::random_point;

/// The run ended with exit 0.
fn assert_done(out: &support::Output, what: &str) {
    assert_eq!(out.code, 0, "{what} resumed:\n{}{}", out.stdout, out.stderr);
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// One cluster, three runbooks in turn: rolling-restart, add-node, remove-node.
#[test]
fn etcd_runbooks_killed_at_a_random_point_and_resumed_end_the_same() {
    let c = EtcdCluster::create(3, 1);
    let members = ["etcd0", "etcd1", "etcd2"];
    let before: Vec<i32> = members.iter().map(|m| c.pid(m).expect("pid")).collect();
    // rolling-restart on the members: 1 + 3 x 5 + 1 steps on 3 hosts, ~45 transitions.
    let out = c.run_killed_and_resumed(
        "rolling-restart",
        &["--limit", "members"],
        random_point("ETCD_KILL_AT", 40),
    );
    assert_done(&out, "rolling-restart");
    for (m, old) in members.iter().zip(&before) {
        assert_ne!(c.pid(m), Some(*old), "{m} was not restarted");
    }
    assert_eq!(c.voters(), names(&members));
    c.assert_healthy(&members);

    // add-node: 8 tasks on etcd3 and the controller, the others skipped: ~40 transitions.
    let out = c.run_killed_and_resumed(
        "add-node",
        &["-p", "node=etcd3"],
        random_point("ETCD_KILL_AT", 36),
    );
    assert_done(&out, "add-node");
    assert_eq!(
        c.members(),
        ["etcd0", "etcd1", "etcd2", "etcd3"].map(|n| (n.to_owned(), false))
    );
    c.assert_healthy(&["etcd0", "etcd1", "etcd2", "etcd3"]);

    // remove-node: 7 tasks on etcd1 and the controller: ~30 transitions.
    let out = c.run_killed_and_resumed(
        "remove-node",
        &["-p", "node=etcd1"],
        random_point("ETCD_KILL_AT", 28),
    );
    assert_done(&out, "remove-node");
    assert_eq!(c.voters(), names(&["etcd0", "etcd2", "etcd3"]));
    assert_eq!(c.members().len(), 3);
    assert!(
        !c.member_dir("etcd1").exists(),
        "etcd1's directory is in place"
    );
    c.assert_healthy(&["etcd0", "etcd2", "etcd3"]);
}
