//! The etcd client is async, the store interface is not: every call runs on a small runtime
//! of the store's own and the caller waits for its answer on a channel. The caller may be an
//! executor thread (the executor reads the store from async code), where blocking on a
//! runtime of its own would panic; a private runtime never nests.

use std::future::Future;
use std::sync::mpsc;

use tokio::runtime::Runtime;

use crate::store::StoreError;

pub(super) struct Bridge {
    runtime: Option<Runtime>,
}

impl Bridge {
    pub fn new() -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("etcd-store")
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    /// Runs `future` on the store's runtime and waits for its outcome.
    pub fn call<T, F>(&self, future: F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.handle().spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().unwrap_or_else(|_| {
            Err(StoreError::Db(
                "the etcd client stopped before it answered".to_owned(),
            ))
        })
    }

    /// Starts `future` in the background (the lease keeper).
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.handle().spawn(future);
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("the runtime lives until the bridge is dropped")
            .handle()
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // A runtime dropped from async code panics unless it is shut down in the background.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
