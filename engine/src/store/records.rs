//! What the store keeps: run records, task records, events, and the changes that update them.

use serde::{Deserialize, Serialize};

/// Where a run stands. Only a finished run (done or abandoned) releases its cluster.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Paused,
    Done,
    /// Stopped on a failure; it can be resumed once the cause is fixed, so it keeps the lock.
    Failed,
    Abandoned,
}

impl RunStatus {
    /// A finished run never runs again: resuming it is a no-op and it holds no lock.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Abandoned)
    }
}

/// One execution of a plan.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub id: String,
    pub runbook: String,
    /// The inventory's name: the lock is taken on it.
    pub cluster: String,
    pub status: RunStatus,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// Why the run waits, e.g. "approval of approve-finalize", "window Sat 02:00/4h".
    pub paused: Option<String>,
    /// Who drives the run: "user@host pid N".
    pub controller: String,
    pub plan_digest: String,
    /// How many tasks the frozen plan has; task records are numbered `0..tasks`.
    pub tasks: usize,
}

/// Where a task stands: pending -> running -> done | skipped | failed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Pending,
    Running,
    Done,
    Skipped,
    Failed,
}

/// The recorded state of one task of a run: one node of the plan's graph.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TaskRecord {
    /// The task's node index in the frozen plan.
    pub node: usize,
    pub step: String,
    /// None for a task that runs on the controller (approve, sleep, `on: controller`).
    pub host: Option<String>,
    pub state: TaskState,
    pub attempts: u32,
    pub started_ms: Option<u64>,
    pub ended_ms: Option<u64>,
    pub exit: Option<i32>,
    /// The tail of the output, at most [`OUTPUT_LIMIT`](super::OUTPUT_LIMIT) bytes: the store
    /// cuts it on write.
    pub stdout: String,
    pub stderr: String,
    /// Why the task was skipped or failed.
    pub reason: Option<String>,
}

impl TaskRecord {
    /// A task that has not started yet.
    pub fn pending(node: usize, step: impl Into<String>, host: Option<String>) -> Self {
        Self {
            node,
            step: step.into(),
            host,
            state: TaskState::Pending,
            attempts: 0,
            started_ms: None,
            ended_ms: None,
            exit: None,
            stdout: String::new(),
            stderr: String::new(),
            reason: None,
        }
    }
}

/// One entry of a run's event log.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Numbered by the store from 1, without gaps, in commit order.
    pub seq: u64,
    pub at_ms: u64,
    pub node: Option<usize>,
    pub kind: String,
    pub message: String,
}

/// One change of a group commit.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Replaces the run record; a finished status releases the cluster lock.
    Run(RunRecord),
    /// Replaces the record of task `node`.
    Task(TaskRecord),
    /// Appends an event; the store gives it the next sequence number and the time.
    Event {
        node: Option<usize>,
        kind: String,
        message: String,
    },
}
