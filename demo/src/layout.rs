//! Where things live in a chain directory and in a node directory (a FISCO BCOS Air node's shape).
//!
//! ```text
//! DIR/ca/{ca.crt,ca.key}  DIR/genesis.json  DIR/start_all.sh  DIR/stop_all.sh
//! DIR/nodeK/demo-node  start.sh  stop.sh  status.sh  config.ini  genesis.json  node.pid
//! DIR/nodeK/conf/{ca.crt,ssl.key,ssl.crt,node.nodeid}
//! DIR/nodeK/data/{blocks.jsonl,consensus.json,checkpoints/HEIGHT/}  DIR/nodeK/log/node.log
//! ```

use std::path::{Path, PathBuf};

/// A chain directory made by `init`.
pub struct ChainDir {
    pub root: PathBuf,
}

impl ChainDir {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn ca_dir(&self) -> PathBuf {
        self.root.join("ca")
    }

    pub fn ca_crt(&self) -> PathBuf {
        self.ca_dir().join("ca.crt")
    }

    pub fn ca_key(&self) -> PathBuf {
        self.ca_dir().join("ca.key")
    }

    pub fn genesis(&self) -> PathBuf {
        self.root.join("genesis.json")
    }

    pub fn node(&self, name: &str) -> NodeDir {
        NodeDir::new(&self.root.join(name))
    }
}

/// One node's directory.
pub struct NodeDir {
    pub root: PathBuf,
}

impl NodeDir {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn binary(&self) -> PathBuf {
        self.root.join("demo-node")
    }

    pub fn config(&self) -> PathBuf {
        self.root.join("config.ini")
    }

    pub fn genesis(&self) -> PathBuf {
        self.root.join("genesis.json")
    }

    pub fn conf(&self) -> PathBuf {
        self.root.join("conf")
    }

    pub fn node_id(&self) -> PathBuf {
        self.conf().join("node.nodeid")
    }

    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn ledger(&self) -> PathBuf {
        self.data().join("blocks.jsonl")
    }

    pub fn votes(&self) -> PathBuf {
        self.data().join("consensus.json")
    }

    pub fn checkpoints(&self) -> PathBuf {
        self.data().join("checkpoints")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.root.join("log")
    }

    /// Written by `run` once it listens; `start.sh` waits for it.
    pub fn ready_file(&self) -> PathBuf {
        self.root.join("node.ready")
    }

    /// Written by `run` when it refuses to start; `start.sh` prints it.
    pub fn failed_file(&self) -> PathBuf {
        self.root.join("node.failed")
    }
}
