//! What execution reports as it goes: plain data for the terminal, JSON logs and tests.

use serde::Serialize;

use crate::store::TaskState;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ExecEvent {
    RunStarted {
        run: String,
        runbook: String,
        cluster: String,
        tasks: usize,
        resumed: bool,
    },
    /// A task state change, reported after it is durable in the store.
    Task {
        run: String,
        node: usize,
        step: String,
        host: String,
        state: TaskState,
        attempt: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        exit: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Sequence number of the transition in the run's event log.
        seq: u64,
    },
    BatchGate {
        run: String,
        rolling: String,
        batch: usize,
        batches: usize,
        healthy: usize,
        needed: usize,
        members: usize,
    },
    /// A batch failed: its hosts' `on_failure` steps run now.
    Rollback {
        run: String,
        rolling: String,
        batch: usize,
        batches: usize,
        hosts: Vec<String>,
    },
    Retry {
        run: String,
        node: usize,
        step: String,
        host: String,
        attempt: u32,
        delay_ms: u64,
        reason: String,
    },
    Settled {
        run: String,
        node: usize,
        step: String,
        host: String,
        outcome: String,
    },
    Paused {
        run: String,
        reason: String,
    },
    RunFinished {
        run: String,
        status: crate::store::RunStatus,
        done: usize,
        skipped: usize,
        failed: usize,
        /// Tasks of failed batches undone by `on_failure` (pending again).
        rolled_back: usize,
        /// `on_failure` tasks that ran, and how many of them failed.
        rollbacks: usize,
        rollbacks_failed: usize,
    },
}

/// Receives events; implementations print progress or log lines.
pub trait Observer: Send + Sync {
    fn event(&self, event: &ExecEvent);
}

/// An observer that keeps nothing (for library callers that only want the outcome).
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _event: &ExecEvent) {}
}
