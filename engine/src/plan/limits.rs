//! Bounds on what one compile may expand to, so that a crafted runbook (an include that
//! includes the next file twice, sixteen files deep) is refused with an error instead of
//! growing the plan exponentially.

use super::compile::{Compiler, ListCtx};
use super::types::NodeKind;
use crate::model::raw::RawStep;
use crate::model::Document;
use crate::source::Diagnostic;

/// Steps of a list, rolling blocks' inner and `on_failure` steps included.
fn count_steps(steps: &[RawStep]) -> usize {
    steps
        .iter()
        .map(|s| {
            1 + s
                .rolling
                .as_ref()
                .map_or(0, |r| count_steps(&r.steps) + count_steps(&r.on_failure))
        })
        .sum()
}

/// How deep includes may nest (the runbook itself is level 0).
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// How many `include:` steps one compile may expand, counting each time a runbook is
/// included again.
pub const MAX_INCLUDES: usize = 1_000;

/// How many steps all included runbooks may add to one plan, counting each time a
/// runbook is included (rolling blocks' inner steps too): a runbook that includes a
/// thousand-step file a thousand times is refused before it makes a million steps.
pub const MAX_INCLUDED_STEPS: usize = 10_000;

/// The most tasks a plan may have unless `--max-tasks` says otherwise.
pub const DEFAULT_MAX_TASKS: usize = 1_000_000;

/// When includes are nested too deep for one more: the message and a note naming them.
/// The stack holds the runbook itself, then each include being expanded.
pub(super) fn too_deep(stack: &[String]) -> Option<(String, String)> {
    (stack.len() > MAX_INCLUDE_DEPTH).then(|| {
        (
            format!("includes are nested more than {MAX_INCLUDE_DEPTH} deep"),
            format!("included runbooks: {}", stack[1..].join(" -> ")),
        )
    })
}

/// The error for a limit reached at the include step `pointer` of `doc`.
pub(super) fn include_limit(
    doc: &Document,
    pointer: &str,
    message: String,
    note: String,
) -> Diagnostic {
    doc.error_at(&format!("{pointer}/include"), message)
        .with_note(note)
        .with_hint("include fewer runbooks, or fewer times")
}

impl Compiler<'_> {
    /// Counts a node; once the plan has more tasks than allowed, compiling stops.
    pub(super) fn count_node(&mut self, kind: &NodeKind) {
        if matches!(kind, NodeKind::Task(_)) {
            self.tasks += 1;
            if self.tasks > self.opts.max_tasks {
                self.stopped = true;
            }
        }
    }

    /// Whether a limit was reached: nothing more is compiled.
    pub(super) fn stopped(&self) -> bool {
        self.stopped
    }

    /// After step `pointer` was compiled: reports the task limit, once, at the step that
    /// went over it.
    pub(super) fn report_task_limit(&mut self, pointer: &str, cx: &ListCtx<'_>) {
        if self.tasks > self.opts.max_tasks && !self.task_limit_reported {
            self.task_limit_reported = true;
            let max = self.opts.max_tasks;
            self.errors.push(
                cx.doc
                    .error_at(
                        &format!("{pointer}/id"),
                        format!("the plan has more than {max} tasks (steps times hosts)"),
                    )
                    .with_hint(format!(
                        "split the runbook, or raise the limit with `--max-tasks` (now {max})"
                    )),
            );
        }
    }

    /// Before inlining `steps` of an included runbook at the include step `pointer`:
    /// whether they fit under [`MAX_INCLUDED_STEPS`]; if not, the error is recorded and
    /// compiling stops.
    pub(super) fn admit_included_steps(
        &mut self,
        steps: &[RawStep],
        pointer: &str,
        cx: &ListCtx<'_>,
    ) -> bool {
        self.included_steps += count_steps(steps);
        if self.included_steps <= MAX_INCLUDED_STEPS {
            return true;
        }
        self.stopped = true;
        self.errors.push(
            cx.doc
                .error_at(
                    &format!("{pointer}/include"),
                    format!("includes add more than {MAX_INCLUDED_STEPS} steps to one plan"),
                )
                .with_note("each time a runbook is included, its steps count again")
                .with_hint("include fewer runbooks, or fewer times"),
        );
        false
    }

    /// Before expanding the include step at `pointer`: whether one more include is
    /// allowed; if not, the error is recorded and compiling stops.
    pub(super) fn admit_include(&mut self, pointer: &str, cx: &ListCtx<'_>) -> bool {
        let problem = if let Some(deep) = too_deep(&self.include_stack) {
            Some(deep)
        } else if self.includes_expanded >= MAX_INCLUDES {
            Some((
                format!("more than {MAX_INCLUDES} includes expanded in one plan"),
                "each include of a runbook that includes others expands them all again".to_owned(),
            ))
        } else {
            None
        };
        let Some((message, note)) = problem else {
            self.includes_expanded += 1;
            return true;
        };
        self.stopped = true;
        self.errors
            .push(include_limit(cx.doc, pointer, message, note));
        false
    }
}
