//! The store interface the executor and the command line use; sled stays behind it.

use super::{Change, Event, RunRecord, StoreError, TaskRecord};

/// The durable record of runs. Every method that writes returns only once the write is
/// durable (flushed), so a caller may act on it: a task may start once `running` is recorded.
pub trait RunStore {
    /// Records a new run with its frozen plan (JSON text) and its task records, and takes the
    /// cluster lock (unless the run is already finished), in one transaction, then flushes.
    /// Refuses an id that is taken, and a cluster held by another unfinished run (`Locked`).
    fn create_run(
        &self,
        run: &RunRecord,
        plan_json: &str,
        tasks: &[TaskRecord],
    ) -> Result<(), StoreError>;

    fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError>;

    fn plan_json(&self, id: &str) -> Result<Option<String>, StoreError>;

    /// All runs, newest first.
    fn runs(&self) -> Result<Vec<RunRecord>, StoreError>;

    /// The run's task records, ordered by node; `NoRun` for an unknown run.
    fn tasks(&self, id: &str) -> Result<Vec<TaskRecord>, StoreError>;

    /// The run's event log, ordered by seq; `NoRun` for an unknown run.
    fn events(&self, id: &str) -> Result<Vec<Event>, StoreError>;

    /// One task record; None if the run has no task `node`. A store that can read one
    /// record by its key should: `logs --follow` reads the tasks that just finished.
    fn task(&self, id: &str, node: usize) -> Result<Option<TaskRecord>, StoreError> {
        Ok(self.tasks(id)?.into_iter().find(|t| t.node == node))
    }

    /// The events with a seq greater than `after`. A store that can seek should: a
    /// follower asks for the new events of a long log several times a second.
    fn events_after(&self, id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        let mut events = self.events(id)?;
        events.retain(|e| e.seq > after);
        Ok(events)
    }

    /// Group commit: applies all `changes` of run `id` in one transaction (task records, the
    /// run record, events with the next sequence numbers), then flushes once; durable when it
    /// returns Ok. Returns the seqs given to the events, in order. An error means the changes
    /// are not known to be durable: the caller must not act on them (if the flush failed after
    /// the transaction, they may still reach the disk later).
    ///
    /// A run record with a finished status (done, abandoned) releases the cluster lock in the
    /// same transaction; failed, paused and running keep it (and take it back, if a finished
    /// run is reopened and the cluster is free).
    fn commit(&self, id: &str, changes: Vec<Change>) -> Result<Vec<u64>, StoreError>;

    /// The run that holds `cluster`, if any.
    fn lock_holder(&self, cluster: &str) -> Result<Option<String>, StoreError>;
}
