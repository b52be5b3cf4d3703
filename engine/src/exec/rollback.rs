//! Rolling blocks' `on_failure` steps: their task records, numbered after the plan's
//! nodes so `show`, `logs` and the summary list them like any task, and running them,
//! in order, on each host of a failed batch.

use std::collections::{BTreeSet, HashMap};

use super::attempt::{journal_key, Attempt, Outcome};
use super::context::Results;
use super::dispatcher::Dispatcher;
use super::events::{EventKind, ExecEvent};
use super::hosts::host_spec;
use super::join::join_all;
use super::scrub::{scrub_after_commit, secret_bearing, Scrub};
use crate::plan::{Plan, Task};
use crate::store::{now_ms, RunStore, StoreError, TaskRecord, TaskState};

/// What one `on_failure` task did: step, host, outcome, host-side output to empty.
type RollbackLine = (String, String, Outcome, Option<Scrub>);

/// Why a batch task is pending again after its batch was rolled back.
pub const ROLLED_BACK: &str = "rolled back by on_failure; runs again on resume";

/// Every `on_failure` task of the plan: its record's node number, its rolling block, the task.
pub fn rollback_tasks(plan: &Plan) -> impl Iterator<Item = (usize, usize, &Task)> {
    let base = plan.nodes.len();
    plan.rollings
        .iter()
        .enumerate()
        .flat_map(|(r, rolling)| rolling.on_failure.iter().map(move |t| (r, t)))
        .enumerate()
        .map(move |(i, (r, t))| (base + i, r, t))
}

/// Whether task record `node` is an `on_failure` task rather than a node of the graph.
pub fn is_rollback(plan: &Plan, node: usize) -> bool {
    node >= plan.nodes.len()
}

/// The pending records of the plan's `on_failure` tasks, made with the run.
pub fn rollback_records(plan: &Plan) -> impl Iterator<Item = TaskRecord> + '_ {
    rollback_tasks(plan).map(|(node, r, t)| {
        let mut rec = TaskRecord::pending(node, t.step.clone(), t.host.clone());
        rec.reason = Some(format!(
            "on_failure of `{}`: runs only if its batch fails",
            plan.rollings[r].step
        ));
        rec
    })
}

impl<S: RunStore + Send + Sync + 'static> Dispatcher<S> {
    /// Runs the rolling blocks' `on_failure` steps, in order, on each host of a failed
    /// batch (hosts in parallel), recording each as a task. When the rollback succeeded
    /// everywhere, the batch's other tasks are pending again: it undid them, so a resume
    /// must do the whole batch again, not just the task that failed (which stays failed).
    pub(super) async fn run_on_failure(
        &self,
        batches: &BTreeSet<(usize, usize)>,
        results: &Results,
        records: &[Option<TaskRecord>],
    ) -> Result<(), StoreError> {
        // Runs created before on_failure tasks had records have none: events only then.
        let mut recorded: HashMap<usize, TaskRecord> = self
            .store
            .tasks(&self.run_id)?
            .into_iter()
            .filter(|t| is_rollback(&self.plan, t.node))
            .map(|t| (t.node, t))
            .collect();
        for &(r, b) in batches {
            let rolling = &self.plan.rollings[r];
            // Hosts outside `--limit` ran nothing of the batch: nothing to undo there.
            let hosts: Vec<String> = rolling.batches[b]
                .hosts
                .iter()
                .filter(|h| self.plan.limit.as_ref().is_none_or(|l| l.hosts.contains(h)))
                .cloned()
                .collect();
            self.observer.event(&ExecEvent::Rollback {
                run: self.run_id.clone(),
                rolling: rolling.step.clone(),
                batch: b + 1,
                batches: rolling.batches.len(),
                hosts: hosts.clone(),
            });
            let why = format!("on_failure of batch {} of `{}`", b + 1, rolling.step);
            let rollback_round = u32::try_from(now_ms() % 1_000_000_000).unwrap_or(1);
            let mut per_host = Vec::new();
            for (host_index, host) in hosts.iter().enumerate() {
                let tasks: Vec<(usize, &Task)> = rollback_tasks(&self.plan)
                    .filter(|&(_, tr, t)| tr == r && t.host.as_deref() == Some(host))
                    .map(|(node, _, t)| (node, t))
                    .collect();
                let own: Vec<Option<TaskRecord>> = tasks
                    .iter()
                    .map(|(node, _)| recorded.remove(node))
                    .collect();
                per_host.push(self.roll_back_host(
                    host,
                    host_index,
                    tasks.into_iter().zip(own).collect(),
                    &why,
                    rollback_round,
                    results,
                ));
            }
            let done = join_all(per_host)
                .await
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?;
            let mut changes = Vec::new();
            let rolled_back = done
                .iter()
                .flatten()
                .all(|(_, _, o, _)| !matches!(o, Outcome::Failed { .. }));
            if rolled_back {
                for rec in records.iter().flatten() {
                    let in_batch = self
                        .task(rec.node)
                        .and_then(|t| t.batch)
                        .is_some_and(|x| (x.rolling, x.batch) == (r, b));
                    if in_batch && !matches!(rec.state, TaskState::Pending | TaskState::Failed) {
                        let mut again = rec.clone();
                        again.state = TaskState::Pending;
                        again.reason = Some(ROLLED_BACK.to_owned());
                        Self::transition(&mut changes, again);
                    }
                }
            }
            let mut scrubs = Vec::new();
            for (step, host, outcome, scrub) in done.into_iter().flatten() {
                scrubs.extend(scrub);
                let message = match &outcome {
                    Outcome::Failed { reason, .. } => {
                        format!("on_failure {step}@{host} failed: {reason}")
                    }
                    Outcome::Skipped { reason } => {
                        format!("on_failure {step}@{host} skipped: {reason}")
                    }
                    _ => format!("on_failure {step}@{host} done"),
                };
                changes.push(EventKind::OnFailure.change(None, message));
            }
            self.commit(changes).await?;
            scrub_after_commit(&self.conns, &self.run_id, scrubs).await;
        }
        Ok(())
    }

    /// One host's `on_failure` tasks, in order, each recorded running then ended (when
    /// the run has records for them); stops at the first that fails.
    async fn roll_back_host(
        &self,
        host: &str,
        host_index: usize,
        tasks: Vec<((usize, &Task), Option<TaskRecord>)>,
        why: &str,
        round: u32,
        results: &Results,
    ) -> Result<Vec<RollbackLine>, StoreError> {
        let mut lines = Vec::new();
        for (i, ((_, task), mut rec)) in tasks.into_iter().enumerate() {
            if let Some(rec) = rec.as_mut() {
                rec.state = TaskState::Running;
                rec.attempts += 1;
                rec.started_ms = Some(now_ms());
                rec.ended_ms = None;
                rec.reason = Some(why.to_owned());
                let mut changes = Vec::new();
                Self::transition(&mut changes, rec.clone());
                self.commit(changes).await?;
            }
            let (outcome, scrub) = self
                .rollback_attempt(task, host_index * 1_000 + i, round, results)
                .await;
            let ok = !matches!(outcome, Outcome::Failed { .. });
            if let Some(rec) = rec.as_mut() {
                record_outcome(rec, &outcome, why);
                let mut changes = Vec::new();
                Self::transition(&mut changes, rec.clone());
                self.commit(changes).await?;
            }
            lines.push((task.step.clone(), host.to_owned(), outcome, scrub));
            if !ok {
                break;
            }
        }
        Ok(lines)
    }

    /// One `on_failure` task on its host, and the host-side output to empty once it is
    /// recorded (for a secret-bearing task).
    async fn rollback_attempt(
        &self,
        task: &Task,
        slot: usize,
        round: u32,
        results: &Results,
    ) -> (Outcome, Option<Scrub>) {
        let host = match host_spec(&self.plan, task.host.as_deref()) {
            Ok(h) => h,
            Err(e) => return (Outcome::refused(e.to_string()), None),
        };
        let a = Attempt {
            plan: &self.plan,
            task,
            // Journal keys of their own: per host and step, and per rollback (a batch
            // may fail, be resumed, and fail again).
            node: usize::MAX - slot,
            attempt: round,
            run_id: &self.run_id,
            host,
            conns: &self.conns,
            results,
            secrets: &self.secrets,
            mask: &self.mask,
            renderer: &self.renderer,
            approved: false,
        };
        let outcome = a.run().await;
        let scrub = (!matches!(outcome, Outcome::Skipped { .. })
            && secret_bearing(&self.plan, task))
        .then(|| Scrub {
            host: a.host.clone(),
            key: journal_key(a.node, a.attempt),
        });
        (outcome, scrub)
    }
}

/// An `on_failure` task's record after it ran.
fn record_outcome(rec: &mut TaskRecord, outcome: &Outcome, why: &str) {
    rec.ended_ms = Some(now_ms());
    match outcome {
        Outcome::Done {
            exit,
            stdout,
            stderr,
        } => {
            rec.state = TaskState::Done;
            rec.exit = *exit;
            rec.stdout.clone_from(stdout);
            rec.stderr.clone_from(stderr);
            rec.reason = Some(why.to_owned());
        }
        Outcome::Skipped { reason } => {
            rec.state = TaskState::Skipped;
            rec.reason = Some(format!("{why}: {reason}"));
        }
        Outcome::Failed {
            exit,
            stdout,
            stderr,
            reason,
            ..
        } => {
            rec.state = TaskState::Failed;
            rec.exit = *exit;
            rec.stdout.clone_from(stdout);
            rec.stderr.clone_from(stderr);
            rec.reason = Some(format!("{why}: {reason}"));
        }
        Outcome::AwaitingApproval { message } => {
            rec.state = TaskState::Skipped;
            rec.reason = Some(format!("{why}: not approved: {message}"));
        }
    }
}
