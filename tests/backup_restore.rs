//! `backup` and `restore` on a running demo chain: archives that match their manifests, a
//! chain that keeps committing while it is backed up, a corrupted ledger brought back, a
//! backup of other nodes refused, and a backup killed at a random point then resumed.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::data::{
    files_under, kill_point, killed_and_resumed, resume, run_id, run_killed, sha256_file,
    verified_height,
};
use support::playground::{HeightSampler, Playground, STALL_BOUND};
use support::{Output, Quorate};

const NODES: [&str; 4] = ["node0", "node1", "node2", "node3"];

fn manifest(backup: &Path, host: &str) -> serde_json::Value {
    let path = backup.join(host).join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ok(out: &Output, what: &str) {
    assert_eq!(out.code, 0, "{what} failed:\n{}{}", out.stdout, out.stderr);
}

/// Every archive of every host matches its manifest (SHA-256 and size computed here), the
/// manifest names its host and the node's id, and nothing is left half written.
fn assert_backup_matches(pg: &Playground, backup: &Path, scope: &str) {
    assert!(
        backup.join("COMPLETE").is_file(),
        "{} is not complete",
        backup.display()
    );
    for host in NODES {
        let m = manifest(backup, host);
        assert_eq!(m["host"], host);
        assert_eq!(m["scope"], scope);
        let node_id =
            std::fs::read_to_string(pg.node_dir(host).join("conf/node.nodeid")).expect("node id");
        assert_eq!(m["node_id"], node_id.trim(), "{host}'s manifest node id");
        assert_eq!(m["version"], "0.1.0");
        assert!(m["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{m}");
        let mut kinds = vec![("config_file", "config_sha256", "config_size")];
        if scope == "data" {
            kinds.push(("file", "sha256", "size"));
        }
        for (file, sha, size) in kinds {
            let path = backup.join(host).join(m[file].as_str().expect("file name"));
            assert_eq!(
                sha256_file(&path),
                m[sha],
                "{} against its manifest",
                path.display()
            );
            assert_eq!(
                std::fs::metadata(&path).expect("archive").len(),
                m[size].as_u64().expect("size")
            );
        }
        assert!(
            !pg.node_dir(host)
                .join("backups")
                .read_dir()
                .is_ok_and(|mut d| d.next().is_some()),
            "{host} kept a staging copy"
        );
    }
    let partial: Vec<_> = files_under(backup)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("partial"))
        .collect();
    assert!(partial.is_empty(), "temporary files left: {partial:?}");
}

/// Every node's ledger is a prefix of one history: no height was decided twice.
fn assert_one_history(pg: &Playground) {
    let ledgers: Vec<Vec<String>> = NODES
        .iter()
        .map(|h| {
            std::fs::read_to_string(pg.node_dir(h).join("data/blocks.jsonl"))
                .expect("ledger")
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    let common = ledgers.iter().map(Vec::len).min().unwrap_or(0);
    for (host, ledger) in NODES.iter().zip(&ledgers) {
        assert_eq!(
            ledger[..common],
            ledgers[0][..common],
            "{host} forked from node0"
        );
    }
}

fn pids(pg: &Playground) -> Vec<Option<i32>> {
    NODES.iter().map(|n| pg.pid(n)).collect()
}

/// One chain: a config backup (nothing stopped), a data backup that prunes it (keep=1),
/// a restore of other nodes' backup refused, a corrupted ledger restored after approval.
#[test]
fn backup_keeps_the_chain_committing_and_restore_brings_back_a_corrupted_ledger() {
    let started = Instant::now();
    let pg = Playground::create(4, 0);
    let dest = pg.dir.path().join("backups");
    let dest_arg = format!("dest={}", dest.display());

    // Config only: no node stops.
    let before = pids(&pg);
    let out = pg.run("backup", &["-p", &dest_arg, "-p", "scope=config"]);
    ok(&out, "backup scope=config");
    let config_backup = dest.join(run_id(&out));
    assert_backup_matches(&pg, &config_backup, "config");
    assert!(
        !config_backup.join("node0/data.tar.gz").exists(),
        "a config backup has no data"
    );
    assert_eq!(pids(&pg), before, "a config backup restarted a node");

    // Data, f nodes at a time: the chain never stops committing.
    let sampler = HeightSampler::start(&pg, &NODES);
    let out = pg.run("backup", &["-p", &dest_arg, "-p", "keep=1"]);
    let (stall, height_after) = sampler.finish();
    ok(&out, "backup");
    println!("backup: longest time without a block {stall:?} (chain at {height_after})");
    assert!(
        stall < STALL_BOUND,
        "the chain went {stall:?} without a block"
    );
    assert_ne!(pids(&pg), before, "a data backup restarts each node");
    let backup = dest.join(run_id(&out));
    assert_backup_matches(&pg, &backup, "data");
    assert!(
        !config_backup.exists(),
        "keep=1 did not prune the older backup"
    );
    assert_eq!(std::fs::read_dir(&dest).expect("dest").count(), 1);
    let backup_heights: Vec<u64> = NODES
        .iter()
        .map(|h| manifest(&backup, h)["height"].as_u64().expect("height"))
        .collect();
    assert!(
        backup_heights.iter().all(|&h| h > 0 && h <= height_after),
        "{backup_heights:?}"
    );

    refuse_a_backup_of_other_nodes(&pg, &backup);
    restore_a_corrupted_ledger(&pg, &backup, &backup_heights);
    println!("backup_restore: {:?}", started.elapsed());
}

/// `backup` killed (SIGKILL) after a random number of task transitions, then resumed: a
/// complete backup whose archives match their manifests; at the kill, every archive under
/// its final name (host or controller) is whole. Then `restore` of it, killed and resumed
/// the same way. `BACKUP_KILL_AT=N` / `RESTORE_KILL_AT=N` replay one point.
#[test]
fn backup_killed_at_a_random_point_and_resumed_ends_complete() {
    let started = Instant::now();
    let pg = Playground::create(4, 0);
    let dest = pg.dir.path().join("backups");
    let dest_arg = format!("dest={}", dest.display());
    // 53 tasks: about 106 transitions.
    let kill_at = kill_point("BACKUP_KILL_AT", 104);
    let run = run_killed(&pg, "backup", &["-p", &dest_arg], kill_at);
    let mut finals = files_under(&dest);
    for host in NODES {
        finals.extend(files_under(&pg.node_dir(host).join("backups")));
    }
    for path in finals
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "gz"))
    {
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let test = std::process::Command::new("gzip")
            .arg("-t")
            .arg(path)
            .status()
            .expect("gzip");
        assert!(
            test.success(),
            "{} is not a whole archive after the kill",
            path.display()
        );
    }
    let out = resume(&pg, &run);
    ok(&out, &format!("resume after {kill_at} transitions"));
    assert_backup_matches(&pg, &dest.join(&run), "data");
    for host in NODES {
        assert_eq!(
            pg.status(host, &["--healthy"]).0,
            0,
            "{host} is not healthy"
        );
    }
    // The restore of that backup, killed at a random point and resumed: every node back
    // on a verified ledger above the backup's height, committing.
    let backup = dest.join(&run);
    let heights: Vec<u64> = NODES
        .iter()
        .map(|h| manifest(&backup, h)["height"].as_u64().expect("height"))
        .collect();
    let from = format!("from={}", backup.display());
    let restore = killed_and_resumed(
        &pg,
        "restore",
        &["-p", &from, "-p", "yes=true"],
        ("RESTORE_KILL_AT", 110),
    );
    for (host, backup_height) in NODES.iter().zip(&heights) {
        let dir = pg.node_dir(host);
        let height = verified_height(&dir).unwrap_or_else(|e| panic!("{host}: {e}"));
        assert!(
            height > *backup_height,
            "{host} at {height}, below {backup_height}"
        );
        assert!(dir.join(format!("data.before-{restore}")).is_dir());
        assert_eq!(
            pg.status(host, &["--healthy"]).0,
            0,
            "{host} is not healthy"
        );
    }
    println!(
        "backup and restore killed and resumed: {:?}",
        started.elapsed()
    );
}

/// A copy of `backup` whose node1 manifest names node2's id is refused before any node
/// stops; the failed run is abandoned so that its cluster lock goes.
fn refuse_a_backup_of_other_nodes(pg: &Playground, backup: &Path) {
    // A backup whose node1 is another node is refused before anything stops.
    let foreign = pg.dir.path().join("foreign");
    assert!(std::process::Command::new("cp")
        .arg("-a")
        .arg(backup)
        .arg(&foreign)
        .status()
        .expect("cp")
        .success());
    let m1 = foreign.join("node1/manifest.json");
    let text = std::fs::read_to_string(&m1).expect("manifest");
    let id1 = manifest(backup, "node1")["node_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let id2 = manifest(backup, "node2")["node_id"]
        .as_str()
        .expect("id")
        .to_owned();
    std::fs::write(&m1, text.replace(&id1, &id2)).expect("tamper");
    let before = pids(pg);
    let refused = pg.run(
        "restore",
        &[
            "-p",
            &format!("from={}", foreign.display()),
            "-p",
            "yes=true",
        ],
    );
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    let why = format!(
        "refused: the backup of node1 is of node {}, but node1 runs node {}",
        &id2[..8],
        &id1[..8]
    );
    assert!(
        refused.stderr.contains(&why),
        "expected `{why}` in:\n{}",
        refused.stderr
    );
    assert_eq!(pids(pg), before, "a refused restore stopped a node");
    Quorate::in_lab(pg.dir.path())
        .args(["abandon", &run_id(&refused)])
        .run()
        .success();
}

/// node2's ledger is corrupted; the restore waits for approval, then brings every node
/// back to a verified ledger above the backup's height, committing again.
fn restore_a_corrupted_ledger(pg: &Playground, backup: &Path, backup_heights: &[u64]) {
    let before = pids(pg);
    // node2's ledger is corrupted on disk: a block in the middle changes.
    let ledger = pg.node_dir("node2").join("data/blocks.jsonl");
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[3] = lines[3].replacen("\"timestamp_ms\":", "\"timestamp_ms\":1", 1);
    std::fs::write(&ledger, lines.join("\n") + "\n").expect("corrupt");
    assert!(
        verified_height(&pg.node_dir("node2")).is_err_and(|e| e.contains("corrupted at height 3"))
    );

    // Without yes=true the restore waits for approval before any node stops.
    let from = format!("from={}", backup.display());
    let paused = pg.run("restore", &["-p", &from]);
    assert_eq!(paused.code, 3, "{}{}", paused.stdout, paused.stderr);
    assert!(
        format!("{}{}", paused.stdout, paused.stderr).contains("awaits approval: Restore"),
        "{}",
        paused.stderr
    );
    assert_eq!(pids(pg), before, "a node stopped before the approval");
    let run = run_id(&paused);
    Quorate::in_lab(pg.dir.path())
        .args(["approve", &run])
        .run()
        .success();
    let out = resume(pg, &run);
    ok(&out, "restore after approval");
    for (host, backup_height) in NODES.iter().zip(backup_heights) {
        let dir = pg.node_dir(host);
        let height =
            verified_height(&dir).unwrap_or_else(|e| panic!("{host}: verify after restore: {e}"));
        assert!(
            height > *backup_height,
            "{host} at {height}, the backup's was {backup_height}"
        );
        assert!(
            dir.join(format!("data.before-{run}")).is_dir(),
            "{host}'s previous data was not kept"
        );
    }
    let h = pg.height("node2").expect("node2 height");
    for host in NODES {
        pg.wait_height_above(host, h + 1, Duration::from_secs(15));
    }
    assert_one_history(pg);
}
