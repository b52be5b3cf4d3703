//! The store's format version: written on first open, checked on every open.
//!
//! sled's own on-disk format may change between its versions, and ours may too: the number
//! lets a newer layout be recognized and refused instead of misread.

use sled::Tree;

use super::codec::{decode, encode};
use super::keys::FORMAT_KEY;
use super::StoreError;

/// Version of the on-disk layout, written on first open; a store with a newer one is refused.
pub const STORE_FORMAT: u64 = 1;

/// Writes the format on first open (and flushes it); refuses a newer format.
pub(crate) fn check_format(db: &sled::Db, meta: &Tree) -> Result<(), StoreError> {
    if let Some(bytes) = meta.get(FORMAT_KEY)? {
        let found: u64 = decode(|| "format key".to_owned(), &bytes)?;
        if found > STORE_FORMAT {
            return Err(StoreError::Format { found });
        }
        if found == 0 {
            return Err(StoreError::Corrupt("format 0 was never written".to_owned()));
        }
        return Ok(());
    }
    // A new database holds sled's default tree and the `meta` tree just opened; more trees
    // but no format means it was written by something else, or damaged.
    if db.tree_names().len() > 2 {
        return Err(StoreError::Corrupt(
            "the database has data but no format key".to_owned(),
        ));
    }
    meta.insert(FORMAT_KEY, encode(&STORE_FORMAT)?)?;
    db.flush()?;
    Ok(())
}
