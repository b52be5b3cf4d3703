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
