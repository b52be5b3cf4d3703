//! The store's process lock: one quorate process at a time, and who that is.
//!
//! sled takes its own lock too, but a second process only learns "could not acquire lock".
//! This lock is taken first, on `DIR/lock`, and the file says who holds it, so the refusal can
//! name the holder. It is an `flock`: the kernel releases it when the holder dies, even by
//! SIGKILL, so there is never a stale lock to clean up.

use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use super::clock::{now_ms, UtcTime};
use super::StoreError;

/// Name of the lock file inside the state directory.
pub(crate) const LOCK_FILE: &str = "lock";

/// Holds the store's process lock until dropped.
#[derive(Debug)]
pub(crate) struct ProcessLock {
    _file: File,
}

impl ProcessLock {
    /// Takes the lock on `dir/lock`, waiting up to `wait` for a holder to let go (a
    /// command that only reads holds it for milliseconds), and writes who holds it into
    /// the file.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<Self, StoreError> {
        let deadline = Instant::now() + wait;
        loop {
            match Self::try_acquire(dir) {
                Err(StoreError::Busy { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                result => return result,
            }
        }
    }

    /// Takes the lock on `dir/lock` without waiting.
    fn try_acquire(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        // Not truncated on open: until we hold the lock, the text is the holder's.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)?;
        let attempt = file.try_lock();
        match attempt {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Busy {
                    dir: dir.to_path_buf(),
                    holder: read_holder(&path),
                })
            }
            Err(TryLockError::Error(error)) => return Err(error.into()),
        }
        let holder = format!(
            "{} (since {}, `{}`)\n",
            controller(),
            UtcTime::from_ms(now_ms()),
            command_summary(std::env::args_os())
        );
        file.set_len(0)?;
        file.write_all_at(holder.as_bytes(), 0)?;
        Ok(Self { _file: file })
    }
}

/// The holder's line from the lock file, bounded: the file is ours, but the text goes into
/// an error message.
fn read_holder(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let line: String = text
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(300)
        .collect();
    if line.is_empty() {
        "another process (it has not written its name into the lock file yet)".to_owned()
    } else {
        line
    }
}

/// Who runs this process: the OS user name and the host name.
pub fn operator() -> (String, String) {
    let uid = nix::unistd::getuid();
    let user = match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    };
    let host = nix::unistd::gethostname().map_or_else(
        |_| "unknown-host".to_owned(),
        |h| h.to_string_lossy().into_owned(),
    );
    (user, host)
}

/// Who this process is: `user@host pid N`, for the lock file and for `RunRecord::controller`.
pub fn controller() -> String {
    let (user, host) = operator();
    format!("{user}@{host} pid {}", std::process::id())
}

/// The program and its subcommand, e.g. `quorate run ...`. The other arguments are left out:
/// parameters, secrets among them, may be given on the command line.
fn command_summary(args: impl IntoIterator<Item = OsString>) -> String {
    let mut args = args.into_iter();
    let program = args.next().map_or_else(
        || "quorate".to_owned(),
        |p| {
            Path::new(&p)
                .file_name()
                .map_or_else(|| "quorate".into(), |n| n.to_string_lossy())
                .into_owned()
        },
    );
    let mut summary = program;
    let mut rest = args.peekable();
    if let Some(first) = rest.peek().and_then(|a| a.to_str()) {
        let is_subcommand = first.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && first.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
        if is_subcommand {
            summary.push(' ');
            summary.push_str(first);
            rest.next();
        }
    }
    if rest.next().is_some() {
        summary.push_str(" ...");
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(args: &[&str]) -> String {
        command_summary(args.iter().map(OsString::from))
    }

    #[test]
    fn command_summary_keeps_only_program_and_subcommand() {
        assert_eq!(
            summary(&["/usr/bin/quorate", "run", "upgrade", "-p", "token=s3cret"]),
            "quorate run ..."
        );
        assert_eq!(summary(&["quorate", "runs"]), "quorate runs");
        assert_eq!(
            summary(&["quorate", "--state", "/srv/q", "resume", "x"]),
            "quorate ..."
        );
        assert_eq!(summary(&["quorate", "token=s3cret"]), "quorate ...");
        assert_eq!(summary(&[]), "quorate");
    }

    #[test]
    fn controller_names_user_host_and_pid() {
        let me = controller();
        assert!(me.contains('@'), "{me}");
        assert!(
            me.ends_with(&format!(" pid {}", std::process::id())),
            "{me}"
        );
    }
}
