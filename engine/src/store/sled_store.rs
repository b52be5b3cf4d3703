//! The run store on sled: one directory, one process at a time, every write flushed.

use std::io::ErrorKind;
use std::path::Path;
use std::time::{Duration, Instant};

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use sled::Tree;

use super::codec::{aborting, decode, encode, TxResult};
use super::format::check_format;
use super::keys::{self, node_number, numbered, run_prefix};
use super::lock_file::ProcessLock;
use super::prepare::{bounded, check_new_run, prepare, Prepared};
use super::state_dir::{self, DB_DIR};
use super::{
    cluster_lock, now_ms, Change, Event, RunReader, RunRecord, RunStore, StoreError, TaskRecord,
};

/// sled's page cache; its default (1 GiB) is far more than a run store needs.
const CACHE_CAPACITY: u64 = 16 * 1024 * 1024;

/// How long `open` waits for sled's own file lock once it holds the process lock: sled's
/// background threads may keep the files of a store this process just closed for a moment.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(5);

/// How long `open` waits for another process to release the store: long enough for a
/// read-only command (`quorate runs` in a watch loop) to finish, short enough that a second
/// controller is told at once that the store is in use.
const PROCESS_LOCK_WAIT: Duration = Duration::from_secs(1);

/// The run store in `DIR/db`, guarded by the process lock on `DIR/lock`.
pub struct SledStore {
    // Fields drop in declaration order: sled closes before the process lock is released, so
    // the next process to take the lock does not meet sled's own.
    db: sled::Db,
    meta: Tree,
    runs: Tree,
    plans: Tree,
    tasks: Tree,
    events: Tree,
    locks: Tree,
    _lock: ProcessLock,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens (creating if needed) the store in `dir`. Fails with `Busy` if another process has
    /// it open, and with `Format` if a newer quorate wrote it.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        state_dir::prepare(dir)?;
        Self::open_prepared(dir, PROCESS_LOCK_WAIT)
    }

    /// Opens the store in `dir` for a command that only reads: a missing directory, or one
    /// without a store, is `NoStore`, and nothing is created. Does not wait for the process
    /// lock: a reader that finds the store busy asks the running controller instead.
    pub fn open_existing(dir: &Path) -> Result<Self, StoreError> {
        state_dir::require_store(dir)?;
        Self::open_prepared(dir, Duration::ZERO)
    }

    fn open_prepared(dir: &Path, wait: Duration) -> Result<Self, StoreError> {
        let lock = ProcessLock::acquire(dir, wait)?;
        let db = open_db(dir)?;
        // The format is checked before any other tree is opened: opening a tree writes, and a
        // newer store is left untouched.
        let meta = db.open_tree("meta")?;
        check_format(dir, &db, &meta)?;
        Ok(Self {
            runs: db.open_tree("runs")?,
            plans: db.open_tree("plans")?,
            tasks: db.open_tree("tasks")?,
            events: db.open_tree("events")?,
            locks: db.open_tree("locks")?,
            meta,
            db,
            _lock: lock,
        })
    }

    /// Makes every write so far durable. Called after each transaction, never inside its
    /// closure: the closure may run more than once, and its writes reach sled's log only when
    /// the transaction commits, after the closure returns.
    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn require_run(&self, id: &str) -> Result<(), StoreError> {
        if self.runs.contains_key(id.as_bytes())? {
            Ok(())
        } else {
            Err(StoreError::NoRun(id.to_owned()))
        }
    }

    fn scan_run<T: serde::de::DeserializeOwned>(
        &self,
        tree: &Tree,
        what: &str,
        id: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.require_run(id)?;
        tree.scan_prefix(run_prefix(id))
            .map(|entry| {
                let (_, value) = entry?;
                decode(|| format!("{what} of run {id}"), &value)
            })
            .collect()
    }
}

fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new()
        .path(dir.join(DB_DIR))
        .cache_capacity(CACHE_CAPACITY)
        .mode(sled::Mode::HighThroughput);
    let deadline = Instant::now() + SLED_LOCK_WAIT;
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(error)) if is_sled_lock_error(&error) => {
                if Instant::now() >= deadline {
                    // We hold the process lock, so the holder is not a quorate of this kind.
                    return Err(StoreError::Busy {
                        dir: dir.to_path_buf(),
                        holder: format!(
                            "a process that did not take {} (sled's own lock on {} is held)",
                            dir.join(super::lock_file::LOCK_FILE).display(),
                            dir.join(DB_DIR).display()
                        ),
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => return Err(error.into()),
        }
    }
}

fn is_sled_lock_error(error: &std::io::Error) -> bool {
    error.kind() == ErrorKind::Other && error.to_string().contains("could not acquire lock")
}

fn from_transaction(error: TransactionError<StoreError>) -> StoreError {
    match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => error.into(),
    }
}

fn invalid<T>(message: String) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(StoreError::Invalid(
        message,
    )))
}

impl RunReader for SledStore {
    fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.runs
            .get(id.as_bytes())?
            .map(|bytes| decode(|| format!("run {id}"), &bytes))
            .transpose()
    }

    fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let mut runs = self
            .runs
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                decode(|| format!("run {}", String::from_utf8_lossy(&key)), &value)
            })
            .collect::<Result<Vec<RunRecord>, _>>()?;
        runs.sort_by(|a, b| (b.created_ms, &b.id).cmp(&(a.created_ms, &a.id)));
        Ok(runs)
    }

    fn tasks(&self, id: &str) -> Result<Vec<TaskRecord>, StoreError> {
        self.scan_run(&self.tasks, "a task", id)
    }

    fn events(&self, id: &str) -> Result<Vec<Event>, StoreError> {
        self.scan_run(&self.events, "an event", id)
    }

    fn task(&self, id: &str, node: usize) -> Result<Option<TaskRecord>, StoreError> {
        self.require_run(id)?;
        self.tasks
            .get(numbered(id, node_number(node)))?
            .map(|bytes| decode(|| format!("task {node} of run {id}"), &bytes))
            .transpose()
    }

    fn events_after(&self, id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        self.require_run(id)?;
        let prefix = run_prefix(id);
        self.events
            .range(numbered(id, after.saturating_add(1))..)
            .take_while(|entry| entry.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix)))
            .map(|entry| {
                let (_, value) = entry?;
                decode(|| format!("an event of run {id}"), &value)
            })
            .collect()
    }
}

impl RunStore for SledStore {
    fn create_run(
        &self,
        run: &RunRecord,
        plan_json: &str,
        tasks: &[TaskRecord],
    ) -> Result<(), StoreError> {
        check_new_run(run, plan_json, tasks)?;
        let run_bytes = encode(run)?;
        let task_entries = tasks
            .iter()
            .map(|t| {
                let key = numbered(&run.id, node_number(t.node));
                encode(&bounded(t.clone())).map(|value| (key, value))
            })
            .collect::<Result<Vec<_>, _>>()?;

        (&self.runs, &self.plans, &self.tasks, &self.locks)
            .transaction(|(runs, plans, task_tree, locks)| {
                if runs.get(run.id.as_bytes())?.is_some() {
                    return invalid(format!("a run with id {} exists already", run.id));
                }
                if !run.status.is_finished() {
                    cluster_lock::take(runs, locks, &run.cluster, &run.id)?;
                }
                runs.insert(run.id.as_bytes(), run_bytes.as_slice())?;
                plans.insert(run.id.as_bytes(), plan_json.as_bytes())?;
                for (key, value) in &task_entries {
                    task_tree.insert(key.as_slice(), value.as_slice())?;
                }
                Ok(())
            })
            .map_err(from_transaction)?;
        self.flush()
    }

    fn plan_json(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.plans
            .get(id.as_bytes())?
            .map(|bytes| {
                String::from_utf8(bytes.to_vec())
                    .map_err(|e| StoreError::Corrupt(format!("plan of run {id}: {e}")))
            })
            .transpose()
    }

    fn commit(&self, id: &str, changes: Vec<Change>) -> Result<Vec<u64>, StoreError> {
        let prepared = changes
            .into_iter()
            .map(|change| prepare(id, change))
            .collect::<Result<Vec<_>, _>>()?;
        let seq_key = keys::next_event_seq(id);
        let at_ms = now_ms();

        let seqs = (
            &self.meta,
            &self.runs,
            &self.tasks,
            &self.events,
            &self.locks,
        )
            .transaction(|(meta, runs, tasks, events, locks)| {
                let Some(bytes) = runs.get(id.as_bytes())? else {
                    return Err(ConflictableTransactionError::Abort(StoreError::NoRun(
                        id.to_owned(),
                    )));
                };
                let mut current: RunRecord = aborting(decode(|| format!("run {id}"), &bytes))?;
                let mut next_seq: u64 = match meta.get(&seq_key)? {
                    Some(bytes) => aborting(decode(|| format!("event counter of {id}"), &bytes))?,
                    None => 1,
                };
                let mut seqs = Vec::new();
                for change in &prepared {
                    match change {
                        Prepared::Run(run, bytes) => {
                            if run.cluster != current.cluster {
                                return invalid(format!(
                                    "run {id} belongs to cluster {}, not {}",
                                    current.cluster, run.cluster
                                ));
                            }
                            if run.status.is_finished() {
                                cluster_lock::release(locks, &run.cluster, id)?;
                            } else {
                                cluster_lock::take(runs, locks, &run.cluster, id)?;
                            }
                            runs.insert(id.as_bytes(), bytes.as_slice())?;
                            current = run.clone();
                        }
                        Prepared::Task(node, bytes) => {
                            let key = numbered(id, node_number(*node));
                            if tasks.get(&key)?.is_none() {
                                aborting(Err(StoreError::Invalid(format!(
                                    "node {node} is not a task of run {id}"
                                ))))?;
                            }
                            tasks.insert(key, bytes.as_slice())?;
                        }
                        Prepared::Event {
                            node,
                            kind,
                            message,
                        } => {
                            let event = Event {
                                seq: next_seq,
                                at_ms,
                                node: *node,
                                kind: kind.clone(),
                                message: message.clone(),
                            };
                            events.insert(numbered(id, next_seq), aborting(encode(&event))?)?;
                            seqs.push(next_seq);
                            next_seq += 1;
                        }
                    }
                }
                if !seqs.is_empty() {
                    meta.insert(seq_key.as_slice(), aborting(encode(&next_seq))?)?;
                }
                Ok(seqs)
            })
            .map_err(from_transaction)?;
        self.flush()?;
        Ok(seqs)
    }

    fn lock_holder(&self, cluster: &str) -> Result<Option<String>, StoreError> {
        self.locks
            .get(cluster.as_bytes())?
            .map(|bytes| decode(|| format!("lock of cluster {cluster}"), &bytes))
            .transpose()
    }
}
