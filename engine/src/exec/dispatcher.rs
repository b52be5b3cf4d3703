//! The dispatcher: owns the plan's node states, starts ready tasks (bounded by the
//! concurrency and one task per host), records every transition durably before it takes
//! effect (several transitions share one flush), and decides retries, failure and pauses.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::attempt::{journal_key, Attempt, Outcome};
use super::context::Results;
use super::events::{EventKind, ExecEvent, Observer};
use super::gate::{run_gate, GateOutcome};
use super::hosts::host_spec;
use super::mask::SecretMask;
use super::retry::{delay, CONNECT_RETRIES};
use super::scrub::{scrub_after_commit, secret_bearing, Scrub};
use super::window::Window;
use crate::plan::{NodeKind, Plan, Retries, Secrets, Task, CONTROLLER};
use crate::store::{
    commit_async, now_ms, Change, RunStatus, RunStore, StoreError, TaskRecord, TaskState,
};
use crate::template::Renderer;
use crate::transport::Connections;

/// Why a task on a host outside `--limit` did not run.
pub const EXCLUDED_BY_LIMIT: &str = "excluded by --limit";

/// Longest a finished task waits to be recorded (and reported) when no other transition
/// comes to share its commit.
const REPORT_WITHIN: Duration = Duration::from_millis(200);

#[derive(Clone, Debug)]
pub struct ExecOptions {
    /// Tasks running at once, over all hosts.
    pub concurrency: usize,
    /// How long a rolling batch waits for enough healthy members before failing.
    pub gate_timeout: Duration,
    pub gate_poll: Duration,
    /// `--window`: tasks start only inside it (a started batch finishes).
    pub window: Option<Window>,
}

impl Default for ExecOptions {
    fn default() -> Self {
        Self {
            concurrency: 16,
            gate_timeout: Duration::from_secs(600),
            gate_poll: Duration::from_secs(2),
            window: None,
        }
    }
}

/// How a drive of the run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    Done,
    Failed(Vec<String>),
    /// Waiting for an approval (the message).
    AwaitingApproval(String),
    /// Stopped by Ctrl-C; resumable.
    Interrupted,
    /// Paused outside its `--window` (why, and when it opens).
    OutsideWindow(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Done,
    Failed,
}

/// A finished job: a task attempt or a batch gate.
enum JobResult {
    Task(Outcome),
    Gate(GateOutcome),
}

pub struct Dispatcher<S: RunStore> {
    pub store: Arc<S>,
    pub plan: Arc<Plan>,
    pub run_id: String,
    pub conns: Arc<Connections>,
    pub secrets: Arc<Secrets>,
    /// The run's secrets as they are looked for in output.
    pub mask: Arc<SecretMask>,
    pub observer: Arc<dyn Observer>,
    pub options: ExecOptions,
    pub renderer: Arc<Renderer>,
    /// Approval gates already passed (`quorate approve`).
    pub approved: HashSet<usize>,
}

struct Sched {
    state: Vec<State>,
    waiting: Vec<usize>,
    dependents: Vec<Vec<usize>>,
    ready: BTreeSet<usize>,
    records: Vec<Option<TaskRecord>>,
    busy: HashSet<String>,
    running: usize,
}

impl Sched {
    fn new(plan: &Plan, records: Vec<TaskRecord>) -> Self {
        let n = plan.nodes.len();
        let mut by_node: Vec<Option<TaskRecord>> = vec![None; n];
        for r in records {
            if r.node < n {
                let i = r.node;
                by_node[i] = Some(r);
            }
        }
        let mut state = vec![State::Pending; n];
        let mut dependents = vec![Vec::new(); n];
        for node in &plan.nodes {
            for &d in &node.needs {
                dependents[d].push(node.id);
            }
            if let Some(r) = &by_node[node.id] {
                if matches!(r.state, TaskState::Done | TaskState::Skipped) {
                    state[node.id] = State::Done;
                }
            }
        }
        // A gate some of whose tasks already started was passed in an earlier drive.
        for node in &plan.nodes {
            if matches!(node.kind, NodeKind::Gate(_))
                && dependents[node.id].iter().any(|&d| {
                    by_node[d]
                        .as_ref()
                        .is_some_and(|r| r.state != TaskState::Pending)
                })
            {
                state[node.id] = State::Done;
            }
        }
        let waiting: Vec<usize> = plan
            .nodes
            .iter()
            .map(|nd| {
                nd.needs
                    .iter()
                    .filter(|&&d| state[d] != State::Done)
                    .count()
            })
            .collect();
        let ready = (0..n)
            .filter(|&i| waiting[i] == 0 && state[i] == State::Pending)
            .collect();
        Self {
            state,
            waiting,
            dependents,
            ready,
            records: by_node,
            busy: HashSet::new(),
            running: 0,
        }
    }

    fn complete(&mut self, node: usize) {
        self.state[node] = State::Done;
        for i in 0..self.dependents[node].len() {
            let d = self.dependents[node][i];
            self.waiting[d] -= 1;
            if self.waiting[d] == 0 && self.state[d] == State::Pending {
                self.ready.insert(d);
            }
        }
    }
}

fn host_of(task: &Task) -> String {
    task.host_name().to_owned()
}

impl<S: RunStore + Send + Sync + 'static> Dispatcher<S> {
    pub(super) fn task(&self, node: usize) -> Option<&Task> {
        match &self.plan.nodes[node].kind {
            NodeKind::Task(t) => Some(t),
            _ => None,
        }
    }

    fn record_of(&self, sched: &Sched, node: usize) -> TaskRecord {
        sched.records[node].clone().unwrap_or_else(|| {
            let t = self.task(node).expect("records exist only for tasks");
            TaskRecord::pending(node, t.step.clone(), t.host.clone())
        })
    }

    /// Commits changes in one durable write, then reports the task transitions.
    pub(super) async fn commit(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut pending_events = Vec::new();
        let mut last_task: Option<TaskRecord> = None;
        for c in &changes {
            match c {
                Change::Task(r) => last_task = Some(r.clone()),
                Change::Event {
                    node: Some(_),
                    kind,
                    ..
                } if kind == EventKind::Task.as_str() => {
                    if let Some(r) = last_task.take() {
                        pending_events.push(r);
                    }
                }
                _ => {}
            }
        }
        let seqs = commit_async(&self.store, &self.run_id, changes).await?;
        for (r, seq) in pending_events.into_iter().zip(seqs) {
            self.observer.event(&ExecEvent::Task {
                run: self.run_id.clone(),
                node: r.node,
                step: r.step.clone(),
                host: r.host.clone().unwrap_or_else(|| CONTROLLER.to_owned()),
                state: r.state,
                attempt: r.attempts,
                exit: r.exit,
                reason: r.reason.clone(),
                seq,
                rollback: super::rollback::is_rollback(&self.plan, r.node),
            });
        }
        Ok(())
    }

    pub(super) fn transition(changes: &mut Vec<Change>, record: TaskRecord) {
        let message = format!(
            "{} {}@{}",
            state_name(record.state),
            record.step,
            record.host.as_deref().unwrap_or(CONTROLLER)
        );
        let node = record.node;
        changes.push(Change::Task(record));
        changes.push(EventKind::Task.change(Some(node), message));
    }

    /// Runs the plan from its recorded state until it finishes, fails, pauses or is
    /// interrupted. `interrupts` counts Ctrl-C presses.
    #[expect(
        clippy::too_many_lines,
        reason = "the scheduling loop reads best in one place"
    )]
    pub async fn drive(
        &self,
        records: Vec<TaskRecord>,
        mut interrupts: watch::Receiver<u32>,
    ) -> Result<RunOutcome, StoreError> {
        let mut sched = Sched::new(&self.plan, records);
        let mut results = Results::default();
        for r in sched.records.iter().flatten() {
            if r.state == TaskState::Done {
                if let Some(t) = self.task(r.node) {
                    if t.capture {
                        results.record(&t.step, t.host.as_deref(), &r.stdout, r.exit.unwrap_or(0));
                    }
                }
            }
        }
        // Each attempt takes a snapshot of the results when it starts (its needs are all
        // recorded by then); recording a new result copies the map only while snapshots
        // are out, so no running attempt ever holds up the scheduling loop.
        let mut results = Arc::new(results);
        let mut jobs: JoinSet<(usize, u32, JobResult)> = JoinSet::new();
        let mut stopping = false;
        let mut failures: Vec<String> = Vec::new();
        let mut failed_batches: BTreeSet<(usize, usize)> = BTreeSet::new();
        let mut approval: Option<String> = None;
        let mut interrupted = false;
        // Rolling batches with a task started: they finish even when the window closes.
        let mut started_batches: HashSet<(usize, usize)> = sched
            .records
            .iter()
            .flatten()
            .filter(|r| r.attempts > 0)
            .filter_map(|r| self.task(r.node).and_then(|t| t.batch))
            .map(|b| (b.rolling, b.batch))
            .collect();
        let mut held_by_window;
        let mut signals_open = true;
        let mut completed: Vec<(usize, u32, JobResult)> = Vec::new();
        // Transitions not yet committed, and since when. A task's start must be durable
        // before it runs; its end need not be (a controller that dies before recording it
        // finds the result in the host's journal), so ends wait for the next commit and
        // many transitions share one flush.
        let mut changes: Vec<Change> = Vec::new();
        let mut waiting_since: Option<std::time::Instant> = None;
        // Finished secret-bearing attempts whose host-side output is emptied once the
        // commit in `changes` that records them is durable.
        let mut scrubs: Vec<Scrub> = Vec::new();
        let mut scrubbing: JoinSet<()> = JoinSet::new();
        loop {
            let mut launches: Vec<(usize, u32, Duration)> = Vec::new();
            for (node, attempt, result) in completed.drain(..) {
                sched.running -= 1;
                match result {
                    JobResult::Gate(gate) => {
                        for (kind, message) in gate.events {
                            changes.push(kind.change(Some(node), message));
                        }
                        match gate.result {
                            Ok(()) => sched.complete(node),
                            Err(reason) => {
                                sched.state[node] = State::Failed;
                                failures.push(reason.clone());
                                changes.push(EventKind::GateFailed.change(Some(node), reason));
                                stopping = true;
                            }
                        }
                    }
                    JobResult::Task(outcome) => {
                        let task = self.task(node).expect("task job").clone();
                        let host = host_of(&task);
                        if matches!(outcome, Outcome::Done { .. } | Outcome::Failed { .. })
                            && secret_bearing(&self.plan, &task)
                        {
                            if let Ok(host) = host_spec(&self.plan, task.host.as_deref()) {
                                scrubs.push(Scrub {
                                    host,
                                    key: journal_key(node, attempt),
                                });
                            }
                        }
                        let mut rec = self.record_of(&sched, node);
                        match outcome {
                            Outcome::Done {
                                exit,
                                stdout,
                                stderr,
                            } => {
                                if task.capture {
                                    Arc::make_mut(&mut results).record(
                                        &task.step,
                                        task.host.as_deref(),
                                        &stdout,
                                        exit.unwrap_or(0),
                                    );
                                }
                                rec.state = TaskState::Done;
                                rec.exit = exit;
                                rec.stdout = stdout;
                                rec.stderr = stderr;
                                rec.reason = None;
                                rec.ended_ms = Some(now_ms());
                                sched.busy.remove(&host);
                                sched.complete(node);
                            }
                            Outcome::Skipped { reason } => {
                                rec.state = TaskState::Skipped;
                                rec.reason = Some(reason);
                                rec.ended_ms = Some(now_ms());
                                sched.busy.remove(&host);
                                sched.complete(node);
                            }
                            Outcome::AwaitingApproval { message } => {
                                rec.state = TaskState::Pending;
                                rec.reason = Some("awaiting approval".to_owned());
                                sched.state[node] = State::Pending;
                                sched.busy.remove(&host);
                                // `quorate approve` finds the gates waiting by this event.
                                changes.push(
                                    EventKind::AwaitingApproval.change(Some(node), message.clone()),
                                );
                                approval = Some(message);
                                stopping = true;
                            }
                            Outcome::Failed {
                                exit,
                                stdout,
                                stderr,
                                reason,
                                connect,
                            } => {
                                let policy = task.retries.clone().unwrap_or(Retries {
                                    count: 0,
                                    ..Retries::default()
                                });
                                let allowed = if connect {
                                    policy.count.max(CONNECT_RETRIES)
                                } else {
                                    policy.count
                                };
                                if attempt <= allowed && !stopping {
                                    let wait = delay(
                                        &policy,
                                        attempt,
                                        now_ms().wrapping_mul(node as u64 + 1),
                                    );
                                    self.observer.event(&ExecEvent::Retry {
                                        run: self.run_id.clone(),
                                        node,
                                        step: task.step.clone(),
                                        host: host.clone(),
                                        attempt: attempt + 1,
                                        delay_ms: u64::try_from(wait.as_millis())
                                            .unwrap_or(u64::MAX),
                                        reason: reason.clone(),
                                    });
                                    // The next attempt is recorded (running, attempt + 1) before it starts.
                                    rec.attempts = attempt + 1;
                                    rec.exit = exit;
                                    rec.stdout = stdout;
                                    rec.stderr = stderr;
                                    rec.reason = Some(format!("retrying: {reason}"));
                                    sched.running += 1;
                                    launches.push((node, attempt + 1, wait));
                                } else {
                                    rec.state = TaskState::Failed;
                                    rec.exit = exit;
                                    rec.stdout = stdout;
                                    rec.stderr = stderr;
                                    rec.reason = Some(reason.clone());
                                    rec.ended_ms = Some(now_ms());
                                    sched.state[node] = State::Failed;
                                    sched.busy.remove(&host);
                                    failures.push(format!("{} on {host}: {reason}", task.step));
                                    if let Some(b) = task.batch {
                                        failed_batches.insert((b.rolling, b.batch));
                                    }
                                    stopping = true;
                                }
                            }
                        }
                        sched.records[node] = Some(rec.clone());
                        Self::transition(&mut changes, rec);
                    }
                }
            }
            // Start what is ready: joins and skips at once, gates and tasks as jobs.
            let mut progressed = true;
            let window_open = self
                .options
                .window
                .as_ref()
                .is_none_or(|w| w.contains(now_ms()));
            held_by_window = false;
            while progressed && !stopping {
                progressed = false;
                let candidates: Vec<usize> = sched.ready.iter().copied().collect();
                for node in candidates {
                    if sched.running >= self.options.concurrency.max(1)
                        && matches!(self.plan.nodes[node].kind, NodeKind::Task(_))
                    {
                        continue;
                    }
                    match &self.plan.nodes[node].kind {
                        NodeKind::Join { .. } => {
                            sched.ready.remove(&node);
                            sched.complete(node);
                            progressed = true;
                        }
                        NodeKind::Gate(_) if !window_open => held_by_window = true,
                        NodeKind::Gate(_) => {
                            sched.ready.remove(&node);
                            sched.state[node] = State::Running;
                            sched.running += 1;
                            launches.push((node, 0, Duration::ZERO));
                        }
                        NodeKind::Task(task) => {
                            let mut rec = self.record_of(&sched, node);
                            let skipped = if task.skip {
                                Some("`when` is false")
                            } else if self.plan.excluded(task) {
                                Some(EXCLUDED_BY_LIMIT)
                            } else {
                                None
                            };
                            if let Some(reason) = skipped {
                                sched.ready.remove(&node);
                                rec.state = TaskState::Skipped;
                                rec.reason = Some(reason.to_owned());
                                sched.records[node] = Some(rec.clone());
                                Self::transition(&mut changes, rec);
                                sched.complete(node);
                                progressed = true;
                                continue;
                            }
                            let batch = task.batch.map(|b| (b.rolling, b.batch));
                            if !window_open && !batch.is_some_and(|b| started_batches.contains(&b))
                            {
                                held_by_window = true;
                                continue;
                            }
                            let host = host_of(task);
                            if sched.busy.contains(&host) {
                                continue;
                            }
                            started_batches.extend(batch);
                            sched.ready.remove(&node);
                            sched.busy.insert(host);
                            sched.state[node] = State::Running;
                            sched.running += 1;
                            rec.state = TaskState::Running;
                            rec.attempts += 1;
                            rec.started_ms = Some(now_ms());
                            rec.ended_ms = None;
                            let attempt = rec.attempts;
                            sched.records[node] = Some(rec.clone());
                            Self::transition(&mut changes, rec);
                            launches.push((node, attempt, Duration::ZERO));
                        }
                    }
                }
            }
            let overdue = waiting_since.is_some_and(|t| t.elapsed() >= REPORT_WITHIN);
            if !launches.is_empty() || (jobs.is_empty() && launches.is_empty()) || overdue {
                self.commit(std::mem::take(&mut changes)).await?;
                waiting_since = None;
                if !scrubs.is_empty() {
                    let conns = Arc::clone(&self.conns);
                    let (run, done) = (self.run_id.clone(), std::mem::take(&mut scrubs));
                    scrubbing.spawn(async move { scrub_after_commit(&conns, &run, done).await });
                }
            } else if !changes.is_empty() && waiting_since.is_none() {
                waiting_since = Some(std::time::Instant::now());
            }
            for (node, attempt, wait) in launches {
                self.spawn(&mut jobs, node, attempt, wait, &results);
            }
            if jobs.is_empty() {
                break;
            }
            let report_at =
                waiting_since.map(|t| tokio::time::Instant::from_std(t + REPORT_WITHIN));
            tokio::select! {
                () = tokio::time::sleep_until(report_at.unwrap_or_else(tokio::time::Instant::now)), if report_at.is_some() => {}
                joined = jobs.join_next() => {
                    if let Some(Ok(done)) = joined {
                        completed.push(done);
                    }
                    while let Some(Ok(more)) = jobs.try_join_next() {
                        completed.push(more);
                    }
                }
                signal = interrupts.changed(), if signals_open => {
                    if signal.is_err() {
                        signals_open = false;
                    } else if interrupted {
                        // Second Ctrl-C: leave running tasks to their hosts' journals;
                        // resume settles them.
                        jobs.abort_all();
                        return Ok(RunOutcome::Interrupted);
                    } else {
                        interrupted = true;
                        stopping = true;
                        self.observer.event(&ExecEvent::Paused {
                            run: self.run_id.clone(),
                            reason: "interrupted: finishing running tasks (Ctrl-C again to stop at once)".to_owned(),
                        });
                    }
                }
            }
        }
        while scrubbing.join_next().await.is_some() {}
        if !failed_batches.is_empty() {
            self.run_on_failure(&failed_batches, &results, &sched.records)
                .await?;
        }
        Ok(if !failures.is_empty() {
            RunOutcome::Failed(failures)
        } else if let Some(message) = approval {
            RunOutcome::AwaitingApproval(message)
        } else if let Some(window) = self.options.window.as_ref().filter(|_| held_by_window) {
            RunOutcome::OutsideWindow(window.pause_reason(now_ms()))
        } else if interrupted {
            RunOutcome::Interrupted
        } else {
            RunOutcome::Done
        })
    }

    fn spawn(
        &self,
        jobs: &mut JoinSet<(usize, u32, JobResult)>,
        node: usize,
        attempt: u32,
        wait: Duration,
        results: &Arc<Results>,
    ) {
        let plan = Arc::clone(&self.plan);
        let conns = Arc::clone(&self.conns);
        let secrets = Arc::clone(&self.secrets);
        let mask = Arc::clone(&self.mask);
        let renderer = Arc::clone(&self.renderer);
        let results = Arc::clone(results);
        let run_id = self.run_id.clone();
        let approved = self.approved.contains(&node);
        let options = self.options.clone();
        let observer = Arc::clone(&self.observer);
        jobs.spawn(async move {
            if wait > Duration::ZERO {
                tokio::time::sleep(wait).await;
            }
            match &plan.nodes[node].kind {
                NodeKind::Gate(g) => {
                    let mut events = Vec::new();
                    let result =
                        run_gate(&plan, g, &conns, &options, &run_id, &*observer, &mut events)
                            .await;
                    (
                        node,
                        attempt,
                        JobResult::Gate(GateOutcome { result, events }),
                    )
                }
                NodeKind::Task(task) => {
                    let host = match host_spec(&plan, task.host.as_deref()) {
                        Ok(h) => h,
                        Err(e) => {
                            return (
                                node,
                                attempt,
                                JobResult::Task(Outcome::refused(e.to_string())),
                            )
                        }
                    };
                    let a = Attempt {
                        plan: &plan,
                        task,
                        node,
                        attempt,
                        run_id: &run_id,
                        host,
                        conns: &conns,
                        results: &results,
                        secrets: &secrets,
                        mask: &mask,
                        renderer: &renderer,
                        approved,
                    };
                    (node, attempt, JobResult::Task(a.run().await))
                }
                NodeKind::Join { .. } => (
                    node,
                    attempt,
                    JobResult::Gate(GateOutcome {
                        result: Ok(()),
                        events: Vec::new(),
                    }),
                ),
            }
        });
    }
}

pub fn status_name(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Running => "running",
        RunStatus::Paused => "paused",
        RunStatus::Done => "done",
        RunStatus::Failed => "failed",
        RunStatus::Abandoned => "abandoned",
    }
}

pub fn state_name(s: TaskState) -> &'static str {
    match s {
        TaskState::Pending => "pending",
        TaskState::Running => "running",
        TaskState::Done => "done",
        TaskState::Skipped => "skipped",
        TaskState::Failed => "failed",
    }
}

/// The final status a drive's outcome gives the run.
pub fn final_status(outcome: &RunOutcome) -> (RunStatus, Option<String>) {
    match outcome {
        RunOutcome::Done => (RunStatus::Done, None),
        RunOutcome::Failed(_) => (RunStatus::Failed, None),
        RunOutcome::AwaitingApproval(m) => {
            (RunStatus::Paused, Some(format!("awaiting approval: {m}")))
        }
        RunOutcome::Interrupted => (RunStatus::Paused, Some("interrupted".to_owned())),
        RunOutcome::OutsideWindow(reason) => (RunStatus::Paused, Some(reason.clone())),
    }
}
