//! `rolling-restart` on the demo chain made by `quorate demo --setup-only`: every sealer
//! restarts, leadership is handed away before each stop, and the chain keeps committing.

mod support;

use std::time::Duration;

use support::playground::{alive, HeightSampler, Playground, STALL_BOUND};

#[test]
fn rolling_restart_restarts_every_sealer_without_stalling_the_chain() {
    let pg = Playground::create(4, 0);
    let sealers = ["node0", "node1", "node2", "node3"];
    let before: Vec<i32> = sealers.iter().map(|n| pg.pid(n).expect("pid")).collect();
    let sampler = HeightSampler::start(&pg, &sealers);
    let out = pg.run("rolling-restart", &[]);
    let (stall, height) = sampler.finish();
    assert_eq!(
        out.code, 0,
        "rolling-restart failed:\n{}{}",
        out.stdout, out.stderr
    );
    let all = format!("{}{}", out.stdout, out.stderr);
    // One member at a time (bft, n = 4: f = 1), the gate before each batch.
    assert_eq!(
        all.matches("live membership n = 4, f = 1").count(),
        4,
        "{all}"
    );
    for (name, old) in sealers.iter().zip(&before) {
        let new = pg.pid(name).expect("pid after");
        assert_ne!(new, *old, "{name} was not restarted");
        assert!(alive(new), "{name} does not run");
        assert!(!alive(*old), "{name}'s old process still runs");
        assert_eq!(pg.status(name, &["--healthy"]).0, 0, "{name} is unhealthy");
    }
    for name in sealers {
        let h = pg.height(name).expect("height");
        pg.wait_height_above(name, h + 1, Duration::from_secs(10));
    }
    println!(
        "rolling-restart (demo chain): longest time without a block {stall:?}, height {height}"
    );
    assert!(
        stall < STALL_BOUND,
        "the chain went {stall:?} without a block"
    );
}
