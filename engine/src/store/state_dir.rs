//! The state directory: created 0700, and kept that way, because task output may be sensitive.

use std::fs::{self, DirBuilder, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use super::format::FORMAT_FILE;
use super::live::SOCKET_FILE;
use super::lock_file::LOCK_FILE;
use super::StoreError;

/// Group and others' permission bits.
const GROUP_AND_OTHERS: u32 = 0o077;

/// Name of sled's directory inside the state directory.
pub(crate) const DB_DIR: &str = "db";

/// Makes `dir` a directory only its owner can enter: creates it 0700 if missing, tightens it
/// if it is ours (empty, or holding only what the store puts there) and open to others.
pub(crate) fn prepare(dir: &Path) -> Result<(), StoreError> {
    match fs::metadata(dir) {
        Err(error) if error.kind() == ErrorKind::NotFound => create(dir),
        Err(error) => Err(error.into()),
        Ok(meta) if !meta.is_dir() => Err(StoreError::Invalid(format!(
            "the state directory {} is not a directory",
            dir.display()
        ))),
        Ok(meta) if !open_to_others(meta.permissions().mode()) => Ok(()),
        Ok(_) if holds_only_the_store(dir)? => tighten(dir),
        // Changing the mode of a directory that holds other things (`--state .`, `/tmp`)
        // would break whatever else lives there.
        Ok(_) => Err(StoreError::Invalid(format!(
            "the state directory {} is open to other users and holds files that are not the \
             store's; give quorate a directory of its own",
            dir.display()
        ))),
    }
}

fn create(dir: &Path) -> Result<(), StoreError> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    // Created 0700 at once, so it is never open, not even for a moment.
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        // Another process created it meanwhile: fine, the lock decides who uses it.
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
        Err(error) => return Err(error.into()),
    }
    // The umask can only remove bits; set the mode exactly anyway.
    tighten(dir)
}

fn open_to_others(mode: u32) -> bool {
    mode & GROUP_AND_OTHERS != 0
}

fn tighten(dir: &Path) -> Result<(), StoreError> {
    fs::set_permissions(dir, Permissions::from_mode(0o700))?;
    Ok(())
}

fn holds_only_the_store(dir: &Path) -> Result<bool, StoreError> {
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if name != LOCK_FILE && name != DB_DIR && name != SOCKET_FILE && name != FORMAT_FILE {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Checks, creating nothing, that `dir` holds a store: what a read-only command needs.
pub(crate) fn require_store(dir: &Path) -> Result<(), StoreError> {
    let missing = |why: &str| StoreError::NoStore {
        dir: dir.to_path_buf(),
        why: why.to_owned(),
    };
    match fs::metadata(dir) {
        Err(error) if error.kind() == ErrorKind::NotFound => {
            Err(missing("the directory does not exist"))
        }
        Err(error) => Err(error.into()),
        Ok(meta) if !meta.is_dir() => Err(StoreError::Invalid(format!(
            "the state directory {} is not a directory",
            dir.display()
        ))),
        Ok(_) => match fs::metadata(dir.join(DB_DIR)) {
            Err(error) if error.kind() == ErrorKind::NotFound => {
                Err(missing("the directory holds no store"))
            }
            Err(error) => Err(error.into()),
            Ok(_) => Ok(()),
        },
    }
}
