//! The cluster lock: an unfinished run holds its cluster, inside the store's transactions.
//!
//! The lock is a `locks` entry, cluster -> run id, written in the same transaction as the run
//! record whose status decides it, so the two never disagree after a crash.

use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::codec::{aborting, decode, encode, TxResult};
use super::{RunRecord, StoreError};

/// Gives `cluster` to run `id`, unless another unfinished run holds it.
pub(crate) fn take(
    runs: &TransactionalTree,
    locks: &TransactionalTree,
    cluster: &str,
    id: &str,
) -> TxResult<()> {
    if let Some(holder) = holder(locks, cluster)? {
        if holder == id {
            return Ok(());
        }
        if let Some(bytes) = runs.get(holder.as_bytes())? {
            let run: RunRecord = aborting(decode(|| format!("run {holder}"), &bytes))?;
            if !run.status.is_finished() {
                return Err(ConflictableTransactionError::Abort(StoreError::Locked {
                    cluster: cluster.to_owned(),
                    run: holder,
                }));
            }
        }
        // The holder is finished or gone: the lock is stale (the same transaction that
        // finishes a run releases it, so only an older store can leave one behind).
    }
    locks.insert(cluster.as_bytes(), aborting(encode(&id))?)?;
    Ok(())
}

/// Releases `cluster` if run `id` holds it; another run's lock is left alone.
pub(crate) fn release(locks: &TransactionalTree, cluster: &str, id: &str) -> TxResult<()> {
    if holder(locks, cluster)?.as_deref() == Some(id) {
        locks.remove(cluster.as_bytes())?;
    }
    Ok(())
}

fn holder(locks: &TransactionalTree, cluster: &str) -> TxResult<Option<String>> {
    match locks.get(cluster.as_bytes())? {
        Some(bytes) => Ok(Some(aborting(decode(
            || format!("lock of cluster {cluster}"),
            &bytes,
        ))?)),
        None => Ok(None),
    }
}
