//! A journal server per host: one long-lived `sh` on one channel that runs task after
//! task through the task journal wrapper, so a task costs no new SSH session, login
//! shell or `sh` start-up. Requests and answers are framed as wrapper.sh describes: a
//! request line, exactly LEN bytes of input, and an answer whose parts end at lines that
//! carry the request's nonce.

use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;

use openssh::Session;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::answer::{Answer, AnswerReader, Nonce};
use crate::shell;

/// The server loop: each request line is `MODE RUN KEY SECS SUDO LEN NONCE`, followed by
/// LEN bytes of input that the wrapper reads itself; each request runs in a subshell, so
/// the wrapper's `exit` ends that request only. The umask and the boot id (which no task
/// can change while the server lives) are read once, here.
pub(crate) fn script(wrapper: &str) -> String {
    format!(
        "q_umask=$(umask)\nq_boot=unknown\n\
         [ -r /proc/sys/kernel/random/boot_id ] && read -r q_boot </proc/sys/kernel/random/boot_id\n\
         while IFS= read -r q_req; do\nset -- $q_req\n(\n{wrapper}\n)\ndone\n"
    )
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
    stdout: AnswerReader<Pin<Box<dyn AsyncRead + Send>>>,
    _process: Process,
    /// A request was sent and its answer not read to the end (the caller gave up):
    /// the stream is out of step, so the server must not be used again.
    pub in_flight: bool,
}

impl Server {
    /// The host's journal server, over a new channel of `session`.
    pub async fn spawn_ssh(session: &Arc<Session>, wrapper: &str) -> io::Result<Self> {
        Self::ssh(session, &script(wrapper)).await
    }

    /// The journal server on this machine.
    pub fn spawn_local(wrapper: &str) -> io::Result<Self> {
        Self::local(&script(wrapper))
    }

    /// `sh -c SCRIPT` over a new channel of `session`, its stdout read as answers.
    pub async fn ssh(session: &Arc<Session>, script: &str) -> io::Result<Self> {
        let line = format!("sh -c {}", shell::quote(script));
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
            stdout: AnswerReader::new(Box::pin(stdout)),
            _process: Process::Ssh(child),
            in_flight: false,
        })
    }

    /// `sh -c SCRIPT` here, its stdout read as answers.
    pub fn local(script: &str) -> io::Result<Self> {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(script)
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
            stdout: AnswerReader::new(Box::pin(stdout)),
            _process: Process::Local(child),
            in_flight: false,
        })
    }

    /// Reads one answer without sending a request: that of a wrapper run once.
    pub async fn answer(&mut self, nonce: &Nonce) -> io::Result<Answer> {
        self.stdout.read(nonce).await
    }

    /// Sends one request (its line and input) and reads its answer, which must carry
    /// the request's nonce.
    pub async fn request(&mut self, request: &[u8], nonce: &Nonce) -> io::Result<Answer> {
        self.in_flight = true;
        self.stdin.write_all(request).await?;
        self.stdin.flush().await?;
        let answer = self.stdout.read(nonce).await?;
        self.in_flight = false;
        Ok(answer)
    }
}
