//! Key layout of the sled trees.
//!
//! - `meta`: `format` -> `STORE_FORMAT`; `next_event_seq` 0x00 run id -> next event number
//! - `runs`: run id -> `RunRecord`
//! - `plans`: run id -> the frozen plan (JSON text)
//! - `tasks`: run id 0x00 node (u64 big-endian) -> `TaskRecord`
//! - `events`: run id 0x00 seq (u64 big-endian) -> `Event`
//! - `locks`: cluster -> run id
//!
//! Big-endian numbers after a 0x00 separator make a prefix scan of one run return its
//! records in numeric order, and no run's prefix is a prefix of another's (ids hold no 0x00).

use super::StoreError;

/// The one key every format, present and future, keeps in tree `meta`: what format the
/// store is in.
pub(crate) const FORMAT_KEY: &[u8] = b"format";

const NEXT_EVENT_SEQ: &[u8] = b"next_event_seq";

/// Run ids and cluster names become keys: they must be non-empty and hold no 0x00.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.contains('\0') {
        return Err(StoreError::Invalid(format!(
            "{what} {name:?} is empty or holds a NUL byte"
        )));
    }
    Ok(())
}

/// The prefix of all `tasks` and `events` keys of run `id`.
pub(crate) fn run_prefix(id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + 1);
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key
}

/// The key of task `node`, or of event `seq`, of run `id`.
pub(crate) fn numbered(id: &str, number: u64) -> Vec<u8> {
    let mut key = run_prefix(id);
    key.extend_from_slice(&number.to_be_bytes());
    key
}

/// The `meta` key of run `id`'s event counter.
pub(crate) fn next_event_seq(id: &str) -> Vec<u8> {
    let mut key = NEXT_EVENT_SEQ.to_vec();
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

/// A node index as the number in a key.
pub(crate) fn node_number(node: usize) -> u64 {
    // usize is at most 64 bits on every platform Rust supports.
    u64::try_from(node).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_keys_sort_numerically_within_a_run() {
        assert!(numbered("r", 2) < numbered("r", 10));
        assert!(numbered("r", 255) < numbered("r", 256));
        // Run "r" and run "r1": neither's records fall inside the other's prefix.
        assert!(!numbered("r1", 0).starts_with(&run_prefix("r")));
        assert!(!numbered("r", 0x31).starts_with(&run_prefix("r1")));
    }

    #[test]
    fn names_with_nul_are_refused() {
        assert!(check_name("run id", "a\0b").is_err());
        assert!(check_name("run id", "").is_err());
        assert!(check_name("run id", "20261121-103412-7f3a").is_ok());
    }
}
