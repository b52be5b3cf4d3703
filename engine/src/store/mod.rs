//! The run store: runs, task states, attempts and the event log, durable on disk (sled),
//! or, for teams, on an etcd cluster (feature `etcd`).

mod any_store;
mod async_commit;
mod bounded;
mod clock;
mod cluster_lock;
mod codec;
mod error;
#[cfg(feature = "etcd")]
mod etcd;
mod format;
mod id;
mod keys;
mod live;
mod location;
mod lock_file;
mod open_reader;
mod prepare;
mod reader;
mod records;
mod run_store;
mod sled_store;
mod state_dir;

#[cfg(test)]
mod durability_tests;
#[cfg(test)]
mod tests;

pub use any_store::{open_store, Store};
pub use async_commit::commit_async;
pub use bounded::{bound_output, OUTPUT_LIMIT};
pub use clock::{now_ms, utc, UtcTime};
pub use error::StoreError;
#[cfg(feature = "etcd")]
pub use etcd::{Access, EtcdStore};
pub use format::STORE_FORMAT;
pub use id::new_run_id;
pub use live::{serve_readers, LiveClient, LiveServer, ServeError, PROTOCOL_VERSION};
pub use location::{EtcdLocation, EtcdOptions, StateLocation, DEFAULT_LOCK_TTL};
pub use lock_file::{controller, operator};
pub use open_reader::{open_reader, Reader};
pub use reader::RunReader;
pub use records::{Change, Event, RunRecord, RunStatus, TaskRecord, TaskState};
pub use run_store::RunStore;
pub use sled_store::SledStore;
