//! The reader's side: a [`RunReader`] that asks the running controller over its socket.

use std::io::{BufRead as _, BufReader, ErrorKind, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::protocol::{ErrorKind as WireErrorKind, Query, Reply, Request, PROTOCOL_VERSION};
use super::SOCKET_FILE;
use crate::store::{Event, RunReader, RunRecord, StoreError, TaskRecord};

/// How long a reader waits for one answer: a 50,000-task run answers `tasks` in well under
/// this; a controller that does not answer at all is treated as gone.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// One connection to a running controller.
#[derive(Debug)]
pub struct LiveClient {
    path: PathBuf,
    conn: Mutex<BufReader<UnixStream>>,
}

impl LiveClient {
    /// Connects to the controller serving `dir`. None when nothing listens there: no
    /// socket, or a stale one left by a killed controller (connection refused).
    pub fn connect(dir: &Path) -> Result<Option<Self>, StoreError> {
        let path = dir.join(SOCKET_FILE);
        match UnixStream::connect(&path) {
            Ok(stream) => {
                stream.set_read_timeout(Some(ANSWER_WITHIN))?;
                Ok(Some(Self {
                    path,
                    conn: Mutex::new(BufReader::new(stream)),
                }))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::NotFound | ErrorKind::ConnectionRefused | ErrorKind::InvalidInput
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn ask<T: DeserializeOwned>(&self, query: Query) -> Result<T, StoreError> {
        let request = Request {
            version: PROTOCOL_VERSION,
            query,
        };
        let mut line = serde_json::to_vec(&request)
            .map_err(|e| StoreError::Invalid(format!("cannot encode: {e}")))?;
        line.push(b'\n');
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let gone = |e: std::io::Error| {
            StoreError::Live(format!(
                "the controller serving {} stopped answering: {e}",
                self.path.display()
            ))
        };
        conn.get_mut().write_all(&line).map_err(gone)?;
        let mut answer = String::new();
        if conn.read_line(&mut answer).map_err(gone)? == 0 {
            return Err(gone(ErrorKind::UnexpectedEof.into()));
        }
        let unreadable = |e: serde_json::Error| {
            StoreError::Live(format!("the controller's answer cannot be read: {e}"))
        };
        let reply = serde_json::from_str::<Reply<T>>(&answer);
        let version = match &reply {
            Ok(reply) => Some(u64::from(reply.version)),
            // A controller of another version may answer in another shape: its version
            // says why.
            Err(_) => serde_json::from_str::<serde_json::Value>(&answer)
                .ok()
                .and_then(|v| v.get("version").and_then(serde_json::Value::as_u64)),
        };
        if version.is_some_and(|v| v != u64::from(PROTOCOL_VERSION)) {
            return Err(StoreError::Live(format!(
                "the controller speaks version {} of the live-read protocol, this quorate \
                 version {PROTOCOL_VERSION}: use the quorate that runs it",
                version.unwrap_or_default()
            )));
        }
        match reply.map_err(unreadable)? {
            Reply {
                ok: Some(value), ..
            } => Ok(value),
            Reply {
                error: Some(error), ..
            } if error.kind == WireErrorKind::NoRun => Err(StoreError::NoRun(error.message)),
            Reply {
                error: Some(error), ..
            } => Err(StoreError::Live(format!(
                "the controller refused the read: {}",
                error.message
            ))),
            Reply { .. } => Err(StoreError::Live(
                "the controller's answer holds neither a value nor an error".to_owned(),
            )),
        }
    }
}

impl RunReader for LiveClient {
    fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.ask(Query::Runs)
    }

    fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.ask(Query::Run { id: id.to_owned() })
    }

    fn tasks(&self, id: &str) -> Result<Vec<TaskRecord>, StoreError> {
        self.ask(Query::Tasks { id: id.to_owned() })
    }

    fn task(&self, id: &str, node: usize) -> Result<Option<TaskRecord>, StoreError> {
        self.ask(Query::Task {
            id: id.to_owned(),
            node,
        })
    }

    fn events_after(&self, id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        self.ask(Query::Events {
            id: id.to_owned(),
            after,
        })
    }

    fn driven_elsewhere(&self, id: &str) -> Result<bool, StoreError> {
        self.ask(Query::Drives { id: id.to_owned() })
    }
}
