//! The ledger: `data/blocks.jsonl`, one block per line, appended and never rewritten.
//!
//! Reading it replays every block onto the genesis state, so a broken hash chain is found at
//! the first bad height. A last line without its newline is a torn append (the process died
//! mid-write), not corruption: opening the ledger for a node drops it and sync fetches it again.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::chain::block::Block;
use crate::chain::genesis::Genesis;
use crate::chain::state::ChainState;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot access the ledger {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("ledger corrupted at height {height}: {reason}")]
    Corrupt { height: u64, reason: String },
    #[error("the ledger is empty (no genesis block)")]
    Empty,
}

impl LedgerError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// What reading a ledger found: the state up to the last good block and the first problem.
#[derive(Debug)]
pub struct Replay {
    pub genesis: Option<Genesis>,
    pub state: Option<ChainState>,
    pub tip: Option<Block>,
    /// Byte offset of each good block's line; index = height.
    pub offsets: Vec<u64>,
    /// Bytes of good, complete lines.
    pub good_len: u64,
    pub tx_heights: HashMap<String, u64>,
    pub error: Option<LedgerError>,
    pub torn_tail: bool,
}

impl Replay {
    /// The state after the last block, or the first problem found.
    pub fn into_strict(mut self) -> Result<Self, LedgerError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        if self.state.is_none() {
            return Err(LedgerError::Empty);
        }
        Ok(self)
    }
}

/// Replays ledger bytes; stops at the first bad block. `expected` pins block 0 to a genesis.
pub fn replay_bytes(bytes: &[u8], expected: Option<&Genesis>) -> Replay {
    let mut replay = Replay {
        genesis: None,
        state: None,
        tip: None,
        offsets: Vec::new(),
        good_len: 0,
        tx_heights: HashMap::new(),
        error: None,
        torn_tail: false,
    };
    let mut pos = 0usize;
    while pos < bytes.len() {
        let Some(newline) = bytes[pos..].iter().position(|b| *b == b'\n') else {
            replay.torn_tail = true;
            break;
        };
        let line = &bytes[pos..pos + newline];
        let height = u64::try_from(replay.offsets.len()).unwrap_or(u64::MAX);
        if let Err(reason) = replay_line(&mut replay, line, height, expected) {
            replay.error = Some(LedgerError::Corrupt { height, reason });
            break;
        }
        replay.offsets.push(u64::try_from(pos).unwrap_or(u64::MAX));
        pos += newline + 1;
        replay.good_len = u64::try_from(pos).unwrap_or(u64::MAX);
    }
    replay
}

fn replay_line(
    replay: &mut Replay,
    line: &[u8],
    height: u64,
    expected: Option<&Genesis>,
) -> Result<(), String> {
    let block: Block =
        serde_json::from_slice(line).map_err(|e| format!("unparsable block ({e})"))?;
    if height == 0 {
        if block.height != 0 {
            return Err(format!("expected height 0, found {}", block.height));
        }
        let computed = block.compute_hash();
        if computed != block.hash {
            return Err(format!(
                "hash mismatch (stored {}, computed {computed})",
                block.hash
            ));
        }
        let Some(genesis) = block.genesis.clone() else {
            return Err("block 0 carries no genesis".into());
        };
        if let Some(expected) = expected {
            if expected.block() != block {
                return Err("block 0 is not this node's genesis (genesis.json)".into());
            }
        }
        replay.state = Some(ChainState::from_genesis(&genesis, &block.hash));
        replay.genesis = Some(genesis);
    } else {
        let state = replay.state.as_mut().ok_or("no genesis state")?;
        state.apply_block(&block).map_err(|e| e.to_string())?;
        for tx in &block.txs {
            replay.tx_heights.insert(tx.hash(), height);
        }
    }
    replay.tip = Some(block);
    Ok(())
}

/// Reads and replays a ledger file (lenient: see `Replay::error`).
pub fn replay_file(path: &Path, expected: Option<&Genesis>) -> Result<Replay, LedgerError> {
    let bytes = fs::read(path).map_err(|e| LedgerError::io(path, e))?;
    Ok(replay_bytes(&bytes, expected))
}

/// The ledger a running node appends to.
pub struct Ledger {
    path: PathBuf,
    file: File,
    offsets: Vec<u64>,
    end: u64,
    tip: Block,
}

/// A node's view of its ledger right after opening it.
pub struct Opened {
    pub ledger: Ledger,
    pub state: ChainState,
    pub tx_heights: HashMap<String, u64>,
    /// A torn last line was dropped.
    pub repaired_tail: bool,
}

impl Ledger {
    /// Opens (or creates, with block 0 from `genesis`) a node's ledger, checking every block.
    pub fn open(path: &Path, genesis: &Genesis) -> Result<Opened, LedgerError> {
        let io = |e| LedgerError::io(path, e);
        let empty = fs::metadata(path).map_or(true, |m| m.len() == 0);
        if empty {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(io)?;
            }
            fs::write(path, block_line(&genesis.block())).map_err(io)?;
        }
        let replay = replay_file(path, Some(genesis))?.into_strict()?;
        let file = OpenOptions::new().append(true).open(path).map_err(io)?;
        if replay.torn_tail {
            file.set_len(replay.good_len).map_err(io)?;
        }
        let (Some(state), Some(tip)) = (replay.state, replay.tip) else {
            return Err(LedgerError::Empty);
        };
        Ok(Opened {
            ledger: Self {
                path: path.to_path_buf(),
                file,
                offsets: replay.offsets,
                end: replay.good_len,
                tip,
            },
            state,
            tx_heights: replay.tx_heights,
            repaired_tail: replay.torn_tail,
        })
    }

    #[cfg(test)]
    pub fn tip(&self) -> &Block {
        &self.tip
    }

    /// Appends a block the caller has checked against the state (one write, one line).
    pub fn append(&mut self, block: &Block) -> Result<(), LedgerError> {
        let line = block_line(block);
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| LedgerError::io(&self.path, e))?;
        self.offsets.push(self.end);
        self.end += u64::try_from(line.len()).unwrap_or(0);
        self.tip = block.clone();
        Ok(())
    }

    /// Blocks `from..=to`, clipped to what the ledger holds.
    pub fn read_range(&self, from: u64, to: u64) -> Result<Vec<Block>, LedgerError> {
        let to = to.min(self.tip.height);
        if from > to {
            return Ok(Vec::new());
        }
        let index = |h: u64| usize::try_from(h).unwrap_or(usize::MAX);
        let start = self.offsets.get(index(from)).copied().unwrap_or(self.end);
        let stop = self.offsets.get(index(to) + 1).copied().unwrap_or(self.end);
        let io = |e| LedgerError::io(&self.path, e);
        let mut file = File::open(&self.path).map_err(io)?;
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(stop - start)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        bytes
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                serde_json::from_slice(line).map_err(|e| LedgerError::Corrupt {
                    height: from,
                    reason: format!("unparsable block while serving sync ({e})"),
                })
            })
            .collect()
    }
}

fn block_line(block: &Block) -> String {
    serde_json::to_string(block).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::genesis::{ConsensusKind, Member};

    fn genesis() -> Genesis {
        Genesis {
            chain_id: "t".into(),
            consensus: ConsensusKind::Bft,
            compatibility_version: "1.0.0".parse().unwrap(),
            sealers: vec![Member {
                name: "node0".into(),
                node_id: "a".repeat(128),
            }],
            observers: vec![],
            timestamp_ms: 1,
        }
    }

    fn grow(ledger: &mut Ledger, blocks: u64) {
        for _ in 0..blocks {
            let tip = ledger.tip().clone();
            let block = Block::seal(
                tip.height + 1,
                tip.hash,
                tip.timestamp_ms + 1,
                "node0".into(),
                None,
                vec![],
            );
            ledger.append(&block).unwrap();
        }
    }

    #[test]
    fn reopens_serves_ranges_and_names_the_first_bad_height() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blocks.jsonl");
        let mut opened = Ledger::open(&path, &genesis()).unwrap();
        grow(&mut opened.ledger, 5);
        let range = opened.ledger.read_range(2, 9).unwrap();
        assert_eq!(
            range.iter().map(|b| b.height).collect::<Vec<_>>(),
            [2, 3, 4, 5]
        );
        drop(opened);
        let opened = Ledger::open(&path, &genesis()).unwrap();
        assert_eq!(opened.state.height, 5);

        let text = fs::read_to_string(&path).unwrap();
        let edited = text.replacen("\"timestamp_ms\":4", "\"timestamp_ms\":40", 1);
        assert_ne!(text, edited);
        fs::write(&path, edited).unwrap();
        let err = Ledger::open(&path, &genesis()).err().unwrap();
        assert!(
            err.to_string()
                .starts_with("ledger corrupted at height 3: hash mismatch"),
            "{err}"
        );
    }

    #[test]
    fn drops_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blocks.jsonl");
        let mut opened = Ledger::open(&path, &genesis()).unwrap();
        grow(&mut opened.ledger, 2);
        drop(opened);
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("{\"height\":3,\"prev");
        fs::write(&path, text).unwrap();
        let opened = Ledger::open(&path, &genesis()).unwrap();
        assert!(opened.repaired_tail);
        assert_eq!(opened.state.height, 2);
        let mut ledger = opened.ledger;
        grow(&mut ledger, 1);
        assert_eq!(Ledger::open(&path, &genesis()).unwrap().state.height, 3);
    }
}
