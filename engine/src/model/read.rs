//! Reading an input file (runbook, include, inventory, parameters) within bounds: only
//! regular files, at most [`MAX_INPUT_BYTES`], so that `/dev/zero` cannot fill memory and
//! a FIFO cannot hang the command.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

use crate::source::Diagnostic;

/// The largest input file read, in bytes (4 MiB: a runbook of thousands of steps or an
/// inventory of tens of thousands of hosts is well under it).
pub const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// The text of the file at `path`, or why it cannot be had (the diagnostic names the file).
pub fn read_input(path: &Path) -> Result<String, Diagnostic> {
    let fail = |why: String| Diagnostic::error(format!("cannot read {}: {why}", path.display()));
    // Non-blocking, so that opening a FIFO returns at once instead of waiting for a writer;
    // the file's type is then checked on the opened file, not on its name.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(fail(format!("it is {what}, not a regular file"))
            .with_hint("input files must be regular files"));
    }
    let too_big = || {
        fail(format!(
            "it is larger than {} MiB, the limit for an input file",
            MAX_INPUT_BYTES / (1024 * 1024)
        ))
    };
    if meta.len() > MAX_INPUT_BYTES {
        return Err(too_big());
    }
    // The file may grow while it is read: never read more than the limit.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    File::take(file, MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|_| fail("stream did not contain valid UTF-8".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_big_files_are_refused() {
        let e = read_input(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(
            e.message,
            "cannot read /dev/zero: it is a device, not a regular file"
        );
        let dir = tempfile::tempdir().unwrap();
        let e = read_input(dir.path()).unwrap_err();
        assert!(e.message.ends_with("it is a directory, not a regular file"));
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, vec![b'#'; 4 * 1024 * 1024 + 1]).unwrap();
        let e = read_input(&big).unwrap_err();
        assert!(e
            .message
            .ends_with("it is larger than 4 MiB, the limit for an input file"));
        std::fs::write(&big, vec![b'#'; 4 * 1024 * 1024]).unwrap();
        assert_eq!(read_input(&big).unwrap().len(), 4 * 1024 * 1024);
    }
}
