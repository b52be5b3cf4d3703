//! Emptying, on the host, the recorded output of tasks that were given a secret.
//!
//! A host's journal keeps each task's stdout and stderr, so that a controller that lost
//! the connection (or died) can take the result from it. Once the result is durably in
//! the store, masked, that copy is no longer needed; for a task whose `env` carries a
//! secret it is a copy of what the command printed, the secret perhaps among it, so it is
//! emptied then. The exit record stays: the journal still knows the task finished.
//!
//! Emptying happens strictly after the commit that records the outcome: before it, the
//! journal's copy is the only one, and a controller dying in between must still find it.

use crate::plan::{Action, Plan, Task};
use crate::transport::{Connections, HostSpec, TransportError};

/// A finished attempt whose host-side output is to be emptied once its outcome is committed.
#[derive(Clone, Debug)]
pub struct Scrub {
    pub host: HostSpec,
    /// The attempt's journal key (see [`super::attempt::journal_key`]).
    pub key: String,
}

/// Whether the task runs through the journal with a secret in one of its `env` values
/// (or, for a value rendered when the task starts, read by its template).
pub fn secret_bearing(plan: &Plan, task: &Task) -> bool {
    let Some(scope) = plan.scopes.get(task.scope) else {
        return false;
    };
    matches!(task.action, Action::Run { .. })
        && task
            .env
            .iter()
            .any(|(_, value)| value.names_secret(&scope.secrets))
}

/// Empties the recorded output of each attempt in `scrubs`, on its host. Call it only
/// after the store has durably committed those attempts' outcomes. A failure is logged and
/// the run goes on: the outcome is safe in the store, and the host's journal directory is
/// removed with the run's other journals when they are cleaned.
pub async fn scrub_after_commit(conns: &Connections, run: &str, scrubs: Vec<Scrub>) {
    for s in scrubs {
        if let Err(e) = scrub_output(conns, &s.host, run, &s.key).await {
            tracing::warn!(host = %s.host.name, key = %s.key, error = %e, "cannot empty a secret-bearing task's recorded output on its host");
        }
    }
}

/// The one call into the host journal: empties a finished task's recorded stdout and
/// stderr on the host and keeps its exit record (a key that never started is left as it is).
async fn scrub_output(
    conns: &Connections,
    host: &HostSpec,
    run: &str,
    key: &str,
) -> Result<(), TransportError> {
    crate::transport::scrub_output(conns, host, run, key).await
}
