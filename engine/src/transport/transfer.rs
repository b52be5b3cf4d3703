//! Copying files to and from a host over the command channel: content-addressed uploads
//! (an equal file is skipped), atomic replacement, and downloads.

use sha2::{Digest as _, Sha256};

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
        let sha = hex_sha256(data);
        let mode = mode.map_or_else(String::new, |m| format!("{m:o}"));
        let script = |op: &str| {
            format!(
                "set -- {op} {} {sha} {} {}\n{TRANSFER_SH}",
                shell::quote(dest),
                data.len(),
                shell::quote(&mode)
            )
        };
        // Asking first costs one round trip; sending content the host already has could
        // cost far more.
        let check = self.run(host, &script("check"), b"").await?;
        match answer(&check) {
            Some("same") => return Ok(Upload::Skipped),
            Some("differs") => {}
            _ => return Err(failed(host, &format!("cannot check {dest}"), &check)),
        }
        let write = self.run(host, &script("write"), data).await?;
        match answer(&write) {
            Some("written") => Ok(Upload::Written),
            _ => Err(failed(host, &format!("cannot write {dest}"), &write)),
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

pub(crate) fn hex_sha256(data: &[u8]) -> String {
    hex_digest(&Sha256::digest(data))
}

/// A digest in lower-case hex.
pub(super) fn hex_digest(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_is_lower_hex() {
        assert_eq!(
            super::hex_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
