//! Checks and preparation shared by every store: what a new run must be, and each change
//! of a commit bounded and encoded before any transaction starts.

use super::bounded::bound_output;
use super::codec::encode;
use super::keys::check_name;
use super::{Change, RunRecord, StoreError, TaskRecord};

/// Refuses a new run whose names cannot be keys, whose task count disagrees with its
/// records, which gives a node twice, or whose plan is not JSON.
pub(crate) fn check_new_run(
    run: &RunRecord,
    plan_json: &str,
    tasks: &[TaskRecord],
) -> Result<(), StoreError> {
    check_name("run id", &run.id)?;
    check_name("cluster", &run.cluster)?;
    if tasks.len() != run.tasks {
        return Err(StoreError::Invalid(format!(
            "run {} declares {} tasks but {} task records were given",
            run.id,
            run.tasks,
            tasks.len()
        )));
    }
    // Tasks are plan nodes: their numbers need not be dense (joins and gates are
    // nodes too), only unique.
    let mut seen = std::collections::HashSet::new();
    for task in tasks {
        if !seen.insert(task.node) {
            return Err(StoreError::Invalid(format!(
                "node {} is given twice in run {}",
                task.node, run.id
            )));
        }
    }
    serde_json::from_str::<serde::de::IgnoredAny>(plan_json)
        .map_err(|e| StoreError::Invalid(format!("the plan of run {} is not JSON: {e}", run.id)))?;
    Ok(())
}

/// Output is bounded here, on every write, so no caller can forget it.
pub(crate) fn bounded(mut task: TaskRecord) -> TaskRecord {
    task.stdout = bound_output(std::mem::take(&mut task.stdout));
    task.stderr = bound_output(std::mem::take(&mut task.stderr));
    task
}

/// A change made ready outside the transaction (bounded, encoded), since a transaction
/// closure may run more than once.
pub(crate) enum Prepared {
    Run(RunRecord, Vec<u8>),
    Task(usize, Vec<u8>),
    Event {
        node: Option<usize>,
        kind: String,
        message: String,
    },
}

pub(crate) fn prepare(id: &str, change: Change) -> Result<Prepared, StoreError> {
    Ok(match change {
        Change::Run(run) => {
            if run.id != id {
                return Err(StoreError::Invalid(format!(
                    "the record of run {} was given to a commit of run {id}",
                    run.id
                )));
            }
            let bytes = encode(&run)?;
            Prepared::Run(run, bytes)
        }
        Change::Task(task) => {
            let task = bounded(task);
            Prepared::Task(task.node, encode(&task)?)
        }
        Change::Event {
            node,
            kind,
            message,
        } => Prepared::Event {
            node,
            kind,
            message: bound_output(message),
        },
    })
}
