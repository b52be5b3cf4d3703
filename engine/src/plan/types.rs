//! The compiled plan: a graph of tasks with every template that can be rendered rendered.
//! It is plain data (serde) so it can be saved, reviewed, compared and executed later.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::env_value::{EnvPart, EnvValue};
use crate::model::inventory::Quorum;
use crate::model::Duration;

/// Version of the plan file format; bumped on any incompatible change.
/// 2: `env` values are typed parts and secrets are listed per scope, not markers in text.
pub const PLAN_FORMAT: u32 = 2;

pub use crate::model::CONTROLLER;

/// Text of a task field: rendered now, or rendered when the task starts because it reads
/// other tasks' results (`steps.*`) or the run id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Text {
    Ready(String),
    Deferred { deferred: String },
}

impl Text {
    pub fn is_deferred(&self) -> bool {
        matches!(self, Self::Deferred { .. })
    }

    /// The text, or the template source of a deferred field.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ready(s) => s,
            Self::Deferred { deferred } => deferred,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Run {
        command: Text,
    },
    Copy {
        src: Text,
        dest: Text,
        mode: Option<String>,
    },
    Fetch {
        src: Text,
        dest: Text,
    },
    Wait {
        until: Text,
        every: Duration,
        timeout: Duration,
    },
    Approve {
        message: Text,
    },
    Sleep {
        duration: Duration,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Run { .. } => "run",
            Self::Copy { .. } => "copy",
            Self::Fetch { .. } => "fetch",
            Self::Wait { .. } => "wait",
            Self::Approve { .. } => "approve",
            Self::Sleep { .. } => "sleep",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guards {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub creates: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub removes: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unless: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub only_if: Option<Text>,
}

impl Guards {
    pub fn is_empty(&self) -> bool {
        self.creates.is_none()
            && self.removes.is_none()
            && self.unless.is_none()
            && self.only_if.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expect {
    pub exit: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stdout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stderr: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retries {
    pub count: u32,
    pub delay: Duration,
    pub backoff: f64,
    pub max_delay: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            count: 0,
            delay: Duration::from_millis(1_000),
            backoff: 2.0,
            max_delay: Duration::from_millis(60_000),
        }
    }
}

/// One step on one host (or on the controller when `host` is `None`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The step's id; steps of an included runbook are `INCLUDE/ID`.
    pub step: String,
    pub host: Option<String>,
    /// Index into [`Plan::scopes`]: whose parameters and `steps.*` names apply.
    pub scope: usize,
    pub action: Action,
    /// Skipped because `when` was false when the plan was made.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub skip: bool,
    /// A `when` that can only be decided when the task starts.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub when: Option<Text>,
    #[serde(skip_serializing_if = "Guards::is_empty", default)]
    pub guards: Guards,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expect: Option<Expect>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub retries: Option<Retries>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub env: Vec<(String, EnvValue)>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cwd: Option<Text>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub sudo: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub capture: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub idempotent: bool,
    /// The rolling block and batch this task belongs to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub batch: Option<BatchRef>,
}

impl Task {
    /// The task's host, or [`CONTROLLER`].
    pub fn host_name(&self) -> &str {
        self.host.as_deref().unwrap_or(CONTROLLER)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRef {
    pub rolling: usize,
    pub batch: usize,
}

/// The start of a rolling batch: pause, then check cluster health, then release the batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    pub rolling: usize,
    pub batch: usize,
    /// Wait this long before the batch (every batch but the first).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pause: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum NodeKind {
    Task(Box<Task>),
    Gate(Gate),
    /// Done when everything it needs is done: the end of a step that has many tasks.
    Join {
        step: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: usize,
    pub needs: Vec<usize>,
    #[serde(flatten)]
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub hosts: Vec<String>,
    /// The `by` value shared by the batch's hosts.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub zone: Option<String>,
    /// How many voting members the batch takes down.
    pub members: usize,
}

/// A command rendered for each of some hosts: (host, command).
pub type HostCommands = Vec<(String, Text)>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rolling {
    pub step: String,
    /// How the batch size was chosen, for the reader: `fault-tolerance (f = 1)`, `2`, `25% of 8`.
    pub rule: String,
    pub size: usize,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pause: Option<Duration>,
    pub batches: Vec<Batch>,
    /// The cluster health command for each member, run before every batch.
    pub health: HostCommands,
    /// The cluster health command for every other host of the inventory (only with a
    /// membership command): counted when the live answer names that host.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub health_others: HostCommands,
    /// The cluster membership command for each member, then each other host (empty
    /// without one): run on the first healthy one before every batch, its answer gives the
    /// live n and f.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub membership: HostCommands,
    /// Steps run, in order, on each host of a failed batch.
    pub on_failure: Vec<Task>,
    /// A batch may take more than f members down (`--allow-quorum-loss`).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub quorum_loss_allowed: bool,
}

/// The parameters and step namespace of the runbook and of each included one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    /// Prefix of step ids in this scope (`""` for the runbook itself, `backup/` inside
    /// the include step `backup`).
    pub prefix: String,
    pub runbook: String,
    /// Values of the parameters that are not secret.
    pub params: serde_json::Map<String, Value>,
    /// The secret parameters, each with what it stands for: a secret of the run, or (in
    /// an included runbook) the text and secrets the include step passed to it.
    #[serde(skip_serializing_if = "IndexMap::is_empty", default)]
    pub secrets: IndexMap<String, Vec<EnvPart>>,
}

/// A step of the runbook as a whole, for display and for `needs` across steps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    pub id: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    /// How `on` was written, or `controller`.
    pub on: String,
    pub needs: Vec<String>,
    /// The rolling block or include this step is inside.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub parent: Option<String>,
    /// Its nodes, in host order.
    pub nodes: Vec<usize>,
    /// Index into [`Plan::rollings`] for a rolling block.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rolling: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanParam {
    pub name: String,
    /// `None` for a secret.
    pub value: Option<Value>,
    pub secret: bool,
    /// Where the value came from: `-p`, a params file, the environment, the default.
    pub origin: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub runbook: String,
    /// The cluster this plan runs on (`inventory.name`): runs lock on it.
    pub cluster: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub quorum: Option<Quorum>,
    pub members: Vec<String>,
    pub params: Vec<PlanParam>,
    pub scopes: Vec<Scope>,
    pub steps: Vec<PlanStep>,
    pub nodes: Vec<Node>,
    pub rollings: Vec<Rolling>,
    /// What deferred templates are rendered against, besides params, host and steps:
    /// `vars`, `hosts`, `groups`, `cluster`.
    pub context: Value,
    /// How to reach each host, frozen with the plan so a resumed run never re-reads files.
    pub connection: Connection,
    /// `--limit`: only these hosts' tasks run (controller tasks still do). Frozen with the
    /// plan, so a resumed run keeps it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit: Option<Limit>,
    /// The inventory's `approvals.four_eyes`: approval gates need an approver other than
    /// the operator who started the run.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub four_eyes: bool,
    /// The read-only commands that take the cluster fingerprint (`cluster.fingerprint`).
    #[serde(skip_serializing_if = "FingerprintCommands::is_empty", default)]
    pub fingerprint: FingerprintCommands,
}

/// The read-only commands whose answers make the cluster fingerprint a saved plan
/// records, each rendered for every member. Empty without `cluster.fingerprint`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintCommands {
    /// `cluster.fingerprint`: prints the member's version.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub version: Vec<(String, Text)>,
    /// `cluster.membership`: prints the live voting members.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub membership: Vec<(String, Text)>,
}

impl FingerprintCommands {
    pub fn is_empty(&self) -> bool {
        self.version.is_empty() && self.membership.is_empty()
    }
}

/// The hosts a `--limit` leaves in a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// As the operator wrote it: host and group names.
    pub names: Vec<String>,
    /// The hosts they name, in inventory order.
    pub hosts: Vec<String>,
}

/// A `--limit` name that is neither a host nor a group of the inventory.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`--limit {name}` names no host or group of the inventory")]
pub struct UnknownLimit {
    pub name: String,
    /// The closest host or group name, if one is close.
    pub suggestion: Option<String>,
}

/// How the hosts of a plan are reached.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub hosts: Vec<HostAddress>,
    /// Extra OpenSSH config from the inventory (absolute path).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ssh_config: Option<String>,
    /// `true` for `host_keys: accept-new`; strict otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub accept_new_host_keys: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostAddress {
    pub name: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user: Option<String>,
    /// Runs on the controller itself (`transport: local`).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub local: bool,
}

impl Plan {
    /// Whether `--limit` leaves `task` out: a task on a host outside the limit. Controller
    /// tasks (approvals, local steps) are never left out.
    pub fn excluded(&self, task: &Task) -> bool {
        match (&self.limit, task.host.as_deref()) {
            (Some(limit), Some(host)) => !limit.hosts.iter().any(|h| h == host),
            _ => false,
        }
    }

    /// Limits the plan to the hosts named, directly or by group (`--limit a,db`). Every
    /// name must be a host or group of the inventory. Tasks are not removed: the plan
    /// keeps every member (the health gate and the quorum math count them all), and the
    /// run skips the excluded tasks.
    pub fn limit_to(&mut self, names: &[String]) -> Result<(), Vec<UnknownLimit>> {
        let hosts: Vec<&str> = self.context["hosts"]
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let groups = self.context["groups"].as_object();
        let mut known: Vec<&str> = hosts.clone();
        known.extend(
            groups
                .into_iter()
                .flat_map(|g| g.keys().map(String::as_str)),
        );
        let mut chosen: Vec<&str> = Vec::new();
        let mut unknown = Vec::new();
        for name in names {
            if hosts.contains(&name.as_str()) {
                chosen.push(name);
            } else if let Some(members) = groups.and_then(|g| g.get(name)) {
                chosen.extend(
                    members
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str),
                );
            } else {
                unknown.push(UnknownLimit {
                    name: name.clone(),
                    suggestion: crate::source::did_you_mean(name, &known).map(str::to_owned),
                });
            }
        }
        if !unknown.is_empty() {
            return Err(unknown);
        }
        let hosts = hosts
            .iter()
            .filter(|h| chosen.contains(h))
            .map(|h| (*h).to_owned())
            .collect();
        self.limit = Some(Limit {
            names: names.to_vec(),
            hosts,
        });
        Ok(())
    }

    pub fn tasks(&self) -> impl Iterator<Item = (&Node, &Task)> {
        self.nodes.iter().filter_map(|n| match &n.kind {
            NodeKind::Task(t) => Some((n, &**t)),
            _ => None,
        })
    }

    /// The dependency graph (edge from a need to the node that needs it).
    pub fn graph(&self) -> petgraph::graph::DiGraph<usize, ()> {
        let mut g = petgraph::graph::DiGraph::with_capacity(self.nodes.len(), self.nodes.len());
        for n in &self.nodes {
            g.add_node(n.id);
        }
        for n in &self.nodes {
            for &need in &n.needs {
                g.add_edge(
                    petgraph::graph::NodeIndex::new(need),
                    petgraph::graph::NodeIndex::new(n.id),
                    (),
                );
            }
        }
        g
    }
}
