//! Write latency while a real 3-member etcd cluster restarts member by member: the
//! built-in `rolling-restart` beside the three steps an operator writes by hand
//! (`bench/etcd/three-step-restart.yaml`: stop, start, wait healthy; no preflight, no
//! leadership hand-off, no sync wait), under the same continuous writer as
//! `tests/etcd_rolling_restart.rs` (one key after another through every member's JSON
//! gateway, in turn, keep-alive connections, the next member after an error or 300 ms).
//!
//! Each repetition runs the four combinations in turn (hand-written and built-in, members
//! stopped by `stop.sh` and killed with SIGKILL), on one cluster made by `quorate demo
//! --system etcd --setup-only`. Printed per run: writes acknowledged and failed, how many
//! needed a second member, the median, 99th percentile and worst write, the run's wall
//! time; then the medians over the repetitions.
//!
//! Run: `cargo bench -p quorate --bench etcd_restart_bench [-- --reps N]` (default 5);
//! needs `etcd` and `etcdctl` (Debian `etcd-server`, `etcd-client`).

#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::etcd::EtcdCluster;

const MEMBERS: [&str; 3] = ["etcd0", "etcd1", "etcd2"];

struct Figures {
    acked: usize,
    failed: usize,
    failovers: usize,
    p50: Duration,
    p99: Duration,
    worst: Duration,
    wall: Duration,
}

/// The `p`th percentile (nearest rank) of sorted durations.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100);
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One restart of every member by `runbook` under the writer.
fn measure(c: &EtcdCluster, inventory: &Path, runbook: &str, prefix: &str) -> Figures {
    c.wait_healthy(&MEMBERS, Duration::from_secs(30));
    let (out, f, wall) = c.run_under_writes(inventory, runbook, prefix);
    assert_eq!(
        out.code, 0,
        "{runbook} failed:\n{}{}",
        out.stdout, out.stderr
    );
    let mut sorted = f.latencies.clone();
    sorted.sort();
    Figures {
        acked: f.acked.len(),
        failed: f.failed.len(),
        failovers: f.failovers,
        p50: percentile(&sorted, 50),
        p99: percentile(&sorted, 99),
        worst: f.worst,
        wall,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut reps = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => {
                reps = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--reps N, N > 0");
            }
            // cargo bench passes --bench.
            "--bench" => {}
            other => panic!("unknown argument {other}; usage: [--reps N]"),
        }
    }
    let c = EtcdCluster::create(3, 0);
    let stopped = c.inventory();
    let inv = std::fs::read_to_string(&stopped).expect("inventory");
    let killed_text = inv.replace(
        "  stop_cmd: ./stop.sh\n",
        "  stop_cmd: kill -9 \"$(cat etcd.pid)\"; sleep 0.2\n",
    );
    assert_ne!(killed_text, inv, "stop_cmd not found in the inventory");
    let killed: PathBuf = c.dir.path().join("killed.yaml");
    std::fs::write(&killed, killed_text).expect("write inventory");
    let hand = support::root().join("bench/etcd/three-step-restart.yaml");
    let hand = hand.to_str().expect("utf-8 path").to_owned();

    let variants: [(&str, &str, &Path); 4] = [
        ("three-step, stopped", &hand, &stopped),
        ("rolling-restart, stopped", "rolling-restart", &stopped),
        ("three-step, killed", &hand, &killed),
        ("rolling-restart, killed", "rolling-restart", &killed),
    ];
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("etcd restart under writes: 3 members, {reps} repetitions, load at start {load}");
    println!("| rep | runbook, members | acked | failed | failed over | p50 ms | p99 ms | worst ms | run s |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut all: Vec<Vec<Figures>> = variants.iter().map(|_| Vec::new()).collect();
    for rep in 1..=reps {
        for (i, (name, runbook, inventory)) in variants.iter().enumerate() {
            let f = measure(&c, inventory, runbook, &format!("r{rep}v{i}"));
            println!(
                "| {rep} | {name} | {} | {} | {} | {} | {} | {} | {:.1} |",
                f.acked,
                f.failed,
                f.failovers,
                ms(f.p50),
                ms(f.p99),
                ms(f.worst),
                f.wall.as_secs_f64()
            );
            all[i].push(f);
        }
    }
    println!();
    println!("medians over {reps} repetitions (failed: the sum over all of them)");
    println!("| runbook, members | acked | failed | p50 ms | p99 ms | worst ms | worst of all ms | run s |");
    println!("|---|---|---|---|---|---|---|---|");
    for ((name, _, _), figs) in variants.iter().zip(&all) {
        let acked = {
            let mut a: Vec<usize> = figs.iter().map(|f| f.acked).collect();
            a.sort_unstable();
            a[a.len() / 2]
        };
        let failed: usize = figs.iter().map(|f| f.failed).sum();
        println!(
            "| {name} | {acked} | {failed} | {} | {} | {} | {} | {:.1} |",
            ms(median(figs.iter().map(|f| f.p50).collect())),
            ms(median(figs.iter().map(|f| f.p99).collect())),
            ms(median(figs.iter().map(|f| f.worst).collect())),
            ms(figs.iter().map(|f| f.worst).max().unwrap_or_default()),
            median(figs.iter().map(|f| f.wall).collect()).as_secs_f64()
        );
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load at end {load}");
}
