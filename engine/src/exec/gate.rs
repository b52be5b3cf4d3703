//! The gate before each rolling batch: the pause, then the cluster health check, which
//! waits until taking the batch down would still leave `n - f` healthy members. With a
//! `cluster.membership` command, n and f come from its live answer, asked again at every
//! poll, rather than from the plan, and the members counted are the inventory hosts it
//! names (a host added to the cluster since the inventory was written counts too).

use std::time::Instant;

use super::dispatcher::ExecOptions;
use super::events::{EventKind, ExecEvent, LiveMembers, Observer};
use super::hosts::host_spec;
use super::join::join_all;
use crate::model::raw::Consensus;
use crate::model::Quorum;
use crate::plan::{Gate, Plan, Rolling, Text};
use crate::transport::Connections;

/// How long one member's health (or membership) command may take.
const HEALTH_COMMAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Longest piece of a hostile membership line quoted in an event.
const QUOTED_LINE_LIMIT: usize = 80;

/// What a gate ends with, and the entries it leaves in the run's event log.
pub struct GateOutcome {
    pub result: Result<(), String>,
    pub events: Vec<(EventKind, String)>,
}

/// The live voting members named by a `cluster.membership` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveMembership {
    /// Hosts of the inventory the answer names, in its order, each once.
    pub members: Vec<String>,
    /// Lines naming no host of the inventory (ignored, reported as a warning).
    pub ignored: Vec<String>,
    pub quorum: Quorum,
}

/// Reads a membership answer (one host name a line; blank lines skipped) against the
/// inventory's hosts and recomputes n, f and the quorum from what it names.
pub fn live_membership(consensus: Consensus, answer: &str, known: &[String]) -> LiveMembership {
    let mut members: Vec<String> = Vec::new();
    let mut ignored: Vec<String> = Vec::new();
    for line in answer.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if known.iter().any(|k| k == line) {
            if !members.iter().any(|m| m == line) {
                members.push(line.to_owned());
            }
        } else {
            let quoted: String = line.chars().take(QUOTED_LINE_LIMIT).collect();
            if !ignored.contains(&quoted) {
                ignored.push(quoted);
            }
        }
    }
    let quorum = Quorum::new(consensus, members.len());
    LiveMembership {
        members,
        ignored,
        quorum,
    }
}

/// Runs one host's command with the time limit; its standard output when it exits 0.
async fn ask(plan: &Plan, conns: &Connections, host: &str, cmd: &Text) -> Option<String> {
    answer(plan, conns, host, cmd).await.ok()
}

/// Runs one member's read-only command with the time limit: its standard output when it
/// exits 0, otherwise why there is none.
pub(super) async fn answer(
    plan: &Plan,
    conns: &Connections,
    host: &str,
    cmd: &Text,
) -> Result<String, String> {
    let spec = host_spec(plan, Some(host)).map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(HEALTH_COMMAND_LIMIT, conns.run(&spec, cmd.as_str(), &[]))
        .await
        .map_err(|_| format!("no answer within {}s", HEALTH_COMMAND_LIMIT.as_secs()))?
        .map_err(|e| e.to_string())?;
    if answer.code == Some(0) {
        Ok(String::from_utf8_lossy(&answer.stdout).into_owned())
    } else {
        Err(format!("it ended with {}", answer.exit_text()))
    }
}

/// Runs the membership command on the first healthy host (members first) that answers it
/// (exit 0) naming at least one host of the inventory: an empty or garbled answer must not
/// read as a cluster of none, which any batch would pass.
async fn ask_membership(
    plan: &Plan,
    conns: &Connections,
    rolling: &Rolling,
    consensus: Consensus,
    is_healthy: &(dyn Fn(&str) -> bool + Sync),
) -> Option<(String, LiveMembership)> {
    let known: Vec<String> = rolling.membership.iter().map(|(h, _)| h.clone()).collect();
    for (host, cmd) in rolling.membership.iter().filter(|(h, _)| is_healthy(h)) {
        if let Some(out) = ask(plan, conns, host, cmd).await {
            let live = live_membership(consensus, &out, &known);
            if !live.members.is_empty() {
                return Some((host.clone(), live));
            }
        }
    }
    None
}

/// The event-log entries of a new live answer: the math, then each ignored line.
fn record_live(
    label: &str,
    asked: &str,
    l: &LiveMembership,
    events: &mut Vec<(EventKind, String)>,
) {
    events.push((
        EventKind::Membership,
        format!(
            "{label}: live membership from {asked}: n = {}, f = {}, quorum {} ({})",
            l.quorum.n,
            l.quorum.f,
            l.quorum.needed(),
            l.members.join(", ")
        ),
    ));
    for name in &l.ignored {
        events.push((
            EventKind::MembershipIgnored,
            format!(
                "{label}: cluster.membership on {asked} named {name:?}, not a host of the inventory: line ignored"
            ),
        ));
    }
}

/// Why a batch that takes more live members down than the live f allows is refused.
fn beyond_live_f(label: &str, batch_members: usize, l: &LiveMembership) -> String {
    let q = l.quorum;
    format!(
        "{label} takes {batch_members} live member{} down, more than the live f = {} allows (cluster.membership: n = {}, f = {}, quorum {}: {})",
        if batch_members == 1 { "" } else { "s" },
        q.f,
        q.n,
        q.f,
        q.needed(),
        l.members.join(", ")
    )
}

/// Holds the batch until the gate lets it start; what it learns on the way (the live
/// membership answers) goes to `events`, for the run's event log.
pub async fn run_gate(
    plan: &Plan,
    gate: &Gate,
    conns: &Connections,
    options: &ExecOptions,
    run_id: &str,
    observer: &dyn Observer,
    events: &mut Vec<(EventKind, String)>,
) -> Result<(), String> {
    if let Some(p) = gate.pause {
        tokio::time::sleep(p.as_duration()).await;
    }
    let rolling = &plan.rollings[gate.rolling];
    let (Some(planned), false) = (plan.quorum, rolling.health.is_empty()) else {
        return Ok(());
    };
    let batch = &rolling.batches[gate.batch];
    let label = format!("batch {} of `{}`", gate.batch + 1, rolling.step);
    let start = Instant::now();
    // The count and the live membership are reported when they change, not on every poll.
    let mut last = None;
    let mut last_live: Option<LiveMembership> = None;
    loop {
        // The other hosts count only when a live answer names them.
        let checks = rolling.health.iter().chain(&rolling.health_others);
        let checks = checks.map(|(host, cmd)| async move {
            // A member that cannot be reached by the plan counts as unhealthy, and so
            // does a health command that hangs rather than holding the gate.
            (host.clone(), ask(plan, conns, host, cmd).await.is_some())
        });
        let answers = join_all(checks.collect()).await;
        let is_healthy = |h: &str| answers.iter().any(|(a, ok)| *ok && a == h);
        // The membership command runs on the first healthy member that answers it.
        let live = if rolling.membership.is_empty() {
            None
        } else {
            let found = ask_membership(plan, conns, rolling, planned.consensus, &is_healthy).await;
            match found {
                Some(f) => Some(f),
                None if start.elapsed() >= options.gate_timeout => {
                    return Err(format!(
                        "{label}: no healthy host answered cluster.membership with a host of the inventory, so the live n and f are unknown"
                    ));
                }
                None => {
                    tokio::time::sleep(options.gate_poll).await;
                    continue;
                }
            }
        };
        if let Some((asked, l)) = &live {
            if last_live.as_ref() != Some(l) {
                record_live(&label, asked, l, events);
                last_live = Some(l.clone());
                last = None;
            }
        }
        let quorum = live.as_ref().map_or(planned, |(_, l)| l.quorum);
        let counted = |h: &String| match &live {
            Some((_, l)) => l.members.contains(h),
            None => rolling.health.iter().any(|(m, _)| m == h),
        };
        let healthy: Vec<&String> = answers
            .iter()
            .filter(|(h, ok)| *ok && counted(h))
            .map(|(h, _)| h)
            .collect();
        let going_down = healthy.iter().filter(|h| batch.hosts.contains(h)).count();
        let left = healthy.len() - going_down;
        if last != Some(healthy.len()) {
            last = Some(healthy.len());
            observer.event(&ExecEvent::BatchGate {
                run: run_id.to_owned(),
                rolling: rolling.step.clone(),
                batch: gate.batch + 1,
                batches: rolling.batches.len(),
                healthy: healthy.len(),
                needed: quorum.needed(),
                members: quorum.n,
                live: live.as_ref().map(|(_, l)| LiveMembers {
                    members: l.members.clone(),
                    f: l.quorum.f,
                }),
            });
        }
        // With a live answer, the batch may take down at most the live f of its members.
        let batch_members = match &live {
            Some((_, l)) => batch.hosts.iter().filter(|h| l.members.contains(h)).count(),
            None => 0,
        };
        let within_f = batch_members <= quorum.f;
        if (left >= quorum.needed() && within_f) || rolling.quorum_loss_allowed {
            return Ok(());
        }
        if start.elapsed() >= options.gate_timeout {
            // Only a live answer makes `batch_members` more than zero.
            if let (false, Some((_, l))) = (within_f, &live) {
                return Err(beyond_live_f(&label, batch_members, l));
            }
            let unhealthy: Vec<&str> = answers
                .iter()
                .filter(|(h, ok)| !*ok && counted(h))
                .map(|(h, _)| h.as_str())
                .collect();
            return Err(format!(
                "{label} would leave {left} healthy members, fewer than the {} needed ({} of {} healthy now; unhealthy: {})",
                quorum.needed(),
                healthy.len(),
                quorum.n,
                unhealthy.join(", ")
            ));
        }
        tokio::time::sleep(options.gate_poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn f_is_recomputed_from_the_live_answer() {
        let known = names(&["node0", "node1", "node2", "node3", "node4"]);
        let four = live_membership(Consensus::Bft, "node0\nnode1\nnode2\nnode3\n", &known);
        assert_eq!(
            (four.quorum.n, four.quorum.f, four.quorum.needed()),
            (4, 1, 3)
        );
        let three = live_membership(Consensus::Bft, "node0\nnode1\n\n  node2  \n", &known);
        assert_eq!(
            (three.quorum.n, three.quorum.f, three.quorum.needed()),
            (3, 0, 3)
        );
        let five = live_membership(Consensus::Cft, "node0\nnode1\nnode2\nnode3\nnode4", &known);
        assert_eq!(
            (five.quorum.n, five.quorum.f, five.quorum.needed()),
            (5, 2, 3)
        );
        assert_eq!(five.members, known);
    }

    #[test]
    fn unknown_and_repeated_names_are_not_counted() {
        let known = names(&["node0", "node1"]);
        let live = live_membership(
            Consensus::Cft,
            "node0\nintruder\nnode0\nnode1\nintruder",
            &known,
        );
        assert_eq!(live.members, known);
        assert_eq!(live.ignored, names(&["intruder"]));
        assert_eq!((live.quorum.n, live.quorum.f), (2, 0));
    }
}
