//! `etcd-backup` and `etcd-disaster-recovery` on a real 3-member etcd cluster, asserted with
//! `etcdctl` itself: the manifest matches `etcdctl snapshot status`, and a recovery brings
//! back exactly the keys of the backup; straight runs, then runs killed at a random task
//! transition and resumed (`ETCD_KILL_AT=N` replays one point).

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::etcd::{client, put, read_prefix, EtcdCluster};
use support::{random_point, Output};

const MEMBERS: [&str; 3] = ["etcd0", "etcd1", "etcd2"];

/// Writes `count` keys `PREFIX/NNNN` = `VALUE-NNNN` through the cluster.
fn write_keys(c: &EtcdCluster, prefix: &str, value: &str, count: usize) {
    let agent = client(std::time::Duration::from_secs(5));
    let endpoints = c.all_endpoints();
    for i in 0..count {
        put(
            &agent,
            &endpoints,
            i,
            &format!("{prefix}/{i:04}"),
            &format!("{value}-{i:04}"),
        )
        .unwrap_or_else(|e| panic!("write {prefix}/{i:04}: {e}"));
    }
}

fn keys(c: &EtcdCluster, prefix: &str) -> BTreeMap<String, String> {
    read_prefix(&c.all_endpoints(), &format!("{prefix}/"))
        .into_iter()
        .collect()
}

fn expected(prefix: &str, value: &str, count: usize) -> BTreeMap<String, String> {
    (0..count)
        .map(|i| (format!("{prefix}/{i:04}"), format!("{value}-{i:04}")))
        .collect()
}

/// A number field of a one-line JSON object.
fn number(json: &str, field: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no number {field} in {json}"))
}

/// The manifest's revision and hash are those `etcdctl snapshot status` reads from the
/// snapshot, and the revision is the cluster's when it was taken.
fn assert_manifest_matches(dir: &Path, revision_at_least: u64) {
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    let status = std::process::Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .args(["snapshot", "status", "-w", "json"])
        .arg(dir.join("snapshot.db"))
        .output()
        .expect("etcdctl snapshot status");
    assert!(status.status.success(), "{status:?}");
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert_eq!(
        number(&manifest, "hash"),
        number(&status, "hash"),
        "{manifest} vs {status}"
    );
    assert_eq!(
        number(&manifest, "revision"),
        number(&status, "revision"),
        "{manifest} vs {status}"
    );
    assert!(
        number(&manifest, "revision") >= revision_at_least,
        "{manifest}: revision below {revision_at_least}"
    );
    assert_eq!(number(&manifest, "total_keys"), number(&status, "totalKey"));
}

/// The cluster's current revision, from `etcdctl endpoint status`.
fn revision(c: &EtcdCluster) -> u64 {
    let (code, out) = support::etcd::etcdctl_at(
        &c.client_url("etcd0"),
        &["endpoint", "status", "-w", "json"],
    );
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("status JSON");
    v[0]["Status"]["header"]["revision"]
        .as_u64()
        .expect("revision")
}

fn assert_recovered(c: &EtcdCluster, prefix: &str, value: &str, count: usize, later: &str) {
    assert_eq!(
        keys(c, prefix),
        expected(prefix, value, count),
        "the backup's keys"
    );
    assert!(
        keys(c, later).is_empty(),
        "keys written after the backup came back"
    );
    assert_eq!(c.voters(), MEMBERS);
    c.assert_healthy(&MEMBERS);
    // The restored cluster takes writes.
    write_keys(c, "after-recovery", "v", 3);
}

#[test]
fn backup_then_disaster_recovery_bring_back_exactly_the_backed_up_keys() {
    let c = EtcdCluster::create(3, 0);
    let dest = c.dir.path().join("backups");
    let dest_s = format!("dest={}", dest.display());

    write_keys(&c, "dr", "first", 1000);
    let rev = revision(&c);
    let out = c.run("etcd-backup", &["-p", &dest_s]);
    assert_eq!(out.code, 0, "backup:\n{}{}", out.stdout, out.stderr);
    let backup = dest.join(out.run_id());
    assert_manifest_matches(&backup, rev);
    // The snapshot left the member's directory.
    for m in MEMBERS {
        let left: Vec<_> = std::fs::read_dir(c.member_dir(m))
            .expect("member dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("snapshot-"))
            .collect();
        assert!(left.is_empty(), "{m} keeps {left:?}");
    }

    // Lose the keys, write others, then recover.
    let (code, out_del) = c.etcdctl(&["del", "--prefix", "dr/"]);
    assert_eq!((code, out_del.trim()), (0, "1000"));
    write_keys(&c, "later", "x", 100);
    let from = format!("from={}", backup.display());
    let out = c.run("etcd-disaster-recovery", &["-p", &from]);
    assert_eq!(
        out.code, 0,
        "disaster-recovery:\n{}{}",
        out.stdout, out.stderr
    );
    assert_recovered(&c, "dr", "first", 1000, "later");
    for m in MEMBERS {
        assert!(
            c.member_dir(m)
                .join(format!("data.before-{}", out.run_id()))
                .is_dir(),
            "{m}: old data not kept"
        );
    }

    // A tampered snapshot is refused before anything stops.
    let bad = c.dir.path().join("bad");
    std::fs::create_dir_all(&bad).expect("mkdir");
    std::fs::copy(backup.join("manifest.json"), bad.join("manifest.json")).expect("copy");
    let mut snap = std::fs::read(backup.join("snapshot.db")).expect("read");
    snap.truncate(snap.len() - 4096);
    std::fs::write(bad.join("snapshot.db"), snap).expect("write");
    let pids: Vec<Option<i32>> = MEMBERS.iter().map(|m| c.pid(m)).collect();
    let refused = c.run(
        "etcd-disaster-recovery",
        &["-p", &format!("from={}", bad.display())],
    );
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("check on controller"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        MEMBERS.iter().map(|m| c.pid(m)).collect::<Vec<_>>(),
        pids,
        "a member was restarted"
    );
    support::Quorate::in_lab(c.dir.path())
        .args(["abandon", &refused.run_id()])
        .run()
        .success();

    // Killed at a random point and resumed: the same outcome.
    write_keys(&c, "dr2", "second", 200);
    let rev = revision(&c);
    let run = support::run_killed_at(
        c.dir.path(),
        &c.inventory(),
        "etcd-backup",
        &["-p", &dest_s],
        random_point("ETCD_KILL_AT", 24),
    );
    let out = resume(&c, &run);
    assert_eq!(out.code, 0, "backup resumed:\n{}{}", out.stdout, out.stderr);
    let backup2 = dest.join(&run);
    assert_manifest_matches(&backup2, rev);
    c.etcdctl(&["del", "--prefix", "dr2/"]);
    write_keys(&c, "later2", "y", 50);
    let run = support::run_killed_at(
        c.dir.path(),
        &c.inventory(),
        "etcd-disaster-recovery",
        &["-p", &format!("from={}", backup2.display())],
        random_point("ETCD_KILL_AT", 42),
    );
    let out = resume(&c, &run);
    assert_eq!(
        out.code, 0,
        "disaster-recovery resumed:\n{}{}",
        out.stdout, out.stderr
    );
    assert_recovered(&c, "dr2", "second", 200, "later2");
    assert_eq!(keys(&c, "dr"), expected("dr", "first", 1000));
}

fn resume(c: &EtcdCluster, run: &str) -> Output {
    support::Quorate::in_lab(c.dir.path())
        .args(["resume", run, "--plain"])
        .run()
}
