//! Wall-clock time as milliseconds and as UTC calendar text.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn utc(ms: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `YYYY-MM-DD HH:MM:SS.mmm` in UTC, the time column of a log line.
pub fn format_utc(ms: u64) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The UTC date `offset_days` from today, for certificate validity.
pub fn date_from_today(offset_days: i64) -> (i32, u8, u8) {
    let day = utc(now_ms()) + time::Duration::days(offset_days);
    (day.year(), u8::from(day.month()), day.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00.000");
        // 2000-02-29 12:34:56.789 UTC, a leap day.
        assert_eq!(format_utc(951_827_696_789), "2000-02-29 12:34:56.789");
    }
}
