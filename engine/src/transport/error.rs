//! What can go wrong between the controller and a host, sorted by what the caller should do.

/// A transport failure. The variant tells the executor what it may do next: retry
/// ([`Connect`](Self::Connect)), ask the host's task journal ([`Lost`](Self::Lost)), or
/// report ([`Remote`](Self::Remote), [`Setup`](Self::Setup), [`Io`](Self::Io)).
#[derive(thiserror::Error, Debug)]
pub enum TransportError {
    /// Could not connect or authenticate: nothing ran on the host, so a retry is safe.
    #[error("cannot connect to {host}: {message}")]
    Connect { host: String, message: String },
    /// The connection dropped (or went silent) while a command ran: it may or may not have
    /// run to the end. The host's task journal knows.
    #[error(
        "lost the connection to {host} while a command ran, so its outcome is unknown: {message}"
    )]
    Lost { host: String, message: String },
    /// The host answered, but not with what was asked: a missing file, a journal directory
    /// it cannot write, a malformed answer.
    #[error("{host}: {message}")]
    Remote { host: String, message: String },
    /// The request cannot be made as configured (a control directory path too long, an
    /// invalid task key, ...); the message says how to fix it.
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl TransportError {
    /// Nothing ran: the same request may simply be tried again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }

    /// The command may have run, partly or fully: consult the task journal before deciding.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Lost { .. })
    }
}

/// An error and its sources on one line, because the crates we call put the useful part
/// (the I/O error, ssh's own words) in the source chain.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_joins_sources_once() {
        let err = Wrapped(std::io::Error::other("Connection refused"));
        assert_eq!(chain(&err), "wrapped: Connection refused");
    }

    #[derive(Debug)]
    struct Wrapped(std::io::Error);
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
}
