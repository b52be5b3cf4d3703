//! Run ids: `20261121-103412-7f3a`, the UTC start time then 4 random hex digits.

use std::fs::File;
use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use super::clock::{now_ms, UtcTime};

/// A new run id. Ids sort by start time (to the second); the random suffix separates runs
/// started in the same second, and `create_run` refuses an id that is already taken.
pub fn new_run_id() -> String {
    format!(
        "{}-{:04x}",
        UtcTime::from_ms(now_ms()).compact(),
        random_u16()
    )
}

fn random_u16() -> u16 {
    let mut bytes = [0u8; 2];
    if File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok()
    {
        return u16::from_le_bytes(bytes);
    }
    // No /dev/urandom (a bare chroot): the clock's nanoseconds mixed with the pid differ
    // between two controllers started in the same second.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mixed = nanos ^ std::process::id().rotate_left(16);
    u16::try_from((mixed ^ (mixed >> 16)) & 0xffff).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_documented_shape() {
        let id = new_run_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.len(), 3, "{id}");
        assert_eq!(parts[0].len(), 8);
        assert_eq!(parts[1].len(), 6);
        assert_eq!(parts[2].len(), 4);
        assert!(parts[..2]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_digit())));
        assert!(parts[2].bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn ids_differ() {
        let ids: std::collections::BTreeSet<String> = (0..20).map(|_| new_run_id()).collect();
        // 20 draws of 16 bits collide with probability ~0.3%; allow one collision.
        assert!(ids.len() >= 19, "{ids:?}");
    }
}
