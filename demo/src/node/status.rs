//! What `status` reports about a node, from the running node or from its files.

use serde::{Deserialize, Serialize};

use crate::chain::state::Role;

/// The first eight fields are the documented contract; the rest help a person debug.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    pub running: bool,
    pub version: String,
    pub role: Role,
    pub height: u64,
    pub synced: bool,
    pub peers: usize,
    pub sealers: Vec<String>,
    pub compatibility_version: String,
    pub name: String,
    pub node_id: String,
    pub observers: Vec<String>,
    pub consensus: String,
    /// n - f: sealers that must take part for a block to commit.
    pub quorum: usize,
    /// Sealers this node hears from (itself included if it is one).
    pub live_sealers: Vec<String>,
    pub sees_quorum: bool,
    /// The highest height heard from a live peer.
    pub highest_known_height: u64,
    pub round: u64,
    /// This node leads the round it is in.
    #[serde(default)]
    pub leading: bool,
    /// `admin move-leader` made it pass its proposer turns until it restarts.
    #[serde(default)]
    pub steps_down: bool,
}
