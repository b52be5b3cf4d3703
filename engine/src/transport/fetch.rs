//! Bringing a host's file to a path on the controller in bounded memory, atomically: it
//! streams to a private temporary file beside the destination, is checked against the
//! host's SHA-256, synced, and renamed into place, so the destination is never half written.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWrite};

use super::pipes::Keep;
use super::transfer::{failed, TRANSFER_SH};
use super::{Connections, HostSpec, TransportError};
use crate::digest::hex as hex_digest;
use crate::shell;

/// What a download to a file did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Download {
    /// The destination already held exactly this content; it was left alone.
    Same,
    /// The content was written and renamed into place.
    Written { bytes: u64 },
}

/// The temporary file a download to `dest` writes first. One fixed name per destination:
/// an attempt that was killed leaves at most this file, and the next attempt replaces it.
pub fn partial_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    dest.with_file_name(format!(".{name}.quorate-partial"))
}

impl Connections {
    /// Copies `src` on `host` to `dest` here (created 0600: a fetched file may hold keys),
    /// creating `dest`'s directory if needed. Left alone when `dest` already has the same
    /// content. Memory stays bounded whatever the file's size.
    pub async fn download_to(
        &self,
        host: &HostSpec,
        src: &str,
        dest: &Path,
    ) -> Result<Download, TransportError> {
        let local = |what: &str, path: &Path, e: std::io::Error| {
            TransportError::Setup(format!("cannot {what} {}: {e}", path.display()))
        };
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| local("create", dir, e))?;
        let partial = partial_path(dest);
        let file = open_private(&partial)
            .await
            .map_err(|e| local("write", &partial, e))?;
        let result = self.stream_into(host, src, file).await;
        let (bytes, sha, file) = match result {
            Ok(done) => done,
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(e);
            }
        };
        if file_sha256(dest).await.is_some_and(|have| have == sha) {
            drop(file);
            let _ = tokio::fs::remove_file(&partial).await;
            return Ok(Download::Same);
        }
        let settle = async {
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&partial, dest).await?;
            // The rename itself is durable once the directory is.
            tokio::fs::File::open(dir).await?.sync_all().await
        };
        if let Err(e) = settle.await {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(local("write", dest, e));
        }
        Ok(Download::Written { bytes })
    }

    /// Streams `src` into `file`; returns its size and SHA-256 once they match the host's.
    async fn stream_into(
        &self,
        host: &HostSpec,
        src: &str,
        file: tokio::fs::File,
    ) -> Result<(u64, String, tokio::fs::File), TransportError> {
        let script = format!("set -- read {} '' 0 ''\n{TRANSFER_SH}", shell::quote(src));
        let mut sink = Hashing::new(tokio::io::BufWriter::with_capacity(256 * 1024, file));
        let out = self
            .run_keeping(host, &script, b"", Keep::Stream(&mut sink))
            .await?;
        let what = format!("cannot read {src}");
        if !out.success() {
            return Err(failed(host, &what, &out));
        }
        let stderr = out.stderr_text();
        let told = stderr
            .lines()
            .last()
            .and_then(|l| l.strip_prefix("sha256 "));
        let (bytes, sha, file) = sink.finish();
        match told {
            Some(want) if want == sha => Ok((bytes, sha, file.into_inner())),
            Some(_) => Err(TransportError::Remote {
                host: host.name.clone(),
                message: format!(
                    "{what}: what arrived does not have the file's SHA-256 (it changed while \
                     it was read); nothing was written"
                ),
            }),
            None => Err(failed(host, &what, &out)),
        }
    }
}

/// Opens `path` for writing from the start, readable by this user only, whatever was there.
async fn open_private(path: &Path) -> std::io::Result<tokio::fs::File> {
    use std::os::unix::fs::PermissionsExt as _;
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .await?;
    // A leftover from an earlier attempt keeps its mode: narrow it too.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .await?;
    Ok(file)
}

/// The SHA-256 of a file here, read in chunks; `None` when it cannot be read.
async fn file_sha256(path: &Path) -> Option<String> {
    let mut file = tokio::fs::File::open(path).await.ok()?;
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut chunk).await.ok()?;
        if n == 0 {
            return Some(hex_digest(&hasher.finalize()));
        }
        hasher.update(&chunk[..n]);
    }
}

/// A writer that hashes and counts what it passes on.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    fn finish(self) -> (u64, String, W) {
        (self.bytes, hex_digest(&self.hasher.finalize()), self.inner)
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Hashing<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            this.hasher.update(&buf[..n]);
            this.bytes += n as u64;
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn the_partial_file_is_hidden_beside_the_destination() {
        assert_eq!(
            super::partial_path(Path::new("backups/r1/node0/data.tar.gz")),
            Path::new("backups/r1/node0/.data.tar.gz.quorate-partial")
        );
    }
}
