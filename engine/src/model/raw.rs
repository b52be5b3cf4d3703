//! The serde shapes of runbook and inventory files. They are read from a document that
//! already passed its schema, so their job is typing, not checking; the compiler checks
//! the meaning (known hosts, needs, cycles, templates).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::duration::Span;

/// `on:`: one name (host, group, `all`, `controller`) or a list of hosts and groups.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum RawTarget {
    One(String),
    Many(Vec<String>),
}

impl RawTarget {
    pub fn names(&self) -> Vec<&str> {
        match self {
            Self::One(s) => vec![s.as_str()],
            Self::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRunbook {
    pub runbook: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub params: IndexMap<String, RawParam>,
    #[serde(default)]
    pub on: Option<RawTarget>,
    pub steps: Vec<RawStep>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawParam {
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub default: Option<Value>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum RawWhen {
    Bool(bool),
    Text(String),
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum RawExit {
    One(i64),
    Many(Vec<i64>),
}

#[derive(Clone, Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    #[serde(default)]
    pub exit: Option<RawExit>,
    #[serde(default)]
    pub stdout: Option<String>,
    #[serde(default)]
    pub stderr: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum RawRetries {
    Count(u32),
    Full(RawRetryPolicy),
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRetryPolicy {
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub delay: Option<Span>,
    #[serde(default)]
    pub backoff: Option<f64>,
    #[serde(default)]
    pub max_delay: Option<Span>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawCopy {
    pub src: String,
    pub dest: String,
    #[serde(default)]
    pub mode: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawFetch {
    pub src: String,
    pub dest: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawWait {
    pub until: String,
    #[serde(default)]
    pub every: Option<Span>,
    #[serde(default)]
    pub timeout: Option<Span>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum RawBatch {
    Count(u64),
    Text(String),
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRolling {
    #[serde(default)]
    pub batch: Option<RawBatch>,
    #[serde(default)]
    pub by: Option<String>,
    #[serde(default)]
    pub pause: Option<Span>,
    pub steps: Vec<RawStep>,
    #[serde(default)]
    pub on_failure: Vec<RawStep>,
}

/// A step as written. Exactly one action field is set (the schema guarantees it).
#[derive(Clone, Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub needs: Option<Vec<String>>,
    #[serde(default)]
    pub on: Option<RawTarget>,
    #[serde(default)]
    pub when: Option<RawWhen>,
    #[serde(default)]
    pub creates: Option<String>,
    #[serde(default)]
    pub removes: Option<String>,
    #[serde(default)]
    pub unless: Option<String>,
    #[serde(default)]
    pub only_if: Option<String>,
    #[serde(default)]
    pub expect: Option<RawExpect>,
    #[serde(default)]
    pub retries: Option<RawRetries>,
    #[serde(default)]
    pub timeout: Option<Span>,
    #[serde(default)]
    pub env: IndexMap<String, Value>,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub sudo: Option<bool>,
    #[serde(default)]
    pub capture: Option<bool>,
    #[serde(default)]
    pub idempotent: Option<bool>,
    // Actions.
    #[serde(default)]
    pub run: Option<String>,
    #[serde(default)]
    pub copy: Option<RawCopy>,
    #[serde(default)]
    pub fetch: Option<RawFetch>,
    #[serde(default)]
    pub wait: Option<RawWait>,
    #[serde(default)]
    pub approve: Option<String>,
    #[serde(default)]
    pub sleep: Option<Span>,
    #[serde(default)]
    pub include: Option<String>,
    #[serde(default)]
    pub with: IndexMap<String, Value>,
    #[serde(default)]
    pub rolling: Option<RawRolling>,
}

/// Which action a step has; the names are the YAML keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    Run,
    Copy,
    Fetch,
    Wait,
    Approve,
    Sleep,
    Include,
    Rolling,
}

impl ActionKind {
    pub fn key(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Copy => "copy",
            Self::Fetch => "fetch",
            Self::Wait => "wait",
            Self::Approve => "approve",
            Self::Sleep => "sleep",
            Self::Include => "include",
            Self::Rolling => "rolling",
        }
    }
}

impl RawStep {
    /// The step's action. The schema admits exactly one, so the first found is the one.
    pub fn action(&self) -> ActionKind {
        if self.run.is_some() {
            ActionKind::Run
        } else if self.copy.is_some() {
            ActionKind::Copy
        } else if self.fetch.is_some() {
            ActionKind::Fetch
        } else if self.wait.is_some() {
            ActionKind::Wait
        } else if self.approve.is_some() {
            ActionKind::Approve
        } else if self.sleep.is_some() {
            ActionKind::Sleep
        } else if self.include.is_some() {
            ActionKind::Include
        } else {
            ActionKind::Rolling
        }
    }

    /// The option keys this step sets, for checking which apply to its action.
    pub fn options_set(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        let flags: [(&'static str, bool); 15] = [
            ("when", self.when.is_some()),
            ("creates", self.creates.is_some()),
            ("removes", self.removes.is_some()),
            ("unless", self.unless.is_some()),
            ("only_if", self.only_if.is_some()),
            ("expect", self.expect.is_some()),
            ("retries", self.retries.is_some()),
            ("timeout", self.timeout.is_some()),
            ("env", !self.env.is_empty()),
            ("cwd", self.cwd.is_some()),
            ("sudo", self.sudo.is_some()),
            ("capture", self.capture.is_some()),
            ("idempotent", self.idempotent.is_some()),
            ("on", self.on.is_some()),
            ("with", !self.with.is_empty()),
        ];
        for (key, present) in flags {
            if present {
                set.push(key);
            }
        }
        set
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawInventory {
    pub name: String,
    pub hosts: IndexMap<String, RawHost>,
    #[serde(default)]
    pub groups: IndexMap<String, Vec<String>>,
    #[serde(default)]
    pub vars: IndexMap<String, Value>,
    #[serde(default)]
    pub cluster: Option<RawCluster>,
    #[serde(default)]
    pub ssh: Option<RawSsh>,
    #[serde(default)]
    pub approvals: Option<RawApprovals>,
}

/// The inventory's approval policy.
#[derive(Clone, Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RawApprovals {
    /// An approval gate must be passed by another operator than the one who started the run.
    #[serde(default)]
    pub four_eyes: bool,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub transport: Option<Transport>,
    #[serde(default)]
    pub vars: IndexMap<String, Value>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Ssh,
    Local,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Consensus {
    /// Byzantine fault tolerant: n = 3f + 1.
    Bft,
    /// Crash fault tolerant (Raft-like): n = 2f + 1.
    Cft,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub consensus: Consensus,
    pub members: RawTarget,
    #[serde(default)]
    pub health: Option<String>,
    #[serde(default)]
    pub membership: Option<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
pub enum HostKeyPolicy {
    #[default]
    #[serde(rename = "strict")]
    Strict,
    #[serde(rename = "accept-new")]
    AcceptNew,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSsh {
    #[serde(default)]
    pub config: Option<String>,
    #[serde(default)]
    pub host_keys: Option<HostKeyPolicy>,
}
