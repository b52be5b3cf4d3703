//! `plan --probe`: connects to the plan's hosts read-only (see [`crate::exec::probe`])
//! and shows per task whether it would run, would be skipped, or is unknown, and why.

use std::fmt::Write as _;

use super::execute::{control_dir, runtime};
use crate::exec::{probe, ssh_settings, Probe, Verdict};
use crate::plan::{Plan, Secrets};
use crate::source::{escape, Diagnostic};
use crate::transport::Connections;

/// Probes the plan's hosts; a connection pool that cannot be set up is an error.
pub fn run_probe(plan: &Plan, secrets: &Secrets) -> Result<Probe, Vec<Diagnostic>> {
    runtime().block_on(async {
        let conns = Connections::new(ssh_settings(plan), control_dir())
            .map_err(|e| vec![Diagnostic::error(e.to_string())])?;
        let found = probe(plan, &conns, secrets).await;
        conns.close().await;
        let _ = std::fs::remove_dir_all(conns.control_dir());
        Ok(found)
    })
}

/// The probe for people: a count, then one line per task and per gate.
pub fn render(found: &Probe) -> String {
    let count = |v: Verdict| found.tasks.iter().filter(|t| t.verdict == v).count();
    let mut out = format!(
        "\nprobe: {} would run, {} would be skipped, {} unknown\n",
        count(Verdict::WouldRun),
        count(Verdict::WouldSkip),
        count(Verdict::Unknown)
    );
    let names: Vec<String> = found
        .tasks
        .iter()
        .map(|t| escape::line(&format!("{}@{}", t.step, t.host)).into_owned())
        .collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for (t, name) in found.tasks.iter().zip(&names) {
        let _ = writeln!(
            out,
            "  {:10}  {name:width$}  {}",
            t.verdict.as_str(),
            escape::line(&t.reason)
        );
    }
    for g in &found.gates {
        let _ = writeln!(
            out,
            "  gate of batch {} of `{}`: {}",
            g.batch,
            escape::line(&g.rolling),
            escape::line(&g.reason)
        );
    }
    out
}
