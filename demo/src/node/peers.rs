//! What this node knows of its peers: who they are, when it last heard them, their heights.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A peer unheard for longer is taken as down (heartbeats come every 200 ms).
pub const ALIVE_WINDOW: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone)]
pub struct PeerInfo {
    pub name: String,
    pub addr: String,
    pub session: u64,
    pub last_seen: Instant,
    pub height: u64,
    pub hash: String,
    /// This process of the peer announced that it passes its proposer turns.
    pub steps_down: bool,
}

#[derive(Default)]
pub struct PeerTable {
    peers: HashMap<String, PeerInfo>,
}

impl PeerTable {
    /// Records a hello; true if this is a new process of the peer (first contact or restart).
    pub fn hello(
        &mut self,
        node_id: &str,
        name: &str,
        addr: &str,
        session: u64,
        now: Instant,
    ) -> bool {
        let fresh = self.peers.get(node_id).is_none_or(|p| p.session != session);
        let entry = self
            .peers
            .entry(node_id.to_string())
            .or_insert_with(|| PeerInfo {
                name: name.to_string(),
                addr: addr.to_string(),
                session,
                last_seen: now,
                height: 0,
                hash: String::new(),
                steps_down: false,
            });
        if fresh {
            // A restarted process leads again.
            entry.steps_down = false;
        }
        entry.name = name.to_string();
        entry.addr = addr.to_string();
        entry.session = session;
        entry.last_seen = now;
        fresh
    }

    pub fn seen(&mut self, node_id: &str, now: Instant) {
        if let Some(p) = self.peers.get_mut(node_id) {
            p.last_seen = now;
        }
    }

    pub fn heartbeat(
        &mut self,
        node_id: &str,
        height: u64,
        hash: &str,
        steps_down: bool,
        now: Instant,
    ) {
        if let Some(p) = self.peers.get_mut(node_id) {
            p.last_seen = now;
            p.height = height;
            hash.clone_into(&mut p.hash);
            p.steps_down = steps_down;
        }
    }

    /// Whether the last process heard of this peer passes its proposer turns; it stays so
    /// once the peer is down, so its turns are passed at once instead of timing out.
    pub fn steps_down(&self, node_id: &str) -> bool {
        self.peers.get(node_id).is_some_and(|p| p.steps_down)
    }

    pub fn get(&self, node_id: &str) -> Option<&PeerInfo> {
        self.peers.get(node_id)
    }

    pub fn is_alive(&self, node_id: &str, now: Instant) -> bool {
        self.peers
            .get(node_id)
            .is_some_and(|p| now.duration_since(p.last_seen) <= ALIVE_WINDOW)
    }

    pub fn alive(&self, now: Instant) -> impl Iterator<Item = (&String, &PeerInfo)> {
        self.peers
            .iter()
            .filter(move |(_, p)| now.duration_since(p.last_seen) <= ALIVE_WINDOW)
    }

    /// The live peer with the highest height (ties: any).
    pub fn best(&self, now: Instant) -> Option<(&String, &PeerInfo)> {
        self.alive(now).max_by_key(|(_, p)| p.height)
    }

    /// A known node id by name (for admin commands that name a node).
    pub fn id_by_name(&self, name: &str) -> Option<&String> {
        self.peers
            .iter()
            .find(|(_, p)| p.name == name)
            .map(|(id, _)| id)
    }
}
