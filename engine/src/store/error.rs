//! Errors of the run store.

use std::path::PathBuf;

use super::STORE_FORMAT;

#[derive(thiserror::Error, Debug)]
pub enum StoreError {
    /// Another quorate process has the store open.
    #[error("the store {} is in use by {holder}", dir.display())]
    Busy { dir: PathBuf, holder: String },
    /// An unfinished run holds the cluster.
    #[error(
        "cluster `{cluster}` is locked by unfinished run {run}: resume it or `quorate abandon` it"
    )]
    Locked { cluster: String, run: String },
    /// Another controller holds the cluster (the etcd store's lease on it).
    #[error(
        "cluster `{cluster}` is driven by another controller: {holder}; wait for it to end, \
         or, if it died, for its lease to expire (--lock-ttl, {ttl_s} s by default)"
    )]
    Controlled {
        cluster: String,
        holder: String,
        ttl_s: u64,
    },
    /// This controller lost its hold on the cluster (its lease expired or could not be
    /// renewed): it writes nothing more and starts no task.
    #[error(
        "this controller lost its hold on cluster `{cluster}` ({why}): it starts no more \
         tasks; `quorate resume` the run once the store is reachable"
    )]
    LockLost { cluster: String, why: String },
    /// The shared store did not answer in time (no quorum, unreachable members).
    #[error("the store at {at} cannot be reached: {why}")]
    Unreachable { at: String, why: String },
    /// `--state etcd://...` in a quorate built without the etcd store.
    #[error(
        "{0} names an etcd store, but this quorate was built without it: build it with \
         `cargo build --release --features etcd` (needs protoc)"
    )]
    NotBuilt(String),
    #[error("no run `{0}` in the store")]
    NoRun(String),
    /// A read-only command found no state directory, or no store in it; nothing was created.
    #[error("there is no run store in {}: {why}", dir.display())]
    NoStore { dir: PathBuf, why: String },
    /// The running controller did not answer a read as it should.
    #[error("{0}")]
    Live(String),
    /// The store was written by a newer quorate: left untouched.
    #[error(
        "the store has format {found}, newer than the format {STORE_FORMAT} this quorate \
         understands: it was written by a newer quorate; use that one, or another state directory"
    )]
    Format { found: u64 },
    #[error("cannot read or write it: {0}")]
    Io(#[from] std::io::Error),
    #[error("its database failed: {0}")]
    Db(String),
    #[error("the store in it is damaged: {0}")]
    Corrupt(String),
    /// The caller asked for something the store refuses to record (a bug in the caller).
    #[error("refused by the store: {0}")]
    Invalid(String),
}

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> Self {
        match error {
            sled::Error::Io(io) => Self::Io(io),
            sled::Error::Corruption { .. } => Self::Corrupt(error.to_string()),
            other => Self::Db(other.to_string()),
        }
    }
}
