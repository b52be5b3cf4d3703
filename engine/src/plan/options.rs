//! Which options each action takes, and the checks of a step's options that need no
//! template: options its action does not take, `expect` patterns that do not compile.

use crate::model::raw::{ActionKind, RawStep};
use crate::model::Document;
use crate::source::Diagnostic;

/// Which options each action accepts (besides id, description and needs).
fn allowed_options(action: ActionKind) -> &'static [&'static str] {
    match action {
        ActionKind::Run => &[
            "when",
            "creates",
            "removes",
            "unless",
            "only_if",
            "expect",
            "retries",
            "timeout",
            "env",
            "cwd",
            "sudo",
            "capture",
            "idempotent",
            "on",
        ],
        ActionKind::Copy | ActionKind::Fetch => &[
            "when", "creates", "removes", "unless", "only_if", "retries", "on",
        ],
        ActionKind::Wait => &["when", "unless", "only_if", "env", "cwd", "sudo", "on"],
        ActionKind::Approve => &["when"],
        ActionKind::Sleep => &["when", "on"],
        ActionKind::Include => &["on", "with"],
        ActionKind::Rolling => &["on"],
    }
}

/// Options a step sets that its action does not take.
pub(super) fn option_errors(step: &RawStep, pointer: &str, doc: &Document) -> Vec<Diagnostic> {
    let action = step.action();
    let allowed = allowed_options(action);
    let all = [
        ActionKind::Run,
        ActionKind::Copy,
        ActionKind::Fetch,
        ActionKind::Wait,
        ActionKind::Approve,
        ActionKind::Sleep,
        ActionKind::Include,
        ActionKind::Rolling,
    ];
    let mut errors = Vec::new();
    for option in step.options_set() {
        if allowed.contains(&option) {
            continue;
        }
        let applies: Vec<&str> = all
            .iter()
            .filter(|a| allowed_options(**a).contains(&option))
            .map(|a| a.key())
            .collect();
        let hint = if applies.is_empty() {
            "remove it".to_owned()
        } else {
            format!(
                "remove it; `{option}` applies to {} steps",
                applies.join(", ")
            )
        };
        let article = if matches!(action, ActionKind::Approve | ActionKind::Include) {
            "an"
        } else {
            "a"
        };
        errors.push(
            doc.error_at_key(
                &format!("{pointer}/{option}"),
                format!(
                    "`{option}` does not apply to {article} `{}` step",
                    action.key()
                ),
            )
            .with_hint(hint),
        );
    }
    errors
}

/// `expect.stdout` / `expect.stderr` patterns that are not valid regular expressions.
pub(super) fn regex_errors(step: &RawStep, pointer: &str, doc: &Document) -> Vec<Diagnostic> {
    let Some(e) = &step.expect else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    for (key, re) in [("stdout", &e.stdout), ("stderr", &e.stderr)] {
        if let Some(Err(err)) = re.as_ref().map(|re| regex::Regex::new(re)) {
            let first = err
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_owned();
            errors.push(
                doc.error_at(&format!("{pointer}/expect/{key}"), format!("`expect.{key}` is not a valid regular expression: {first}"))
                    .with_hint("regular expressions follow Rust's regex syntax; escape special characters with \\"),
            );
        }
    }
    errors
}
