//! `plan --probe`: what a run of the plan would do, read from the hosts without changing
//! them. It evaluates `when`, the guards (read-only by contract) and the health gates
//! over the real transport, never a task's action, and says per task: would run, would
//! be skipped, or unknown with why: a field that reads an earlier task's output, a guard
//! checked after an earlier task on its host changes things, a gate that would not pass
//! now. Unknown propagates to what depends on it instead of failing the probe.

use std::collections::HashMap;

use serde::Serialize;

use super::attempt::{Attempt, Outcome};
use super::context::Results;
use super::dispatcher::{ExecOptions, EXCLUDED_BY_LIMIT};
use super::events::Silent;
use super::gate::run_gate;
use super::hosts::host_spec;
use super::mask::SecretMask;
use crate::plan::{is_false, Action, EnvValue, Gate, NodeKind, Plan, Secrets, Task, Text};
use crate::template::{CompiledTemplate, Quoting, Renderer};
use crate::transport::Connections;

/// The run id deferred templates see during a probe (`{{run.id}}`).
pub const PROBE_RUN_ID: &str = "probe";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    WouldRun,
    WouldSkip,
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WouldRun => "would-run",
            Self::WouldSkip => "would-skip",
            Self::Unknown => "unknown",
        }
    }
}

/// One task's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskProbe {
    pub node: usize,
    pub step: String,
    pub host: String,
    pub verdict: Verdict,
    pub reason: String,
}

/// One rolling batch's health gate, as it reads now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GateProbe {
    pub rolling: String,
    pub batch: usize,
    pub passes: Option<bool>,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub tasks: Vec<TaskProbe>,
    pub gates: Vec<GateProbe>,
}

/// What the probe knows of a node once it is evaluated.
#[derive(Clone, Debug)]
enum Known {
    /// Done or skipped, as far as the probe can tell.
    Settled,
    /// Cannot be told before a real run: the task (or gate) at the root of it, and why.
    Unknown(String),
}

/// Probes every task of the plan, in dependency order.
pub async fn probe(plan: &Plan, conns: &Connections, secrets: &Secrets) -> Probe {
    let renderer = Renderer::new();
    let results = Results::default();
    let mask = SecretMask::new(secrets);
    // Needs always name earlier nodes; the sort guards against a plan where they do not.
    let order: Vec<usize> = petgraph::algo::toposort(&plan.graph(), None).map_or_else(
        |_| (0..plan.nodes.len()).collect(),
        |o| {
            o.into_iter()
                .map(petgraph::graph::NodeIndex::index)
                .collect()
        },
    );
    let mut known: HashMap<usize, Known> = HashMap::new();
    // For each node, the tasks before it that would change a host (or might), by host:
    // a guard checked after them reads a state the probe cannot see now.
    let mut changed_before: HashMap<usize, Vec<(String, String)>> = HashMap::new();
    let mut out = Probe::default();
    for id in order {
        let node = &plan.nodes[id];
        let mut before: Vec<(String, String)> = Vec::new();
        for need in &node.needs {
            for c in changed_before.get(need).into_iter().flatten() {
                if !before.contains(c) {
                    before.push(c.clone());
                }
            }
        }
        let unknown_need = node.needs.iter().find_map(|n| match known.get(n) {
            Some(Known::Unknown(root)) => Some(root.clone()),
            _ => None,
        });
        let state = match &node.kind {
            NodeKind::Join { .. } => unknown_need.map_or(Known::Settled, Known::Unknown),
            NodeKind::Gate(gate) => {
                let (state, gp) = probe_gate(plan, gate, conns, unknown_need).await;
                out.gates.push(gp);
                state
            }
            NodeKind::Task(task) => {
                let attempt = Attempt {
                    plan,
                    task,
                    node: id,
                    attempt: 0,
                    run_id: PROBE_RUN_ID,
                    host: match host_spec(plan, task.host.as_deref()) {
                        Ok(h) => h,
                        Err(e) => {
                            out.tasks
                                .push(verdict(id, task, Verdict::Unknown, e.to_string()));
                            known.insert(id, Known::Unknown(task_name(task)));
                            continue;
                        }
                    },
                    conns,
                    results: &results,
                    secrets,
                    mask: &mask,
                    renderer: &renderer,
                    approved: false,
                };
                let (v, reason) = match unknown_need {
                    Some(root) => (
                        Verdict::Unknown,
                        format!("it comes after {root}, which is unknown"),
                    ),
                    None => probe_task(plan, &attempt, &before).await,
                };
                if v != Verdict::WouldSkip && changes_host(task) {
                    before.push((task.host_name().to_owned(), task_name(task)));
                }
                out.tasks.push(verdict(id, task, v, reason));
                if v == Verdict::Unknown {
                    Known::Unknown(task_name(task))
                } else {
                    Known::Settled
                }
            }
        };
        known.insert(id, state);
        changed_before.insert(id, before);
    }
    out.tasks.sort_by_key(|t| t.node);
    out
}

fn task_name(task: &Task) -> String {
    format!("{}@{}", task.step, task.host_name())
}

fn verdict(node: usize, task: &Task, verdict: Verdict, reason: String) -> TaskProbe {
    TaskProbe {
        node,
        step: task.step.clone(),
        host: task.host_name().to_owned(),
        verdict,
        reason,
    }
}

/// Whether the task's action may change its host: what a later guard on it may read.
fn changes_host(task: &Task) -> bool {
    matches!(task.action, Action::Run { .. } | Action::Copy { .. })
}

/// The `steps.ID` a deferred field reads, if any.
fn reads_output(text: &Text) -> Option<String> {
    let Text::Deferred { deferred } = text else {
        return None;
    };
    reads_steps(deferred)
}

fn reads_steps(template: &str) -> Option<String> {
    let parsed = CompiledTemplate::parse(template).ok()?;
    parsed.variables().iter().find_map(|v| {
        (v.path.first().map(String::as_str) == Some("steps"))
            .then(|| v.path.get(1).cloned().unwrap_or_default())
    })
}

/// Every text field of a task, with its name.
fn fields(task: &Task) -> Vec<(&'static str, &Text)> {
    let mut f: Vec<(&'static str, &Text)> = Vec::new();
    match &task.action {
        Action::Run { command } => f.push(("run", command)),
        Action::Copy { src, dest, .. } | Action::Fetch { src, dest } => {
            f.push(("src", src));
            f.push(("dest", dest));
        }
        Action::Wait { until, .. } => f.push(("until", until)),
        Action::Approve { message } => f.push(("approve", message)),
        Action::Sleep { .. } => {}
    }
    let g = &task.guards;
    for (name, t) in [
        ("when", &task.when),
        ("creates", &g.creates),
        ("removes", &g.removes),
        ("unless", &g.unless),
        ("only_if", &g.only_if),
        ("cwd", &task.cwd),
    ] {
        if let Some(t) = t {
            f.push((name, t));
        }
    }
    f
}

/// The verdict of a task none of whose needs is unknown.
async fn probe_task(
    plan: &Plan,
    attempt: &Attempt<'_>,
    changed_before: &[(String, String)],
) -> (Verdict, String) {
    let task = attempt.task;
    if plan.excluded(task) {
        return (Verdict::WouldSkip, EXCLUDED_BY_LIMIT.to_owned());
    }
    if task.skip {
        return (Verdict::WouldSkip, "`when` is false".to_owned());
    }
    let env_reads = task.env.iter().find_map(|(k, v)| match v {
        EnvValue::Deferred { deferred } => reads_steps(deferred).map(|s| (k.as_str(), s)),
        _ => None,
    });
    if let Some((name, step)) = fields(task)
        .into_iter()
        .find_map(|(name, t)| reads_output(t).map(|s| (name, s)))
        .or(env_reads)
    {
        return (
            Verdict::Unknown,
            format!("`{name}` reads the output of step `{step}`, which only a run produces"),
        );
    }
    if let Some(when) = &task.when {
        match attempt.text(when, Quoting::Plain) {
            Ok(v) if is_false(&v) => {
                return (Verdict::WouldSkip, format!("`when` is {:?}", v.trim()));
            }
            Ok(_) => {}
            Err(e) => return (Verdict::Unknown, format!("`when` cannot be rendered: {e}")),
        }
    }
    let reads_host = !task.guards.is_empty()
        || matches!(task.action, Action::Copy { .. } | Action::Fetch { .. });
    let host = task.host_name();
    if let Some((_, earlier)) = changed_before.iter().find(|(h, _)| h == host && reads_host) {
        return (
            Verdict::Unknown,
            format!("it is checked after {earlier} runs, which may change what it checks"),
        );
    }
    if !task.guards.is_empty() {
        match attempt.guards().await {
            Ok(Some(reason)) => return (Verdict::WouldSkip, reason),
            Ok(None) => {}
            Err(failure) => {
                return (
                    Verdict::Unknown,
                    format!(
                        "its guard could not be checked: {}",
                        failure_reason(&failure)
                    ),
                )
            }
        }
    }
    let guarded = if task.guards.is_empty() {
        "no guard or `when` stops it"
    } else {
        "its guards let it run"
    };
    match &task.action {
        Action::Copy { src, dest, .. } => same_file(attempt, src, dest, true).await,
        Action::Fetch { src, dest } => same_file(attempt, src, dest, false).await,
        Action::Approve { .. } => (Verdict::WouldRun, "it waits for an approval".to_owned()),
        _ => (Verdict::WouldRun, guarded.to_owned()),
    }
}

fn failure_reason(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Failed { reason, .. } => reason.clone(),
        other => format!("{other:?}"),
    }
}

/// A `copy` (to the host) or `fetch` (from it) is skipped by a run when the destination
/// already has the content: compared here, reading both sides, writing neither.
async fn same_file(
    attempt: &Attempt<'_>,
    src: &Text,
    dest: &Text,
    upload: bool,
) -> (Verdict, String) {
    let unknown = |why: String| (Verdict::Unknown, why);
    let (src, dest) = match (
        attempt.text(src, Quoting::Plain),
        attempt.text(dest, Quoting::Plain),
    ) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) | (_, Err(e)) => return unknown(format!("it cannot be rendered: {e}")),
    };
    let same = if upload {
        let data = match tokio::fs::read(&src).await {
            Ok(d) => d,
            Err(e) => return unknown(format!("cannot read {src} on the controller: {e}")),
        };
        attempt.conns.holds(&attempt.host, &data, &dest).await
    } else {
        attempt
            .conns
            .download(&attempt.host, &src)
            .await
            .map(|data| std::fs::read(&dest).is_ok_and(|have| have == data))
    };
    match same {
        Ok(true) => (
            Verdict::WouldSkip,
            format!("{dest} already has this content"),
        ),
        Ok(false) => (Verdict::WouldRun, format!("{dest} differs from {src}")),
        Err(e) => unknown(format!("the files could not be compared: {e}")),
    }
}

/// A batch's health gate as it reads now (no pause, no waiting).
async fn probe_gate(
    plan: &Plan,
    gate: &Gate,
    conns: &Connections,
    unknown_need: Option<String>,
) -> (Known, GateProbe) {
    let rolling = plan.rollings[gate.rolling].step.clone();
    let label = format!("the gate of batch {} of `{rolling}`", gate.batch + 1);
    let mut gp = GateProbe {
        rolling,
        batch: gate.batch + 1,
        passes: None,
        reason: String::new(),
    };
    if let Some(root) = unknown_need {
        gp.reason = format!("it comes after {root}, which is unknown");
        return (Known::Unknown(root), gp);
    }
    let now = Gate {
        pause: None,
        ..gate.clone()
    };
    let options = ExecOptions {
        gate_timeout: std::time::Duration::ZERO,
        ..ExecOptions::default()
    };
    let mut events = Vec::new();
    match run_gate(
        plan,
        &now,
        conns,
        &options,
        PROBE_RUN_ID,
        &Silent,
        &mut events,
    )
    .await
    {
        Ok(()) => {
            gp.passes = Some(true);
            "enough members are healthy now".clone_into(&mut gp.reason);
            (Known::Settled, gp)
        }
        Err(reason) => {
            gp.passes = Some(false);
            gp.reason = format!("it would not pass now: {reason}");
            (Known::Unknown(label), gp)
        }
    }
}
