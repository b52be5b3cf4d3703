//! What execution reports as it goes: plain data for the terminal, JSON logs and tests.

use serde::Serialize;

use crate::store::{Change, Event, TaskState};

/// The kinds of entries in a run's event log. The store keeps the kind as text (its
/// `as_str`); everything that writes or reads the log goes through this type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Started,
    Resumed,
    /// A task transition (the task record changed in the same commit).
    Task,
    /// An approval gate was reached and waits for `quorate approve`.
    AwaitingApproval,
    Approved,
    GateFailed,
    OnFailure,
    Settled,
    Finished,
    /// The runbook and inventory files a run was made from.
    Sources,
    Abandoned,
    /// A rolling gate's live `cluster.membership` answer: members, n, f and quorum.
    Membership,
    /// A membership line naming no host of the inventory (ignored).
    MembershipIgnored,
    /// The `--window` the run keeps to (JSON of [`Window`](super::Window)).
    Window,
    /// The run was made by `quorate apply` from a saved plan: which file, which digest.
    Applied,
    /// `apply --force` ran a saved plan although today's files or the cluster differ: how.
    Forced,
}

impl EventKind {
    const ALL: [Self; 16] = [
        Self::Started,
        Self::Resumed,
        Self::Task,
        Self::AwaitingApproval,
        Self::Approved,
        Self::GateFailed,
        Self::OnFailure,
        Self::Settled,
        Self::Finished,
        Self::Sources,
        Self::Abandoned,
        Self::Membership,
        Self::MembershipIgnored,
        Self::Window,
        Self::Applied,
        Self::Forced,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Resumed => "resumed",
            Self::Task => "task",
            Self::AwaitingApproval => "awaiting-approval",
            Self::Approved => "approved",
            Self::GateFailed => "gate-failed",
            Self::OnFailure => "on_failure",
            Self::Settled => "settled",
            Self::Finished => "finished",
            Self::Sources => "sources",
            Self::Abandoned => "abandoned",
            Self::Membership => "membership",
            Self::MembershipIgnored => "membership-ignored",
            Self::Window => "window",
            Self::Applied => "applied",
            Self::Forced => "forced",
        }
    }

    /// The kind of a recorded event; `None` for a kind this quorate does not write.
    pub fn of(event: &Event) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == event.kind)
    }

    /// An event of this kind, to commit.
    pub fn change(self, node: Option<usize>, message: impl Into<String>) -> Change {
        Change::Event {
            node,
            kind: self.as_str().to_owned(),
            message: message.into(),
        }
    }
}

/// The members a gate counted from the live membership answer, and their f.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LiveMembers {
    pub members: Vec<String>,
    pub f: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ExecEvent {
    RunStarted {
        run: String,
        runbook: String,
        cluster: String,
        tasks: usize,
        resumed: bool,
        /// With `--limit`: the hosts it leaves, and how many tasks it excludes.
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<(Vec<String>, usize)>,
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
        /// An `on_failure` task (not counted in the run's task total).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        rollback: bool,
    },
    BatchGate {
        run: String,
        rolling: String,
        batch: usize,
        batches: usize,
        healthy: usize,
        needed: usize,
        members: usize,
        /// The live `cluster.membership` answer the counts come from, when there is one.
        #[serde(skip_serializing_if = "Option::is_none")]
        live: Option<LiveMembers>,
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

#[cfg(test)]
mod tests {
    use super::EventKind;
    use crate::store::Event;

    #[test]
    fn every_event_kind_reads_back_as_itself() {
        for kind in EventKind::ALL {
            let event = Event {
                seq: 1,
                at_ms: 0,
                node: None,
                kind: kind.as_str().to_owned(),
                message: String::new(),
            };
            assert_eq!(EventKind::of(&event), Some(kind));
        }
        let unknown = Event {
            seq: 1,
            at_ms: 0,
            node: None,
            kind: "awaiting approval".to_owned(),
            message: String::new(),
        };
        assert_eq!(EventKind::of(&unknown), None);
    }
}
