//! Feeding a child's stdin while draining its stdout and stderr, the same way for a local
//! process and an SSH channel.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::answer::Kept;

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

/// How much of a command's output the controller keeps: a host's output is hostile data,
/// and the controller's memory must not depend on how much of it a host sends.
pub(crate) enum Keep<'a> {
    /// The head and tail of each stream (see [`Kept`]), the rest counted and dropped while
    /// it is still read: for commands whose output is only looked at (guards, checks).
    HeadAndTail,
    /// Every byte, up to `max`: more is an error (`InvalidData`) and reading stops. For
    /// content that must arrive whole (a fetched file).
    All { max: usize },
    /// stdout goes to this writer as it arrives, in chunks (a fetched file of any size
    /// in bounded memory); stderr is kept as with `HeadAndTail`. Nothing is returned for
    /// stdout.
    Stream(&'a mut (dyn AsyncWrite + Unpin + Send)),
}

impl Keep<'_> {
    /// What is kept of stderr: a stream's stderr is only looked at.
    fn for_stderr(&self) -> Keep<'static> {
        match self {
            Keep::All { max } => Keep::All { max: *max },
            Keep::HeadAndTail | Keep::Stream(_) => Keep::HeadAndTail,
        }
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
    keep: Keep<'_>,
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
    let stderr_keep = keep.for_stderr();
    let (written, printed, complained) =
        tokio::join!(feed, drain(stdout, keep), drain(stderr, stderr_keep));
    written?;
    Ok((printed?, complained?))
}

async fn drain<R: AsyncRead + Unpin>(reader: Option<R>, mut keep: Keep<'_>) -> io::Result<Vec<u8>> {
    let Some(mut r) = reader else {
        return Ok(Vec::new());
    };
    let mut chunk = vec![0u8; 64 * 1024];
    let mut kept = Kept::default();
    let mut all = Vec::new();
    loop {
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        match &mut keep {
            Keep::HeadAndTail => kept.push(&chunk[..n]),
            Keep::Stream(sink) => sink
                .write_all(&chunk[..n])
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("cannot write what arrived: {e}")))?,
            Keep::All { max } => {
                let max = *max;
                if all.len() + n > max {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("more than {} MiB of output", max / (1024 * 1024)),
                    ));
                }
                all.extend_from_slice(&chunk[..n]);
            }
        }
    }
    Ok(match keep {
        Keep::HeadAndTail => kept.finish(),
        Keep::All { .. } => all,
        Keep::Stream(sink) => {
            sink.flush().await?;
            Vec::new()
        }
    })
}
