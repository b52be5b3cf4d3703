//! `rolling-restart` on a real 3-member etcd cluster while a client writes continuously
//! through every member: each member restarts (stopped, then killed), leadership moves
//! away before the leader stops, and no write is lost, fails or waits long.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::etcd::{read_prefix, EtcdCluster, WriteFigures};

/// The longest a write may wait in this test. The goal is 500 ms (loopback, an idle
/// machine); other builds share this machine, so the test allows more and prints the figure.
const WRITE_BOUND: Duration = Duration::from_millis(1500);

const MEMBERS: [&str; 3] = ["etcd0", "etcd1", "etcd2"];

/// Runs rolling-restart with `inventory` under a continuous writer of `prefix/…` keys,
/// and checks the run, the restarts and every acknowledged write.
fn restart_under_writes(c: &EtcdCluster, inventory: &std::path::Path, prefix: &str, how: &str) {
    let before: Vec<i32> = MEMBERS.iter().map(|m| c.pid(m).expect("pid")).collect();
    let (out, figures, _) = c.run_under_writes(inventory, "rolling-restart", prefix);
    assert_eq!(
        out.code, 0,
        "rolling-restart ({how}) failed:\n{}{}",
        out.stdout, out.stderr
    );
    let all = format!("{}{}", out.stdout, out.stderr);
    // n and f come from `etcdctl member list` (cluster.membership) before every batch.
    assert!(
        all.contains("live membership n = 3, f = 1 (etcd0, etcd1, etcd2)"),
        "no live membership line:\n{all}"
    );
    for (m, old) in MEMBERS.iter().zip(&before) {
        let new = c.pid(m).expect("pid after");
        assert_ne!(new, *old, "{m} was not restarted ({how})");
    }
    assert_eq!(c.voters(), MEMBERS);
    c.assert_healthy(&MEMBERS);
    check_writes(c, prefix, how, &figures);
}

fn check_writes(c: &EtcdCluster, prefix: &str, how: &str, f: &WriteFigures) {
    println!(
        "rolling-restart ({how}): {} writes acknowledged, {} failed, {} failed over, worst latency {:?} ({})",
        f.acked.len(),
        f.failed.len(),
        f.failovers,
        f.worst,
        f.worst_write
    );
    assert!(f.failed.is_empty(), "failed writes ({how}): {:?}", f.failed);
    assert!(
        f.acked.len() > 50,
        "too few writes to mean anything: {}",
        f.acked.len()
    );
    let stored: HashMap<String, String> = read_prefix(&c.all_endpoints(), &format!("{prefix}/"))
        .into_iter()
        .collect();
    for key in &f.acked {
        let seq: usize = key
            .rsplit('/')
            .next()
            .and_then(|s| s.parse().ok())
            .expect("seq");
        assert_eq!(
            stored.get(key).map(String::as_str),
            Some(seq.to_string().as_str()),
            "acknowledged write {key} is not readable ({how})"
        );
    }
    assert!(
        f.worst < WRITE_BOUND,
        "a write waited {:?} ({how}); bound {WRITE_BOUND:?}",
        f.worst
    );
}

#[test]
fn rolling_restart_keeps_every_write_of_a_live_etcd_cluster() {
    let c = EtcdCluster::create(3, 0);
    restart_under_writes(&c, &c.inventory(), "stopped", "stopped");
    // The leader handed leadership over before it stopped.
    let logs = support::Quorate::in_lab(c.dir.path())
        .args(["logs", "--step", "handoff"])
        .arg(last_run(&c))
        .run()
        .success();
    assert!(logs.contains("Leadership transferred from"), "{logs}");
    assert_eq!(
        logs.matches("Leadership transferred from").count()
            + logs.matches("is not the leader").count(),
        3,
        "one hand-off per member: {logs}"
    );

    // The same with each member killed (SIGKILL) instead of stopped.
    let inv = std::fs::read_to_string(c.inventory()).expect("inventory");
    let killed = inv.replace(
        "  stop_cmd: ./stop.sh\n",
        "  stop_cmd: kill -9 \"$(cat etcd.pid)\"; sleep 0.2\n",
    );
    assert_ne!(killed, inv, "stop_cmd not found in the inventory");
    let path = c.dir.path().join("killed.yaml");
    std::fs::write(&path, killed).expect("write inventory");
    restart_under_writes(&c, &path, "killed", "killed");
}

/// The id of the newest run of the cluster's store.
fn last_run(c: &EtcdCluster) -> String {
    let runs = support::Quorate::in_lab(c.dir.path())
        .arg("runs")
        .run()
        .success();
    runs.lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .expect("a run")
        .to_owned()
}
