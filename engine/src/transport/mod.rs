//! How commands reach hosts: SSH (one multiplexed master per host) or the local machine,
//! and the remote task journal that makes interrupted tasks decidable.

mod answer;
mod connections;
mod control_dir;
mod error;
mod fetch;
mod host;
pub mod journal;
mod local;
mod pipes;
mod server;
mod ssh;
mod transfer;

pub use answer::KEPT_OUTPUT;
pub use connections::{Connections, MAX_CHANNELS_PER_HOST};
pub use control_dir::MAX_CONTROL_DIR_LEN;
pub use error::TransportError;
pub use fetch::{partial_path, Download};
pub use host::{HostKeys, HostSpec, SshSettings, TransportKind};
pub use journal::{
    probe, remove_run, run_task, scrub_output, wait_task, JournalState, TaskOutcome, TaskSpec,
};
pub use pipes::Output;
pub use transfer::{Upload, MAX_FETCH};
