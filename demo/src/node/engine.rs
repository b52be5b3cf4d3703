//! Consensus: one single-decree Paxos instance per height, rounds led by the sealers in turn.
//!
//! The leader of (height h, round r) is sealer (h + r) mod n. Round 0 needs no phase 1 (no
//! lower round exists): its leader proposes, sealers accept, and a block commits on every node
//! that counts n - f accepts of one round. A round that does not commit in time gives way to
//! the next, whose leader first collects n - f promises and re-proposes the highest-round block
//! among them (a new block only if none was accepted). Any two quorums of n - f share a
//! sealer, so two different blocks never commit at one height, whatever crashes and restarts;
//! promises and accepts reach the disk before the messages that announce them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::chain::block::Block;
use crate::chain::genesis::Member;
use crate::chain::hash::short;
use crate::chain::ledger::{Ledger, LedgerError};
use crate::chain::state::{BlockError, ChainState, TxError};
use crate::chain::tx::Tx;
use crate::clock;
use crate::logger::Logger;
use crate::node::mempool::Mempool;
use crate::node::message::{Message, TxState};
use crate::node::peers::PeerTable;
use crate::node::votes::{Accepted, VoteError, VoteRecord, VoteStore};
use crate::version::Version;

/// Pause between a commit and the next round-0 proposal: the block interval.
pub const BLOCK_INTERVAL: Duration = Duration::from_millis(400);
/// How long a round with a live leader may take before the next round starts.
const ROUND_TIMEOUT: Duration = Duration::from_millis(1500);
const MAX_ROUND_TIMEOUT: Duration = Duration::from_secs(3);
/// A round whose leader is not heard from gives way sooner.
const DEAD_LEADER_TIMEOUT: Duration = Duration::from_millis(500);
/// Right after start no peer is heard from yet: no leader counts as dead before this.
const WARMUP: Duration = Duration::from_secs(2);
/// Prepare and Propose are sent again at this pace until the height commits.
const RESEND: Duration = Duration::from_millis(500);

/// A message to send: to every connected node, or to one node id.
#[derive(Debug)]
pub enum Out {
    Broadcast(Message),
    Send(String, Message),
}

/// Errors that stop the node: it cannot go on safely.
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Votes(#[from] VoteError),
    #[error("this binary is version {mine}, older than the chain's compatibility_version {chain} (from block {height}); replace it with a release >= {chain}")]
    Incompatible {
        mine: Version,
        chain: Version,
        height: u64,
    },
    #[error("committed block {height} does not apply: {error}")]
    Apply { height: u64, error: BlockError },
}

pub struct Engine {
    me: Member,
    version: Version,
    ledger: Ledger,
    state: ChainState,
    votes: VoteStore,
    record: VoteRecord,
    log: Logger,
    round: u64,
    round_started: Instant,
    height_started: Instant,
    started: Instant,
    /// Valid proposals seen at this height, by hash.
    seen: HashMap<String, Block>,
    /// (round, hash) -> sealers that accepted it.
    accepts: HashMap<(u64, String), BTreeSet<String>>,
    /// Promises for the round this node leads.
    promises: BTreeMap<String, Option<Accepted>>,
    last_prepare: Option<Instant>,
    last_propose: Option<Instant>,
    mempool: Mempool,
    tx_heights: HashMap<String, u64>,
    /// Set by `admin move-leader`: this process proposes nothing and passes its turns at
    /// once, so stopping it afterwards costs the chain no round timeout. A restart clears it.
    steps_down: bool,
}

/// How a block came to commit, for the log.
#[derive(Clone, Copy)]
enum Source {
    Round(u64),
    Sync,
}

impl Engine {
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts a node assembles at start"
    )]
    pub fn new(
        me: Member,
        version: Version,
        ledger: Ledger,
        state: ChainState,
        tx_heights: HashMap<String, u64>,
        votes: VoteStore,
        log: Logger,
        now: Instant,
    ) -> Result<Self, Fatal> {
        let record = votes.load(state.height + 1)?;
        Ok(Self {
            me,
            version,
            ledger,
            round: record.promised,
            record,
            state,
            votes,
            log,
            round_started: now,
            height_started: now,
            started: now,
            seen: HashMap::new(),
            accepts: HashMap::new(),
            promises: BTreeMap::new(),
            last_prepare: None,
            last_propose: None,
            mempool: Mempool::default(),
            tx_heights,
            steps_down: false,
        })
    }

    pub fn state(&self) -> &ChainState {
        &self.state
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn round(&self) -> u64 {
        self.round
    }

    pub fn steps_down(&self) -> bool {
        self.steps_down
    }

    /// Stops leading until the process restarts (`admin move-leader`).
    pub fn step_down(&mut self) {
        if !self.steps_down {
            self.steps_down = true;
            self.log.info(
                "CONSENSUS",
                "moving leadership away: this node passes its proposer turns until it restarts",
            );
        }
    }

    /// Whether this node leads the round it is in now.
    pub fn leads_now(&self) -> bool {
        !self.steps_down && self.leader_is(self.round, &self.me.node_id)
    }

    /// What this node tells its peers every heartbeat and after every commit.
    pub fn heartbeat(&self) -> Message {
        Message::Heartbeat {
            height: self.state.height,
            hash: self.state.tip_hash.clone(),
            steps_down: self.steps_down,
        }
    }

    fn working_height(&self) -> u64 {
        self.state.height + 1
    }

    fn is_sealer(&self, node_id: &str) -> bool {
        self.state.is_sealer(node_id)
    }

    fn leader_is(&self, round: u64, node_id: &str) -> bool {
        self.state
            .leader(self.working_height(), round)
            .is_some_and(|m| m.node_id == node_id)
    }

    /// Handles a consensus message from a peer (other kinds are the runner's).
    pub fn on_message(
        &mut self,
        from: &str,
        msg: Message,
        now: Instant,
    ) -> Result<Vec<Out>, Fatal> {
        let h = self.working_height();
        match msg {
            Message::Prepare { height, round } if height == h => self.on_prepare(from, round, now),
            Message::Promise {
                height,
                round,
                accepted,
            } if height == h => self.on_promise(from, round, accepted, now),
            Message::Propose {
                height,
                round,
                block,
            } if height == h => self.on_propose(from, round, block, now),
            Message::Accept {
                height,
                round,
                hash,
            } if height == h => self.on_accept(from, round, &hash, now),
            Message::Nack { height, round } if height == h && self.is_sealer(from) => {
                self.enter_round(round, now);
                Ok(Vec::new())
            }
            _ => Ok(Vec::new()),
        }
    }

    /// Timers: round timeouts and, for the round's leader, proposing.
    pub fn on_tick(&mut self, now: Instant, peers: &PeerTable) -> Result<Vec<Out>, Fatal> {
        if !self.is_sealer(&self.me.node_id) {
            return Ok(Vec::new());
        }
        if now.duration_since(self.round_started) >= self.round_timeout(now, peers) {
            self.enter_round(self.round.saturating_add(1), now);
        }
        if self.leads_now() {
            return self.lead(now);
        }
        Ok(Vec::new())
    }

    /// Whether the sealer `node_id` passes its proposer turns (this node or a peer).
    fn passes(&self, node_id: &str, peers: &PeerTable) -> bool {
        if node_id == self.me.node_id {
            self.steps_down
        } else {
            peers.steps_down(node_id)
        }
    }

    fn round_timeout(&self, now: Instant, peers: &PeerTable) -> Duration {
        let leader = self.state.leader(self.working_height(), self.round);
        // A leader that passes its turn gives way at once (round 0 keeps the block interval),
        // unless every sealer passes: then rounds time out as usual instead of spinning.
        let passed = leader.is_some_and(|l| self.passes(&l.node_id, peers))
            && self
                .state
                .sealers
                .iter()
                .any(|s| !self.passes(&s.node_id, peers));
        if passed {
            return if self.round == 0 {
                BLOCK_INTERVAL
            } else {
                Duration::ZERO
            };
        }
        let leader_heard = self
            .state
            .leader(self.working_height(), self.round)
            .is_some_and(|l| l.node_id == self.me.node_id || peers.is_alive(&l.node_id, now));
        if !leader_heard && now.duration_since(self.started) >= WARMUP {
            return DEAD_LEADER_TIMEOUT;
        }
        if self.round == 0 {
            return BLOCK_INTERVAL + ROUND_TIMEOUT;
        }
        let extra =
            Duration::from_millis(500) * u32::try_from(self.round - 1).unwrap_or(u32::MAX).min(4);
        (ROUND_TIMEOUT + extra).min(MAX_ROUND_TIMEOUT)
    }

    fn enter_round(&mut self, round: u64, now: Instant) {
        if round <= self.round {
            return;
        }
        self.round = round;
        self.round_started = now;
        self.promises.clear();
        self.last_prepare = None;
        self.last_propose = None;
        let leader = self
            .state
            .leader(self.working_height(), round)
            .map_or("?", |m| m.name.as_str());
        self.log.info(
            "CONSENSUS",
            format!(
                "view change: height {} round {round}, leader {leader}",
                self.working_height()
            ),
        );
    }

    /// Starts the next height with what this node may already have promised there (a node
    /// that re-synced after losing its ledger must still keep its word).
    fn enter_height(&mut self, now: Instant) -> Result<(), Fatal> {
        self.record = self.votes.load(self.working_height())?;
        self.round = self.record.promised;
        self.round_started = now;
        self.height_started = now;
        self.seen.clear();
        self.accepts.clear();
        self.promises.clear();
        self.last_prepare = None;
        self.last_propose = None;
        Ok(())
    }

    fn resend_due(last: Option<Instant>, now: Instant) -> bool {
        last.is_none_or(|t| now.duration_since(t) >= RESEND)
    }

    /// The leader's side of a round: phase 1 if needed, then one proposal, re-sent until commit.
    fn lead(&mut self, now: Instant) -> Result<Vec<Out>, Fatal> {
        let (h, r) = (self.working_height(), self.round);
        if self.record.promised > r {
            // Promised a later round to another leader: this round cannot be led safely.
            return Ok(Vec::new());
        }
        if let Some(acc) = self.record.accepted.clone().filter(|a| a.round == r) {
            // Proposed already in this round (perhaps before a restart): the same block again,
            // never a second one.
            if !Self::resend_due(self.last_propose, now) {
                return Ok(Vec::new());
            }
            self.last_propose = Some(now);
            let hash = acc.block.hash.clone();
            self.seen.insert(hash.clone(), acc.block.clone());
            return Ok(vec![
                Out::Broadcast(Message::Propose {
                    height: h,
                    round: r,
                    block: acc.block,
                }),
                Out::Broadcast(Message::Accept {
                    height: h,
                    round: r,
                    hash,
                }),
            ]);
        }
        if r == 0 {
            if now.duration_since(self.height_started) < BLOCK_INTERVAL {
                return Ok(Vec::new());
            }
            let block = self.build_block();
            return self.propose(block, now);
        }
        if self.record.promised < r {
            self.record.promised = r;
            self.votes.save(&self.record)?;
        }
        self.promises
            .insert(self.me.node_id.clone(), self.record.accepted.clone());
        if self.promises.len() >= self.state.quorum() {
            let highest = self
                .promises
                .values()
                .flatten()
                .max_by_key(|a| a.round)
                .map(|a| a.block.clone());
            let block = match highest {
                Some(block) => {
                    self.log.info(
                        "CONSENSUS",
                        format!(
                            "round {r}: re-proposing block {h} ({}) accepted in an earlier round",
                            short(&block.hash)
                        ),
                    );
                    block
                }
                None => self.build_block(),
            };
            return self.propose(block, now);
        }
        if Self::resend_due(self.last_prepare, now) {
            self.last_prepare = Some(now);
            return Ok(vec![Out::Broadcast(Message::Prepare {
                height: h,
                round: r,
            })]);
        }
        Ok(Vec::new())
    }

    fn build_block(&self) -> Block {
        Block::seal(
            self.working_height(),
            self.state.tip_hash.clone(),
            clock::now_ms(),
            self.me.name.clone(),
            None,
            self.mempool.batch(&self.state),
        )
    }

    fn propose(&mut self, block: Block, now: Instant) -> Result<Vec<Out>, Fatal> {
        let (h, r) = (self.working_height(), self.round);
        self.record.promised = r;
        self.record.accepted = Some(Accepted {
            round: r,
            block: block.clone(),
        });
        self.votes.save(&self.record)?;
        self.last_propose = Some(now);
        let hash = block.hash.clone();
        self.seen.insert(hash.clone(), block.clone());
        self.add_accept(self.me.node_id.clone(), r, &hash);
        let mut out = vec![
            Out::Broadcast(Message::Propose {
                height: h,
                round: r,
                block,
            }),
            Out::Broadcast(Message::Accept {
                height: h,
                round: r,
                hash,
            }),
        ];
        out.extend(self.try_commit(now)?);
        Ok(out)
    }

    fn on_prepare(&mut self, from: &str, round: u64, now: Instant) -> Result<Vec<Out>, Fatal> {
        let h = self.working_height();
        if !self.is_sealer(&self.me.node_id) || !self.leader_is(round, from) {
            return Ok(Vec::new());
        }
        if round < self.record.promised {
            let nack = Message::Nack {
                height: h,
                round: self.record.promised,
            };
            return Ok(vec![Out::Send(from.to_string(), nack)]);
        }
        if round > self.record.promised {
            self.record.promised = round;
            self.votes.save(&self.record)?;
        }
        self.enter_round(round, now);
        let promise = Message::Promise {
            height: h,
            round,
            accepted: self.record.accepted.clone(),
        };
        Ok(vec![Out::Send(from.to_string(), promise)])
    }

    fn on_promise(
        &mut self,
        from: &str,
        round: u64,
        accepted: Option<Accepted>,
        now: Instant,
    ) -> Result<Vec<Out>, Fatal> {
        let h = self.working_height();
        let mine = round == self.round && round > 0 && self.leader_is(round, &self.me.node_id);
        if !mine || !self.is_sealer(from) {
            return Ok(Vec::new());
        }
        if accepted.as_ref().is_some_and(|a| a.block.height != h) {
            return Ok(Vec::new());
        }
        self.promises.insert(from.to_string(), accepted);
        self.lead(now)
    }

    fn on_propose(
        &mut self,
        from: &str,
        round: u64,
        block: Block,
        now: Instant,
    ) -> Result<Vec<Out>, Fatal> {
        let h = self.working_height();
        if !self.leader_is(round, from) {
            return Ok(Vec::new());
        }
        if let Err(reason) = self.check_block(&block) {
            self.log.warn(
                "CONSENSUS",
                format!("rejected the proposal for height {h} round {round}: {reason}"),
            );
            return Ok(Vec::new());
        }
        let hash = block.hash.clone();
        self.seen.insert(hash.clone(), block.clone());
        self.enter_round(round, now);
        let mut out = Vec::new();
        if self.is_sealer(&self.me.node_id) {
            let accepted_other = self
                .record
                .accepted
                .as_ref()
                .is_some_and(|a| a.round == round && a.block.hash != hash);
            if round < self.record.promised {
                let nack = Message::Nack {
                    height: h,
                    round: self.record.promised,
                };
                out.push(Out::Send(from.to_string(), nack));
            } else if accepted_other {
                self.log.error(
                    "CONSENSUS",
                    format!(
                        "two different proposals for height {h} round {round}; keeping the first"
                    ),
                );
            } else {
                let already = self
                    .record
                    .accepted
                    .as_ref()
                    .is_some_and(|a| a.round == round);
                if !already {
                    self.record.promised = round;
                    self.record.accepted = Some(Accepted { round, block });
                    self.votes.save(&self.record)?;
                }
                self.add_accept(self.me.node_id.clone(), round, &hash);
                // Sent again for a repeated proposal too: it heals accepts lost on a dropped link.
                out.push(Out::Broadcast(Message::Accept {
                    height: h,
                    round,
                    hash,
                }));
            }
        }
        out.extend(self.try_commit(now)?);
        Ok(out)
    }

    fn on_accept(
        &mut self,
        from: &str,
        round: u64,
        hash: &str,
        now: Instant,
    ) -> Result<Vec<Out>, Fatal> {
        if !self.is_sealer(from) {
            return Ok(Vec::new());
        }
        self.add_accept(from.to_string(), round, hash);
        self.enter_round(round, now);
        self.try_commit(now)
    }

    fn add_accept(&mut self, voter: String, round: u64, hash: &str) {
        self.accepts
            .entry((round, hash.to_string()))
            .or_default()
            .insert(voter);
    }

    fn try_commit(&mut self, now: Instant) -> Result<Vec<Out>, Fatal> {
        let quorum = self.state.quorum();
        let chosen = self
            .accepts
            .iter()
            .filter(|(_, voters)| {
                voters.iter().filter(|v| self.state.is_sealer(v)).count() >= quorum
            })
            .find_map(|((round, hash), _)| self.seen.get(hash).map(|b| (*round, b.clone())));
        match chosen {
            Some((round, block)) => self.commit(&block, Source::Round(round), now),
            None => Ok(Vec::new()),
        }
    }

    /// Whether `block` may be the next block: right height, linked, hashed, transactions apply.
    fn check_block(&self, block: &Block) -> Result<(), String> {
        let mut next = self.state.clone();
        next.apply_block(block).map_err(|e| e.to_string())
    }

    fn commit(&mut self, block: &Block, source: Source, now: Instant) -> Result<Vec<Out>, Fatal> {
        let mut next = self.state.clone();
        next.apply_block(block).map_err(|error| Fatal::Apply {
            height: block.height,
            error,
        })?;
        self.ledger.append(block)?;
        let membership_changed =
            next.sealers != self.state.sealers || next.observers != self.state.observers;
        self.state = next;
        for tx in &block.txs {
            self.tx_heights.insert(tx.hash(), block.height);
            self.log.info(
                "TXPOOL",
                format!("applied {} in block {}", tx.op, block.height),
            );
        }
        for (tx, error) in self.mempool.committed(block, &self.state) {
            self.log
                .warn("TXPOOL", format!("dropped {}: {error}", tx.op));
        }
        if let Source::Round(round) = source {
            self.log.info(
                "CONSENSUS",
                format!(
                    "committed block {} (round {round}, proposer {}, {} txs, hash {})",
                    block.height,
                    block.proposer,
                    block.txs.len(),
                    short(&block.hash)
                ),
            );
        }
        if membership_changed {
            self.log.info(
                "CONSENSUS",
                format!(
                    "sealers now {} (n={}, f={}, quorum {}); observers {}",
                    self.state.sealer_names().join(","),
                    self.state.sealers.len(),
                    self.state.faults(),
                    self.state.quorum(),
                    self.state.observer_names().join(",")
                ),
            );
        }
        if self.version < self.state.compatibility_version {
            return Err(Fatal::Incompatible {
                mine: self.version,
                chain: self.state.compatibility_version,
                height: block.height,
            });
        }
        self.enter_height(now)?;
        Ok(vec![Out::Broadcast(self.heartbeat())])
    }

    /// Commits fetched blocks that extend the ledger; returns how many, or why one was refused.
    pub fn apply_synced(
        &mut self,
        blocks: Vec<Block>,
        now: Instant,
    ) -> Result<(u64, Option<String>), Fatal> {
        let mut applied = 0;
        for block in blocks {
            if block.height <= self.state.height {
                continue;
            }
            if let Err(reason) = self.check_block(&block) {
                return Ok((applied, Some(format!("block {}: {reason}", block.height))));
            }
            self.commit(&block, Source::Sync, now)?;
            applied += 1;
        }
        Ok((applied, None))
    }

    /// A transaction from a client or a peer; `Ok(true)` if it is new here.
    pub fn add_tx(&mut self, tx: Tx) -> Result<bool, TxError> {
        if self.tx_heights.contains_key(&tx.hash()) {
            return Ok(false);
        }
        self.mempool.add(tx, &self.state)
    }

    pub fn tx_state(&self, hash: &str) -> TxState {
        if let Some(height) = self.tx_heights.get(hash) {
            TxState::Committed { height: *height }
        } else if self.mempool.contains(hash) {
            TxState::Pending
        } else if let Some(reason) = self.mempool.dropped(hash) {
            TxState::Dropped {
                reason: reason.clone(),
            }
        } else {
            TxState::Unknown
        }
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
