//! Store writes from async code: a commit blocks on the disk (sled's flush), so it runs on
//! tokio's blocking pool, never on an executor thread, where it would stall every task the
//! thread drives (SSH sessions, timers, the Ctrl-C handler) for as long as the flush takes.

use std::sync::Arc;

use super::{Change, RunStore, StoreError};

/// [`RunStore::commit`] off the executor, with the same contract: the changes of one call
/// form one transaction and one flush (group commit), and the future resolves only once
/// they are durable, so the caller may act on them. A caller awaits each commit before the
/// next, so commits stay in order.
///
/// Dropping the future does not cancel the write: it completes on the blocking pool, and
/// its outcome is simply not reported (as with a controller that dies after the flush).
pub async fn commit_async<S>(
    store: &Arc<S>,
    id: &str,
    changes: Vec<Change>,
) -> Result<Vec<u64>, StoreError>
where
    S: RunStore + Send + Sync + ?Sized + 'static,
{
    let store = Arc::clone(store);
    let id = id.to_owned();
    tokio::task::spawn_blocking(move || store.commit(&id, changes))
        .await
        .unwrap_or_else(|joined| {
            Err(StoreError::Db(format!(
                "the commit did not complete ({joined}); its changes are not known to be durable"
            )))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunReader, SledStore};

    #[tokio::test(flavor = "current_thread")]
    async fn an_async_commit_is_durable_when_it_returns_and_leaves_the_executor_free() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let run = crate::store::tests::run_record("r1", "c", 1, 1);
        store
            .create_run(
                &run,
                "{}",
                &[crate::store::TaskRecord::pending(0, "s", None)],
            )
            .unwrap();
        // On a single-threaded runtime a ticker only advances while the executor is free:
        // it ticks during the commits, which run on the blocking pool.
        let ticks = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let ticker = {
            let ticks = Arc::clone(&ticks);
            tokio::spawn(async move {
                loop {
                    ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        };
        for i in 0..20 {
            let seqs = commit_async(
                &store,
                "r1",
                vec![Change::Event {
                    node: None,
                    kind: "note".to_owned(),
                    message: format!("n{i}"),
                }],
            )
            .await
            .unwrap();
            assert_eq!(seqs, vec![i + 1]);
        }
        ticker.abort();
        assert!(ticks.load(std::sync::atomic::Ordering::Relaxed) > 0);
        drop(store);
        // Reopened: every acknowledged commit is there, in order.
        let reopened = SledStore::open(dir.path()).unwrap();
        let messages: Vec<String> = RunReader::events(&reopened, "r1")
            .unwrap()
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(
            messages,
            (0..20).map(|i| format!("n{i}")).collect::<Vec<_>>()
        );
    }
}
