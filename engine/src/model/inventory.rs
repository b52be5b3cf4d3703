//! The validated inventory: hosts with their merged variables, groups, and the cluster's
//! quorum facts.

use std::sync::Arc;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

use super::raw::{Consensus, HostKeyPolicy, RawInventory, RawTarget, Transport};
use super::Document;
use crate::source::{pointer_push, Diagnostic};

/// Names that select hosts by meaning; no host or group may take them.
pub const RESERVED_TARGETS: [&str; 2] = ["all", super::CONTROLLER];

/// How many members the consensus needs and how many may be down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Quorum {
    pub consensus: Consensus,
    /// Voting members.
    pub n: usize,
    /// Members that may be down at once: bft `floor((n-1)/3)`, cft `floor((n-1)/2)`.
    pub f: usize,
}

impl Quorum {
    pub fn new(consensus: Consensus, n: usize) -> Self {
        let f = match consensus {
            Consensus::Bft => n.saturating_sub(1) / 3,
            Consensus::Cft => n.saturating_sub(1) / 2,
        };
        Self { consensus, n, f }
    }

    /// Healthy members the cluster needs to make progress: `n - f`.
    pub fn needed(&self) -> usize {
        self.n - self.f
    }

    pub fn consensus_name(&self) -> &'static str {
        match self.consensus {
            Consensus::Bft => "bft",
            Consensus::Cft => "cft",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Host {
    pub name: String,
    /// The address to connect to; the host's name when none is given.
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub transport: Transport,
    /// Global variables overridden by the host's own.
    pub vars: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cluster {
    pub members: Vec<String>,
    pub health: Option<String>,
    pub membership: Option<String>,
    /// A read-only command printing a member's version: part of the cluster fingerprint
    /// a saved plan records and `apply` checks.
    pub fingerprint: Option<String>,
    pub quorum: Quorum,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SshSettings {
    pub config: Option<String>,
    pub host_keys: HostKeyPolicy,
}

#[derive(Debug)]
pub struct Inventory {
    pub name: String,
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Vec<String>>,
    pub vars: Map<String, Value>,
    pub cluster: Option<Cluster>,
    pub ssh: SshSettings,
    /// Approval gates need an approver other than the operator who started the run.
    pub four_eyes: bool,
    pub doc: Arc<Document>,
}

impl Inventory {
    /// Checks what the schema cannot: group members and cluster members are known hosts,
    /// and no name means two things.
    pub fn from_raw(raw: RawInventory, doc: Arc<Document>) -> Result<Self, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let vars: Map<String, Value> = raw.vars.into_iter().collect();
        let hosts: IndexMap<String, Host> = raw
            .hosts
            .into_iter()
            .map(|(name, h)| {
                let mut merged = vars.clone();
                merged.extend(h.vars);
                let host = Host {
                    address: h.address.unwrap_or_else(|| name.clone()),
                    name: name.clone(),
                    port: h.port,
                    user: h.user,
                    transport: h.transport.unwrap_or_default(),
                    vars: merged,
                };
                (name, host)
            })
            .collect();
        let host_names: Vec<&str> = hosts.keys().map(String::as_str).collect();
        for (group, members) in &raw.groups {
            let gp = pointer_push("/groups", group);
            if hosts.contains_key(group) {
                errors.push(
                    doc.error_at_key(&gp, format!("group `{group}` has the name of a host"))
                        .with_hint("rename the group: `on:` could not tell which one is meant"),
                );
            }
            for (i, member) in members.iter().enumerate() {
                if !hosts.contains_key(member) {
                    errors.push(unknown_host(
                        &doc,
                        &pointer_push(&gp, &i.to_string()),
                        member,
                        &host_names,
                    ));
                }
            }
        }
        let cluster = raw.cluster.map(|c| {
            let members = cluster_members(&c.members, &raw.groups, &hosts, &doc, &mut errors);
            Cluster {
                quorum: Quorum::new(c.consensus, members.len()),
                members,
                health: c.health,
                membership: c.membership,
                fingerprint: c.fingerprint,
            }
        });
        if let Some(c) = &cluster {
            if c.members.is_empty() && errors.is_empty() {
                errors.push(
                    doc.error_at("/cluster/members", "the cluster has no members")
                        .with_hint("members are the hosts that vote; list at least one"),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let ssh = raw.ssh.map_or_else(SshSettings::default, |s| SshSettings {
            config: s.config,
            host_keys: s.host_keys.unwrap_or_default(),
        });
        Ok(Self {
            name: raw.name,
            hosts,
            groups: raw.groups,
            vars,
            cluster,
            ssh,
            four_eyes: raw.approvals.is_some_and(|a| a.four_eyes),
            doc,
        })
    }
}

/// The hosts `cluster.members` names: a group, one host, or a list of hosts.
fn cluster_members(
    members: &RawTarget,
    groups: &IndexMap<String, Vec<String>>,
    hosts: &IndexMap<String, Host>,
    doc: &Document,
    errors: &mut Vec<Diagnostic>,
) -> Vec<String> {
    match members {
        RawTarget::One(group) => match groups.get(group) {
            Some(list) => list.clone(),
            None if hosts.contains_key(group) => vec![group.clone()],
            None => {
                let names: Vec<&str> = groups.keys().map(String::as_str).collect();
                let d = doc.error_at(
                    "/cluster/members",
                    format!("unknown group `{group}` in cluster members"),
                );
                errors.push(match crate::source::did_you_mean(group, &names) {
                    Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                    None => d.with_hint("name a group from `groups`, or list the member hosts"),
                });
                Vec::new()
            }
        },
        RawTarget::Many(list) => {
            let host_names: Vec<&str> = hosts.keys().map(String::as_str).collect();
            for (i, member) in list.iter().enumerate() {
                if !hosts.contains_key(member) {
                    errors.push(unknown_host(
                        doc,
                        &format!("/cluster/members/{i}"),
                        member,
                        &host_names,
                    ));
                }
            }
            list.clone()
        }
    }
}

fn unknown_host(doc: &Document, pointer: &str, name: &str, hosts: &[&str]) -> Diagnostic {
    let d = doc.error_at(pointer, format!("unknown host `{name}`"));
    match crate::source::did_you_mean(name, hosts) {
        Some(s) => d.with_hint(format!("did you mean `{s}`?")),
        None => d.with_hint("define it under `hosts`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_tolerance_follows_the_consensus() {
        let bft: Vec<usize> = [1, 3, 4, 6, 7, 10]
            .iter()
            .map(|&n| Quorum::new(Consensus::Bft, n).f)
            .collect();
        assert_eq!(bft, [0, 0, 1, 1, 2, 3]);
        let cft: Vec<usize> = [1, 2, 3, 4, 5]
            .iter()
            .map(|&n| Quorum::new(Consensus::Cft, n).f)
            .collect();
        assert_eq!(cft, [0, 0, 1, 1, 2]);
        assert_eq!(Quorum::new(Consensus::Bft, 4).needed(), 3);
    }
}
