//! Key layout of the etcd store, under its prefix `P`:
//!
//! - `P/format` -> `STORE_FORMAT`
//! - `P/runs/ID` -> `RunRecord`
//! - `P/head/ID` -> the run's next event number and the token of its last commit
//! - `P/plan/ID 0x00 N` -> chunk N of the frozen plan (JSON text, cut on char boundaries)
//! - `P/tasks/ID 0x00 NODE` -> `TaskRecord`
//! - `P/events/ID 0x00 SEQ` -> the events of one commit, SEQ the last of them
//! - `P/locks/CLUSTER` -> the unfinished run that holds the cluster (as in sled)
//! - `P/controllers/CLUSTER` -> who drives the cluster now, attached to their lease
//!
//! Numbers are big-endian after a 0x00 separator (as in sled), so a range read returns
//! them in order and no run's prefix is another's.

use crate::store::keys::{numbered, run_prefix};

pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    fn key(&self, space: &str, rest: &[u8]) -> Vec<u8> {
        let mut key = format!("{}/{space}/", self.prefix).into_bytes();
        key.extend_from_slice(rest);
        key
    }

    pub fn format(&self) -> Vec<u8> {
        format!("{}/format", self.prefix).into_bytes()
    }

    pub fn runs(&self) -> Vec<u8> {
        self.key("runs", b"")
    }

    pub fn run(&self, id: &str) -> Vec<u8> {
        self.key("runs", id.as_bytes())
    }

    pub fn head(&self, id: &str) -> Vec<u8> {
        self.key("head", id.as_bytes())
    }

    pub fn plan_chunks(&self, id: &str) -> Vec<u8> {
        self.key("plan", &run_prefix(id))
    }

    pub fn plan_chunk(&self, id: &str, n: u64) -> Vec<u8> {
        self.key("plan", &numbered(id, n))
    }

    pub fn tasks(&self, id: &str) -> Vec<u8> {
        self.key("tasks", &run_prefix(id))
    }

    pub fn task(&self, id: &str, node: u64) -> Vec<u8> {
        self.key("tasks", &numbered(id, node))
    }

    pub fn events(&self, id: &str) -> Vec<u8> {
        self.key("events", &run_prefix(id))
    }

    /// The key of the batch whose last event is `seq`.
    pub fn events_batch(&self, id: &str, seq: u64) -> Vec<u8> {
        self.key("events", &numbered(id, seq))
    }

    pub fn lock(&self, cluster: &str) -> Vec<u8> {
        self.key("locks", cluster.as_bytes())
    }

    pub fn controller(&self, cluster: &str) -> Vec<u8> {
        self.key("controllers", cluster.as_bytes())
    }
}

/// The end of the range of keys that start with `prefix` (etcd's prefix end).
pub(super) fn range_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// The number at the end of a numbered key.
pub(super) fn trailing_number(key: &[u8]) -> Option<u64> {
    let start = key.len().checked_sub(8)?;
    Some(u64::from_be_bytes(key[start..].try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_s_ranges_hold_its_keys_only() {
        let keys = Keys::new("/q");
        let tasks = keys.tasks("r");
        let end = range_end(&tasks);
        assert!(keys.task("r", 0) >= tasks && keys.task("r", u64::MAX) < end);
        assert!(!(keys.task("r1", 0) >= tasks && keys.task("r1", 0) < end));
        assert_eq!(trailing_number(&keys.task("r", 300)), Some(300));
        assert_eq!(range_end(b"a\xff"), b"b");
    }
}
