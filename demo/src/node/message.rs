//! The wire protocol: JSON lines over TCP.
//!
//! A connection opens with a `Hello` (a peer link: the dialer then sends `Message`s one way)
//! or a `Request` (a client such as `status` or `admin`: one request, one `Response`, close).

use std::io::{self, BufRead, Read};

use serde::{Deserialize, Serialize};

use crate::chain::block::Block;
use crate::chain::tx::Tx;
use crate::node::status::StatusReport;
use crate::node::votes::Accepted;
use crate::version::Version;

/// Longest line accepted; a sync batch of blocks stays far below it.
pub const MAX_LINE: u64 = 8 << 20;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Opening {
    Hello(Hello),
    Request(Request),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// The hash of block 0: nodes of another chain (a stale process on a reused port) are refused.
    pub chain_id: String,
    pub node_id: String,
    pub name: String,
    /// Where the sender listens, so the receiver can dial back.
    pub addr: String,
    pub version: Version,
    /// Changes on every start, so a peer knows to drop a link to the previous process.
    pub session: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Message {
    Heartbeat {
        height: u64,
        hash: String,
        /// The sender passes its proposer turns (`admin move-leader`) until it restarts.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        steps_down: bool,
    },
    /// Phase 1 of a round > 0: the round's leader asks for promises.
    Prepare {
        height: u64,
        round: u64,
    },
    Promise {
        height: u64,
        round: u64,
        accepted: Option<Accepted>,
    },
    /// Phase 2: the round's leader proposes a block.
    Propose {
        height: u64,
        round: u64,
        block: Block,
    },
    /// A sealer accepted the proposal; broadcast to all, each node counts them.
    Accept {
        height: u64,
        round: u64,
        hash: String,
    },
    /// "I promised a higher round": tells a lagging leader where the others are.
    Nack {
        height: u64,
        round: u64,
    },
    SyncRequest {
        from: u64,
        to: u64,
    },
    SyncBlocks {
        blocks: Vec<Block>,
    },
    Tx {
        tx: Tx,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdminOp {
    AddSealer,
    AddObserver,
    RemoveNode,
    SetCompatibility,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    Status,
    /// `target` is a node id or a name (or a version for set-compatibility).
    Submit {
        op: AdminOp,
        target: String,
        name: Option<String>,
    },
    TxStatus {
        hash: String,
    },
    /// Stop leading: pass every proposer turn until the process restarts.
    MoveLeader,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    Committed { height: u64 },
    Pending,
    Dropped { reason: String },
    Unknown,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Status(Box<StatusReport>),
    Submitted {
        hash: String,
        description: String,
    },
    Tx(TxState),
    /// A request done; the message says what happened.
    Done {
        message: String,
    },
    Error {
        message: String,
    },
}

/// One JSON line, newline included.
pub fn to_line<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default() + "\n"
}

/// The next line (without its newline), `None` at end of stream; a line over `MAX_LINE` is an error.
pub fn read_line(reader: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        if u64::try_from(line.len()).unwrap_or(u64::MAX) >= MAX_LINE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
        }
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "unterminated line",
        ));
    }
    line.pop();
    Ok(Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bounded_lines() {
        let mut input = io::Cursor::new(b"{\"a\":1}\nsecond\npartial".to_vec());
        assert_eq!(read_line(&mut input).unwrap().unwrap(), b"{\"a\":1}");
        assert_eq!(read_line(&mut input).unwrap().unwrap(), b"second");
        assert!(read_line(&mut input).is_err());
        assert!(read_line(&mut input).unwrap().is_none());
    }

    #[test]
    fn messages_round_trip() {
        let line = to_line(&Message::Accept {
            height: 3,
            round: 1,
            hash: "ab".into(),
        });
        assert_eq!(
            line,
            "{\"accept\":{\"height\":3,\"round\":1,\"hash\":\"ab\"}}\n"
        );
        let back: Message = serde_json::from_str(line.trim()).unwrap();
        assert!(matches!(back, Message::Accept { height: 3, .. }));
    }
}
