//! Copying files to and from a host over the command channel: content-addressed uploads
//! (an equal file is skipped), atomic replacement, and downloads.

use super::pipes::{Keep, Output};
use super::{Connections, HostSpec, TransportError};
use crate::shell;

/// The helper script for uploads; see its header for the protocol.
pub(super) const TRANSFER_SH: &str = include_str!("transfer.sh");

/// The largest file [`Connections::download`] brings into memory (the `fetch` action
/// streams to a file instead, with no ceiling: [`Connections::download_to`]).
pub const MAX_FETCH: usize = 256 * 1024 * 1024;

/// What an upload did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upload {
    /// The destination already had exactly this content (its mode was still applied).
    Skipped,
    /// The content was written and renamed into place.
    Written,
}

impl Connections {
    /// Puts `data` at `dest` on `host` with `mode` (e.g. `0o755`; `None`: the host's
    /// default for new files). Skipped when `dest` already holds the same bytes (by
    /// SHA-256); otherwise streamed to a temporary file next to `dest`, verified, synced,
    /// chmod-ed and renamed over `dest`.
    pub async fn upload(
        &self,
        host: &HostSpec,
        data: &[u8],
        dest: &str,
        mode: Option<u32>,
    ) -> Result<Upload, TransportError> {
        let mode = mode.map_or_else(String::new, |m| format!("{m:o}"));
        // Asking first costs one round trip; sending content the host already has could
        // cost far more.
        if self.same_content(host, data, dest, &mode).await? {
            return Ok(Upload::Skipped);
        }
        let write = self
            .run(host, &transfer_script("write", data, dest, &mode), data)
            .await?;
        match answer(&write) {
            Some("written") => Ok(Upload::Written),
            _ => Err(failed(host, &format!("cannot write {dest}"), &write)),
        }
    }

    /// Whether `dest` on `host` already holds exactly `data` (by SHA-256), as an upload
    /// would find it. Changes nothing on the host (`plan --probe` asks it).
    pub async fn holds(
        &self,
        host: &HostSpec,
        data: &[u8],
        dest: &str,
    ) -> Result<bool, TransportError> {
        self.same_content(host, data, dest, "").await
    }

    /// The helper's `check`: whether `dest` holds `data`; with a `mode`, an equal file
    /// is given it.
    async fn same_content(
        &self,
        host: &HostSpec,
        data: &[u8],
        dest: &str,
        mode: &str,
    ) -> Result<bool, TransportError> {
        let check = self
            .run(host, &transfer_script("check", data, dest, mode), b"")
            .await?;
        match answer(&check) {
            Some("same") => Ok(true),
            Some("differs") => Ok(false),
            _ => Err(failed(host, &format!("cannot check {dest}"), &check)),
        }
    }

    /// The content of `src` on `host`, in memory (at most [`MAX_FETCH`] bytes).
    pub async fn download(&self, host: &HostSpec, src: &str) -> Result<Vec<u8>, TransportError> {
        // `cat` of a directory or a missing file fails with its own message; the test
        // first gives the common case a clear one.
        let script = format!(
            "set -- {}\n[ -f \"$1\" ] || {{ echo \"$1: no such file\" >&2; exit 1; }}\nexec cat -- \"$1\"",
            shell::quote(src)
        );
        let out = match self
            .run_keeping(host, &script, b"", Keep::All { max: MAX_FETCH })
            .await
        {
            Err(TransportError::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(TransportError::Remote {
                    host: host.name.clone(),
                    message: format!(
                        "cannot read {src}: it is larger than {} MiB, the most `fetch` takes",
                        MAX_FETCH / (1024 * 1024)
                    ),
                })
            }
            other => other?,
        };
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(failed(host, &format!("cannot read {src}"), &out))
        }
    }
}

/// The helper script run with its arguments: `OP DEST SHA256 SIZE MODE`.
fn transfer_script(op: &str, data: &[u8], dest: &str, mode: &str) -> String {
    format!(
        "set -- {op} {} {} {} {}\n{TRANSFER_SH}",
        shell::quote(dest),
        crate::digest::sha256_hex(data),
        data.len(),
        shell::quote(mode)
    )
}

fn answer(out: &Output) -> Option<&str> {
    if !out.success() {
        return None;
    }
    std::str::from_utf8(&out.stdout).ok().map(str::trim)
}

pub(super) fn failed(host: &HostSpec, what: &str, out: &Output) -> TransportError {
    let why = out.stderr_text();
    let code = out.exit_text();
    TransportError::Remote {
        host: host.name.clone(),
        message: if why.is_empty() {
            format!("{what} ({code})")
        } else {
            format!("{what}: {why}")
        },
    }
}
