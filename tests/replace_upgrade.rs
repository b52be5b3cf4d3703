//! `replace-upgrade` on a running demo chain made by `quorate demo --setup-only` (4
//! sealers, 4 spares): refused node lists change nothing; the upgrade itself is killed (SIGKILL) at
//! a random task transition and resumed, and must end as a straight run would: the sealers
//! exactly the 4 new nodes, all on the new version, the old processes gone, the chain
//! committing throughout, and the live membership going from f = 1 to 2 and back to 1.

mod support;

use support::playground::{alive, release, run_id_of, HeightSampler, Playground, STALL_BOUND};

const OLD: [&str; 4] = ["node0", "node1", "node2", "node3"];
const NEW: [&str; 4] = ["node4", "node5", "node6", "node7"];

/// The f of every `membership` event of the run, in order, repeats folded.
fn live_f_sequence(show: &serde_json::Value) -> Vec<u64> {
    let mut fs: Vec<u64> = Vec::new();
    for event in show["events"].as_array().expect("events") {
        if event["kind"] != "membership" {
            continue;
        }
        let message = event["message"].as_str().expect("message");
        let f = message
            .split(", f = ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .and_then(|f| f.parse().ok())
            .unwrap_or_else(|| panic!("no f in {message}"));
        if fs.last() != Some(&f) {
            fs.push(f);
        }
    }
    fs
}

#[test]
fn replace_upgrade_refuses_bad_node_lists_then_replaces_every_member_through_a_kill() {
    let pg = Playground::create(4, 4);
    let bin = pg.demo_dir().join("chain/demo-node");
    let binary = format!("binary={}", release(&bin, pg.dir.path(), "1.1.0").display());
    let params = |nodes: &str| {
        vec![
            "-p".to_owned(),
            format!("nodes={nodes}"),
            "-p".to_owned(),
            binary.clone(),
            "-p".to_owned(),
            "version=1.1.0".to_owned(),
        ]
    };
    for (nodes, message) in [
        (
            "node4,node5,node6,node0",
            "node0 is already a member (cluster.members): name hosts that are not members yet",
        ),
        (
            "node4,node5,node6",
            "refused: 3 new nodes for 4 members; name as many new nodes as there are members",
        ),
        (
            "node4,node5,node6,node9",
            "node9 is not a host of the inventory",
        ),
        ("node4,node5,node6,node6", "node6 is named twice"),
    ] {
        let args = params(nodes);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = pg.run("replace-upgrade", &args);
        assert_eq!(out.code, 1, "{nodes}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains(message),
            "{nodes}: expected `{message}` in:\n{}",
            out.stderr
        );
        pg.abandon(&run_id_of(&out));
    }
    assert_eq!(pg.sealers("node0"), OLD, "a refused run changed the chain");
    assert!(!pg.node_dir("node4").exists(), "a refused run made node4");

    let old_pids: Vec<i32> = OLD
        .iter()
        .map(|n| pg.pid(n).unwrap_or_else(|| panic!("{n} runs")))
        .collect();
    let every: Vec<&str> = OLD.iter().chain(&NEW).copied().collect();
    let sampler = HeightSampler::start(&pg, &every);
    // 129 tasks: those that run log running then done (or skipped by a guard), those
    // `when` skips log skipped only: 194 transitions. REPLACE_KILL_AT=N replays one point.
    let kill_at = support::random_point("REPLACE_KILL_AT", 190);
    let args = params(&NEW.join(","));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (seen, out, run) = pg.run_killed_then_resumed("replace-upgrade", &args, kill_at);
    let (stall, height) = sampler.finish();
    let last = seen.last().expect("a transition");
    println!(
        "killed after transition {} (REPLACE_KILL_AT={kill_at}): {} {}@{}; longest time without a block {stall:?}, height {height}",
        seen.len(),
        last["state"],
        last["step"],
        last["host"]
    );
    assert_eq!(
        out.code, 0,
        "resume after {kill_at} transitions:\n{}{}",
        out.stdout, out.stderr
    );

    for name in NEW {
        assert_eq!(pg.sealers(name), NEW, "{name}'s live sealer list");
        assert_eq!(
            pg.status(name, &["--version"]).1,
            "1.1.0",
            "{name}'s version"
        );
    }
    for (name, pid) in OLD.iter().zip(&old_pids) {
        assert!(!alive(*pid), "{name} (pid {pid}) still runs");
        assert_eq!(pg.status(name, &["--role"]).1, "none", "{name}'s role");
    }
    pg.assert_all_advance(&NEW);
    assert!(
        stall < STALL_BOUND,
        "the chain went {stall:?} without a block"
    );
    // 4 -> 8 sealers (f = 1 -> 2) while joining, then back to 4 (f = 1) while retiring.
    assert_eq!(live_f_sequence(&pg.show(&run)), [1, 2, 1]);
}
