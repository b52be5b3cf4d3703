//! `checkpoint` and `checkpoint-restore` on a running demo chain: one checkpoint at one
//! height on every replica; the newest height every replica has chosen and restored, the
//! chain starting again from it; a height some replica lacks refused; both runbooks killed
//! at a random point and resumed.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::data::{kill_point, resume, run_id, run_killed, verified_height};
use support::playground::Playground;
use support::Quorate;

const NODES: [&str; 4] = ["node0", "node1", "node2", "node3"];

/// The heights of a node's checkpoints, in order.
fn checkpoints(pg: &Playground, host: &str) -> Vec<u64> {
    let dir = pg.node_dir(host).join("data/checkpoints");
    let mut heights: Vec<u64> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    heights.sort_unstable();
    heights
}

fn checkpoint_hash(pg: &Playground, host: &str, height: u64) -> String {
    let path = pg
        .node_dir(host)
        .join(format!("data/checkpoints/{height}/checkpoint.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).expect("checkpoint.json");
    v["hash"].as_str().expect("hash").to_owned()
}

/// Line `height` of a ledger file (block `height`), as JSON.
fn block(ledger: &Path, height: u64) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(ledger).ok()?;
    let line = text.lines().nth(usize::try_from(height).ok()?)?;
    serde_json::from_str(line).ok()
}

/// Every replica has a checkpoint at `height` with one block hash, which is the hash of
/// block `height` in its ledger, and it verifies. Returns the hash.
fn assert_one_checkpoint(pg: &Playground, height: u64) -> String {
    let hash = checkpoint_hash(pg, "node0", height);
    for host in NODES {
        assert_eq!(
            checkpoint_hash(pg, host, height),
            hash,
            "{host}'s checkpoint {height}"
        );
        let ledger = pg.node_dir(host).join("data/blocks.jsonl");
        assert_eq!(
            block(&ledger, height).expect("block")["hash"],
            hash.as_str(),
            "{host}'s block {height}"
        );
        let cp = pg.node_dir(host).join(format!("data/checkpoints/{height}"));
        assert_eq!(
            verified_height(&cp),
            Ok(height),
            "{host}'s checkpoint verifies"
        );
    }
    hash
}

/// The height in the last `starting ...` line of a node's log.
fn started_at(pg: &Playground, host: &str) -> u64 {
    let log = std::fs::read_to_string(pg.node_dir(host).join("log/node.log")).expect("log");
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("[NODE] starting"))
        .expect("a start line");
    line.split(": height ")
        .nth(1)
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no height in {line}"))
}

#[test]
fn checkpoints_are_consistent_and_checkpoint_restore_starts_the_chain_again_from_one() {
    let started = Instant::now();
    let pg = Playground::create(4, 0);
    let out = pg.run("checkpoint", &[]);
    assert_eq!(out.code, 0, "checkpoint:\n{}{}", out.stdout, out.stderr);
    let first = checkpoints(&pg, "node0");
    assert_eq!(first.len(), 1, "{first:?}");
    let h1 = first[0];
    for host in NODES {
        assert_eq!(checkpoints(&pg, host), [h1], "{host}'s checkpoints");
    }
    let hash1 = assert_one_checkpoint(&pg, h1);
    let logs = Quorate::in_lab(pg.dir.path())
        .args(["logs", &run_id(&out), "--step", "consistent"])
        .run()
        .success();
    assert!(
        logs.contains(&format!("checkpoint {h1} {hash1} on every replica")),
        "{logs}"
    );

    // A second checkpoint, the run killed at a random point and resumed.
    pg.wait_height_above("node0", h1 + 3, Duration::from_secs(10));
    let kill_at = kill_point("CHECKPOINT_KILL_AT", 42);
    let run = run_killed(&pg, "checkpoint", &[], kill_at);
    let out = resume(&pg, &run);
    assert_eq!(
        out.code, 0,
        "resume checkpoint after {kill_at}:\n{}{}",
        out.stdout, out.stderr
    );
    let second = checkpoints(&pg, "node0");
    assert_eq!(second.len(), 2, "{second:?}");
    let h2 = second[1];
    assert!(h2 > h1);
    assert_one_checkpoint(&pg, h2);

    // node3 loses its newest checkpoint: h2 is no longer on every replica.
    std::fs::remove_dir_all(pg.node_dir("node3").join(format!("data/checkpoints/{h2}")))
        .expect("rm");
    let before: Vec<_> = NODES.iter().map(|n| pg.pid(n)).collect();
    let refused = pg.run(
        "checkpoint-restore",
        &["-p", &format!("height={h2}"), "-p", "yes=true"],
    );
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    let why = format!(
        "refused: not every replica has a checkpoint at height {h2} (every replica has: {h1} )"
    );
    assert!(
        refused.stderr.contains(&why),
        "expected `{why}` in:\n{}",
        refused.stderr
    );
    assert_eq!(NODES.iter().map(|n| pg.pid(n)).collect::<Vec<_>>(), before);
    Quorate::in_lab(pg.dir.path())
        .args(["abandon", &run_id(&refused)])
        .run()
        .success();

    // Without a height, the newest common one (h1) is chosen; the run is killed at a random
    // point and resumed.
    let kill_at = kill_point("CHECKPOINT_RESTORE_KILL_AT", 50);
    let run = run_killed(&pg, "checkpoint-restore", &["-p", "yes=true"], kill_at);
    let out = resume(&pg, &run);
    assert_eq!(
        out.code, 0,
        "resume checkpoint-restore after {kill_at}:\n{}{}",
        out.stdout, out.stderr
    );
    let logs = Quorate::in_lab(pg.dir.path())
        .args(["logs", &run, "--step", "choose"])
        .run()
        .success();
    assert!(logs.trim_end().ends_with(&h1.to_string()), "{logs}");
    for host in NODES {
        let dir = pg.node_dir(host);
        assert_eq!(
            started_at(&pg, host),
            h1,
            "{host} did not start again from {h1}"
        );
        let ledger = dir.join("data/blocks.jsonl");
        assert_eq!(block(&ledger, h1).expect("block")["hash"], hash1.as_str());
        let old = dir.join(format!("data/blocks.jsonl.before-{run}"));
        let old_next = block(&old, h1 + 1).expect("the old ledger, kept");
        pg.wait_height_above(host, h1 + 1, Duration::from_secs(15));
        let new_next = block(&ledger, h1 + 1).expect("a block after the checkpoint");
        assert_ne!(
            new_next["hash"],
            old_next["hash"],
            "{host}: block {} was not made again",
            h1 + 1
        );
        assert!(
            verified_height(&dir).is_ok_and(|h| h > h1),
            "{host} verifies above {h1}"
        );
    }
    println!("checkpoint: {:?}", started.elapsed());
}

/// `quorate list` shows every built-in runbook, each has a docs page that links its file,
/// and each data runbook plans against the example inventory (a FISCO BCOS layout).
#[test]
fn every_builtin_runbook_is_listed_documented_and_plans() {
    let list = Quorate::new().arg("list").run().success();
    // Every runbook file is a built-in: `runbooks/NAME.yaml` is NAME, documented in
    // docs/runbooks/NAME.md; `runbooks/etcd/NAME.yaml` is etcd-NAME, in docs/runbooks/etcd.md.
    let mut builtins: Vec<(String, String, String)> = Vec::new();
    for (dir, prefix, page) in [
        ("runbooks", "", None),
        ("runbooks/etcd", "etcd-", Some("etcd")),
    ] {
        for entry in std::fs::read_dir(support::root().join(dir)).expect("runbooks dir") {
            let path = entry.expect("dir entry").path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if path.extension().is_some_and(|e| e == "yaml") {
                let name = format!("{prefix}{stem}");
                let page = page.map_or_else(|| name.clone(), str::to_owned);
                builtins.push((name, page, format!("{dir}/{stem}.yaml")));
            }
        }
    }
    assert!(builtins.len() >= 15, "{builtins:?}");
    for (name, page, file) in &builtins {
        assert!(
            list.lines()
                .any(|l| l.split_whitespace().take(2).eq([name.as_str(), "built-in"])),
            "`quorate list` does not show {name}:\n{list}"
        );
        let page = support::root().join(format!("docs/runbooks/{page}.md"));
        let text =
            std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        assert!(
            text.contains(file.as_str()),
            "{} does not link {file}",
            page.display()
        );
    }
    let plans: [(&str, &[&str]); 6] = [
        ("backup", &["-p", "dest=/srv/backups"]),
        ("restore", &["-p", "from=/srv/backups/RUN"]),
        ("checkpoint", &[]),
        ("checkpoint-restore", &[]),
        ("rotate-tls", &["-p", "days=90"]),
        ("disaster-recovery", &["-p", "survivor=node0"]),
    ];
    for (name, params) in plans {
        let out = Quorate::new()
            .args(["plan", name, "-i", "examples/inventory.yaml"])
            .args(params.iter().copied())
            .run()
            .success();
        assert!(
            out.starts_with(&format!("plan: {name} on cluster example-chain")),
            "{out}"
        );
    }
}
