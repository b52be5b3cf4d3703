//! Durations as written in runbooks: `500ms`, `30s`, `10m`, `2h`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration that remembers how it was written, so plans show `30s`, not `30000ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    millis: u64,
}

impl Span {
    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }

    pub fn as_duration(self) -> Duration {
        Duration::from_millis(self.millis)
    }

    pub fn as_millis(self) -> u64 {
        self.millis
    }
}

/// The shortest `wait.every`: a shorter wait between polls only loads the host. The
/// runbook schema refuses less (`$defs/poll_interval`).
pub const MIN_POLL_INTERVAL: Span = Span::from_millis(100);

/// The shortest `timeout` (of a step or a `wait`): a shorter one kills a command before it
/// can start. The runbook schema refuses less (`$defs/timeout`).
pub const MIN_TIMEOUT: Span = Span::from_millis(1_000);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a duration: durations look like 500ms, 30s, 10m or 2h")]
pub struct ParseDurationError(pub String);

impl FromStr for Span {
    type Err = ParseDurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseDurationError(s.to_owned());
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits.parse().map_err(|_| err())?;
        let factor = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(err()),
        };
        n.checked_mul(factor).map(Self::from_millis).ok_or_else(err)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.millis;
        if m == 0 {
            write!(f, "0s")
        } else if m.is_multiple_of(3_600_000) {
            write!(f, "{}h", m / 3_600_000)
        } else if m.is_multiple_of(60_000) {
            write!(f, "{}m", m / 60_000)
        } else if m.is_multiple_of(1_000) {
            write!(f, "{}s", m / 1_000)
        } else {
            write!(f, "{m}ms")
        }
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_each_unit() {
        for (text, ms) in [
            ("500ms", 500),
            ("30s", 30_000),
            ("10m", 600_000),
            ("2h", 7_200_000),
        ] {
            let d: Span = text.parse().unwrap();
            assert_eq!(d.as_millis(), ms);
            assert_eq!(d.to_string(), text);
        }
        assert_eq!("90s".parse::<Span>().unwrap().to_string(), "90s");
        assert_eq!("120s".parse::<Span>().unwrap().to_string(), "2m");
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in [
            "",
            "30",
            "s",
            "1.5s",
            "30 s",
            "5d",
            "-1s",
            "99999999999999999999h",
        ] {
            assert!(bad.parse::<Span>().is_err(), "{bad}");
        }
    }
}
