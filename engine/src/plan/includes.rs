//! Finding the runbook an `include:` step names, the same way for `validate` and `plan`:
//! resolved (a path or a runbook name), refused when it closes a cycle, and validated
//! with the `on` its steps inherit. Without an inventory, [`check_includes`] walks every
//! include of a validated runbook this way; planning expands them (`include.rs`).

use std::collections::HashSet;
use std::sync::Arc;

use super::compile::{IncludeResolver, LoadedRunbook};
use super::limits::{include_limit, too_deep};
use super::runbook::{own_default, Runbook, Step, StepAction, StepList, Target};
use super::targets;
use crate::model::Document;
use crate::source::Diagnostic;

/// The runbook step `step` (of `doc`) includes, or why it cannot be had. `stack`: the
/// files being included, the outermost first.
pub(super) fn resolve_include(
    includes: &dyn IncludeResolver,
    name: &str,
    step: &Step,
    doc: &Document,
    stack: &[String],
) -> Result<Arc<LoadedRunbook>, Vec<Diagnostic>> {
    let at = format!("{}/include", step.pointer);
    let loaded = includes.resolve(name, &doc.source).map_err(|e| {
        e.into_iter()
            .map(|d| {
                if d.pos.is_some() {
                    d
                } else {
                    let mut placed = doc.error_at(&at, d.message);
                    placed.hint = d.hint;
                    placed.notes = d.notes;
                    placed
                }
            })
            .collect::<Vec<_>>()
    })?;
    let file = &loaded.doc.source.name;
    if let Some(first) = stack.iter().position(|f| f == file) {
        let mut chain: Vec<&str> = stack[first..].iter().map(String::as_str).collect();
        chain.push(file);
        return Err(vec![doc
            .error_at(&at, format!("include cycle: {}", chain.join(" -> ")))
            .with_hint(
                "a runbook cannot include itself, directly or through others",
            )]);
    }
    Ok(loaded)
}

/// The `on` an included runbook's steps use when they have none: the include step's
/// (pointing into the including file), else the included runbook's own, and last the
/// including list's: an included procedure runs where the including one does unless it
/// says otherwise.
pub(super) fn inherited_on(
    step: &Step,
    doc: &Arc<Document>,
    loaded: &LoadedRunbook,
    outer: Option<&Target>,
) -> Option<Target> {
    step.on
        .as_ref()
        .map(|t| Target {
            on: t.clone(),
            pointer: format!("{}/on", step.pointer),
            doc: Arc::clone(doc),
        })
        .or_else(|| own_default(loaded))
        .or_else(|| outer.cloned())
}

/// A key for a runbook validated with the `on` its steps inherit.
pub(super) fn validation_key(loaded: &LoadedRunbook, on: Option<&Target>) -> String {
    on.map_or_else(
        || loaded.doc.source.name.clone(),
        |t| {
            format!(
                "{}\0{}\0{}\0{}",
                loaded.doc.source.name,
                t.doc.source.name,
                t.pointer,
                targets::describe(&t.on)
            )
        },
    )
}

/// Every include of `runbook` (of file `loaded`), and theirs in turn: each resolved,
/// not closing a cycle, and valid. Each included runbook is checked once per `on` it
/// inherits, however often it is included.
pub fn check_includes(
    runbook: &Runbook,
    loaded: &LoadedRunbook,
    includes: &dyn IncludeResolver,
) -> Vec<Diagnostic> {
    let mut walk = IncludeWalk {
        includes,
        stack: vec![loaded.doc.source.name.clone()],
        seen: HashSet::new(),
        errors: Vec::new(),
    };
    walk.list(&runbook.steps, &runbook.doc, own_default(loaded).as_ref());
    walk.errors
}

struct IncludeWalk<'i> {
    includes: &'i dyn IncludeResolver,
    stack: Vec<String>,
    seen: HashSet<String>,
    errors: Vec<Diagnostic>,
}

impl IncludeWalk<'_> {
    /// The include steps of a list (a rolling block holds none: it is refused there).
    fn list(&mut self, list: &StepList, doc: &Arc<Document>, default: Option<&Target>) {
        for step in &list.steps {
            if let StepAction::Include(include) = &step.action {
                self.include(step, &include.name, doc, default);
            }
        }
    }

    fn include(&mut self, step: &Step, name: &str, doc: &Arc<Document>, outer: Option<&Target>) {
        if let Some((message, note)) = too_deep(&self.stack) {
            self.errors
                .push(include_limit(doc, &step.pointer, message, note));
            return;
        }
        let loaded = match resolve_include(self.includes, name, step, doc, &self.stack) {
            Ok(l) => l,
            Err(e) => {
                self.errors.extend(e);
                return;
            }
        };
        let on = inherited_on(step, doc, &loaded, outer);
        if !self.seen.insert(validation_key(&loaded, on.as_ref())) {
            return;
        }
        let (runbook, errors) = Runbook::validate_with(&loaded, on.as_ref());
        self.errors.extend(errors);
        self.stack.push(loaded.doc.source.name.clone());
        self.list(&runbook.steps, &loaded.doc, on.as_ref());
        self.stack.pop();
    }
}
