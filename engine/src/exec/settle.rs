//! Before a resumed run schedules anything, every task that was running when the
//! controller stopped is settled from its host's journal: finished (take the recorded
//! result), still running (wait for it), never started (run it), or in doubt.

use std::time::Duration;

use super::attempt::{check_expect, journal_key, Outcome};
use super::events::{EventKind, ExecEvent, Observer};
use super::hosts::host_spec;
use super::mask::SecretMask;
use super::scrub::{secret_bearing, Scrub};
use crate::plan::{Action, NodeKind, Plan};
use crate::store::{now_ms, Change, TaskRecord, TaskState};
use crate::transport::journal::{probe, wait_task, JournalState};
use crate::transport::Connections;

#[derive(Clone, Debug, Default)]
pub struct SettleOptions {
    /// Re-run guard-less tasks whose outcome cannot be known.
    pub rerun_interrupted: bool,
    /// `STEP@HOST` tasks the operator checked by hand and declares done.
    pub mark_done: Vec<String>,
}

/// Tasks whose outcome is unknown and that may not simply run again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InDoubt {
    pub node: usize,
    pub step: String,
    pub host: String,
}

/// What settling found: the changes to commit, and the attempts whose host-side output
/// is emptied once they are committed.
#[derive(Debug, Default)]
pub struct Settled {
    pub changes: Vec<Change>,
    pub scrubs: Vec<Scrub>,
}

/// Settles `records` in place and returns what to commit, or the tasks in doubt. Output
/// taken from a journal is masked with `mask` before it is kept.
#[expect(
    clippy::too_many_lines,
    reason = "one decision per journal state, in order"
)]
pub async fn settle(
    plan: &Plan,
    records: &mut [TaskRecord],
    run_id: &str,
    conns: &Connections,
    options: &SettleOptions,
    mask: &SecretMask,
    observer: &dyn Observer,
) -> Result<Settled, Vec<InDoubt>> {
    let mut changes = Vec::new();
    let mut scrubs = Vec::new();
    let mut doubts = Vec::new();
    for rec in records.iter_mut() {
        // `on_failure` tasks (numbered after the nodes) are not resumed. One the
        // controller stopped in the middle of is recorded as failed: it may not have
        // finished undoing its host, and the batch was not reset.
        let Some(NodeKind::Task(task)) = plan.nodes.get(rec.node).map(|n| &n.kind) else {
            if rec.state == TaskState::Running {
                rec.state = TaskState::Failed;
                rec.reason = Some(
                    "interrupted: the controller stopped while it ran; check its host".to_owned(),
                );
                rec.ended_ms = Some(now_ms());
                changes.push(Change::Task(rec.clone()));
            }
            continue;
        };
        let host_name = task.host_name().to_owned();
        let name = format!("{}@{host_name}", task.step);
        let before = rec.state;
        let outcome: String = match rec.state {
            TaskState::Failed => {
                rec.state = TaskState::Pending;
                "failed before: runs again".to_owned()
            }
            TaskState::Running if !matches!(task.action, Action::Run { .. }) => {
                rec.state = TaskState::Pending;
                format!(
                    "interrupted `{}` runs again (it is idempotent)",
                    task.action.name()
                )
            }
            TaskState::Running => {
                let host = match host_spec(plan, task.host.as_deref()) {
                    Ok(h) => h,
                    Err(e) => {
                        // Nothing of this plan can have run there; the drive fails it by name.
                        rec.state = TaskState::Pending;
                        changes.push(Change::Task(rec.clone()));
                        changes.push(
                            EventKind::Settled.change(Some(rec.node), format!("{name}: {e}")),
                        );
                        continue;
                    }
                };
                let key = journal_key(rec.node, rec.attempts);
                let state = probe(conns, &host, run_id, &key).await;
                let finished = match state {
                    Ok(JournalState::Finished(o)) => Some((
                        "finished while the controller was away: result taken from the journal",
                        o,
                    )),
                    Ok(JournalState::Running { .. }) => {
                        match wait_task(conns, &host, run_id, &key, Duration::from_millis(500))
                            .await
                        {
                            Ok(o) => Some((
                                "was still running: waited for it, result taken from the journal",
                                o,
                            )),
                            Err(_) => None,
                        }
                    }
                    Ok(JournalState::NotStarted) => {
                        rec.state = TaskState::Pending;
                        None
                    }
                    Ok(JournalState::Vanished) | Err(_) => None,
                };
                if let Some((how, o)) = finished {
                    if secret_bearing(plan, task) {
                        scrubs.push(Scrub {
                            host: host.clone(),
                            key: key.clone(),
                        });
                    }
                    let o = mask.outcome(o);
                    match mask.attempt(check_expect(task.expect.as_ref(), &o, task.timeout)) {
                        Outcome::Done {
                            exit,
                            stdout,
                            stderr,
                        } => {
                            rec.state = TaskState::Done;
                            rec.exit = exit;
                            rec.stdout = stdout;
                            rec.stderr = stderr;
                        }
                        Outcome::Failed {
                            exit,
                            stdout,
                            stderr,
                            reason,
                            ..
                        } => {
                            // It failed on its own; like any failed task, a resume runs it again.
                            rec.state = TaskState::Pending;
                            rec.exit = exit;
                            rec.stdout = stdout;
                            rec.stderr = stderr;
                            rec.reason = Some(reason);
                        }
                        _ => {}
                    }
                    rec.ended_ms = Some(now_ms());
                    how.to_owned()
                } else if rec.state == TaskState::Pending {
                    "never started: runs now".to_owned()
                } else if !task.guards.is_empty() || task.idempotent {
                    rec.state = TaskState::Pending;
                    "outcome unknown: runs again (its guard decides)".to_owned()
                } else if options.mark_done.contains(&name) {
                    rec.state = TaskState::Done;
                    rec.reason = Some("marked done by the operator".to_owned());
                    "marked done by the operator".to_owned()
                } else if options.rerun_interrupted {
                    rec.state = TaskState::Pending;
                    "outcome unknown: runs again (--rerun-interrupted)".to_owned()
                } else {
                    doubts.push(InDoubt {
                        node: rec.node,
                        step: task.step.clone(),
                        host: host_name.clone(),
                    });
                    continue;
                }
            }
            _ => continue,
        };
        if rec.state != before || before == TaskState::Running {
            observer.event(&ExecEvent::Settled {
                run: run_id.to_owned(),
                node: rec.node,
                step: task.step.clone(),
                host: host_name,
                outcome: outcome.clone(),
            });
            changes.push(Change::Task(rec.clone()));
            changes.push(EventKind::Settled.change(Some(rec.node), format!("{name}: {outcome}")));
        }
    }
    if doubts.is_empty() {
        Ok(Settled { changes, scrubs })
    } else {
        Err(doubts)
    }
}
