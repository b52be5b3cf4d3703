//! End-to-end: real demo-node processes on 127.0.0.1, started and stopped by their scripts.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::{demo, text, wait_for, Chain};

const ALL4: [&str; 4] = ["node0", "node1", "node2", "node3"];
const START: Duration = Duration::from_secs(15);
const PROGRESS: Duration = Duration::from_secs(10);

fn start_all(chain: &Chain, names: &[&str]) {
    for name in names {
        chain.start(name);
    }
}

#[test]
fn four_sealer_bft_chain_advances_on_every_node_and_verifies() {
    let chain = Chain::init(&["--sealers", "4", "--observers", "1"]);
    let status = chain.json("node0");
    assert_eq!(status["running"], false);
    assert_eq!(
        chain.status("node0", &[]).status.code(),
        Some(3),
        "not running: exit 3"
    );

    let started = Instant::now();
    start_all(&chain, &ALL4);
    chain.wait_height(&ALL4, 1, START);
    let first_block = started.elapsed();
    let again = chain.script("node0", "start.sh");
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already running"));
    chain.start("node4");
    chain.wait_height(&["node0", "node1", "node2", "node3", "node4"], 5, PROGRESS);
    let observer = chain.json("node4");
    assert_eq!(observer["role"], "observer");
    assert_eq!(observer["observers"][0], "node4");
    eprintln!(
        "first block {first_block:?} after starting; height 5 after {:?}",
        started.elapsed()
    );

    let status = chain.json("node2");
    assert_eq!(status["running"], true);
    assert_eq!(status["role"], "sealer");
    assert_eq!(status["synced"], true);
    assert_eq!(status["peers"], 4, "three sealers and the observer");
    assert_eq!(status["sealers"].as_array().unwrap().len(), 4);
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["compatibility_version"], env!("CARGO_PKG_VERSION"));
    let healthy = chain.status("node1", &["--healthy"]);
    assert!(healthy.status.success(), "{}", text(&healthy));
    let sealers = chain.status("node1", &["--sealers"]);
    assert_eq!(
        String::from_utf8_lossy(&sealers.stdout),
        "node0\nnode1\nnode2\nnode3\n"
    );

    let log = fs::read_to_string(chain.node("node0").join("log/node.log")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("committed block 1 "))
        .unwrap();
    assert!(
        line.starts_with("info|") && line.contains("|[CONSENSUS] committed block 1 "),
        "{line}"
    );

    for name in ALL4 {
        let out = chain.verify(name);
        assert!(out.status.success(), "verify {name}: {}", text(&out));
    }
    for name in ALL4 {
        chain.stop(name);
    }
    assert!(
        chain.script("node0", "stop.sh").status.success(),
        "stop.sh is idempotent"
    );
    chain.assert_one_chain(&ALL4);
}

#[test]
fn bft_survives_one_sealer_down_stalls_with_two_and_resumes() {
    let chain = Chain::init(&["--sealers", "4"]);
    start_all(&chain, &ALL4);
    chain.wait_height(&ALL4, 2, START);

    chain.stop("node3");
    let h = chain.height("node0").unwrap();
    chain.wait_height(&["node0", "node1", "node2"], h + 4, PROGRESS);

    chain.stop("node2");
    // A block in flight may still commit; then nothing more may.
    std::thread::sleep(Duration::from_millis(700));
    let stalled = chain.assert_stalled(&["node0", "node1"], Duration::from_secs(3));
    let healthy = chain.status("node0", &["--healthy"]);
    assert_eq!(healthy.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&healthy.stdout).contains("sees no quorum"),
        "{}",
        text(&healthy)
    );

    chain.start("node2");
    chain.wait_height(&["node0", "node1", "node2"], stalled + 3, PROGRESS);

    chain.start("node3");
    wait_for(PROGRESS, "node3 to catch up", || {
        let synced = chain.status("node3", &["--synced"]).status.success();
        let (h0, h3) = (chain.height("node0"), chain.height("node3"));
        synced && h0.zip(h3).is_some_and(|(a, b)| a.abs_diff(b) <= 1)
    });
    for name in ALL4 {
        chain.stop(name);
    }
    chain.assert_one_chain(&ALL4);
}

#[test]
fn cft_three_sealers_survive_one_down_and_stall_with_two() {
    let chain = Chain::init(&["--sealers", "3", "--consensus", "cft"]);
    let names = ["node0", "node1", "node2"];
    start_all(&chain, &names);
    chain.wait_height(&names, 2, START);
    assert_eq!(chain.json("node0")["quorum"], 2);

    chain.stop("node1");
    let h = chain.height("node0").unwrap();
    chain.wait_height(&["node0", "node2"], h + 4, PROGRESS);

    chain.stop("node2");
    std::thread::sleep(Duration::from_millis(700));
    let stalled = chain.assert_stalled(&["node0"], Duration::from_secs(3));

    chain.start("node1");
    chain.wait_height(&["node0", "node1"], stalled + 3, PROGRESS);
    for name in ["node0", "node1"] {
        chain.stop(name);
    }
    chain.assert_one_chain(&names);
}

#[test]
fn upgrade_swaps_a_binary_and_an_old_binary_refuses_to_start() {
    let chain = Chain::init(&["--sealers", "4"]);
    start_all(&chain, &ALL4);
    chain.wait_height(&ALL4, 2, START);

    chain.stop("node1");
    let binary = chain.node("node1").join("demo-node");
    let out = demo(&[
        "release",
        "--version",
        "1.1.0",
        "--out",
        binary.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let version = chain.status("node1", &["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        "1.1.0\n",
        "stopped node reports its binary"
    );
    chain.start("node1");
    let status = chain.json("node1");
    assert_eq!(status["version"], "1.1.0");
    let h = chain.height("node0").unwrap();
    chain.wait_height(&ALL4, h + 3, PROGRESS);

    // The chain's compatibility_version is this build's version: an older binary refuses.
    chain.stop("node2");
    let binary = chain.node("node2").join("demo-node");
    let out = demo(&[
        "release",
        "--version",
        "0.0.1",
        "--out",
        binary.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = chain.script("node2", "start.sh");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("this binary is version 0.0.1, older than the chain's compatibility_version"),
        "{stderr}"
    );
    assert!(!chain.node("node2").join("node.pid").exists());
    let run = std::process::Command::new(&binary)
        .args(["run", "--dir", chain.node("node2").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(4), "{}", text(&run));

    let h = chain.height("node0").unwrap();
    chain.wait_height(&["node0", "node1", "node3"], h + 3, PROGRESS);
    for name in ALL4 {
        chain.stop(name);
    }
    chain.assert_one_chain(&ALL4);
}

#[test]
fn a_corrupted_ledger_refuses_to_start() {
    let chain = Chain::init(&["--sealers", "4"]);
    start_all(&chain, &ALL4);
    chain.wait_height(&ALL4, 4, START);
    chain.stop("node3");

    let ledger = chain.node("node3").join("data/blocks.jsonl");
    let text_before = fs::read_to_string(&ledger).unwrap();
    let mut lines: Vec<String> = text_before.lines().map(str::to_string).collect();
    lines[2] = lines[2].replacen("\"timestamp_ms\":", "\"timestamp_ms\":1", 1);
    fs::write(&ledger, lines.join("\n") + "\n").unwrap();

    let out = chain.script("node3", "start.sh");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to start: ledger corrupted at height 2: hash mismatch"),
        "{stderr}"
    );
    let out = chain.verify("node3");
    assert_eq!(out.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ledger corrupted at height 2"),
        "{}",
        text(&out)
    );
    for name in ["node0", "node1", "node2"] {
        chain.stop(name);
    }
}

#[test]
fn membership_observer_then_sealer_then_removed() {
    let chain = Chain::init(&["--sealers", "4"]);
    start_all(&chain, &ALL4);
    chain.wait_height(&ALL4, 2, START);

    let root = chain.root();
    let out = demo(&["init-node", "--dir", root.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    chain.start("node4");
    let node0 = chain.node("node0");
    let admin = |args: &[&str]| {
        let out = demo(&[&["admin", "--dir", node0.to_str().unwrap()], args].concat());
        assert!(out.status.success(), "admin {args:?}: {}", text(&out));
    };

    admin(&["add-observer", "node4"]);
    wait_for(PROGRESS, "node4 to be a synced observer", || {
        let s = chain.json("node4");
        s["role"] == "observer" && s["synced"] == true
    });
    let h = chain.height("node0").unwrap();
    chain.wait_height(&["node4"], h + 2, PROGRESS);

    admin(&["add-sealer", "node4"]);
    wait_for(PROGRESS, "n=5 on every node", || {
        ["node0", "node3", "node4"].iter().all(|n| {
            let s = chain.json(n);
            s["sealers"].as_array().unwrap().len() == 5 && s["quorum"] == 4
        })
    });
    let h = chain.height("node0").unwrap();
    chain.wait_height(&["node0", "node4"], h + 3, PROGRESS);

    let node4_id = fs::read_to_string(chain.node("node4").join("conf/node.nodeid")).unwrap();
    admin(&["remove-node", node4_id.trim()]);
    wait_for(PROGRESS, "n=4 again", || {
        let out = chain.status("node1", &["--sealers"]);
        String::from_utf8_lossy(&out.stdout) == "node0\nnode1\nnode2\nnode3\n"
    });
    assert_eq!(chain.json("node4")["role"], "none");
    let h = chain.height("node0").unwrap();
    chain.wait_height(&ALL4, h + 3, PROGRESS);
    let names = ["node0", "node1", "node2", "node3", "node4"];
    for name in names {
        chain.stop(name);
    }
    chain.assert_one_chain(&names);
}

#[test]
fn checkpoint_is_a_verifiable_snapshot() {
    let chain = Chain::init(&["--sealers", "1"]);
    chain.start("node0");
    chain.wait_height(&["node0"], 3, START);
    let node = chain.node("node0");
    let out = demo(&["checkpoint", "--dir", node.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let height: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(height >= 3);
    let dir = node.join("data/checkpoints").join(height.to_string());
    let out = demo(&["verify", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout)
        .starts_with(&format!("ok: {} blocks, height {height}", height + 1)));
    let leftovers: Vec<_> = fs::read_dir(node.join("data/checkpoints"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temporary directory left behind");
    // `--at` takes the checkpoint at an earlier height: the ledger's prefix up to it.
    let out = demo(&["checkpoint", "--dir", node.to_str().unwrap(), "--at", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    let at2 = node.join("data/checkpoints/2");
    let out = demo(&["verify", "--dir", at2.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: 3 blocks, height 2"));
    let ledger = fs::read_to_string(node.join("data/blocks.jsonl")).unwrap();
    let prefix: String = ledger.split_inclusive('\n').take(3).collect();
    assert_eq!(
        fs::read_to_string(at2.join("blocks.jsonl")).unwrap(),
        prefix
    );
    // A height the ledger has not reached is refused.
    let out = demo(&[
        "checkpoint",
        "--dir",
        node.to_str().unwrap(),
        "--at",
        "999999",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("below the checkpoint height 999999"));
    chain.stop("node0");
}

/// The blocks in a node's ledger above `above`: (proposer, timestamp in ms).
fn proposers_above(chain: &Chain, name: &str, above: u64) -> Vec<(String, u64)> {
    let ledger = fs::read_to_string(chain.node(name).join("data/blocks.jsonl")).unwrap();
    ledger
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|b| b["height"].as_u64().unwrap() > above)
        .map(|b| {
            let proposer = b["proposer"].as_str().unwrap().to_string();
            (proposer, b["timestamp_ms"].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn move_leader_passes_the_proposer_turns_until_restart() {
    let chain = Chain::init(&["--sealers", "4", "--observers", "1"]);
    start_all(&chain, &ALL4);
    chain.start("node4");
    chain.wait_height(&ALL4, 2, START);
    let dir = |name: &str| chain.node(name).to_str().unwrap().to_string();

    let observer = demo(&["admin", "--dir", &dir("node4"), "move-leader"]);
    assert!(observer.status.success(), "{}", text(&observer));
    assert!(
        text(&observer).contains("node4 is not a sealer"),
        "{}",
        text(&observer)
    );

    let moved = demo(&["admin", "--dir", &dir("node1"), "move-leader"]);
    assert!(moved.status.success(), "{}", text(&moved));
    assert!(
        text(&moved).contains("node1 no longer leads"),
        "{}",
        text(&moved)
    );
    let status = chain.json("node1");
    assert_eq!(status["steps_down"], true);
    assert_eq!(status["leading"], false);
    let from = chain.height("node0").unwrap() + 1;
    chain.wait_height(&ALL4, from + 8, PROGRESS);
    let proposers = proposers_above(&chain, "node0", from);
    assert!(
        proposers.iter().all(|(p, _)| p != "node1"),
        "node1 proposed after move-leader: {proposers:?}"
    );

    // Stopped, its turns still pass at once: no round timeout in the gaps.
    chain.stop("node1");
    let stopped = chain.height("node0").unwrap();
    chain.wait_height(&["node0", "node2", "node3"], stopped + 8, PROGRESS);
    let times: Vec<u64> = proposers_above(&chain, "node0", stopped)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    let longest = times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    eprintln!("longest block gap with node1 stopped after move-leader: {longest} ms");
    assert!(longest < 1400, "a {longest} ms gap: a round timed out");

    // A restart leads again.
    chain.start("node1");
    assert_eq!(chain.json("node1")["steps_down"], false);
    let back = chain.height("node0").unwrap();
    wait_for(PROGRESS, "node1 to propose again", || {
        proposers_above(&chain, "node0", back)
            .iter()
            .any(|(p, _)| p == "node1")
    });
    for name in ["node0", "node1", "node2", "node3", "node4"] {
        chain.stop(name);
    }
    chain.assert_one_chain(&ALL4);
}
