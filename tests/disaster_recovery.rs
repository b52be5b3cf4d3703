//! `disaster-recovery` on a demo chain that lost more than f members: 2 of 4 nodes wiped,
//! the chain stalled; a survivor without a ledger refused; the run killed at a random point
//! and resumed brings all 4 back, healthy and committing.

mod support;

use std::time::{Duration, Instant};

use support::data::{killed_and_resumed, run_id, step_log, verified_height};
use support::playground::Playground;
use support::Quorate;

const NODES: [&str; 4] = ["node0", "node1", "node2", "node3"];

#[test]
fn disaster_recovery_brings_back_a_chain_that_lost_two_of_four_members() {
    let started = Instant::now();
    let pg = Playground::create(4, 0);
    let workdir = format!("workdir={}", pg.dir.path().join("dr").display());
    pg.wait_height_above("node0", 4, Duration::from_secs(10));
    for lost in ["node2", "node3"] {
        let dir = pg.node_dir(lost);
        assert!(std::process::Command::new(dir.join("stop.sh"))
            .status()
            .expect("stop")
            .success());
        std::fs::remove_dir_all(dir.join("data")).expect("wipe data");
    }
    // 2 of 4 left, 3 needed: the chain no longer commits.
    let stalled = pg.height("node0").expect("node0 height");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(pg.height("node0"), Some(stalled), "the chain still commits");

    // A wiped member cannot be the survivor; nothing is stopped for it.
    let before = pg.pid("node0");
    let refused = pg.run(
        "disaster-recovery",
        &["-p", "survivor=node2", "-p", &workdir],
    );
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    let why = "refused: the survivor node2 has no usable ledger (it is gone or does not verify)";
    assert!(
        refused.stderr.contains(why),
        "expected `{why}` in:\n{}",
        refused.stderr
    );
    assert_eq!(pg.pid("node0"), before, "node0 was stopped");
    Quorate::in_lab(pg.dir.path())
        .args(["abandon", &run_id(&refused)])
        .run()
        .success();

    // ~49 tasks, about 90 transitions.
    let run = killed_and_resumed(
        &pg,
        "disaster-recovery",
        &["-p", &workdir],
        ("DR_KILL_AT", 88),
    );
    let logs = step_log(&pg, &run, "choose");
    assert!(logs.contains("survivor node"), "{logs}");
    for host in NODES {
        assert_eq!(
            pg.status(host, &["--healthy"]).0,
            0,
            "{host} is not healthy"
        );
        assert_eq!(
            pg.status(host, &["--live-sealers"]).1.lines().count(),
            4,
            "{host} does not hear every sealer"
        );
    }
    for host in NODES {
        pg.wait_height_above(host, stalled + 2, Duration::from_secs(15));
        let h = verified_height(&pg.node_dir(host)).unwrap_or_else(|e| panic!("{host}: {e}"));
        assert!(h > stalled, "{host} at {h}");
    }
    // The re-seeded members share the survivors' history up to the stall.
    let prefix = |host: &str| -> Vec<String> {
        let text =
            std::fs::read_to_string(pg.node_dir(host).join("data/blocks.jsonl")).expect("ledger");
        text.lines()
            .take(usize::try_from(stalled).expect("fits"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(prefix("node2"), prefix("node0"));
    assert_eq!(prefix("node3"), prefix("node1"));
    println!("disaster_recovery: {:?}", started.elapsed());
}
