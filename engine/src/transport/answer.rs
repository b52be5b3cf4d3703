//! The task journal's answers (see wrapper.sh): a fresh nonce per request, and reading an
//! answer's line and parts up to their nonce-bearing end lines, keeping a bounded head and
//! tail of each part while the whole stream is consumed, so that the next answer starts
//! where it should whatever a host sends.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io;

use tokio::io::{AsyncRead, AsyncReadExt as _};

/// A request's nonce: 128 bits from the OS CSPRNG, as 32 lowercase hex digits. It ends
/// the task input and each part of the answer; the task cannot know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Nonce(String);

impl Nonce {
    pub fn fresh() -> io::Result<Self> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| io::Error::other(format!("no randomness: {e}")))?;
        Ok(Self(bytes.iter().fold(
            String::with_capacity(32),
            |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            },
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The line that ends the task input.
    pub fn input_end(&self) -> String {
        format!("# quorate-end {}\n", self.0)
    }

    fn stdout_end(&self) -> Vec<u8> {
        format!("quorate-journal-stdout-end {}\n", self.0).into_bytes()
    }

    fn stderr_end(&self) -> Vec<u8> {
        format!("quorate-journal-stderr-end {}\n", self.0).into_bytes()
    }
}

/// Most bytes of one part of an answer (stdout or stderr) the controller keeps: the first
/// [`KEPT_HEAD`] and the last `KEPT_OUTPUT - KEPT_HEAD`, with a line saying how many bytes
/// between them were dropped. The store keeps less still; this bounds the controller's
/// memory against a host that prints without end.
pub const KEPT_OUTPUT: usize = 1024 * 1024;
const KEPT_HEAD: usize = 256 * 1024;

/// The longest answer line: a state and a few fields (a complaint with its ids).
const MAX_LINE: usize = 4096;

/// One answer, its nonce checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The answer line after `quorate-journal NONCE `, without its newline.
    pub line: String,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The head and tail of a stream of bytes, within [`KEPT_OUTPUT`] plus a marker line.
#[derive(Default)]
pub(crate) struct Kept {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    dropped: u64,
}

impl Kept {
    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < KEPT_HEAD {
            let n = bytes.len().min(KEPT_HEAD - self.head.len());
            self.head.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        let room = KEPT_OUTPUT - KEPT_HEAD;
        if bytes.len() >= room {
            self.dropped += (self.tail.len() + bytes.len() - room) as u64;
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - room..]);
            return;
        }
        let over = (self.tail.len() + bytes.len()).saturating_sub(room);
        self.dropped += over as u64;
        self.tail.drain(..over);
        self.tail.extend(bytes);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        let mut out = self.head;
        if self.dropped > 0 {
            let marker = format!(
                "\n[... {} bytes dropped by the controller ...]\n",
                self.dropped
            );
            out.extend_from_slice(marker.as_bytes());
        }
        out.extend(self.tail);
        out
    }
}

/// Reads answers from a stream, buffering what it read past the current one.
pub(crate) struct AnswerReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
}

const CHUNK: usize = 64 * 1024;

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the task journal closed mid-answer",
    )
}

impl<R: AsyncRead + Unpin> AnswerReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// Reads more into the buffer, first dropping what was consumed. 0 at the end.
    async fn fill(&mut self) -> io::Result<usize> {
        self.buf.drain(..self.pos);
        self.pos = 0;
        let len = self.buf.len();
        self.buf.resize(len + CHUNK, 0);
        let n = self.inner.read(&mut self.buf[len..]).await?;
        self.buf.truncate(len + n);
        Ok(n)
    }

    /// Reads one answer for the request that carried `nonce`.
    pub async fn read(&mut self, nonce: &Nonce) -> io::Result<Answer> {
        let line = self.line().await?;
        let rest = line
            .strip_prefix("quorate-journal ")
            .and_then(|l| l.strip_prefix(nonce.as_str()))
            .and_then(|l| l.strip_prefix(' '))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "not an answer to this request: {:?}",
                        line.chars().take(200).collect::<String>()
                    ),
                )
            })?
            .to_owned();
        let mut answer = Answer {
            line: rest,
            ..Answer::default()
        };
        if answer.line.starts_with("finished ") {
            answer.stdout = self.part(&nonce.stdout_end()).await?;
            answer.stderr = self.part(&nonce.stderr_end()).await?;
        }
        Ok(answer)
    }

    /// The answer line, without its newline.
    async fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = self.buf[self.pos..].iter().position(|&b| b == b'\n') {
                let line = &self.buf[self.pos..self.pos + i];
                let text = String::from_utf8_lossy(line).into_owned();
                self.pos += i + 1;
                return Ok(text);
            }
            if self.buf.len() - self.pos > MAX_LINE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the task journal's answer line is too long",
                ));
            }
            if self.fill().await? == 0 {
                return Err(closed());
            }
        }
    }

    /// One part of an answer, up to the first occurrence of `end`: the first occurrence is
    /// the real end, since the part cannot hold the nonce and `end` cannot overlap itself.
    async fn part(&mut self, end: &[u8]) -> io::Result<Vec<u8>> {
        let mut kept = Kept::default();
        loop {
            let data = &self.buf[self.pos..];
            if let Some(i) = memchr::memmem::find(data, end) {
                kept.push(&data[..i]);
                self.pos += i + end.len();
                return Ok(kept.finish());
            }
            // All but the last `end.len() - 1` bytes are output for sure; those few may be
            // the start of the end line.
            let sure = data.len().saturating_sub(end.len() - 1);
            kept.push(&data[..sure]);
            self.pos += sure;
            if self.fill().await? == 0 {
                return Err(closed());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonce(s: &str) -> Nonce {
        Nonce(s.to_owned())
    }

    async fn read_all(bytes: &[u8], n: &Nonce) -> io::Result<Answer> {
        AnswerReader::new(bytes).read(n).await
    }

    #[test]
    fn nonces_are_fresh_hex() {
        let (a, b) = (Nonce::fresh().unwrap(), Nonce::fresh().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[tokio::test]
    async fn parts_end_at_their_nonce_only() {
        let n = nonce("abc");
        let old = nonce("old");
        let mut stream = b"quorate-journal abc finished exit=0 timed_out=0\n".to_vec();
        let stdout = [
            &b"x\x1fquorate-journal-end\n"[..],
            &old.stdout_end(),
            b"quorate-journal abc finished exit=0 timed_out=0\nquorate-journal-stdout-end ab",
        ]
        .concat();
        stream.extend(&stdout);
        stream.extend(n.stdout_end());
        stream.extend(b"err");
        stream.extend(n.stderr_end());
        stream.extend(b"quorate-journal abc running pid=3\n");
        let mut reader = AnswerReader::new(&stream[..]);
        let first = reader.read(&n).await.unwrap();
        assert_eq!(first.line, "finished exit=0 timed_out=0");
        assert_eq!((first.stdout, first.stderr), (stdout, b"err".to_vec()));
        assert_eq!(reader.read(&n).await.unwrap().line, "running pid=3");
        assert!(reader.read(&n).await.is_err());
    }

    #[tokio::test]
    async fn another_nonce_or_a_cut_answer_is_an_error() {
        let n = nonce("abc");
        assert!(read_all(b"quorate-journal abd running pid=1\n", &n)
            .await
            .is_err());
        assert!(
            read_all(b"quorate-journal abc finished exit=0 timed_out=0\nout", &n)
                .await
                .is_err()
        );
        assert!(read_all(&vec![b'x'; 10 * MAX_LINE], &n).await.is_err());
    }

    #[tokio::test]
    async fn a_huge_part_keeps_head_and_tail_and_counts_the_rest() {
        let n = nonce("abc");
        let mut stream = b"quorate-journal abc finished exit=0 timed_out=0\n".to_vec();
        let body: Vec<u8> = (0..3 * KEPT_OUTPUT)
            .map(|i| u8::try_from(i % 251).expect("small"))
            .collect();
        stream.extend(&body);
        stream.extend(n.stdout_end());
        stream.extend(n.stderr_end());
        let answer = read_all(&stream, &n).await.unwrap();
        let marker = format!(
            "\n[... {} bytes dropped by the controller ...]\n",
            body.len() - KEPT_OUTPUT
        );
        let want = [
            &body[..KEPT_HEAD],
            marker.as_bytes(),
            &body[body.len() - (KEPT_OUTPUT - KEPT_HEAD)..],
        ]
        .concat();
        assert!(answer.stdout == want, "the kept bytes differ");
        assert!(answer.stderr.is_empty());
    }
}
