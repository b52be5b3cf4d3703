//! Feeding a child's stdin while draining its stdout and stderr, the same way for a local
//! process and an SSH channel.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// What a command printed, and how it ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// The exit code; `None` when the command was killed by a signal.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stderr as text, trimmed, for error messages.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }

    /// How the command ended, for messages: `exit 3` or `killed by a signal`.
    pub fn exit_text(&self) -> String {
        self.code
            .map_or_else(|| "killed by a signal".to_owned(), |c| format!("exit {c}"))
    }
}

/// Writes `data` to `stdin` and then closes it, while reading `stdout` and `stderr` to
/// their ends. All three run at once: a child that fills its output pipe before it reads
/// its input would otherwise deadlock with us. A child that exits without reading all its
/// input is not an error here (the caller's protocol decides whether that matters).
pub(crate) async fn exchange<W, O, E>(
    stdin: Option<W>,
    data: &[u8],
    stdout: Option<O>,
    stderr: Option<E>,
) -> io::Result<(Vec<u8>, Vec<u8>)>
where
    W: AsyncWrite + Unpin,
    O: AsyncRead + Unpin,
    E: AsyncRead + Unpin,
{
    let feed = async move {
        if let Some(mut w) = stdin {
            match w.write_all(data).await {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(e),
            }
            match w.shutdown().await {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e),
            }
            // Dropping the writer closes the pipe: that is the EOF the child waits for.
            drop(w);
        }
        Ok(())
    };
    let (written, printed, complained) = tokio::join!(feed, drain(stdout), drain(stderr));
    written?;
    Ok((printed?, complained?))
}

async fn drain<R: AsyncRead + Unpin>(reader: Option<R>) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(mut r) = reader {
        r.read_to_end(&mut buf).await?;
    }
    Ok(buf)
}
