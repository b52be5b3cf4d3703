//! The directory that holds the SSH control sockets: short enough for a Unix socket path,
//! private, cleared of what a dead controller left behind, and home of the generated
//! client config.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::sys::signal::kill;
use nix::unistd::{geteuid, Pid};

use super::TransportError;

/// openssh puts each master's socket at `DIR/.ssh-connectionXXXXXX/master` (30 bytes more
/// than DIR), and ssh first binds it under a name 17 bytes longer before renaming it. A
/// Unix socket path holds 107 bytes and a NUL. Too long a path surfaces from ssh as a
/// misleading authentication failure, hence the check up front.
pub const MAX_CONTROL_DIR_LEN: usize = 107 - 30 - 17;

const MASTER_PREFIX: &str = ".ssh-connection";
const CONFIG_PREFIX: &str = "ssh_config-";

/// A master directory younger than this may belong to a connect in progress (of another
/// controller sharing the directory), so it is never taken for stale.
const STALE_AFTER: Duration = Duration::from_secs(300);

/// Makes `dir` usable as the control directory and returns its absolute path.
pub(crate) fn prepare(dir: PathBuf) -> Result<PathBuf, TransportError> {
    let dir = if dir.is_absolute() {
        dir
    } else {
        std::env::current_dir()?.join(dir)
    };
    let len = dir.as_os_str().len();
    if len > MAX_CONTROL_DIR_LEN {
        return Err(TransportError::Setup(format!(
            "the SSH control directory {} is {len} bytes long, but the control sockets inside \
             it must fit a Unix socket path (108 bytes): use a directory of at most \
             {MAX_CONTROL_DIR_LEN} bytes, e.g. /tmp/quorate-{}",
            dir.display(),
            geteuid()
        )));
    }
    fs::create_dir_all(&dir).map_err(|e| setup(&dir, &e))?;
    let meta = fs::symlink_metadata(&dir).map_err(|e| setup(&dir, &e))?;
    if !meta.is_dir() || meta.uid() != geteuid().as_raw() {
        return Err(TransportError::Setup(format!(
            "the SSH control directory {} must be a directory owned by the user running \
             quorate (uid {}), not a symlink or someone else's",
            dir.display(),
            geteuid()
        )));
    }
    // Others must not reach our masters: whoever can connect to a control socket can run
    // commands on the host.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(|e| setup(&dir, &e))?;
    remove_stale(&dir);
    Ok(dir)
}

fn setup(dir: &Path, err: &std::io::Error) -> TransportError {
    TransportError::Setup(format!(
        "cannot prepare the SSH control directory {}: {err}",
        dir.display()
    ))
}

/// Removes master directories whose socket no longer answers (their controller was
/// killed before it could clean up) and generated configs of processes that are gone.
/// A live master of a dead controller is left alone: it exits by itself once idle.
fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name.starts_with(MASTER_PREFIX) && old(&path) && !answers(&path.join("master")) {
            tracing::debug!(path = %path.display(), "removing a stale SSH control directory");
            let _ = fs::remove_dir_all(&path);
        } else if let Some(pid) = name.strip_prefix(CONFIG_PREFIX) {
            let gone = pid
                .parse()
                .is_ok_and(|pid| kill(Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH));
            if gone {
                let _ = fs::remove_file(&path);
            }
        }
    }
}

fn old(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > STALE_AFTER)
}

fn answers(socket: &Path) -> bool {
    UnixStream::connect(socket).is_ok()
}

/// Writes the client config every master uses when the inventory brings its own:
/// OpenSSH takes the first value it reads for each option, so the inventory's file comes
/// first and the user's and system's files still apply after it, as they would without `-F`.
pub(crate) fn write_client_config(dir: &Path, inventory: &Path) -> Result<PathBuf, TransportError> {
    let inventory = inventory.canonicalize().map_err(|e| {
        TransportError::Setup(format!(
            "the inventory's SSH config {} cannot be read: {e}",
            inventory.display()
        ))
    })?;
    let text = inventory
        .to_str()
        .filter(|p| !p.contains('"'))
        .ok_or_else(|| {
            TransportError::Setup(format!(
                "the inventory's SSH config path {} cannot be written into an OpenSSH \
             `Include` line (it is not UTF-8 or holds a double quote): move the file",
                inventory.display()
            ))
        })?;
    let path = dir.join(format!("{CONFIG_PREFIX}{}", std::process::id()));
    let mut file = fs::File::create(&path)?;
    write!(
        file,
        "# Generated by quorate for its SSH connections: the inventory's config first,\n\
         # then the files ssh reads when no -F is given.\n\
         Include \"{text}\"\n\
         Include ~/.ssh/config\n\
         Include /etc/ssh/ssh_config\n"
    )?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_directory_whose_sockets_would_not_fit() {
        let long = format!("/tmp/{}", "d".repeat(MAX_CONTROL_DIR_LEN));
        let err = prepare(PathBuf::from(&long)).unwrap_err().to_string();
        assert!(err.contains("must fit a Unix socket path"), "{err}");
        assert!(
            err.contains(&format!("at most {MAX_CONTROL_DIR_LEN} bytes")),
            "{err}"
        );
        assert!(!Path::new(&long).exists());
    }

    #[test]
    fn creates_a_private_directory_and_clears_dead_sockets() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("ctl");
        let dead = dir.join(".ssh-connectionABC123");
        fs::create_dir_all(&dead).unwrap();
        fs::write(dead.join("master"), "").unwrap();
        let fresh = dir.join(".ssh-connectionNEW000");
        fs::create_dir_all(&fresh).unwrap();
        let past = SystemTime::now() - Duration::from_secs(3600);
        fs::File::open(&dead).unwrap().set_modified(past).unwrap();

        let got = prepare(dir.clone()).unwrap();
        assert_eq!(got, dir);
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(!dead.exists(), "a stale master directory was kept");
        assert!(
            fresh.exists(),
            "a fresh one (maybe a connect in progress) was removed"
        );
    }
}
