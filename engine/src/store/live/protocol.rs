//! The live-read protocol: one JSON object per line each way, request then response, any
//! number of them on one connection. Every message carries the protocol version; a server
//! answers a request of another version with a `version` error, so an older reader and a
//! newer controller tell each other apart instead of misreading.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{RunReader, StoreError};

/// Version of the request and response shapes.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest request line a server reads: requests are small, and a peer that sends more is
/// not a quorate reader.
pub(crate) const MAX_REQUEST: u64 = 4096;

/// What a reader asks: one method of [`RunReader`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Query {
    Runs,
    Run {
        id: String,
    },
    Tasks {
        id: String,
    },
    Task {
        id: String,
        node: usize,
    },
    Events {
        id: String,
        after: u64,
    },
    /// Whether the server drives run `id`.
    Drives {
        id: String,
    },
}

#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct Request {
    pub version: u32,
    #[serde(flatten)]
    pub query: Query,
}

/// Why a request was not answered.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorKind {
    /// The run is not in the store.
    NoRun,
    /// The request's version is not the server's.
    Version,
    /// The request could not be read.
    BadRequest,
    /// The store failed to answer.
    Store,
    /// The server has as many readers as it serves at once.
    Busy,
}

#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct WireError {
    pub kind: ErrorKind,
    pub message: String,
}

/// `{"version": 1, "ok": VALUE}` or `{"version": 1, "error": {"kind": .., "message": ..}}`.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct Response {
    pub version: u32,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The answer itself; a `null` value (a run that is not there) is an answer too.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    Ok(Value),
    Error(WireError),
}

impl Response {
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            version: PROTOCOL_VERSION,
            outcome: Outcome::Error(WireError {
                kind,
                message: message.into(),
            }),
        }
    }
}

/// Answers one request line from `reader`, served by the controller that drives run
/// `driving`: the response line, without its newline.
pub(crate) fn answer(reader: &dyn RunReader, driving: Option<&str>, line: &str) -> Vec<u8> {
    let request: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => {
            // A request of another version may have another shape: say so first.
            let version = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v.get("version").and_then(Value::as_u64));
            return match version {
                Some(v) if v != u64::from(PROTOCOL_VERSION) => version_error(v),
                _ => Response::error(ErrorKind::BadRequest, format!("unreadable request: {e}")),
            }
            .to_line();
        }
    };
    if request.version != PROTOCOL_VERSION {
        return version_error(u64::from(request.version)).to_line();
    }
    match &request.query {
        Query::Runs => ok_line(reader.runs()),
        Query::Run { id } => ok_line(reader.run(id)),
        Query::Tasks { id } => ok_line(reader.tasks(id)),
        Query::Task { id, node } => ok_line(reader.task(id, *node)),
        Query::Events { id, after } => ok_line(reader.events_after(id, *after)),
        Query::Drives { id } => ok_line(Ok(driving == Some(id.as_str()))),
    }
}

/// A successful answer, serialized straight from the records: a `show` of a large run
/// is encoded once, without a JSON tree in between.
#[derive(Serialize)]
struct OkLine<'a, T> {
    version: u32,
    ok: &'a T,
}

fn ok_line<T: Serialize>(result: Result<T, StoreError>) -> Vec<u8> {
    let response = match result {
        Ok(value) => {
            let line = OkLine {
                version: PROTOCOL_VERSION,
                ok: &value,
            };
            match serde_json::to_vec(&line) {
                Ok(bytes) => return bytes,
                Err(e) => Response::error(ErrorKind::Store, format!("cannot encode: {e}")),
            }
        }
        Err(StoreError::NoRun(id)) => Response::error(ErrorKind::NoRun, id),
        Err(e) => Response::error(ErrorKind::Store, e.to_string()),
    };
    response.to_line()
}

impl Response {
    /// The response line, without its newline.
    pub fn to_line(&self) -> Vec<u8> {
        // A response is plain data: encoding it cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// What a reader reads back: `ok` present (even `null`) or `error`.
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct Reply<T> {
    pub version: u32,
    #[serde(default = "none", deserialize_with = "present")]
    pub ok: Option<T>,
    #[serde(default)]
    pub error: Option<WireError>,
}

fn none<T>() -> Option<T> {
    None
}

/// A field that is there is `Some`, even when its value is `null`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

fn version_error(found: u64) -> Response {
    Response::error(
        ErrorKind::Version,
        format!("request version {found}; this controller speaks version {PROTOCOL_VERSION}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_answer_is_an_answer_and_errors_are_tagged() {
        let text = String::from_utf8(ok_line(Ok(None::<u32>))).unwrap();
        assert_eq!(text, r#"{"version":1,"ok":null}"#);
        let back: Response = serde_json::from_str(&text).unwrap();
        assert!(matches!(back.outcome, Outcome::Ok(Value::Null)));
        let text = serde_json::to_string(&Response::error(ErrorKind::NoRun, "r")).unwrap();
        assert_eq!(
            text,
            r#"{"version":1,"error":{"kind":"no_run","message":"r"}}"#
        );
    }

    #[test]
    fn requests_of_another_version_are_refused_by_name() {
        let store = tempfile::tempdir().unwrap();
        let store = crate::store::SledStore::open(store.path()).unwrap();
        let answer: Response = serde_json::from_slice(&answer(
            &store,
            None,
            r#"{"version":2,"op":"runs","new_field":1}"#,
        ))
        .unwrap();
        let Outcome::Error(e) = answer.outcome else {
            panic!("expected an error");
        };
        assert_eq!(e.kind, ErrorKind::Version);
        assert_eq!(
            e.message,
            "request version 2; this controller speaks version 1"
        );
        let answer = answer_runs(&store);
        assert!(matches!(answer.outcome, Outcome::Ok(Value::Array(a)) if a.is_empty()));
    }

    fn answer_runs(store: &crate::store::SledStore) -> Response {
        serde_json::from_slice(&answer(store, None, r#"{"version":1,"op":"runs"}"#)).unwrap()
    }

    #[test]
    fn a_reply_tells_a_null_value_from_a_missing_one() {
        let reply: Reply<Option<u32>> = serde_json::from_str(r#"{"version":1,"ok":null}"#).unwrap();
        assert_eq!(reply.ok, Some(None));
        let reply: Reply<Option<u32>> =
            serde_json::from_str(r#"{"version":1,"error":{"kind":"busy","message":"m"}}"#).unwrap();
        assert_eq!(reply.ok, None);
        assert_eq!(reply.error.unwrap().kind, ErrorKind::Busy);
    }
}
