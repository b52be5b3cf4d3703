//! Maintenance windows (`--window`): when tasks may start. Times are UTC.
//!
//! Forms: `Sat 02:00/4h` (every week), `02:00/4h` (every day), `now+30s/10m` and
//! `now/1h` (once, from when the command starts). A window given to `run` or `resume` is
//! recorded with the run, a relative one as the absolute times it stands for, so a later
//! `resume` without `--window` keeps it.

use serde::{Deserialize, Serialize};

use super::events::EventKind;
use crate::model::Duration;
use crate::store::{Change, Event};

const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 24 * 60 * MINUTE_MS;
const WEEK_MS: u64 = 7 * DAY_MS;
/// 1970-01-01, day 0 of Unix time, was a Thursday: day 3 of a week that starts on Monday.
const EPOCH_WEEKDAY: u64 = 3;
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// When tasks may start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Window {
    /// Every week (`day` 0 is Monday) or, without a day, every day, from `start_ms` after
    /// midnight UTC, for `length_ms`.
    Repeating {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        day: Option<u8>,
        start_ms: u64,
        length_ms: u64,
    },
    /// Once: from `start_ms` to `end_ms` (milliseconds since the Unix epoch).
    Once { start_ms: u64, end_ms: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`--window {spec}`: {problem}")]
pub struct WindowError {
    pub spec: String,
    pub problem: String,
}

impl Window {
    /// Reads a window as written on the command line; relative forms count from `now_ms`.
    pub fn parse(spec: &str, now_ms: u64) -> Result<Self, WindowError> {
        let err = |problem: &str| WindowError {
            spec: spec.to_owned(),
            problem: problem.to_owned(),
        };
        let form = "windows look like `Sat 02:00/4h`, `02:00/4h` (daily, UTC) or `now+10m/2h`";
        let (start, length) = spec.trim().split_once('/').ok_or_else(|| err(form))?;
        let length: Duration = length
            .trim()
            .parse()
            .map_err(|e: crate::model::duration::ParseDurationError| err(&e.to_string()))?;
        let length_ms = length.as_millis();
        if length_ms == 0 {
            return Err(err("the window has no length"));
        }
        let start = start.trim();
        if let Some(rest) = start.strip_prefix("now") {
            let offset = match rest.strip_prefix('+') {
                Some(d) => d
                    .trim()
                    .parse::<Duration>()
                    .map_err(|e| err(&e.to_string()))?
                    .as_millis(),
                None if rest.is_empty() => 0,
                None => return Err(err(form)),
            };
            let start_ms = now_ms.saturating_add(offset);
            return Ok(Self::Once {
                start_ms,
                end_ms: start_ms.saturating_add(length_ms),
            });
        }
        let (day, clock) = match start.split_once(' ') {
            Some((day, clock)) => {
                let day = DAYS
                    .iter()
                    .position(|d| day.len() >= 3 && d.eq_ignore_ascii_case(&day[..3]))
                    .ok_or_else(|| err("the day is one of Mon, Tue, Wed, Thu, Fri, Sat, Sun"))?;
                (Some(u8::try_from(day).unwrap_or(0)), clock.trim())
            }
            None => (None, start),
        };
        let (h, m) = clock.split_once(':').ok_or_else(|| err(form))?;
        let (h, m): (u64, u64) = match (h.parse(), m.parse()) {
            (Ok(h), Ok(m)) if h < 24 && m < 60 => (h, m),
            _ => return Err(err("the start time is HH:MM, 00:00 to 23:59, UTC")),
        };
        let period = if day.is_some() { WEEK_MS } else { DAY_MS };
        if length_ms > period {
            return Err(err("a repeating window is not longer than its period"));
        }
        Ok(Self::Repeating {
            day,
            start_ms: (h * 60 + m) * MINUTE_MS,
            length_ms,
        })
    }

    /// Where a repeating window starts in its period and how long the period is.
    fn period(day: Option<u8>, start_ms: u64) -> (u64, u64) {
        match day {
            Some(d) => (u64::from(d) * DAY_MS + start_ms, WEEK_MS),
            None => (start_ms, DAY_MS),
        }
    }

    /// Milliseconds since the last opening of a repeating window.
    fn since_opening(day: Option<u8>, start_ms: u64, now_ms: u64) -> u64 {
        let (start, period) = Self::period(day, start_ms);
        let in_period = if day.is_some() {
            (now_ms + EPOCH_WEEKDAY * DAY_MS) % WEEK_MS
        } else {
            now_ms % DAY_MS
        };
        (in_period + period - start) % period
    }

    pub fn contains(&self, now_ms: u64) -> bool {
        match *self {
            Self::Repeating {
                day,
                start_ms,
                length_ms,
            } => Self::since_opening(day, start_ms, now_ms) < length_ms,
            Self::Once { start_ms, end_ms } => (start_ms..end_ms).contains(&now_ms),
        }
    }

    /// When the window next opens (now if it is open); `None` for a one-off window that
    /// is over.
    pub fn next_opening(&self, now_ms: u64) -> Option<u64> {
        if self.contains(now_ms) {
            return Some(now_ms);
        }
        match *self {
            Self::Repeating { day, start_ms, .. } => {
                let (_, period) = Self::period(day, start_ms);
                let since = Self::since_opening(day, start_ms, now_ms);
                Some(now_ms + (period - since) % period)
            }
            Self::Once { start_ms, .. } => (now_ms < start_ms).then_some(start_ms),
        }
    }

    /// The window as written, with a one-off window's times spelled out.
    pub fn describe(&self) -> String {
        match *self {
            Self::Repeating {
                day,
                start_ms,
                length_ms,
            } => {
                let day = day.map_or(String::new(), |d| {
                    format!("{} ", DAYS[usize::from(d) % DAYS.len()])
                });
                format!(
                    "{day}{:02}:{:02}/{}",
                    start_ms / 3_600_000,
                    start_ms % 3_600_000 / MINUTE_MS,
                    Duration::from_millis(length_ms)
                )
            }
            Self::Once { start_ms, end_ms } => format!(
                "{} to {}",
                crate::store::utc(start_ms),
                crate::store::utc(end_ms)
            ),
        }
    }

    /// The event that records this window with a run.
    pub fn record(&self) -> Change {
        EventKind::Window.change(None, serde_json::to_string(self).unwrap_or_default())
    }

    /// The window last recorded in a run's event log.
    pub fn recorded(events: &[Event]) -> Option<Self> {
        events
            .iter()
            .rev()
            .filter(|e| EventKind::of(e) == Some(EventKind::Window))
            .find_map(|e| serde_json::from_str(&e.message).ok())
    }

    /// Why a run outside this window pauses, for `runs`, `show` and the operator.
    pub fn pause_reason(&self, now_ms: u64) -> String {
        match self.next_opening(now_ms) {
            Some(at) => format!(
                "outside the window {}: it opens at {}",
                self.describe(),
                crate::store::utc(at)
            ),
            None => format!(
                "outside the window {}: it is over; resume with a new --window",
                self.describe()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Window, DAY_MS};

    /// 2026-12-05 was a Saturday; 00:00 UTC that day.
    const SATURDAY: u64 = 1_796_428_800_000;
    const HOUR: u64 = 3_600_000;

    #[test]
    fn a_weekly_window_opens_on_its_day_and_time_in_utc() {
        let w = Window::parse("Sat 02:00/4h", 0).unwrap();
        assert_eq!(w.describe(), "Sat 02:00/4h");
        assert!(!w.contains(SATURDAY + HOUR));
        assert!(w.contains(SATURDAY + 2 * HOUR));
        assert!(w.contains(SATURDAY + 6 * HOUR - 1));
        assert!(!w.contains(SATURDAY + 6 * HOUR));
        assert_eq!(w.next_opening(SATURDAY + HOUR), Some(SATURDAY + 2 * HOUR));
        // After it closes, it opens again a week later.
        assert_eq!(
            w.next_opening(SATURDAY + 7 * HOUR),
            Some(SATURDAY + 7 * DAY_MS + 2 * HOUR)
        );
        assert_eq!(
            w.pause_reason(SATURDAY),
            "outside the window Sat 02:00/4h: it opens at 2026-12-05 02:00:00 UTC"
        );
    }

    #[test]
    fn a_daily_window_may_cross_midnight() {
        let w = Window::parse("23:00/2h", 0).unwrap();
        assert!(w.contains(SATURDAY + 30 * 60_000));
        assert!(w.contains(SATURDAY - 30 * 60_000));
        assert!(!w.contains(SATURDAY + 2 * HOUR));
    }

    #[test]
    fn a_relative_window_is_fixed_when_given_and_ends() {
        let w = Window::parse("now+3s/4s", 10_000).unwrap();
        assert_eq!(
            w,
            Window::Once {
                start_ms: 13_000,
                end_ms: 17_000
            }
        );
        assert!(!w.contains(12_999));
        assert!(w.contains(13_000));
        assert_eq!(w.next_opening(18_000), None);
        assert!(Window::parse("now/1h", 5).unwrap().contains(5));
    }

    #[test]
    fn a_bad_window_says_what_is_wrong() {
        let problem = |s: &str| Window::parse(s, 0).unwrap_err().to_string();
        assert_eq!(
            problem("Sat 02:00"),
            "`--window Sat 02:00`: windows look like `Sat 02:00/4h`, `02:00/4h` (daily, UTC) or `now+10m/2h`"
        );
        assert_eq!(
            problem("Caturday 02:00/4h"),
            "`--window Caturday 02:00/4h`: the day is one of Mon, Tue, Wed, Thu, Fri, Sat, Sun"
        );
        assert_eq!(
            problem("25:00/1h"),
            "`--window 25:00/1h`: the start time is HH:MM, 00:00 to 23:59, UTC"
        );
        assert_eq!(
            problem("02:00/4 hours"),
            "`--window 02:00/4 hours`: `4 hours` is not a duration: durations look like 500ms, 30s, 10m or 2h"
        );
        assert_eq!(
            problem("02:00/25h"),
            "`--window 02:00/25h`: a repeating window is not longer than its period"
        );
    }
}
