//! The store's format version: written on first open, checked on every open.
//!
//! sled's own on-disk format may change between its versions, and ours may too: the number
//! lets a newer layout be recognized and refused instead of misread.

use std::fs;
use std::io::{ErrorKind, Write as _};
use std::path::Path;

use sled::Tree;

use super::codec::{decode, encode};
use super::keys::FORMAT_KEY;
use super::StoreError;

/// Version of the on-disk layout, written on first open; a store with a newer one is refused.
pub const STORE_FORMAT: u64 = 1;

/// The file beside the database that says a store was made here (`DIR/format`). sled
/// treats a damaged log as a torn tail and opens what came before it, which for a damaged
/// first segment is an empty database: without this file, such a store would be taken for
/// a new one and its runs (and cluster locks) silently lost.
pub(crate) const FORMAT_FILE: &str = "format";

/// Writes the format on first open (and flushes it, then records that a store exists in
/// [`FORMAT_FILE`]); refuses a newer format, and a store whose database lost its format.
pub(crate) fn check_format(dir: &Path, db: &sled::Db, meta: &Tree) -> Result<(), StoreError> {
    let marker = dir.join(FORMAT_FILE);
    if let Some(bytes) = meta.get(FORMAT_KEY)? {
        let found: u64 = decode(|| "format key".to_owned(), &bytes)?;
        if found > STORE_FORMAT {
            return Err(StoreError::Format { found });
        }
        if found == 0 {
            return Err(StoreError::Corrupt("format 0 was never written".to_owned()));
        }
        // Stores made before the marker existed get it now.
        if !marker.exists() {
            write_marker(&marker)?;
        }
        return Ok(());
    }
    match fs::metadata(&marker) {
        Ok(_) => {
            return Err(StoreError::Corrupt(format!(
                "{} says a store was made here, but its database holds no format record: \
                 the database was damaged or replaced, and what it held cannot be read",
                marker.display()
            )))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
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
    write_marker(&marker)
}

/// Written (and synced) only after the format record is durable, so a crash between the
/// two leaves a store that is simply made again.
fn write_marker(path: &Path) -> Result<(), StoreError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    writeln!(file, "quorate store format {STORE_FORMAT}")?;
    file.sync_all()?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}
