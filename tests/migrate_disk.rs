//! `migrate-disk` on a running 4-sealer demo chain made by `quorate demo --setup-only`: a
//! destination that is not empty is refused; then node1's migration is killed (SIGKILL) at
//! a random task transition and resumed up to its approval, and node2's runs straight
//! through to it. Both must end the same way: the node's data really lives under the
//! destination, the node is a sealer again, its ledger verifies, the chain never stopped
//! committing, and the old data is still there; after `quorate approve` and `resume` the
//! old data is gone.

mod support;

use std::path::Path;
use std::process::Command;

use support::playground::{alive, run_id_of, HeightSampler, Playground, STALL_BOUND};
use support::Quorate;

const SEALERS: [&str; 4] = ["node0", "node1", "node2", "node3"];

/// The height of the last block in a ledger file.
fn last_height(ledger: &Path) -> u64 {
    let text = std::fs::read_to_string(ledger)
        .unwrap_or_else(|e| panic!("read {}: {e}", ledger.display()));
    let last = text.lines().last().expect("a block");
    let block: serde_json::Value = serde_json::from_str(last).expect("a block line");
    block["height"].as_u64().expect("height")
}

/// At the approval: the node's data lives under `dest` (data/ is a link to it, and the
/// ledger there grows), it runs as a new process and is a sealer again, its ledger
/// verifies, and the old data is kept as data.old-RUN.
fn assert_moved(pg: &Playground, name: &str, dest: &Path, old_pid: i32, run: &str) {
    let node_dir = pg.node_dir(name);
    let data = node_dir.join("data");
    assert!(data.is_symlink(), "{} is not a link", data.display());
    assert_eq!(
        std::fs::canonicalize(&data).expect("resolve data"),
        std::fs::canonicalize(dest).expect("resolve dest")
    );
    let h = pg.height(name).expect("the node answers");
    pg.wait_height_above(name, h + 2, std::time::Duration::from_secs(10));
    assert!(
        last_height(&dest.join("blocks.jsonl")) > h,
        "new blocks are not written under {}",
        dest.display()
    );
    assert!(
        !alive(old_pid),
        "{name}'s old process (pid {old_pid}) still runs"
    );
    assert!(pg.pid(name).is_some_and(alive), "{name} does not run");
    for sealer in SEALERS {
        assert_eq!(pg.sealers(sealer), SEALERS, "{sealer}'s sealer list");
    }
    let verify = Command::new(node_dir.join("demo-node"))
        .args(["verify", "--dir"])
        .arg(&node_dir)
        .output()
        .expect("run verify");
    assert!(
        verify.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let old = node_dir.join(format!("data.old-{run}"));
    assert!(
        old.join("blocks.jsonl").is_file(),
        "the old data is not kept as {}",
        old.display()
    );
}

/// `quorate approve RUN` and `resume`: the run removes the old data and finishes.
fn approve_and_finish(pg: &Playground, name: &str, dest: &Path, run: &str) {
    Quorate::in_lab(pg.dir.path())
        .args(["approve", run])
        .run()
        .success();
    let done = Quorate::in_lab(pg.dir.path())
        .args(["resume", run, "--plain"])
        .run();
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    let node_dir = pg.node_dir(name);
    let old = node_dir.join(format!("data.old-{run}"));
    assert!(!old.exists(), "{} is still there", old.display());
    assert!(node_dir.join("data").is_symlink() && dest.join("blocks.jsonl").is_file());
}

#[test]
fn migrate_disk_moves_the_data_through_a_kill_or_straight_and_removes_the_old_data_once_approved() {
    let pg = Playground::create(4, 0);
    let disk = pg.dir.path().join("disk2");
    let dest = disk.join("node1-data");

    // A destination that already holds something is refused before anything changes.
    std::fs::create_dir_all(&dest).expect("mkdir dest");
    std::fs::write(dest.join("stray"), "x").expect("stray file");
    let dest_param = format!("dest={}", dest.display());
    let args = ["-p", "node=node1", "-p", dest_param.as_str()];
    let refused = pg.run("migrate-disk", &args);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    let message = format!(
        "refused: {} exists and is not an empty directory",
        dest.display()
    );
    assert!(refused.stderr.contains(&message), "{}", refused.stderr);
    let data = pg.node_dir("node1").join("data");
    assert!(data.is_dir() && !data.is_symlink());
    pg.abandon(&run_id_of(&refused));
    std::fs::remove_file(dest.join("stray")).expect("rm stray");

    let pid = pg.pid("node1").expect("node1 runs");
    let sampler = HeightSampler::start(&pg, &SEALERS);
    // Up to the approval: 16 tasks on node1 and the controller run (running, then done or
    // skipped), 36 are skipped by `when` on the other hosts, and the approval is reached:
    // 59 transitions. MIGRATE_KILL_AT=N replays one point.
    let kill_at = support::random_point("MIGRATE_KILL_AT", 58);
    let (seen, out, run) = pg.run_killed_then_resumed("migrate-disk", &args, kill_at);
    let last = seen.last().expect("a transition");
    println!(
        "killed after transition {} (MIGRATE_KILL_AT={kill_at}): {} {}@{}",
        seen.len(),
        last["state"],
        last["step"],
        last["host"]
    );
    assert_eq!(
        out.code, 3,
        "the resumed run stops at the approval:\n{}{}",
        out.stdout, out.stderr
    );
    assert_moved(&pg, "node1", &dest, pid, &run);
    pg.assert_all_advance(&SEALERS);
    let (stall, _) = sampler.finish();
    println!("migrate-disk, killed and resumed: longest time without a block {stall:?}");
    assert!(
        stall < STALL_BOUND,
        "the chain went {stall:?} without a block"
    );
    approve_and_finish(&pg, "node1", &dest, &run);

    // The same move, straight through, for node2.
    let dest = disk.join("node2-data");
    let dest_param = format!("dest={}", dest.display());
    let pid = pg.pid("node2").expect("node2 runs");
    let sampler = HeightSampler::start(&pg, &SEALERS);
    let out = pg.run(
        "migrate-disk",
        &["-p", "node=node2", "-p", dest_param.as_str()],
    );
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let run = run_id_of(&out);
    assert_moved(&pg, "node2", &dest, pid, &run);
    let (stall, _) = sampler.finish();
    println!("migrate-disk, straight: longest time without a block {stall:?}");
    assert!(
        stall < STALL_BOUND,
        "the chain went {stall:?} without a block"
    );
    approve_and_finish(&pg, "node2", &dest, &run);
    pg.assert_all_advance(&SEALERS);
}
