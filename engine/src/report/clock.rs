//! Durations as reports print them.

/// `1m 05s`, `3.2s`: a duration in milliseconds, for a reader.
pub fn duration(ms: u64) -> String {
    if ms < 60_000 {
        format!("{}.{}s", ms / 1000, ms % 1000 / 100)
    } else if ms < 3_600_000 {
        format!("{}m {:02}s", ms / 60_000, ms % 60_000 / 1000)
    } else {
        format!("{}h {:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(super::duration(3_250), "3.2s");
        assert_eq!(super::duration(65_000), "1m 05s");
        assert_eq!(super::duration(3_723_000), "1h 02m");
    }
}
