//! The run store: runs, task states, attempts and the event log, durable on disk (sled).

mod async_commit;
mod bounded;
mod clock;
mod cluster_lock;
mod codec;
mod error;
mod format;
mod id;
mod keys;
mod live;
mod lock_file;
mod open_reader;
mod reader;
mod records;
mod run_store;
mod sled_store;
mod state_dir;

#[cfg(test)]
mod durability_tests;
#[cfg(test)]
mod tests;

pub use async_commit::commit_async;
pub use bounded::{bound_output, OUTPUT_LIMIT};
pub use clock::{now_ms, utc, UtcTime};
pub use error::StoreError;
pub use format::STORE_FORMAT;
pub use id::new_run_id;
pub use live::{serve_readers, LiveClient, LiveServer, ServeError, PROTOCOL_VERSION};
pub use lock_file::{controller, operator};
pub use open_reader::{open_reader, Reader};
pub use reader::RunReader;
pub use records::{Change, Event, RunRecord, RunStatus, TaskRecord, TaskState};
pub use run_store::RunStore;
pub use sled_store::SledStore;
