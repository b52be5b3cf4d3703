//! The version of a demo-node binary: X.Y.Z from a trailer appended to the executable, else Cargo's.
//!
//! A release is the same executable with `\n#demo-node-version:X.Y.Z\n` appended; the loader
//! ignores bytes past the ELF sections, so "upgrading" a node is swapping its file.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The trailer's marker, preceded by a newline so it reads as its own line in `tail`.
const TRAILER_TAG: &[u8] = b"\n#demo-node-version:";
/// How far from the end a trailer may start: the tag plus a generous version string.
const TRAILER_MAX: u64 = 96;
/// How long `demo-node version` of another binary may take before we give up on it.
const EXEC_TIMEOUT: Duration = Duration::from_secs(5);

/// A release version; ordering is numeric, field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error("`{0}` is not a version of the form X.Y.Z (three numbers)")]
    Parse(String),
    #[error("cannot access {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot tell the version of {path}: {reason}")]
    Unknown { path: String, reason: String },
}

impl VersionError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let numbers: Vec<&str> = s.trim().split('.').collect();
        let parse = |p: &str| -> Option<u64> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        match numbers.as_slice() {
            [a, b, c] => match (parse(a), parse(b), parse(c)) {
                (Some(major), Some(minor), Some(patch)) => Ok(Self {
                    major,
                    minor,
                    patch,
                }),
                _ => Err(VersionError::Parse(s.to_string())),
            },
            _ => Err(VersionError::Parse(s.to_string())),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The version Cargo built this binary as (what a plain build reports).
pub fn cargo() -> Version {
    env!("CARGO_PKG_VERSION").parse().unwrap_or(Version {
        major: 0,
        minor: 0,
        patch: 0,
    })
}

/// The version this running binary reports: its trailer, else Cargo's.
pub fn own() -> Version {
    std::env::current_exe()
        .ok()
        .and_then(|exe| trailer_of(&exe).ok().flatten())
        .map_or_else(cargo, |(v, _)| v)
}

/// The trailer bytes that mark a release as `v`.
pub fn trailer(v: Version) -> Vec<u8> {
    let mut bytes = TRAILER_TAG.to_vec();
    bytes.extend_from_slice(format!("{v}\n").as_bytes());
    bytes
}

/// Reads the trailer of an executable: its version and its length in bytes, if it has one.
pub fn trailer_of(path: &Path) -> Result<Option<(Version, u64)>, VersionError> {
    let mut file = File::open(path).map_err(|e| VersionError::io(path, e))?;
    let len = file
        .metadata()
        .map_err(|e| VersionError::io(path, e))?
        .len();
    file.seek(SeekFrom::Start(len.saturating_sub(TRAILER_MAX)))
        .map_err(|e| VersionError::io(path, e))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)
        .map_err(|e| VersionError::io(path, e))?;
    Ok(parse_trailer(&tail))
}

/// Finds a trailer at the very end of `tail` (the last bytes of a file).
pub fn parse_trailer(tail: &[u8]) -> Option<(Version, u64)> {
    let body = tail.strip_suffix(b"\n")?;
    let start = body
        .windows(TRAILER_TAG.len())
        .rposition(|w| w == TRAILER_TAG)?;
    let text = std::str::from_utf8(&body[start + TRAILER_TAG.len()..]).ok()?;
    let version = text.parse().ok()?;
    Some((version, u64::try_from(tail.len() - start).ok()?))
}

/// The version of the demo-node executable at `path`, running or not: its trailer, else
/// what it answers to `version` (a plain build knows only its Cargo version).
pub fn of_binary(path: &Path) -> Result<Version, VersionError> {
    if let Some((v, _)) = trailer_of(path)? {
        return Ok(v);
    }
    let unknown = |reason: String| VersionError::Unknown {
        path: path.display().to_string(),
        reason,
    };
    let mut child = Command::new(path)
        .arg("version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| VersionError::io(path, e))?;
    let deadline = Instant::now() + EXEC_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(unknown("`version` did not answer within 5 s".into()));
            }
            Err(e) => return Err(VersionError::io(path, e)),
        }
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout
            .read_to_string(&mut out)
            .map_err(|e| VersionError::io(path, e))?;
    }
    out.trim()
        .parse()
        .map_err(|_| unknown(format!("`version` printed {:?}", out.trim())))
}

/// Writes a copy of the executable `src` marked as `version` to `out` (any old trailer
/// replaced), through a temporary file so `out` is never half-written.
pub fn write_release(src: &Path, version: Version, out: &Path) -> Result<(), VersionError> {
    let mut bytes = fs::read(src).map_err(|e| VersionError::io(src, e))?;
    if let Some((_, len)) = trailer_of(src)? {
        let keep = bytes.len() - usize::try_from(len).unwrap_or(0);
        bytes.truncate(keep);
    }
    bytes.extend_from_slice(&trailer(version));
    let file_name = out.file_name().map_or_else(
        || "demo-node".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let tmp = out.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    fs::write(&tmp, &bytes).map_err(|e| VersionError::io(&tmp, e))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))
        .map_err(|e| VersionError::io(&tmp, e))?;
    // Rename, not copy: a running executable cannot be opened for writing (ETXTBSY).
    fs::rename(&tmp, out).map_err(|e| VersionError::io(out, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_numerically() {
        let a: Version = "1.10.0".parse().unwrap();
        let b: Version = "1.9.3".parse().unwrap();
        assert!(a > b);
        assert_eq!(a.to_string(), "1.10.0");
        for bad in ["1.2", "1.2.3.4", "1.x.3", "", "1..2", "-1.2.3", "v1.2.3"] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
    }

    #[test]
    fn finds_a_trailer_only_at_the_end() {
        let mut exe = b"\x7fELF....binary bytes".to_vec();
        assert_eq!(parse_trailer(&exe), None);
        exe.extend_from_slice(&trailer("1.1.0".parse().unwrap()));
        let (v, len) = parse_trailer(&exe).unwrap();
        assert_eq!(v.to_string(), "1.1.0");
        assert_eq!(len, u64::try_from(trailer(v).len()).unwrap());
        exe.extend_from_slice(b"more");
        assert_eq!(parse_trailer(&exe), None);
    }

    #[test]
    fn release_replaces_an_old_trailer() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a");
        let out = dir.path().join("b");
        let mut bytes = b"program".to_vec();
        bytes.extend_from_slice(&trailer("1.0.0".parse().unwrap()));
        fs::write(&src, &bytes).unwrap();
        write_release(&src, "2.0.0".parse().unwrap(), &out).unwrap();
        let written = fs::read(&out).unwrap();
        assert!(written.starts_with(b"program\n#demo-node-version:2.0.0\n"));
        assert_eq!(trailer_of(&out).unwrap().unwrap().0.to_string(), "2.0.0");
    }
}
