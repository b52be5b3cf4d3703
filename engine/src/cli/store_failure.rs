//! What the command line says when the store fails: which state directory, why, how to
//! recover, and the exit code (the state directory is the environment, not bad input).

use std::io::ErrorKind;
use std::path::Path;

use super::exit::{FAILED, LOCKED, UNUSABLE_STATE};
use super::warn;
use crate::source::Diagnostic;
use crate::store::{StateLocation, StoreError};

/// The exit code and the diagnostic for a store error on the state directory `state`. The
/// exit code of a refused write (a bug, not the environment) is the same: the command
/// could not do its work, and the input was not at fault.
pub(crate) fn store_failure(state: &Path, error: &StoreError) -> (u8, Diagnostic) {
    let dir = state.display().to_string();
    let said = error.to_string();
    let message = if said.contains(&dir) {
        said
    } else if matches!(StateLocation::parse(state), Ok(StateLocation::Etcd(_))) {
        format!("the store {dir} cannot be used: {said}")
    } else {
        format!("the state directory {dir} cannot be used: {said}")
    };
    let d = Diagnostic::error(message);
    let elsewhere = "or use another state directory (--state DIR or QUORATE_STATE)";
    match error {
        StoreError::Busy { .. } | StoreError::Locked { .. } | StoreError::Controlled { .. } => {
            (LOCKED, d)
        }
        // Resumable: the run is recorded as it was when the lock was lost.
        StoreError::LockLost { .. } => (
            LOCKED,
            d.with_hint(
                "no task was started after the lock was lost; check that etcd has a quorum",
            ),
        ),
        StoreError::Unreachable { .. } => (
            UNUSABLE_STATE,
            d.with_hint(
                "nothing was recorded by the failed request; once a quorum of etcd members is \
                 up, run the command again (`quorate resume RUN` for a run)",
            ),
        ),
        StoreError::NoRun(_) => (FAILED, d),
        StoreError::NoStore { .. } => (
            UNUSABLE_STATE,
            d.with_hint(
                "nothing was created; `quorate run` creates the store on its first run; to read \
                 another store, name its directory: --state DIR or QUORATE_STATE",
            ),
        ),
        // The controller went away mid-read (its run ended) or is overloaded: try again.
        StoreError::Live(_) => (
            LOCKED,
            d.with_hint("the store is in use by a running controller; try again"),
        ),
        StoreError::Io(io) if io.kind() == ErrorKind::PermissionDenied => (
            UNUSABLE_STATE,
            d.with_hint(format!(
                "quorate must be able to read and write {dir}: fix its owner or permissions, \
                 {elsewhere}"
            )),
        ),
        // A refused write that is not about the directory is quorate's own mistake.
        StoreError::Invalid(why) if !why.contains(&dir) => (
            UNUSABLE_STATE,
            d.with_hint("the store refused the change and was left as it was; please report it"),
        ),
        StoreError::Io(_) | StoreError::Invalid(_) => (
            UNUSABLE_STATE,
            d.with_hint(format!(
                "{dir} must be a directory that quorate can read and write (it creates it when \
                 missing), {elsewhere}"
            )),
        ),
        StoreError::Corrupt(_) | StoreError::Db(_) => (
            UNUSABLE_STATE,
            d.with_hint(format!(
                "the store is damaged: move {dir} aside (e.g. `mv {dir} {dir}.damaged`) and run \
                 again with a new state directory; its unfinished runs cannot be resumed, so \
                 check their hosts by hand"
            )),
        ),
        StoreError::Format { .. } | StoreError::NotBuilt(_) => (UNUSABLE_STATE, d),
    }
}

/// Prints the store error as a warning-style diagnostic and returns the exit code.
pub(crate) fn report_store_failure(state: &Path, error: &StoreError) -> u8 {
    let (code, d) = store_failure(state, error);
    warn(&[d]);
    code
}
