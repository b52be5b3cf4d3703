//! `rotate-tls` on a running demo chain whose peer links are TLS: a CA that expires before
//! the new certificates refused with nothing changed; new certificates on every node,
//! accepted by the peers, the old ones archived, the chain never stalling; a run killed at
//! a random point and resumed; a node given a certificate from a foreign CA refused by its
//! peers.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::data::{killed_and_resumed, run_id};
use support::playground::{HeightSampler, Playground, STALL_BOUND};
use support::Quorate;

const NODES: [&str; 4] = ["node0", "node1", "node2", "node3"];

fn demo_node(pg: &Playground, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(pg.demo_dir().join("chain/demo-node"))
        .args(args)
        .output()
        .expect("run demo-node");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

fn fingerprint(pg: &Playground, cert: &Path) -> String {
    let (code, out, err) = demo_node(pg, &["cert", "fingerprint", cert.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    out
}

fn fingerprints(pg: &Playground) -> Vec<String> {
    NODES
        .iter()
        .map(|n| fingerprint(pg, &pg.node_dir(n).join("conf/ssl.crt")))
        .collect()
}

/// Every node hears all four sealers: each accepted the others' certificates.
fn wait_all_connected(pg: &Playground, limit: Duration) {
    let start = Instant::now();
    for host in NODES {
        while pg.status(host, &["--live-sealers"]).1.lines().count() < 4 {
            assert!(start.elapsed() < limit, "{host} does not hear every sealer");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A run of rotate-tls changed every certificate (from `before`), the node ids stayed,
/// and the old certificate and key are archived under the run's id.
fn assert_rotated(pg: &Playground, run: &str, before: &[String], ids: &[String]) -> Vec<String> {
    let after = fingerprints(pg);
    for (i, host) in NODES.iter().enumerate() {
        assert_ne!(after[i], before[i], "{host} still has its old certificate");
        let archive = pg.node_dir(host).join(format!("conf/tls-archive/{run}"));
        assert_eq!(
            fingerprint(pg, &archive.join("ssl.crt")),
            before[i],
            "{host}'s archived certificate"
        );
        assert!(
            archive.join("ssl.key").is_file(),
            "{host}'s old key is not archived"
        );
        let id = std::fs::read_to_string(pg.node_dir(host).join("conf/node.nodeid")).expect("id");
        assert_eq!(id.trim(), ids[i], "{host}'s node id changed");
    }
    wait_all_connected(pg, Duration::from_secs(10));
    after
}

#[test]
fn rotate_tls_renews_every_certificate_and_the_peers_refuse_a_foreign_one() {
    let started = Instant::now();
    let pg = Playground::create(4, 0);
    let ids: Vec<String> = NODES
        .iter()
        .map(|n| {
            std::fs::read_to_string(pg.node_dir(n).join("conf/node.nodeid"))
                .expect("id")
                .trim()
                .to_owned()
        })
        .collect();
    let original = fingerprints(&pg);

    // The chain CA is valid for 10 years: 4000 days is refused before anything changes.
    let refused = pg.run("rotate-tls", &["-p", "days=4000"]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("refused: the chain CA expires on")
            && refused.stderr.contains("before the new certificate would"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        fingerprints(&pg),
        original,
        "a refused rotation changed a certificate"
    );
    Quorate::in_lab(pg.dir.path())
        .args(["abandon", &run_id(&refused)])
        .run()
        .success();

    // A rotation, f nodes at a time: the chain never stops committing.
    let sampler = HeightSampler::start(&pg, &NODES);
    let out = pg.run("rotate-tls", &["-p", "days=30"]);
    let (stall, _) = sampler.finish();
    assert_eq!(out.code, 0, "rotate-tls:\n{}{}", out.stdout, out.stderr);
    println!("rotate-tls: longest time without a block {stall:?}");
    assert!(
        stall < STALL_BOUND,
        "the chain went {stall:?} without a block"
    );
    let first = assert_rotated(&pg, &run_id(&out), &original, &ids);

    // Killed at a random point and resumed: the same outcome.
    let run = killed_and_resumed(&pg, "rotate-tls", &[], ("ROTATE_TLS_KILL_AT", 60));
    assert_rotated(&pg, &run, &first, &ids);

    foreign_certificate_is_refused_by_the_peers(&pg);
    println!("rotate_tls: {:?}", started.elapsed());
}

/// node3 gets a certificate for its own key from another chain's CA and restarts: its
/// peers refuse its links, stop hearing it, and commit without it.
fn foreign_certificate_is_refused_by_the_peers(pg: &Playground) {
    // node3 gets a certificate for its own key from another chain's CA: its peers refuse it.
    let foreign = pg.dir.path().join("foreign");
    let (code, _, err) = demo_node(
        pg,
        &[
            "init",
            "--dir",
            foreign.to_str().expect("utf-8"),
            "--sealers",
            "1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let node3 = pg.node_dir("node3");
    let (code, _, err) = demo_node(
        pg,
        &[
            "cert",
            "issue",
            "--dir",
            node3.to_str().expect("utf-8"),
            "--ca",
            foreign.join("ca").to_str().expect("utf-8"),
            "--out",
            node3.join("conf/ssl.crt").to_str().expect("utf-8"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    for script in ["stop.sh", "start.sh"] {
        assert!(Command::new(node3.join(script))
            .status()
            .expect(script)
            .success());
    }
    let log = pg.node_dir("node0").join("log/node.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&log).expect("log");
        if text.contains("refused a peer link from") && text.contains("invalid peer certificate") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node0 never refused node3's certificate"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The other three stop hearing node3 (once its old process's last heartbeat ages out)
    // and keep committing without it.
    let hears_node3 = || {
        ["node0", "node1", "node2"].iter().any(|h| {
            pg.status(h, &["--live-sealers"])
                .1
                .lines()
                .any(|l| l == "node3")
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while hears_node3() {
        assert!(Instant::now() < deadline, "node3's peers still hear it");
        std::thread::sleep(Duration::from_millis(100));
    }
    let h = pg.height("node0").expect("height");
    pg.wait_height_above("node0", h + 3, Duration::from_secs(10));
    assert!(
        !hears_node3(),
        "a peer accepted node3's foreign certificate"
    );
}
