//! `quorate runs`, `show` and `logs`: reading recorded runs.

use std::fmt::Write as _;

use super::args::{Cli, LogsArgs, ShowArgs, TableFormat};
use super::exit::{DONE, LOCKED};
use super::warn;
use crate::exec::state_name;
use crate::source::Diagnostic;
use crate::store::{RunStore, SledStore, StoreError};

fn open(cli: &Cli) -> Result<SledStore, Result<u8, Vec<Diagnostic>>> {
    SledStore::open(&cli.state).map_err(|e| match e {
        StoreError::Busy { .. } => {
            warn(&[Diagnostic::error(e.to_string())]);
            Ok(LOCKED)
        }
        other => Err(vec![Diagnostic::error(other.to_string())]),
    })
}

fn seconds(ms: u64) -> String {
    format!("{}.{}s", ms / 1000, ms % 1000 / 100)
}

pub fn runs(cli: &Cli) -> Result<u8, Vec<Diagnostic>> {
    let store = match open(cli) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let runs = store
        .runs()
        .map_err(|e| vec![Diagnostic::error(e.to_string())])?;
    if runs.is_empty() {
        outln!("no runs in {}", cli.state.display());
        return Ok(DONE);
    }
    let mut out = format!(
        "{:22}  {:10}  {:20}  {:16}  {}\n",
        "RUN", "STATUS", "RUNBOOK", "CLUSTER", "NOTE"
    );
    for r in runs {
        let status = format!("{:?}", r.status).to_lowercase();
        let _ = writeln!(
            out,
            "{:22}  {status:10}  {:20}  {:16}  {}",
            r.id,
            r.runbook,
            r.cluster,
            r.paused.unwrap_or_default()
        );
    }
    out!("{out}");
    Ok(DONE)
}

pub fn show(cli: &Cli, args: &ShowArgs) -> Result<u8, Vec<Diagnostic>> {
    let store = match open(cli) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(run) = store
        .run(&args.run)
        .map_err(|e| vec![Diagnostic::error(e.to_string())])?
    else {
        return Err(vec![Diagnostic::error(format!(
            "no run {} in {}",
            args.run,
            cli.state.display()
        ))]);
    };
    let tasks = store
        .tasks(&args.run)
        .map_err(|e| vec![Diagnostic::error(e.to_string())])?;
    if args.format == TableFormat::Json {
        let events = store
            .events(&args.run)
            .map_err(|e| vec![Diagnostic::error(e.to_string())])?;
        let value = serde_json::json!({ "run": run, "tasks": tasks, "events": events });
        outln!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return Ok(DONE);
    }
    let mut out = format!(
        "run {}: {} on {}, {}{}\n\n",
        run.id,
        run.runbook,
        run.cluster,
        format!("{:?}", run.status).to_lowercase(),
        run.paused.map(|p| format!(" ({p})")).unwrap_or_default()
    );
    let hw = tasks
        .iter()
        .filter_map(|t| t.host.as_ref().map(String::len))
        .max()
        .unwrap_or(10)
        .max(10);
    let sw = tasks.iter().map(|t| t.step.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "{:hw$}  {:sw$}  {:8}  {:8}  {:>9}  NOTE",
        "HOST", "STEP", "STATE", "ATTEMPTS", "DURATION"
    );
    for t in &tasks {
        let duration = match (t.started_ms, t.ended_ms) {
            (Some(s), Some(e)) => seconds(e.saturating_sub(s)),
            _ => String::new(),
        };
        let note = t
            .reason
            .clone()
            .or_else(|| t.exit.map(|c| format!("exit {c}")))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:hw$}  {:sw$}  {:8}  {:8}  {duration:>9}  {note}",
            t.host.as_deref().unwrap_or("controller"),
            t.step,
            state_name(t.state),
            t.attempts
        );
    }
    out!("{out}");
    Ok(DONE)
}

pub fn logs(cli: &Cli, args: &LogsArgs) -> Result<u8, Vec<Diagnostic>> {
    let store = match open(cli) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if store
        .run(&args.run)
        .map_err(|e| vec![Diagnostic::error(e.to_string())])?
        .is_none()
    {
        return Err(vec![Diagnostic::error(format!(
            "no run {} in {}",
            args.run,
            cli.state.display()
        ))]);
    }
    let tasks = store
        .tasks(&args.run)
        .map_err(|e| vec![Diagnostic::error(e.to_string())])?;
    let mut out = String::new();
    for t in tasks {
        let host = t.host.as_deref().unwrap_or("controller");
        if args.host.as_deref().is_some_and(|h| h != host)
            || args.step.as_deref().is_some_and(|s| s != t.step)
        {
            continue;
        }
        if t.stdout.is_empty() && t.stderr.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "==> {} on {host} ({}) <==",
            t.step,
            state_name(t.state)
        );
        out.push_str(&t.stdout);
        if !t.stdout.is_empty() && !t.stdout.ends_with('\n') {
            out.push('\n');
        }
        if !t.stderr.is_empty() {
            let _ = writeln!(out, "--- stderr ---");
            out.push_str(&t.stderr);
            if !t.stderr.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out!("{out}");
    Ok(DONE)
}
