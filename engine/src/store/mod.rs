//! The run store: runs, task states, attempts and the event log, durable on disk (sled).

mod bounded;
mod clock;
mod cluster_lock;
mod codec;
mod error;
mod format;
mod id;
mod keys;
mod lock_file;
mod records;
mod run_store;
mod sled_store;
mod state_dir;

#[cfg(test)]
mod durability_tests;
#[cfg(test)]
mod tests;

pub use bounded::{bound_output, OUTPUT_LIMIT};
pub use clock::now_ms;
pub use error::StoreError;
pub use format::STORE_FORMAT;
pub use id::new_run_id;
pub use lock_file::controller;
pub use records::{Change, Event, RunRecord, RunStatus, TaskRecord, TaskState};
pub use run_store::RunStore;
pub use sled_store::SledStore;
