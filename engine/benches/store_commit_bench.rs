//! The cost of a group commit, durable when it returns: sled in a temp directory (one
//! flush) next to etcd, a 3-member cluster on loopback started here (one transaction a
//! quorum acknowledged, compared on the lease). Each commit is what the executor writes
//! when a task ends and the next starts: two task records and two events.
//!
//! Prints commits/s and p50/p99 per commit for each store, committing one at a time (as a
//! controller does: each commit awaits the one before).
//!
//! Run: `cargo bench -p quorate --features etcd --bench store_commit_bench`
//! (`COMMITS=N` to change the number of commits, 500 by default).

#[path = "../../tests/support/team_etcd.rs"]
mod etcd;

use std::path::Path;
use std::time::{Duration, Instant};

use quorate::store::{
    Access, Change, EtcdOptions, EtcdStore, RunRecord, RunStatus, RunStore, SledStore,
    StateLocation, TaskRecord, TaskState,
};

const TASKS: usize = 64;

fn run_record(id: &str) -> RunRecord {
    RunRecord {
        id: id.to_owned(),
        runbook: "bench".to_owned(),
        cluster: format!("cluster-{id}"),
        status: RunStatus::Running,
        created_ms: 1,
        updated_ms: 1,
        paused: None,
        controller: "bench".to_owned(),
        plan_digest: String::new(),
        tasks: TASKS,
    }
}

/// The commit that ends task `i` and starts the next: about 300 bytes of output each.
fn transition(i: usize) -> Vec<Change> {
    let node = i % TASKS;
    let mut done = TaskRecord::pending(node, "step", Some(format!("node{node}")));
    done.state = TaskState::Done;
    done.attempts = 1;
    done.exit = Some(0);
    done.stdout = "ok\n".repeat(100);
    let mut next = TaskRecord::pending((node + 1) % TASKS, "step", Some("next".to_owned()));
    next.state = TaskState::Running;
    next.attempts = 1;
    vec![
        Change::Task(done),
        Change::Event {
            node: Some(node),
            kind: "task".to_owned(),
            message: format!("done step@node{node}"),
        },
        Change::Task(next),
        Change::Event {
            node: Some((node + 1) % TASKS),
            kind: "task".to_owned(),
            message: "running step@next".to_owned(),
        },
    ]
}

/// Times `commits` commits of one run on `store`; returns each commit's duration.
fn measure(store: &dyn RunStore, id: &str, commits: usize) -> Vec<Duration> {
    let tasks: Vec<TaskRecord> = (0..TASKS)
        .map(|n| TaskRecord::pending(n, "step", None))
        .collect();
    store
        .create_run(&run_record(id), "{}", &tasks)
        .expect("create the run");
    (0..commits)
        .map(|i| {
            let started = Instant::now();
            store.commit(id, transition(i)).expect("commit");
            started.elapsed()
        })
        .collect()
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let total: Duration = times.iter().sum();
    let count = u32::try_from(times.len()).unwrap_or(u32::MAX);
    let at = |percent: usize| times[(times.len() - 1) * percent / 100].as_secs_f64() * 1000.0;
    println!(
        "{name:<28} {:>8.0} commits/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({count} commits)",
        f64::from(count) / total.as_secs_f64(),
        at(50),
        at(99),
    );
}

fn main() {
    let commits: usize = std::env::var("COMMITS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);

    let dir = tempfile::tempdir().expect("temp dir");
    let sled = SledStore::open(&dir.path().join("state")).expect("open sled");
    // A warm-up run, then the measured one.
    measure(&sled, "warm", commits / 10);
    report("sled (one flush)", measure(&sled, "bench", commits));
    drop(sled);

    let cluster = etcd::EtcdCluster::start(3);
    let StateLocation::Etcd(at) =
        StateLocation::parse(Path::new(&cluster.url("/bench"))).expect("address")
    else {
        unreachable!("an etcd:// address")
    };
    let store =
        EtcdStore::open(&at, &EtcdOptions::default(), Access::Write).expect("open the etcd store");
    measure(&store, "warm", commits / 10);
    report(
        "etcd, 3 members (one txn)",
        measure(&store, "bench", commits),
    );
    drop(store);
    drop(cluster);
}
