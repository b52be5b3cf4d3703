//! Approving in place: when `run` or `resume` reaches an approval step on a terminal, the
//! operator may approve it there instead of with `quorate approve`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use crate::exec::{approve, ApproveError};
use crate::source::escape;
use crate::store::{operator, RunStore};

/// Whether the operator can be asked: standard input and output are both a terminal.
pub(super) fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Asks whether to approve `message` now and, on `y`, records the approval as
/// `quorate approve` does (the four-eyes rule included). True when it was recorded.
pub(super) fn approve_in_place<S: RunStore>(store: &S, run_id: &str, message: &str) -> bool {
    let (user, host) = operator();
    let mut out = std::io::stdout().lock();
    let _ = write!(
        out,
        "{}\napprove now as {}@{}? [y/N] ",
        escape::line(message),
        escape::line(&user),
        escape::line(&host)
    );
    let _ = out.flush();
    drop(out);
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err()
        || !matches!(answer.trim(), "y" | "Y" | "yes")
    {
        return false;
    }
    let comment = Some("approved in place at the run's terminal");
    match approve(store, run_id, (&user, &host), comment) {
        Ok(approvals) => !approvals.is_empty(),
        Err(e @ ApproveError::FourEyes { .. }) => {
            super::warn(&[crate::source::Diagnostic::error(e.to_string())
                .with_hint("another operator approves it with `quorate approve`")]);
            false
        }
        Err(ApproveError::Drive(e)) => {
            super::warn(&[crate::source::Diagnostic::error(e.to_string())]);
            false
        }
    }
}
