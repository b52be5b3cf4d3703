//! The read side of a run store: what `runs`, `show` and `logs` need, behind one trait so
//! the same commands read the sled store, a running controller over its socket, or a
//! future shared store.

use super::{Event, RunRecord, StoreError, TaskRecord};

/// Reads recorded runs. Every method sees whole commits: a group commit is read entirely
/// or not at all.
pub trait RunReader {
    /// All runs, newest first.
    fn runs(&self) -> Result<Vec<RunRecord>, StoreError>;

    fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError>;

    /// The run's task records, ordered by node; `NoRun` for an unknown run.
    fn tasks(&self, id: &str) -> Result<Vec<TaskRecord>, StoreError>;

    /// One task record; None if the run has no task `node`; `NoRun` for an unknown run.
    fn task(&self, id: &str, node: usize) -> Result<Option<TaskRecord>, StoreError>;

    /// The run's events with a seq greater than `after`, ordered by seq (`after` 0: all);
    /// `NoRun` for an unknown run.
    fn events_after(&self, id: &str, after: u64) -> Result<Vec<Event>, StoreError>;

    /// Whether another process drives run `id` now (so it may still change). A store this
    /// process opened is held by it alone: no other process drives any of its runs.
    fn driven_elsewhere(&self, _id: &str) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// The run's whole event log.
    fn events(&self, id: &str) -> Result<Vec<Event>, StoreError> {
        self.events_after(id, 0)
    }
}
