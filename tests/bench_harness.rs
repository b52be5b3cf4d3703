//! The benchmark harness's check of a run (bench/harness/workload.rs): a host's log must
//! hold exactly step-1..step-M in order.

#[path = "../bench/harness/workload.rs"]
#[allow(dead_code)]
mod workload;

use std::path::Path;

use workload::{verify, Target};

fn hosts(n: usize) -> Vec<Target> {
    (0..n)
        .map(|i| Target {
            name: format!("node{i}"),
            address: format!("127.0.0.{}", i + 2),
            port: 2200,
        })
        .collect()
}

fn write_log(dir: &Path, host: &str, text: &str) {
    std::fs::create_dir_all(dir.join(host)).unwrap();
    std::fs::write(dir.join(host).join("log"), text).unwrap();
}

#[test]
fn verify_accepts_exactly_the_steps_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = hosts(2);
    write_log(dir.path(), "node0", "step-1\nstep-2\nstep-3\n");
    write_log(dir.path(), "node1", "step-1\nstep-2\nstep-3\n");
    assert_eq!(verify(dir.path(), &hosts, 3), Ok(()));

    write_log(dir.path(), "node1", "step-1\nstep-3\nstep-2\n");
    let err = verify(dir.path(), &hosts, 3).unwrap_err();
    assert!(err.starts_with("node1: "), "{err}");
    assert!(err.contains("not step-1..step-3 in order"), "{err}");

    write_log(dir.path(), "node1", "step-1\nstep-2\nstep-3\nstep-3\n");
    assert!(verify(dir.path(), &hosts, 3)
        .unwrap_err()
        .contains("4 lines"));

    std::fs::remove_dir_all(dir.path().join("node0")).unwrap();
    assert!(verify(dir.path(), &hosts, 3)
        .unwrap_err()
        .starts_with("node0: cannot read"));
}
