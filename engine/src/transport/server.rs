//! A journal server per host: one long-lived `sh` on one channel that runs task after
//! task through the task journal wrapper, so a task costs no new SSH session, login
//! shell or `sh` start-up. Answers are the wrapper's, with stderr carried in-band.

use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;

use openssh::Session;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use super::pipes::Output;
use super::quote::sh_quote;

/// Ends the recorded stdout and stderr in a server answer (see wrapper.sh).
const STDOUT_END: &[u8] = b"\x1fquorate-journal-end\n";
const STDERR_END: &[u8] = b"\x1fquorate-journal-stderr-end\n";

/// The server loop: each request line is `MODE RUN KEY SECS SUDO`, followed (for a task)
/// by the task's input up to its end line; each runs in a subshell, so the wrapper's
/// `exit` ends that request only.
pub(crate) fn script(wrapper: &str) -> String {
    format!("q_server=1\nwhile IFS= read -r q_req; do\nset -- $q_req\n(\n{wrapper}\n)\ndone\n")
}

enum Process {
    Ssh(
        #[expect(dead_code, reason = "held: dropping it ends the channel")]
        openssh::Child<Arc<Session>>,
    ),
    Local(
        #[expect(dead_code, reason = "held: dropping it ends the process")] tokio::process::Child,
    ),
}

pub(crate) struct Server {
    stdin: Pin<Box<dyn AsyncWrite + Send>>,
    stdout: BufReader<Pin<Box<dyn AsyncRead + Send>>>,
    _process: Process,
    /// A request was sent and its answer not read to the end (the caller gave up):
    /// the stream is out of step, so the server must not be used again.
    pub in_flight: bool,
}

impl Server {
    pub async fn spawn_ssh(session: &Arc<Session>, wrapper: &str) -> io::Result<Self> {
        let line = format!("sh -c {}", sh_quote(&script(wrapper)));
        let mut child = Session::to_raw_command(Arc::clone(session), line)
            .stdin(openssh::Stdio::piped())
            .stdout(openssh::Stdio::piped())
            .stderr(openssh::Stdio::null())
            .spawn()
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        let stdin = child
            .stdin()
            .take()
            .ok_or_else(|| io::Error::other("no stdin"))?;
        let stdout = child
            .stdout()
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        Ok(Self {
            stdin: Box::pin(stdin),
            stdout: BufReader::new(Box::pin(stdout)),
            _process: Process::Ssh(child),
            in_flight: false,
        })
    }

    pub fn spawn_local(wrapper: &str) -> io::Result<Self> {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(script(wrapper))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        Ok(Self {
            stdin: Box::pin(stdin),
            stdout: BufReader::new(Box::pin(stdout)),
            _process: Process::Local(child),
            in_flight: false,
        })
    }

    /// Sends one request and reads its answer, shaped like a one-shot wrapper's output.
    pub async fn request(&mut self, request: &[u8]) -> io::Result<Output> {
        self.in_flight = true;
        self.stdin.write_all(request).await?;
        self.stdin.flush().await?;
        let mut header = Vec::new();
        if self.stdout.read_until(b'\n', &mut header).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the journal server closed",
            ));
        }
        let out = if header.starts_with(b"quorate-journal finished ") {
            let mut stdout = header;
            self.read_to(&mut stdout, STDOUT_END).await?;
            let mut stderr = Vec::new();
            self.read_to(&mut stderr, STDERR_END).await?;
            stderr.truncate(stderr.len() - STDERR_END.len());
            Output {
                code: Some(0),
                stdout,
                stderr,
            }
        } else if let Some(message) = header.strip_prefix(b"quorate-journal error ") {
            Output {
                code: Some(70),
                stdout: Vec::new(),
                stderr: message.to_vec(),
            }
        } else {
            Output {
                code: Some(0),
                stdout: header,
                stderr: Vec::new(),
            }
        };
        self.in_flight = false;
        Ok(out)
    }

    async fn read_to(&mut self, buf: &mut Vec<u8>, end: &[u8]) -> io::Result<()> {
        loop {
            if self.stdout.read_until(b'\n', buf).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the journal server closed mid-answer",
                ));
            }
            if buf.ends_with(end) {
                return Ok(());
            }
        }
    }
}
