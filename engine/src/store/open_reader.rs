//! Opening a store for reading: the store itself when it is free, else the controller
//! that holds it, over its socket.

use std::path::Path;
use std::time::{Duration, Instant};

use super::live::{remove_stale_socket, LiveClient};
use super::location::{EtcdOptions, StateLocation};
use super::{RunReader, SledStore, StoreError};

/// How long a reader keeps trying when the store is held by a process that does not serve
/// reads: another reader, `approve`, or a controller still starting or closing.
const READ_WAIT: Duration = Duration::from_secs(3);

/// Where a reader reads from.
#[derive(Debug)]
pub enum Reader {
    /// The store itself: no controller holds it, so no run is being driven now.
    Store(SledStore),
    /// The controller that holds the store and drives a run.
    Live(LiveClient),
    /// A shared store (etcd): read directly, whoever drives its runs.
    Shared(super::Store),
}

impl Reader {
    pub fn as_reader(&self) -> &dyn RunReader {
        match self {
            Self::Store(store) => store,
            Self::Live(client) => client,
            Self::Shared(store) => store,
        }
    }

    /// Whether a controller holds the store (and so may be driving a run).
    pub fn is_live(&self) -> bool {
        matches!(self, Self::Live(_))
    }
}

/// Opens the store `state` names for reading, creating nothing: `NoStore` when there is
/// none. A shared store is read directly; for a directory see [`open_dir_reader`].
pub fn open_reader(state: &Path, etcd: &EtcdOptions) -> Result<Reader, StoreError> {
    match StateLocation::parse(state)? {
        StateLocation::Dir(dir) => open_dir_reader(&dir),
        StateLocation::Etcd(at) => {
            super::any_store::open_etcd(&at, etcd, false).map(Reader::Shared)
        }
    }
}

/// Opens the store in `dir` for reading, creating nothing: `NoStore` when there is none.
/// A controller's socket is tried first, then the store; a store held by a process that
/// serves no reads is tried again for a moment, then `Busy`.
pub fn open_dir_reader(dir: &Path) -> Result<Reader, StoreError> {
    let deadline = Instant::now() + READ_WAIT;
    loop {
        super::state_dir::require_store(dir)?;
        if let Some(client) = LiveClient::connect(dir)? {
            return Ok(Reader::Live(client));
        }
        match SledStore::open_existing(dir) {
            Ok(store) => {
                // We hold the process lock, so no controller serves this directory: a
                // socket there was left by one that was killed.
                remove_stale_socket(dir);
                return Ok(Reader::Store(store));
            }
            Err(StoreError::Busy { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => return Err(error),
        }
    }
}
