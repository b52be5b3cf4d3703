//! Approvals: who passed an approval gate (OS user and host), when, with what comment;
//! the four-eyes rule; and reading them back from a run's event log.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::events::EventKind;
use super::run::{unfinished_run, DriveError};
use crate::plan::{Action, NodeKind};
use crate::store::{Event, RunStore, StoreError, TaskRecord, TaskState};

/// One approval of one gate, as `quorate approve` records it (the event's message is
/// this, as JSON; the event's time is when it was given).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    pub step: String,
    /// The OS user who approved.
    pub user: String,
    /// The host they approved on.
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub comment: Option<String>,
    /// When, in milliseconds since the Unix epoch (from the event).
    #[serde(skip_deserializing, default)]
    pub at_ms: u64,
}

impl Approval {
    /// `user@host`, as the four-eyes rule compares operators.
    pub fn by(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }
}

/// Why `quorate approve` refused.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    #[error(transparent)]
    Drive(#[from] DriveError),
    #[error("run {run} was started by {operator}; its inventory requires an approval by another operator (approvals.four_eyes)")]
    FourEyes { run: String, operator: String },
}

impl From<StoreError> for ApproveError {
    fn from(e: StoreError) -> Self {
        Self::Drive(DriveError::Store(e))
    }
}

/// The approvals recorded in a run's event log, oldest first. An approval recorded as
/// plain text (by an older quorate) is kept with its text as the user.
pub fn approvals(events: &[Event]) -> Vec<Approval> {
    events
        .iter()
        .filter(|e| EventKind::of(e) == Some(EventKind::Approved))
        .map(|e| {
            let mut a = serde_json::from_str::<Approval>(&e.message).unwrap_or_else(|_| Approval {
                step: String::new(),
                user: e.message.clone(),
                host: String::new(),
                comment: None,
                at_ms: 0,
            });
            a.at_ms = e.at_ms;
            a
        })
        .collect()
}

/// `user@host` of the operator who started the run (from its first `started` event).
pub fn started_by(events: &[Event]) -> Option<String> {
    events
        .iter()
        .find(|e| EventKind::of(e) == Some(EventKind::Started))
        .map(|e| {
            e.message
                .split_once(" pid ")
                .map_or(e.message.as_str(), |(who, _)| who)
                .to_owned()
        })
}

/// The approval gates already passed.
pub(super) fn approved_nodes<S: RunStore + ?Sized>(
    store: &S,
    run_id: &str,
) -> Result<HashSet<usize>, StoreError> {
    Ok(store
        .events(run_id)?
        .into_iter()
        .filter(|e| EventKind::of(e) == Some(EventKind::Approved))
        .filter_map(|e| e.node)
        .collect())
}

/// Records the approval, by `user` on `host`, of every approval gate the run is waiting
/// at; returns the approvals recorded (none when it waits at no gate). With the plan's
/// four-eyes rule, the operator who started the run cannot approve it.
pub fn approve<S: RunStore>(
    store: &S,
    run_id: &str,
    (user, host): (&str, &str),
    comment: Option<&str>,
) -> Result<Vec<Approval>, ApproveError> {
    let (_, plan) = unfinished_run(store, run_id)?;
    let approved = approved_nodes(store, run_id)?;
    // A gate waits when it was reached (an attempt started) and is still pending,
    // unless it was approved already.
    let waiting: Vec<TaskRecord> = store
        .tasks(run_id)?
        .into_iter()
        .filter(|t| {
            t.state == TaskState::Pending
                && t.attempts > 0
                && !approved.contains(&t.node)
                && plan.nodes.get(t.node).is_some_and(|n| {
                    matches!(&n.kind, NodeKind::Task(task) if matches!(task.action, Action::Approve { .. }))
                })
        })
        .collect();
    if waiting.is_empty() {
        return Ok(Vec::new());
    }
    let who = format!("{user}@{host}");
    if plan.four_eyes {
        let events = store.events(run_id)?;
        if let Some(operator) = started_by(&events).filter(|o| *o == who) {
            return Err(ApproveError::FourEyes {
                run: run_id.to_owned(),
                operator,
            });
        }
    }
    let approvals: Vec<(usize, Approval)> = waiting
        .into_iter()
        .map(|t| {
            let approval = Approval {
                step: t.step,
                user: user.to_owned(),
                host: host.to_owned(),
                comment: comment.map(str::to_owned),
                at_ms: 0,
            };
            (t.node, approval)
        })
        .collect();
    let changes = approvals
        .iter()
        .map(|(node, a)| {
            EventKind::Approved.change(
                Some(*node),
                serde_json::to_string(a).unwrap_or_else(|_| a.by()),
            )
        })
        .collect();
    store.commit(run_id, changes)?;
    Ok(approvals.into_iter().map(|(_, a)| a).collect())
}

#[cfg(test)]
mod tests {
    use super::{approvals, started_by};
    use crate::store::Event;

    fn event(kind: &str, message: &str) -> Event {
        Event {
            seq: 1,
            at_ms: 42,
            node: Some(0),
            kind: kind.to_owned(),
            message: message.to_owned(),
        }
    }

    #[test]
    fn an_approval_reads_back_with_its_time_and_an_old_one_keeps_its_text() {
        let events = [
            event("started", "alice@box pid 7"),
            event(
                "approved",
                r#"{"step":"ask","user":"bob","host":"desk","comment":"ok"}"#,
            ),
            event("approved", "ask approved by carol@box pid 9"),
        ];
        let read = approvals(&events);
        assert_eq!(read[0].by(), "bob@desk");
        assert_eq!(read[0].comment.as_deref(), Some("ok"));
        assert_eq!(read[0].at_ms, 42);
        assert_eq!(read[1].user, "ask approved by carol@box pid 9");
        assert_eq!(started_by(&events).as_deref(), Some("alice@box"));
    }
}
