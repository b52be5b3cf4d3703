//! The built-in runbooks on a real etcd cluster made by `quorate demo --system etcd
//! --setup-only`, asserted with `etcdctl` itself: the cluster and its inventory,
//! health-check, add-node and remove-node.

mod support;

use std::time::Duration;

use support::etcd::{etcdctl_at, EtcdCluster};
use support::playground::alive;
use support::Quorate;

#[test]
fn demo_without_etcd_names_the_debian_packages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Quorate::in_lab(dir.path())
        .args(["demo", "--system", "etcd", "--setup-only", "--dir"])
        .arg(dir.path().join("demo"))
        .env("PATH", "/nonexistent")
        .run();
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "error: quorate demo --system etcd needs `etcd` (Debian package etcd-server) and `etcdctl` (Debian package etcd-client) on PATH"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("hint: install with: apt-get install etcd-server etcd-client"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("demo").exists(), "it made a directory");
}

/// The demo's cluster: 3 voting members named like the inventory hosts, each healthy on
/// its own endpoint and pid; the spare is a host only; health-check passes and fails
/// naming a stopped member.
#[test]
fn setup_only_starts_a_real_cluster_and_health_check_reads_it() {
    let c = EtcdCluster::create(3, 1);
    let out = Quorate::in_lab(c.dir.path())
        .arg("validate")
        .arg(c.inventory())
        .run()
        .success();
    assert!(out.contains("ok:"), "validate said: {out}");
    let inv = std::fs::read_to_string(c.inventory()).expect("inventory");
    assert!(inv.contains("members: [etcd0, etcd1, etcd2]"), "{inv}");
    assert!(inv.contains("spare: [etcd3]"), "{inv}");
    assert_eq!(
        c.members(),
        [
            ("etcd0".to_owned(), false),
            ("etcd1".to_owned(), false),
            ("etcd2".to_owned(), false)
        ]
    );
    c.assert_healthy(&["etcd0", "etcd1", "etcd2"]);
    let pids: Vec<i32> = ["etcd0", "etcd1", "etcd2"]
        .iter()
        .map(|m| c.pid(m).expect("pid"))
        .collect();
    assert!(pids.iter().all(|&p| alive(p)), "{pids:?}");
    assert!(!c.member_dir("etcd3").exists(), "the spare has a directory");
    // Distinct ports: every endpoint answers as a different member.
    let (code, status) = etcdctl_at(&c.all_endpoints()[..3].join(","), &["endpoint", "status"]);
    assert_eq!(code, 0, "{status}");
    let ids: std::collections::BTreeSet<&str> = status
        .lines()
        .filter_map(|l| l.split(", ").nth(1))
        .collect();
    assert_eq!(ids.len(), 3, "{status}");

    let out = c.run("health-check", &["--limit", "members"]);
    assert_eq!(
        out.code, 0,
        "health-check failed:\n{}{}",
        out.stdout, out.stderr
    );
    let summary = Quorate::in_lab(c.dir.path())
        .args(["logs", "--step", "summary"])
        .arg(out.run_id())
        .run()
        .success();
    let rows: Vec<&str> = summary.lines().filter(|l| l.starts_with("etcd")).collect();
    assert_eq!(rows.len(), 3, "{summary}");
    for row in rows {
        // alive, height (raft index grows), peers (2 others), disk, no TLS, consensus.
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[1], "ok", "{row}");
        assert_eq!(cols[2], "ok", "{row}");
        let (from, to): (u64, u64) = (cols[3].parse().unwrap(), cols[5].parse().unwrap());
        assert!(to > from, "raft index did not advance: {row}");
        assert_eq!(&cols[6..8], ["ok", "2"], "{row}");
        assert_eq!(cols.last(), Some(&"ok"), "{row}");
    }

    // etcd1 stopped: the verdict names it (and only it) and what failed.
    let stop = std::process::Command::new(c.member_dir("etcd1").join("stop.sh"))
        .output()
        .expect("stop etcd1");
    assert!(stop.status.success());
    let out = c.run("health-check", &["--limit", "members"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("verdict on etcd1: exit 1 (expected 0): etcd1 is unhealthy: alive: not running; consensus:"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("etcd0 is unhealthy"), "{}", out.stderr);
    assert!(!out.stderr.contains("etcd2 is unhealthy"), "{}", out.stderr);
    abandon(&c, &out);
    let start = std::process::Command::new(c.member_dir("etcd1").join("start.sh"))
        .output()
        .expect("start etcd1");
    assert!(start.status.success());
    c.wait_healthy(&["etcd0", "etcd1", "etcd2"], Duration::from_secs(20));
}

/// Gives up a failed run, so that its cluster lock lets the next run go.
fn abandon(c: &EtcdCluster, out: &support::Output) {
    Quorate::in_lab(c.dir.path())
        .args(["abandon", &out.run_id()])
        .run()
        .success();
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Every member answers `etcdctl endpoint health --cluster` (learners included).
fn assert_cluster_healthy(c: &EtcdCluster, member: &str, count: usize) {
    let (code, out) = etcdctl_at(&c.client_url(member), &["endpoint", "health", "--cluster"]);
    assert_eq!(code, 0, "endpoint health --cluster: {out}");
    assert_eq!(out.matches(" is healthy").count(), count, "{out}");
}

/// One cluster for both runbooks: `add-node` takes it from 3 to 4 voters, `remove-node`
/// back to 3, then to 2, and removing from a 2-member cluster is refused.
#[test]
fn add_node_then_remove_node_change_the_etcd_membership() {
    let c = EtcdCluster::create(3, 1);
    hostile_client_url_is_refused(&c);
    let out = c.run("add-node", &["-p", "node=etcd3"]);
    assert_eq!(
        out.code, 0,
        "add-node failed:\n{}{}",
        out.stdout, out.stderr
    );
    // etcd itself: 4 voting members, no learner left, every one healthy.
    assert_eq!(
        c.members(),
        ["etcd0", "etcd1", "etcd2", "etcd3"].map(|n| (n.to_owned(), false))
    );
    c.assert_healthy(&["etcd0", "etcd1", "etcd2", "etcd3"]);
    assert_cluster_healthy(&c, "etcd0", 4);
    // The learner was registered before the member started: it joined an existing cluster.
    let env = std::fs::read_to_string(c.member_dir("etcd3").join("member.env")).expect("env");
    assert!(env.contains("ETCD_INITIAL_CLUSTER_STATE=existing"), "{env}");
    // A second run finds everything done: each mutating step is skipped by its guard.
    let again = c.run("add-node", &["-p", "node=etcd3"]);
    assert_eq!(
        again.code, 0,
        "second add-node:\n{}{}",
        again.stdout, again.stderr
    );
    let all = format!("{}{}", again.stdout, again.stderr);
    for step in ["create", "learner", "start", "observer", "sealer"] {
        assert!(
            all.contains(&format!("etcd3  {step}  skipped:")),
            "{step} was not skipped on the second run:\n{all}"
        );
    }

    remove_node_down_to_two(&c);
}

/// A hostile `client_url` never reaches the member's configuration (a file shells source).
fn hostile_client_url_is_refused(c: &EtcdCluster) {
    let inv = std::fs::read_to_string(c.inventory()).expect("inventory");
    let url = c.client_url("etcd3");
    let marker = c.dir.path().join("owned");
    let hostile = inv.replace(
        &format!("client_url: \"{url}\""),
        &format!("client_url: \"{url}; touch {}\"", marker.display()),
    );
    assert_ne!(hostile, inv);
    let hostile_inv = c.dir.path().join("hostile.yaml");
    std::fs::write(&hostile_inv, hostile).expect("write inventory");
    let out = c.run_with(&hostile_inv, "add-node", &["-p", "node=etcd3"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("refused: not a URL list:"),
        "{}",
        out.stderr
    );
    assert!(!marker.exists(), "the hostile value ran");
    assert!(!c.member_dir("etcd3").exists(), "a directory was made");
    abandon(c, &out);
}

/// 4 voters -> `remove-node` of the leader -> 3 -> 2, then a removal is refused.
fn remove_node_down_to_two(c: &EtcdCluster) {
    // The leader leaves first: it hands leadership over before its removal.
    let all = ["etcd0", "etcd1", "etcd2", "etcd3"];
    let gone = leader(c, &all);
    let mut left: Vec<&str> = all.iter().copied().filter(|m| *m != gone).collect();
    let pid = c.pid(gone).expect("the leader runs");
    let out = c.run("remove-node", &["-p", &format!("node={gone}")]);
    assert_eq!(
        out.code, 0,
        "remove-node failed:\n{}{}",
        out.stdout, out.stderr
    );
    let handoff = Quorate::in_lab(c.dir.path())
        .args(["logs", "--step", "handoff"])
        .arg(out.run_id())
        .run()
        .success();
    assert!(handoff.contains("Leadership transferred from"), "{handoff}");
    assert_eq!(c.voters(), names(&left));
    assert_eq!(c.members().len(), 3, "{:?}", c.members());
    assert!(!alive(pid), "{gone} (pid {pid}) still runs");
    assert!(
        !c.member_dir(gone).exists(),
        "{gone}'s directory is in place"
    );
    let archived = std::fs::read_dir(c.demo_dir().join("etcd"))
        .expect("cluster dir")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("removed-{gone}-"))
        })
        .count();
    assert_eq!(archived, 1);
    c.assert_healthy(&left);
    assert_cluster_healthy(c, left[0], 3);

    // 3 -> 2 is allowed; removing from a 2-member cluster is refused before any change.
    let second = left.remove(0);
    let out = c.run("remove-node", &["-p", &format!("node={second}")]);
    assert_eq!(
        out.code, 0,
        "remove-node {second}:\n{}{}",
        out.stdout, out.stderr
    );
    assert_eq!(c.voters(), names(&left));
    let last = left[1];
    let refused = c.run("remove-node", &["-p", &format!("node={last}")]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "refused: removing {last} would leave 1 sealers; the inventory's min_members is 2"
        )),
        "{}",
        refused.stderr
    );
    assert_eq!(c.voters(), names(&left));
    c.assert_healthy(&left);
    abandon(c, &refused);
}

/// The member of `names` that `etcdctl endpoint status` says leads.
fn leader<'a>(c: &EtcdCluster, names: &[&'a str]) -> &'a str {
    names
        .iter()
        .copied()
        .find(|n| {
            let (_, out) = etcdctl_at(&c.client_url(n), &["endpoint", "status"]);
            out.split(", ").nth(4) == Some("true")
        })
        .expect("a leader")
}

/// Without `--setup-only`, the demo restarts every member with `rolling-restart` and, with
/// `--stop`, leaves nothing running.
#[test]
fn demo_system_etcd_runs_a_rolling_restart_and_stops() {
    let dir = tempfile::Builder::new()
        .prefix("qetcd")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let demo = dir.path().join("demo");
    let out = Quorate::in_lab(dir.path())
        .args(["demo", "--system", "etcd", "--stop", "--dir"])
        .arg(&demo)
        .run();
    // Whatever happened, no member outlives the test.
    let pids: Vec<i32> = (0..3)
        .filter_map(|i| {
            std::fs::read_to_string(demo.join(format!("etcd/etcd{i}/etcd.pid")))
                .ok()
                .and_then(|p| p.trim().parse().ok())
        })
        .collect();
    for &pid in &pids {
        if alive(pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(pids.is_empty(), "--stop left pid files: {pids:?}");
    for (i, part) in ["before the rolling restart:", "after the rolling restart:"]
        .iter()
        .enumerate()
    {
        let table = out
            .stdout
            .split(part)
            .nth(1)
            .unwrap_or_else(|| panic!("no table {i}:\n{}", out.stdout));
        let rows = table
            .lines()
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter(|l| l.contains("| http://127.0.0.1:"))
            .count();
        assert_eq!(rows, 3, "{table}");
    }
    assert!(
        out.stdout.contains("(the cluster is stopped: --stop)"),
        "{}",
        out.stdout
    );
    let all = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(all.matches("  handoff  done").count(), 3, "{all}");
}
