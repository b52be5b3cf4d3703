//! The store a command opens from its `--state`: sled in a directory, or etcd, behind one
//! type, so the command line and the executor need not know which.

use std::path::Path;

use super::location::{EtcdLocation, EtcdOptions, StateLocation};
use super::{Change, Event, RunReader, RunRecord, RunStore, SledStore, StoreError, TaskRecord};

/// An open run store.
#[derive(Debug)]
pub enum Store {
    Sled(SledStore),
    #[cfg(feature = "etcd")]
    /// Boxed: the client is large, and a store is opened once per command.
    Etcd(Box<super::EtcdStore>),
}

/// Opens (creating if needed) the store `state` names, to write.
pub fn open_store(state: &Path, etcd: &EtcdOptions) -> Result<Store, StoreError> {
    match StateLocation::parse(state)? {
        StateLocation::Dir(dir) => SledStore::open(&dir).map(Store::Sled),
        StateLocation::Etcd(at) => open_etcd(&at, etcd, true),
    }
}

/// Opens the etcd store at `at`; `write` takes a lease for the cluster lock.
#[cfg(feature = "etcd")]
pub(crate) fn open_etcd(
    at: &EtcdLocation,
    etcd: &EtcdOptions,
    write: bool,
) -> Result<Store, StoreError> {
    let access = if write {
        super::Access::Write
    } else {
        super::Access::Read
    };
    super::EtcdStore::open(at, etcd, access).map(|s| Store::Etcd(Box::new(s)))
}

#[cfg(not(feature = "etcd"))]
pub(crate) fn open_etcd(at: &EtcdLocation, _: &EtcdOptions, _: bool) -> Result<Store, StoreError> {
    Err(StoreError::NotBuilt(at.to_string()))
}

/// Calls `$call` on whichever store `$store` is.
macro_rules! each_store {
    ($store:expr, $inner:ident => $call:expr) => {
        match $store {
            Store::Sled($inner) => $call,
            #[cfg(feature = "etcd")]
            Store::Etcd($inner) => $call,
        }
    };
}

impl RunReader for Store {
    fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        each_store!(self, s => s.runs())
    }

    fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        each_store!(self, s => s.run(id))
    }

    fn tasks(&self, id: &str) -> Result<Vec<TaskRecord>, StoreError> {
        each_store!(self, s => s.tasks(id))
    }

    fn task(&self, id: &str, node: usize) -> Result<Option<TaskRecord>, StoreError> {
        each_store!(self, s => s.task(id, node))
    }

    fn events_after(&self, id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        each_store!(self, s => s.events_after(id, after))
    }

    fn driven_elsewhere(&self, id: &str) -> Result<bool, StoreError> {
        each_store!(self, s => s.driven_elsewhere(id))
    }

    fn events(&self, id: &str) -> Result<Vec<Event>, StoreError> {
        each_store!(self, s => s.events(id))
    }
}

impl RunStore for Store {
    fn create_run(
        &self,
        run: &RunRecord,
        plan_json: &str,
        tasks: &[TaskRecord],
    ) -> Result<(), StoreError> {
        each_store!(self, s => s.create_run(run, plan_json, tasks))
    }

    fn plan_json(&self, id: &str) -> Result<Option<String>, StoreError> {
        each_store!(self, s => s.plan_json(id))
    }

    fn commit(&self, id: &str, changes: Vec<Change>) -> Result<Vec<u64>, StoreError> {
        each_store!(self, s => s.commit(id, changes))
    }

    fn lock_holder(&self, cluster: &str) -> Result<Option<String>, StoreError> {
        each_store!(self, s => s.lock_holder(cluster))
    }

    fn claim(&self, cluster: &str) -> Result<(), StoreError> {
        each_store!(self, s => s.claim(cluster))
    }
}

#[cfg(all(test, not(feature = "etcd")))]
mod tests {
    use super::*;

    #[test]
    fn an_etcd_address_in_a_build_without_it_says_how_to_build_it() {
        let error = open_store(
            Path::new("etcd://127.0.0.1:2379/q"),
            &EtcdOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("built without it") && error.contains("--features etcd"),
            "{error}"
        );
    }
}
