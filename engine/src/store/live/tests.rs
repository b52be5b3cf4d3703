//! The live-read server and client against a real sled store in a temporary directory.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;

use super::{serve_readers, LiveClient, SOCKET_FILE};
use crate::store::tests::run_record;
use crate::store::{Change, RunReader, RunStore, SledStore, StoreError, TaskRecord, TaskState};

fn store_with_a_run(dir: &std::path::Path) -> Arc<SledStore> {
    let store = Arc::new(SledStore::open(dir).unwrap());
    let tasks = vec![
        TaskRecord::pending(0, "a", Some("n0".to_owned())),
        TaskRecord::pending(2, "b", None),
    ];
    store
        .create_run(&run_record("r1", "c", 5, 2), "{}", &tasks)
        .unwrap();
    store
}

#[test]
fn a_client_reads_what_the_serving_store_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_a_run(dir.path());
    let server = serve_readers(dir.path(), Arc::clone(&store), "r1").unwrap();
    let socket = dir.path().join(SOCKET_FILE);
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let client = LiveClient::connect(dir.path()).unwrap().expect("listening");
    assert_eq!(client.runs().unwrap(), store.runs().unwrap());
    assert_eq!(client.run("nope").unwrap(), None);
    assert!(matches!(client.tasks("nope"), Err(StoreError::NoRun(id)) if id == "nope"));
    assert_eq!(client.task("r1", 1).unwrap(), None);
    assert!(client.driven_elsewhere("r1").unwrap());
    assert!(!client.driven_elsewhere("r2").unwrap());
    assert!(
        !store.driven_elsewhere("r1").unwrap(),
        "a store of our own: we drive it"
    );

    let mut done = TaskRecord::pending(2, "b", None);
    done.state = TaskState::Done;
    done.stdout = "out\n".to_owned();
    let event = |message: &str| Change::Event {
        node: Some(2),
        kind: "task".to_owned(),
        message: message.to_owned(),
    };
    store
        .commit("r1", vec![event("running b@controller")])
        .unwrap();
    store
        .commit(
            "r1",
            vec![Change::Task(done.clone()), event("done b@controller")],
        )
        .unwrap();
    // The same connection sees each commit once it returned.
    assert_eq!(client.task("r1", 2).unwrap(), Some(done));
    let after_first: Vec<String> = client
        .events_after("r1", 1)
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(after_first, vec!["done b@controller"]);
    assert_eq!(client.events("r1").unwrap(), store.events("r1").unwrap());

    drop(server);
    assert!(!socket.exists(), "the socket is removed when serving ends");
    assert!(matches!(client.runs(), Err(StoreError::Live(_))));
    assert!(LiveClient::connect(dir.path()).unwrap().is_none());
}

#[test]
fn a_stale_socket_is_replaced_and_anything_else_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_a_run(dir.path());
    let socket = dir.path().join(SOCKET_FILE);
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(
        LiveClient::connect(dir.path()).unwrap().is_none(),
        "a dead socket is nobody"
    );
    let server = serve_readers(dir.path(), Arc::clone(&store), "r1").unwrap();
    let client = LiveClient::connect(dir.path()).unwrap().expect("listening");
    assert_eq!(client.runs().unwrap().len(), 1);
    drop(server);

    std::fs::write(&socket, "not a socket").unwrap();
    let refused = serve_readers(dir.path(), store, "r1").unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!(
            "{} is there and is not a socket; remove it to let readers watch runs",
            socket.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&socket).unwrap(), "not a socket");
}

#[test]
fn a_socket_removed_by_hand_does_not_hold_up_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_a_run(dir.path());
    let server = serve_readers(dir.path(), store, "r1").unwrap();
    std::fs::remove_file(dir.path().join(SOCKET_FILE)).unwrap();
    let start = std::time::Instant::now();
    drop(server);
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn many_readers_at_once_are_all_answered() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_a_run(dir.path());
    let _server = serve_readers(dir.path(), store, "r1").unwrap();
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let client = LiveClient::connect(&dir).unwrap().expect("listening");
                (0..20)
                    .map(|_| client.tasks("r1").unwrap().len())
                    .sum::<usize>()
            })
        })
        .collect();
    for r in readers {
        assert_eq!(r.join().unwrap(), 40);
    }
}

/// Not a check: prints what watching costs on a 50,000-task run: reads over the socket
/// against the store itself, and commit latency with and without four readers polling.
/// `cargo test --release --lib store::live::tests::live_read_cost -- --ignored --nocapture`
#[test]
#[ignore = "a measurement; run it with --ignored --nocapture"]
fn live_read_cost() {
    use std::time::{Duration, Instant};
    const TASKS: usize = 50_000;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let tasks: Vec<TaskRecord> = (0..TASKS)
        .map(|n| {
            let mut t =
                TaskRecord::pending(n, format!("step-{}", n % 50), Some(format!("h{}", n / 50)));
            t.stdout = "x".repeat(200);
            t
        })
        .collect();
    store
        .create_run(&run_record("big", "c", 1, TASKS), "{}", &tasks)
        .unwrap();
    let _server = serve_readers(dir.path(), Arc::clone(&store), "r1").unwrap();
    let client = LiveClient::connect(dir.path()).unwrap().unwrap();
    let time = |what: &str, n: u32, f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        eprintln!("{what}: {:?} each", start.elapsed() / n);
    };
    time("tasks() of 50,000, store", 3, &|| {
        store.tasks("big").unwrap();
    });
    time("tasks() of 50,000, socket", 3, &|| {
        client.tasks("big").unwrap();
    });
    time("task(), socket", 1000, &|| {
        client.task("big", 4321).unwrap();
    });
    time("events_after(last), socket", 1000, &|| {
        client.events_after("big", 0).unwrap();
    });
    let commits = |label: &str| {
        let mut times: Vec<Duration> = (0..300)
            .map(|i| {
                let start = Instant::now();
                store
                    .commit(
                        "big",
                        vec![Change::Event {
                            node: Some(i),
                            kind: "task".to_owned(),
                            message: format!("done s@h{i}"),
                        }],
                    )
                    .unwrap();
                start.elapsed()
            })
            .collect();
        times.sort();
        eprintln!(
            "commit, {label}: p50 {:?}, p99 {:?}, max {:?}",
            times[150], times[297], times[299]
        );
    };
    commits("no reader");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.path().to_path_buf();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let client = LiveClient::connect(&dir).unwrap().unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // What a follower asks five times a second, as fast as it can.
                    client.run("big").unwrap();
                    client.events_after("big", 0).unwrap();
                    client.task("big", 7).unwrap();
                }
            })
        })
        .collect();
    commits("4 followers polling flat out");
    let scanner = {
        let dir = dir.path().to_path_buf();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let client = LiveClient::connect(&dir).unwrap().unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                client.tasks("big").unwrap();
            }
        })
    };
    commits("4 followers and a `show` of 50,000 tasks in a loop");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    scanner.join().unwrap();
}
