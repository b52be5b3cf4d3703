//! Wall-clock time for records: epoch milliseconds and their UTC calendar form.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// Milliseconds since the Unix epoch (0 if the clock is set before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `2026-11-21 10:34:12 UTC` for milliseconds since the Unix epoch.
pub fn utc(ms: u64) -> String {
    UtcTime::from_ms(ms).to_string()
}

/// A UTC calendar time, to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime(OffsetDateTime);

impl UtcTime {
    pub fn from_ms(ms: u64) -> Self {
        let nanos = i128::from(ms) * 1_000_000;
        Self(OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }

    /// `20261121-103412`: sorts like the time it names.
    pub fn compact(self) -> String {
        let t = self.0;
        format!(
            "{:04}{:02}{:02}-{:02}{:02}{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

/// `2026-11-21 10:34:12 UTC`
impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates() {
        assert_eq!(UtcTime::from_ms(0).to_string(), "1970-01-01 00:00:00 UTC");
        // 2000-02-29 (a leap day in a century year) 23:59:59.999
        assert_eq!(
            UtcTime::from_ms(951_868_799_999).to_string(),
            "2000-02-29 23:59:59 UTC"
        );
        assert_eq!(
            UtcTime::from_ms(1_795_257_252_000).compact(),
            "20261121-103412"
        );
        assert_eq!(
            UtcTime::from_ms(4_107_542_400_000).to_string(),
            "2100-03-01 00:00:00 UTC"
        );
    }

    #[test]
    fn now_is_after_2025() {
        assert!(now_ms() > 1_735_689_600_000);
    }
}
