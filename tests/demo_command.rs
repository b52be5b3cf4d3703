//! `quorate demo`, the quick start's first command, end to end: it must create the demo
//! chain, upgrade every node and exit 0.

mod support;

use support::Quorate;

#[test]
fn quorate_demo_upgrades_a_local_chain_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = Quorate::new()
        .args(["demo", "--stop", "--dir"])
        .arg(dir.path().join("demo"))
        .env("HOME", home.path().to_str().unwrap())
        .env("NO_COLOR", "1")
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let after = out
        .stdout
        .split("health after the upgrade:")
        .nth(1)
        .expect("a health table after the run");
    let rows: Vec<&str> = after
        .lines()
        .filter(|l| l.trim_start().starts_with("node"))
        .take(4)
        .collect();
    assert_eq!(rows.len(), 4, "{after}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[1], "true", "running: {row}");
        assert_eq!(cols[3], "1.1.0", "upgraded: {row}");
    }
    assert!(out.stdout.contains("what to try next"), "{}", out.stdout);
    // --stop: nothing of the chain keeps running.
    for i in 0..4 {
        let pid_file = dir.path().join(format!("demo/chain/node{i}/node.pid"));
        if let Ok(pid) = std::fs::read_to_string(&pid_file) {
            let pid: u32 = pid.trim().parse().unwrap();
            assert!(
                !std::path::Path::new(&format!("/proc/{pid}")).exists(),
                "node{i} still runs"
            );
        }
    }
}
