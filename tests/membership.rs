//! Membership on a running demo chain made by `quorate demo --setup-only`: the playground
//! itself (inventory, running sealers, idle spares), and the built-in runbooks that change
//! the chain's membership.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::data::{kill_point, run_killed};
use support::playground::{alive, node_dirs, HeightSampler, Playground, STALL_BOUND};
use support::Quorate;

#[test]
fn setup_only_makes_a_running_chain_with_an_inventory_and_idle_spares() {
    let pg = Playground::create(4, 2);
    let out = Quorate::in_lab(pg.dir.path())
        .arg("validate")
        .arg(pg.inventory())
        .run()
        .success();
    assert!(out.contains("ok:"), "validate said: {out}");
    let inventory = std::fs::read_to_string(pg.inventory()).expect("inventory");
    assert!(inventory.contains("spare: [node4, node5]"), "{inventory}");
    assert!(
        inventory.contains("sealers: [node0, node1, node2, node3]"),
        "{inventory}"
    );
    // The chain commits: every sealer is healthy and node0's height keeps rising.
    for i in 0..4 {
        let name = format!("node{i}");
        let (code, _) = pg.status(&name, &["--healthy"]);
        assert_eq!(code, 0, "{name} is not healthy");
        assert!(
            pg.pid(&name).is_some_and(alive),
            "{name} has no running pid"
        );
    }
    let h = pg.height("node0").expect("node0 height");
    pg.wait_height_above("node0", h + 2, Duration::from_secs(10));
    assert_eq!(pg.sealers("node0"), ["node0", "node1", "node2", "node3"]);
    // The spares are hosts only: no directory, nothing running.
    for spare in ["node4", "node5"] {
        assert!(!pg.node_dir(spare).exists(), "{spare} has a directory");
    }
    assert_eq!(node_dirs(&pg.demo_dir().join("chain")).len(), 4);
}

/// Every node in `names` commits new blocks from now on.
fn assert_all_advance(pg: &Playground, names: &[&str]) {
    for name in names {
        let h = pg
            .height(name)
            .unwrap_or_else(|| panic!("{name} has no height"));
        pg.wait_height_above(name, h + 1, Duration::from_secs(10));
    }
}

/// One chain for both runbooks: `add-node` takes it from 4 to 5 sealers, `remove-node`
/// back to 4, and a second removal is refused (bft needs 4).
#[test]
fn add_node_then_remove_node_change_the_live_membership_without_stalling_the_chain() {
    let pg = Playground::create(4, 1);
    let stall = run_sampled(
        &pg,
        "add-node",
        "node4",
        &["node0", "node1", "node2", "node3"],
    );
    for name in ["node0", "node3", "node4"] {
        assert_eq!(
            pg.sealers(name),
            ["node0", "node1", "node2", "node3", "node4"],
            "{name}'s sealer list"
        );
    }
    assert_eq!(pg.status("node4", &["--role"]).1, "sealer");
    assert_all_advance(&pg, &["node0", "node1", "node2", "node3", "node4"]);
    println!("add-node: longest time without a block {stall:?}");
    assert!(
        stall < STALL_BOUND,
        "the chain went {stall:?} without a block"
    );
    // A second run finds everything done: each mutating step is skipped by its guard.
    let again = pg.run("add-node", &["-p", "node=node4"]);
    assert_eq!(
        again.code, 0,
        "second add-node failed:\n{}{}",
        again.stdout, again.stderr
    );
    for step in ["create", "start", "observer", "sealer"] {
        assert!(
            again.stdout.contains(&format!("node4  {step}  skipped:"))
                || again.stderr.contains(&format!("node4  {step}  skipped:")),
            "{step} was not skipped on the second run:\n{}{}",
            again.stdout,
            again.stderr
        );
    }
    remove_node_leaves_four_sealers(&pg);
    // A host of the inventory's members cannot be added (this run fails: done last, as
    // its unfinished run holds the cluster lock).
    let member = pg.run("add-node", &["-p", "node=node2"]);
    assert_failed_with(
        &member,
        "node2 is already a member (cluster.members); nothing to add",
    );
}

/// Runs `runbook -p node=NODE` to success while sampling the heights of `sealers`;
/// returns the longest time the chain went without a new block.
fn run_sampled(pg: &Playground, runbook: &str, node: &str, sealers: &[&str]) -> Duration {
    let sampler = HeightSampler::start(pg, sealers);
    let out = pg.run(runbook, &["-p", &format!("node={node}")]);
    let (stall, _) = sampler.finish();
    assert_eq!(
        out.code, 0,
        "{runbook} failed:\n{}{}",
        out.stdout, out.stderr
    );
    stall
}

/// The run failed (exit 1) and its error names `message`.
fn assert_failed_with(out: &support::Output, message: &str) {
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(message),
        "expected `{message}` in:\n{}",
        out.stderr
    );
}

/// 5 sealers -> `remove-node node1` -> 4: the chain's list, the process, the archived
/// directory, a chain that never stops; then removing another is refused.
fn remove_node_leaves_four_sealers(pg: &Playground) {
    let pid = pg.pid("node1").expect("node1 runs");
    let stall = run_sampled(
        pg,
        "remove-node",
        "node1",
        &["node0", "node2", "node3", "node4"],
    );
    for name in ["node0", "node4"] {
        assert_eq!(
            pg.sealers(name),
            ["node0", "node2", "node3", "node4"],
            "{name}'s sealer list"
        );
    }
    assert!(!alive(pid), "node1 (pid {pid}) still runs");
    assert!(
        !pg.node_dir("node1").exists(),
        "node1's directory is still in place"
    );
    let chain = pg.demo_dir().join("chain");
    let archived: Vec<PathBuf> = node_dirs(&chain)
        .into_iter()
        .filter(|d| {
            d.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("removed-node1-"))
        })
        .collect();
    assert_eq!(archived.len(), 1, "archived directories: {archived:?}");
    assert!(
        archived[0].join("conf/node.nodeid").is_file(),
        "the archive lost the node's keys"
    );
    assert_all_advance(pg, &["node0", "node2", "node3", "node4"]);
    println!("remove-node: longest time without a block {stall:?}");
    assert!(
        stall < STALL_BOUND,
        "the chain went {stall:?} without a block"
    );
    // 4 bft sealers are the minimum: a further removal is refused before any change.
    let refused = pg.run("remove-node", &["-p", "node=node2"]);
    assert_failed_with(
        &refused,
        "refused: removing node2 would leave 3 sealers; bft needs at least 4",
    );
    assert_eq!(pg.sealers("node0"), ["node0", "node2", "node3", "node4"]);
    assert!(pg.pid("node2").is_some_and(alive), "node2 was stopped");
    // The refused run holds the cluster lock; give it up so that the next run may go.
    let run_id = refused
        .stderr
        .split_whitespace()
        .skip_while(|w| *w != "run")
        .nth(1)
        .expect("the failed run's id")
        .to_owned();
    Quorate::in_lab(pg.dir.path())
        .args(["abandon", &run_id])
        .run()
        .success();
}

/// `add-node` killed (SIGKILL) after a random number of task transitions, then `quorate
/// resume`: the same outcome as a straight run. `MEMBERSHIP_KILL_AT=N` replays one point.
#[test]
fn add_node_killed_at_a_random_point_and_resumed_ends_the_same() {
    let pg = Playground::create(4, 1);
    // 7 tasks run on node4 and the controller (running, then done or skipped), and the
    // other hosts' 24 are skipped: about 38 transitions.
    let kill_at = kill_point("MEMBERSHIP_KILL_AT", 36);
    let run = run_killed(&pg, "add-node", &["-p", "node=node4"], kill_at);
    let out = Quorate::in_lab(pg.dir.path())
        .args(["resume", &run, "--plain"])
        .run();
    assert_eq!(
        out.code, 0,
        "resume after {kill_at} transitions:\n{}{}",
        out.stdout, out.stderr
    );
    assert_eq!(
        pg.sealers("node0"),
        ["node0", "node1", "node2", "node3", "node4"]
    );
    assert_eq!(pg.status("node4", &["--role"]).1, "sealer");
    assert_all_advance(&pg, &["node0", "node1", "node2", "node3", "node4"]);
}
