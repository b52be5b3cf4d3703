//! Saved plan files: writing one for `plan --out` (with the cluster fingerprint read
//! from the hosts), and reading one back for `apply` and `diff`, refused with a clear
//! message when it was edited, cut short or is not a saved plan.

use std::path::Path;

use super::args::{CompileArgs, LimitArgs};
use super::execute::{control_dir, runtime};
use crate::exec::{ssh_settings, take_fingerprint};
use crate::plan::saved::{Fingerprint, SavedContent, SavedPlan, Sources};
use crate::plan::Plan;
use crate::source::Diagnostic;
use crate::store::{controller, now_ms};
use crate::transport::Connections;

/// What compiles a saved plan again: the compile arguments (paths absolute) and the
/// `--limit` names.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SavedCompile {
    #[serde(flatten)]
    pub args: CompileArgs,
    #[serde(default)]
    pub limit: Vec<String>,
}

/// Writes the saved plan of `plan` to `path`, reading the cluster fingerprint first.
pub fn save(
    path: &Path,
    args: &CompileArgs,
    limit: &LimitArgs,
    plan: &Plan,
    sources: Sources,
) -> Result<SavedPlan, Vec<Diagnostic>> {
    let recorded: CompileArgs =
        serde_json::from_str(&super::sources::record(args)).unwrap_or_else(|_| args.clone());
    let compile = SavedCompile {
        args: recorded,
        limit: limit.limit.clone(),
    };
    let saved = SavedPlan::new(SavedContent {
        saved_ms: now_ms(),
        saved_by: controller(),
        compile: serde_json::to_value(&compile).unwrap_or_default(),
        sources,
        fingerprint: read_fingerprint(plan),
        plan: plan.clone(),
    });
    std::fs::write(path, saved.to_json()).map_err(|e| {
        vec![Diagnostic::error(format!(
            "cannot write the plan to {}: {e}",
            path.display()
        ))]
    })?;
    Ok(saved)
}

/// Reads the cluster fingerprint of the plan's cluster over the plan's connections;
/// `None` without `cluster.fingerprint`.
pub fn read_fingerprint(plan: &Plan) -> Option<Fingerprint> {
    if plan.fingerprint.version.is_empty() {
        return None;
    }
    runtime().block_on(async {
        let dir = control_dir();
        let conns = Connections::new(ssh_settings(plan), dir.clone()).ok()?;
        let print = take_fingerprint(plan, &conns).await;
        conns.close().await;
        let _ = std::fs::remove_dir_all(conns.control_dir());
        print
    })
}

/// Reads a saved plan file; a file that is missing, cut short, edited or not a saved
/// plan is refused, naming the file and what is wrong with it.
pub fn load(path: &Path) -> Result<SavedPlan, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::error(format!(
            "cannot read {}: {e}",
            path.display()
        ))]
    })?;
    SavedPlan::read(&text).map_err(|e| {
        vec![Diagnostic::error(format!(
            "{} cannot be used as a saved plan: {e}",
            path.display()
        ))
        .with_hint(
            "save the plan again with `quorate plan RUNBOOK -i INVENTORY --out FILE` and review it",
        )]
    })
}

/// For `show`: the lines telling that a run was applied from a saved plan, and forced
/// (its first line: what it overrode), if it was; empty for other runs.
pub fn provenance(events: &[crate::store::Event]) -> String {
    let mut out = String::new();
    for e in events {
        if matches!(
            crate::exec::EventKind::of(e),
            Some(crate::exec::EventKind::Applied | crate::exec::EventKind::Forced)
        ) {
            let first = e.message.lines().next().unwrap_or_default();
            out.push_str(&crate::source::escape::line(first));
            out.push('\n');
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}
