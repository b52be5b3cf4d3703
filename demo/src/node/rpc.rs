//! Client requests to a running node: its status, and admin transactions.

use std::time::Instant;

use crate::chain::genesis::Member;
use crate::chain::state::Role;
use crate::chain::tx::{Tx, TxOp};
use crate::clock;
use crate::node::message::{AdminOp, Message, Request, Response};
use crate::node::runner::Node;
use crate::node::status::StatusReport;
use crate::version::Version;

impl Node {
    pub(super) fn answer(&mut self, req: Request, now: Instant) -> Response {
        match req {
            Request::Status => Response::Status(Box::new(self.status(now))),
            Request::TxStatus { hash } => Response::Tx(self.engine.tx_state(&hash)),
            Request::MoveLeader => self.move_leader(),
            Request::Submit { op, target, name } => match self.transaction(op, &target, name) {
                Ok(tx) => self.submit(tx),
                Err(message) => Response::Error { message },
            },
        }
    }

    pub(super) fn status(&self, now: Instant) -> StatusReport {
        let state = self.engine.state();
        let live_sealers: Vec<String> = state
            .sealers
            .iter()
            .filter(|m| m.node_id == self.me.node_id || self.peers.is_alive(&m.node_id, now))
            .map(|m| m.name.clone())
            .collect();
        let highest = self
            .peers
            .alive(now)
            .map(|(_, p)| p.height)
            .max()
            .unwrap_or(0)
            .max(state.height);
        let peers = self.peers.alive(now).count();
        let alone_by_design = state.sealers.len() == 1 && state.is_sealer(&self.me.node_id);
        // Within one block: a commit reaches every node within milliseconds, while heartbeats
        // are 200 ms apart, so "one behind" is a block in flight, not a node falling behind.
        let synced = (peers > 0 || alone_by_design) && state.height + 1 >= highest;
        StatusReport {
            running: true,
            version: self.version.to_string(),
            role: state.role(&self.me.node_id),
            height: state.height,
            synced,
            peers,
            sealers: state.sealer_names(),
            compatibility_version: state.compatibility_version.to_string(),
            name: self.me.name.clone(),
            node_id: self.me.node_id.clone(),
            observers: state.observer_names(),
            consensus: state.consensus.to_string(),
            quorum: state.quorum(),
            sees_quorum: live_sealers.len() >= state.quorum(),
            live_sealers,
            highest_known_height: highest,
            round: self.engine.round(),
            leading: self.engine.leads_now(),
            steps_down: self.engine.steps_down(),
        }
    }

    /// Stops leading; a node that is no sealer leads nothing, and a sole sealer cannot pass.
    fn move_leader(&mut self) -> Response {
        let state = self.engine.state();
        let name = &self.me.name;
        if !state.is_sealer(&self.me.node_id) {
            return Response::Done {
                message: format!("{name} is not a sealer: it leads no round"),
            };
        }
        if state.sealers.len() == 1 {
            return Response::Error {
                message: format!("{name} is the only sealer: no other sealer can lead"),
            };
        }
        self.engine.step_down();
        // Tell the peers now rather than at the next heartbeat: they pass its turns at once.
        self.links.broadcast(&self.engine.heartbeat());
        Response::Done {
            message: format!(
                "{name} no longer leads: it passes its proposer turns until it restarts"
            ),
        }
    }

    /// Builds the transaction for an admin command; `target` is a node id or a node name.
    fn transaction(
        &mut self,
        op: AdminOp,
        target: &str,
        name: Option<String>,
    ) -> Result<Tx, String> {
        let state = self.engine.state();
        let op = match op {
            AdminOp::SetCompatibility => {
                let version: Version = target.parse().map_err(|e| format!("{e}"))?;
                if version > self.version {
                    return Err(format!(
                        "this node runs {}; a compatibility_version of {version} would stop it (upgrade the nodes first)",
                        self.version
                    ));
                }
                TxOp::SetCompatibility { version }
            }
            AdminOp::RemoveNode => {
                let member = state.member(target).ok_or_else(|| {
                    format!("no member of the chain is named or has the id {target}")
                })?;
                TxOp::RemoveNode {
                    node_id: member.node_id.clone(),
                }
            }
            AdminOp::AddSealer | AdminOp::AddObserver => {
                let member = self.resolve(target, name)?;
                if op == AdminOp::AddSealer {
                    TxOp::AddSealer { member }
                } else {
                    TxOp::AddObserver { member }
                }
            }
        };
        self.submitted += 1;
        Ok(Tx {
            op,
            nonce: clock::now_ms()
                .wrapping_mul(1000)
                .wrapping_add(self.submitted),
        })
    }

    /// A node to add: its id and name from the chain, from its hello, or from `--name`.
    fn resolve(&self, target: &str, name: Option<String>) -> Result<Member, String> {
        let state = self.engine.state();
        let is_id = target.len() == 128 && target.bytes().all(|b| b.is_ascii_hexdigit());
        let node_id = if is_id {
            target.to_ascii_lowercase()
        } else if let Some(member) = state.member(target) {
            member.node_id.clone()
        } else if let Some(id) = self.peers.id_by_name(target) {
            id.clone()
        } else {
            return Err(format!(
                "{target} is neither a node id (128 hex digits) nor the name of a member or connected node"
            ));
        };
        let known_name = state
            .member(&node_id)
            .map(|m| m.name.clone())
            .or_else(|| self.peers.get(&node_id).map(|p| p.name.clone()))
            .or_else(|| (node_id == self.me.node_id).then(|| self.me.name.clone()));
        let name = name.or(known_name).ok_or_else(|| {
            "that node id is unknown here: start that node first (it announces its name) or pass --name".to_string()
        })?;
        Ok(Member { name, node_id })
    }

    fn submit(&mut self, tx: Tx) -> Response {
        let description = tx.op.to_string();
        match self.engine.add_tx(tx.clone()) {
            Ok(_) => {
                self.log.info("TXPOOL", format!("submitted {description}"));
                let hash = tx.hash();
                self.links.broadcast(&Message::Tx { tx });
                if self.engine.state().role(&self.me.node_id) == Role::None {
                    self.log.warn(
                        "TXPOOL",
                        "this node is not a member; the transaction reaches the sealers by gossip",
                    );
                }
                Response::Submitted { hash, description }
            }
            Err(e) => Response::Error {
                message: format!("{description}: {e}"),
            },
        }
    }
}
