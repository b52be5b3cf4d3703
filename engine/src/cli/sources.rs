//! What a run was compiled from, recorded with the run so that `resume` can tell the
//! operator when the runbook, inventory or parameters have changed since (it still runs
//! the plan as recorded).

use std::path::{Path, PathBuf};

use similar::TextDiff;

use super::args::CompileArgs;
use super::inputs::compile_from_args;
use crate::plan::{text, Plan};

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The compile arguments with every path made absolute, as JSON.
pub fn record(args: &CompileArgs) -> String {
    let mut a = args.clone();
    let is_path = Path::new(&a.runbook).extension().is_some() || a.runbook.contains('/');
    if is_path {
        a.runbook = absolute(Path::new(&a.runbook)).display().to_string();
    }
    a.inventory = absolute(&a.inventory);
    a.params_file = a.params_file.as_deref().map(absolute);
    a.catalog.runbooks = a.catalog.runbooks.iter().map(|d| absolute(d)).collect();
    serde_json::to_string(&a).unwrap_or_default()
}

/// A note and a diff of the plans when today's files compile to a different plan, or a
/// note when they no longer compile; `None` when nothing changed.
pub fn changes(recorded: &str, plan: &Plan) -> Option<String> {
    let args: CompileArgs = serde_json::from_str(recorded).ok()?;
    let today = match compile_from_args(&args, false) {
        Ok(c) => c.plan,
        Err(_) => {
            return Some(
                "note: the runbook or inventory this run was planned from no longer compiles; resuming the plan as recorded\n"
                    .to_owned(),
            )
        }
    };
    let (then, now) = (text::render(plan), text::render(&today));
    if then == now {
        return None;
    }
    let diff = TextDiff::from_lines(&then, &now)
        .unified_diff()
        .context_radius(2)
        .header("recorded plan", "plan from today's files")
        .to_string();
    Some(format!(
        "note: the runbook, inventory or parameters changed since this run started; resuming the plan as recorded\n{diff}"
    ))
}
