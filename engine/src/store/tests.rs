//! Tests of the sled store against real databases in temporary directories.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::*;

pub(super) fn run_record(id: &str, cluster: &str, created_ms: u64, tasks: usize) -> RunRecord {
    RunRecord {
        id: id.to_owned(),
        runbook: "rolling-upgrade".to_owned(),
        cluster: cluster.to_owned(),
        status: RunStatus::Running,
        created_ms,
        updated_ms: created_ms,
        paused: None,
        controller: "ops@controller pid 1".to_owned(),
        plan_digest: "sha256:abc".to_owned(),
        tasks,
    }
}

fn pending_tasks(count: usize) -> Vec<TaskRecord> {
    (0..count)
        .map(|node| TaskRecord::pending(node, format!("step-{node}"), Some(format!("node{node}"))))
        .collect()
}

fn create(store: &SledStore, id: &str, cluster: &str, created_ms: u64, tasks: usize) -> RunRecord {
    let run = run_record(id, cluster, created_ms, tasks);
    store
        .create_run(&run, r#"{"tasks":[]}"#, &pending_tasks(tasks))
        .unwrap();
    run
}

fn with_status(mut run: RunRecord, status: RunStatus) -> RunRecord {
    run.status = status;
    run
}

fn event(node: Option<usize>, kind: &str, message: &str) -> Change {
    Change::Event {
        node,
        kind: kind.to_owned(),
        message: message.to_owned(),
    }
}

/// Opens sled directly, waiting for a store just dropped to let go of its files.
fn raw_db(dir: &Path) -> sled::Db {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match sled::open(dir.join("db")) {
            Ok(db) => return db,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn created_run_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let run = run_record("20261121-103412-7f3a", "prod", 1000, 300);
    // Given out of order, and past 255 so a little-endian key would misorder them.
    let mut tasks = pending_tasks(300);
    tasks.reverse();
    store
        .create_run(&run, r#"{"nodes":[1,2]}"#, &tasks)
        .unwrap();

    assert_eq!(store.run(&run.id).unwrap(), Some(run.clone()));
    assert_eq!(
        store.plan_json(&run.id).unwrap().as_deref(),
        Some(r#"{"nodes":[1,2]}"#)
    );
    let read = store.tasks(&run.id).unwrap();
    assert_eq!(read, pending_tasks(300));
    assert_eq!(store.events(&run.id).unwrap(), vec![]);
    assert_eq!(
        store.lock_holder("prod").unwrap().as_deref(),
        Some(run.id.as_str())
    );
    assert_eq!(store.run("other").unwrap(), None);
    assert_eq!(store.plan_json("other").unwrap(), None);
}

#[test]
fn commits_update_tasks_run_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let run = create(&store, "r1", "prod", 1000, 3);

    let mut task = TaskRecord::pending(1, "step-1", Some("node1".to_owned()));
    task.state = TaskState::Running;
    task.attempts = 1;
    task.started_ms = Some(2000);
    let seqs = store
        .commit(
            "r1",
            vec![
                Change::Task(task.clone()),
                event(Some(1), "started", "step-1 on node1"),
            ],
        )
        .unwrap();
    assert_eq!(seqs, vec![1]);

    task.state = TaskState::Done;
    task.ended_ms = Some(3000);
    task.exit = Some(0);
    task.stdout = "upgraded\n".to_owned();
    let mut done = with_status(run.clone(), RunStatus::Paused);
    done.paused = Some("approval of approve-finalize".to_owned());
    done.updated_ms = 3000;
    let seqs = store
        .commit(
            "r1",
            vec![
                Change::Task(task.clone()),
                event(Some(1), "done", "exit 0"),
                Change::Run(done.clone()),
                event(None, "paused", "approval of approve-finalize"),
            ],
        )
        .unwrap();
    assert_eq!(seqs, vec![2, 3]);

    assert_eq!(store.run("r1").unwrap(), Some(done));
    let tasks = store.tasks("r1").unwrap();
    assert_eq!(tasks[1], task);
    assert_eq!(tasks[0], pending_tasks(3)[0]);
    let events = store.events("r1").unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(events[0].node, Some(1));
    assert_eq!(events[0].kind, "started");
    assert_eq!(events[2].node, None);
    assert_eq!(events[2].message, "approval of approve-finalize");
    assert!(events.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
    // A commit without events gives no seqs, and the next event continues the count.
    assert_eq!(
        store.commit("r1", vec![Change::Task(task)]).unwrap(),
        Vec::<u64>::new()
    );
    assert_eq!(
        store.commit("r1", vec![event(None, "note", "")]).unwrap(),
        vec![4]
    );
}

#[test]
fn records_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        create(&store, "r1", "prod", 1000, 2);
        store
            .commit("r1", vec![event(None, "started", "")])
            .unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.tasks("r1").unwrap().len(), 2);
    assert_eq!(
        store
            .commit("r1", vec![event(None, "resumed", "")])
            .unwrap(),
        vec![2]
    );
}

#[test]
fn runs_are_listed_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    for (id, created) in [("b", 2000), ("c", 3000), ("a", 1000)] {
        let run = create(&store, id, id, created, 1);
        store
            .commit(id, vec![Change::Run(with_status(run, RunStatus::Done))])
            .unwrap();
    }
    let ids: Vec<String> = store.runs().unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["c", "b", "a"]);
}

#[test]
fn unknown_runs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    for result in [
        store.tasks("nope").map(|_| ()),
        store.events("nope").map(|_| ()),
        store
            .commit("nope", vec![event(None, "x", "y")])
            .map(|_| ()),
    ] {
        let error = result.unwrap_err();
        assert!(
            matches!(error, StoreError::NoRun(ref id) if id == "nope"),
            "{error:?}"
        );
        assert_eq!(error.to_string(), "no run `nope` in the store");
    }
}

#[test]
fn an_unfinished_run_locks_its_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let first = create(&store, "20261121-103412-7f3a", "prod", 1000, 1);
    let second = run_record("20261121-110000-0001", "prod", 2000, 1);

    let refuse = |store: &SledStore| {
        let error = store
            .create_run(&second, "{}", &pending_tasks(1))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cluster `prod` is locked by unfinished run 20261121-103412-7f3a: resume it or \
             `quorate abandon` it"
        );
        assert!(matches!(error, StoreError::Locked { .. }));
        // Refused means nothing of it was written.
        assert_eq!(store.run(&second.id).unwrap(), None);
        assert_eq!(store.plan_json(&second.id).unwrap(), None);
    };
    refuse(&store);
    // Another cluster is not affected.
    create(&store, "staging-run", "staging", 1500, 1);

    for status in [RunStatus::Failed, RunStatus::Paused, RunStatus::Running] {
        store
            .commit(
                &first.id,
                vec![Change::Run(with_status(first.clone(), status))],
            )
            .unwrap();
        refuse(&store);
    }
    assert_eq!(
        store.lock_holder("prod").unwrap().as_deref(),
        Some(first.id.as_str())
    );

    store
        .commit(
            &first.id,
            vec![Change::Run(with_status(first.clone(), RunStatus::Done))],
        )
        .unwrap();
    assert_eq!(store.lock_holder("prod").unwrap(), None);
    store.create_run(&second, "{}", &pending_tasks(1)).unwrap();
    assert_eq!(
        store.lock_holder("prod").unwrap().as_deref(),
        Some(second.id.as_str())
    );

    // A finished run that is reopened cannot take the cluster back from another run.
    let error = store
        .commit(
            &first.id,
            vec![Change::Run(with_status(first.clone(), RunStatus::Running))],
        )
        .unwrap_err();
    assert!(matches!(error, StoreError::Locked { ref run, .. } if *run == second.id));
    assert_eq!(
        store.run(&first.id).unwrap().unwrap().status,
        RunStatus::Done
    );

    store
        .commit(
            &second.id,
            vec![Change::Run(with_status(
                second.clone(),
                RunStatus::Abandoned,
            ))],
        )
        .unwrap();
    assert_eq!(store.lock_holder("prod").unwrap(), None);
    create(&store, "third", "prod", 3000, 1);
}

#[test]
fn a_refused_commit_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let run = create(&store, "r1", "prod", 1000, 2);
    let mut task = TaskRecord::pending(0, "step-0", None);
    task.state = TaskState::Running;
    let out_of_range = TaskRecord::pending(2, "step-2", None);
    let error = store
        .commit(
            "r1",
            vec![
                Change::Task(task),
                event(None, "started", ""),
                Change::Task(out_of_range),
            ],
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "refused by the store: node 2 is not a task of run r1"
    );
    assert_eq!(store.tasks("r1").unwrap(), pending_tasks(2));
    assert_eq!(store.events("r1").unwrap(), vec![]);

    let mut moved = run.clone();
    moved.cluster = "staging".to_owned();
    assert!(matches!(
        store.commit("r1", vec![Change::Run(moved)]),
        Err(StoreError::Invalid(_))
    ));
    let mut renamed = run.clone();
    renamed.id = "r2".to_owned();
    assert!(matches!(
        store.commit("r1", vec![Change::Run(renamed)]),
        Err(StoreError::Invalid(_))
    ));
    // An id is never reused, even once its run is finished.
    store
        .commit(
            "r1",
            vec![Change::Run(with_status(run.clone(), RunStatus::Done))],
        )
        .unwrap();
    let error = store.create_run(&run, "{}", &pending_tasks(2)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "refused by the store: a run with id r1 exists already"
    );
    assert!(matches!(
        store.create_run(&run_record("r3", "x", 1, 2), "not json", &pending_tasks(2)),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.create_run(&run_record("r4", "x", 1, 3), "{}", &pending_tasks(2)),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.create_run(&run_record("r\0", "x", 1, 0), "{}", &[]),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn a_second_open_is_busy_and_names_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".quorate");
    let store = SledStore::open(&state).unwrap();

    // The lock is an flock, held per open file description: a second open in this same
    // process is refused like one from another process.
    let error = SledStore::open(&state).unwrap_err();
    let StoreError::Busy {
        dir: busy_dir,
        holder,
    } = &error
    else {
        panic!("expected Busy, got {error:?}");
    };
    assert_eq!(busy_dir, &state);
    let host = nix::unistd::gethostname().unwrap();
    let pid = format!(" pid {} (since ", std::process::id());
    assert!(holder.starts_with(&controller()), "{holder}");
    assert!(holder.contains(&*host.to_string_lossy()), "{holder}");
    assert!(holder.contains(&pid), "{holder}");
    assert!(holder.contains(" UTC, `"), "{holder}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("the store {} is in use by ", state.display())),
        "{message}"
    );
    assert!(!message.contains("could not acquire lock"), "{message}");

    drop(store);
    SledStore::open(&state).unwrap();
}

#[test]
fn the_state_directory_is_created_0700() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("a/b/.quorate");
    drop(SledStore::open(&state).unwrap());
    let mode = std::fs::metadata(&state).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    let lock = std::fs::metadata(state.join("lock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(lock & 0o077, 0, "{lock:o}");
}

#[test]
fn an_open_state_directory_of_ours_is_tightened() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    drop(SledStore::open(&state).unwrap());
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // Opened up again after use (it holds the store's files): tightened again.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o750)).unwrap();
    drop(SledStore::open(&state).unwrap());
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
fn an_open_directory_holding_other_files_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("README"), "hello").unwrap();
    std::fs::set_permissions(&project, std::fs::Permissions::from_mode(0o755)).unwrap();
    let error = SledStore::open(&project).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "refused by the store: the state directory {} is open to other users and holds \
             files that are not the store's; give quorate a directory of its own",
            project.display()
        )
    );
    assert_eq!(
        std::fs::metadata(&project).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert!(!project.join("db").exists());
}

#[test]
fn output_is_bounded_to_its_tail() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let run = run_record("r1", "prod", 1000, 2);
    // 1 MB of numbered lines: the tail is recognizable.
    let big = (0..100_000).fold(String::new(), |mut text, i| {
        writeln!(text, "{i:09}").unwrap();
        text
    });
    assert_eq!(big.len(), 1_000_000);
    let mut tasks = pending_tasks(2);
    tasks[0].stderr.clone_from(&big);
    store.create_run(&run, "{}", &tasks).unwrap();
    let mut task = tasks[1].clone();
    task.stdout.clone_from(&big);
    store.commit("r1", vec![Change::Task(task)]).unwrap();

    let read = store.tasks("r1").unwrap();
    for stored in [&read[0].stderr, &read[1].stdout] {
        assert!(stored.len() <= OUTPUT_LIMIT);
        let (marker, tail) = stored.split_once('\n').unwrap();
        let cut = 1_000_000 - tail.len();
        assert_eq!(marker, format!("[... {cut} bytes cut ...]"));
        assert!(big.ends_with(tail));
        assert!(tail.ends_with("000099999\n"));
        // All but the marker line is output: within a few bytes of the limit.
        assert!(stored.len() > OUTPUT_LIMIT - 4, "{}", stored.len());
    }
    // Committing a record read back leaves its output as it was.
    store
        .commit("r1", vec![Change::Task(read[1].clone())])
        .unwrap();
    assert_eq!(store.tasks("r1").unwrap()[1].stdout, read[1].stdout);
}

#[test]
fn a_newer_format_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledStore::open(dir.path()).unwrap());
    // A newer quorate's store: format 2, and a tree this one does not know.
    let trees = {
        let db = raw_db(dir.path());
        let meta = db.open_tree("meta").unwrap();
        assert_eq!(&*meta.get("format").unwrap().unwrap(), b"1");
        meta.insert("format", "2").unwrap();
        db.drop_tree("runs").unwrap();
        db.open_tree("runs_v2").unwrap();
        db.flush().unwrap();
        db.tree_names()
    };
    let error = SledStore::open(dir.path()).unwrap_err();
    assert!(
        matches!(error, StoreError::Format { found: 2 }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the store has format 2, newer than the format 1 this quorate understands: it was \
         written by a newer quorate; use that one, or another state directory"
    );
    let db = raw_db(dir.path());
    assert_eq!(
        &*db.open_tree("meta")
            .unwrap()
            .get("format")
            .unwrap()
            .unwrap(),
        b"2"
    );
    // No tree was added to it.
    assert_eq!(db.tree_names(), trees);
}

/// sled opens a database whose log it cannot read as an empty one: a store that held
/// runs must then be refused as damaged, never taken for a new one (its runs and cluster
/// locks would be silently gone, and the next run would write over what is left).
#[test]
fn a_store_whose_database_lost_everything_is_refused_not_recreated() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        create(&store, "r1", "prod", 1000, 2);
    }
    assert!(dir.path().join(format::FORMAT_FILE).is_file());
    // What sled does with an unreadable first segment: the database comes back empty.
    std::fs::remove_dir_all(dir.path().join("db")).unwrap();
    let error = SledStore::open(dir.path()).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("says a store was made here, but its database holds no format record"),
        "{error}"
    );
    // Refused, not made again: no format record was written over it.
    let db = raw_db(dir.path());
    assert!(db
        .open_tree("meta")
        .unwrap()
        .get("format")
        .unwrap()
        .is_none());
}

/// A store made before the marker file existed gets it when it is opened.
#[test]
fn an_older_store_gets_its_marker() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledStore::open(dir.path()).unwrap());
    std::fs::remove_file(dir.path().join(format::FORMAT_FILE)).unwrap();
    drop(SledStore::open(dir.path()).unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(format::FORMAT_FILE)).unwrap(),
        "quorate store format 1\n"
    );
}

/// Everything on disk must be one of the record fields, stored once: no caller string is
/// copied into another key, a side file or the lock file.
#[test]
fn the_store_writes_only_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let run = run_record("run-MARK-id", "cluster-MARK", 1000, 2);
    let plan = r#"{"plan":"MARK-plan"}"#;
    let mut tasks = pending_tasks(2);
    tasks[0].step = "step-MARK".to_owned();
    tasks[1].host = Some("host-MARK".to_owned());
    store.create_run(&run, plan, &tasks).unwrap();
    let mut task = tasks[0].clone();
    task.state = TaskState::Failed;
    task.stdout = "stdout-MARK".to_owned();
    task.stderr = "stderr-MARK".to_owned();
    task.reason = Some("reason-MARK".to_owned());
    let mut paused = run.clone();
    paused.status = RunStatus::Paused;
    paused.paused = Some("paused-MARK".to_owned());
    store
        .commit(
            &run.id,
            vec![
                Change::Task(task),
                event(Some(0), "kind-MARK", "message-MARK"),
                Change::Run(paused),
            ],
        )
        .unwrap();

    // What the API returns, as the store should hold it.
    let id = &run.id;
    let mut expected: BTreeMap<(String, Vec<u8>), Vec<u8>> = BTreeMap::new();
    let mut put = |tree: &str, key: Vec<u8>, value: Vec<u8>| {
        expected.insert((tree.to_owned(), key), value);
    };
    put("meta", b"format".to_vec(), b"1".to_vec());
    put(
        "meta",
        [&b"next_event_seq\0"[..], id.as_bytes()].concat(),
        b"2".to_vec(),
    );
    let run_now = store.run(id).unwrap().unwrap();
    put(
        "runs",
        id.as_bytes().to_vec(),
        serde_json::to_vec(&run_now).unwrap(),
    );
    put("plans", id.as_bytes().to_vec(), plan.as_bytes().to_vec());
    for task in store.tasks(id).unwrap() {
        let key = [id.as_bytes(), &[0], &(task.node as u64).to_be_bytes()].concat();
        put("tasks", key, serde_json::to_vec(&task).unwrap());
    }
    for event in store.events(id).unwrap() {
        let key = [id.as_bytes(), &[0], &event.seq.to_be_bytes()].concat();
        put("events", key, serde_json::to_vec(&event).unwrap());
    }
    put(
        "locks",
        run.cluster.as_bytes().to_vec(),
        serde_json::to_vec(id).unwrap(),
    );
    drop(store);

    let db = raw_db(dir.path());
    let mut found = BTreeMap::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name).unwrap();
        let name = String::from_utf8(name.to_vec()).unwrap();
        for entry in &tree {
            let (key, value) = entry.unwrap();
            found.insert((name.clone(), key.to_vec()), value.to_vec());
        }
    }
    assert_eq!(found, expected);

    let mut entries: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["db", "format", "lock"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("format")).unwrap(),
        "quorate store format 1\n"
    );
    let lock = std::fs::read_to_string(dir.path().join("lock")).unwrap();
    assert!(!lock.contains("MARK"), "{lock}");
    assert_eq!(lock.lines().count(), 1, "{lock}");
}
