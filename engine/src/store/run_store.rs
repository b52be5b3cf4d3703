//! The store interface the executor and the command line use; sled stays behind it.

use super::{Change, RunReader, RunRecord, StoreError, TaskRecord};

/// The durable record of runs. Every method that writes returns only once the write is
/// durable (flushed), so a caller may act on it: a task may start once `running` is recorded.
/// Its reads are those of [`RunReader`], which readers use alone.
pub trait RunStore: RunReader {
    /// Records a new run with its frozen plan (JSON text) and its task records, and takes the
    /// cluster lock (unless the run is already finished), in one transaction, then flushes.
    /// Refuses an id that is taken, and a cluster held by another unfinished run (`Locked`).
    fn create_run(
        &self,
        run: &RunRecord,
        plan_json: &str,
        tasks: &[TaskRecord],
    ) -> Result<(), StoreError>;

    fn plan_json(&self, id: &str) -> Result<Option<String>, StoreError>;

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

    /// Takes `cluster` for this controller before it drives a run there, so a second
    /// controller is refused at once (`Controlled`, naming the holder) rather than at its
    /// first commit. A store one process holds alone (sled) has nothing to take.
    fn claim(&self, _cluster: &str) -> Result<(), StoreError> {
        Ok(())
    }
}
