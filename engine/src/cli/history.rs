//! `quorate runs`, `show` and `logs`: reading recorded runs.

use std::fmt::Write as _;

use super::args::{Cli, LogsArgs, ShowArgs, TableFormat};
use super::exit::DONE;
use crate::exec::state_name;
use crate::source::Diagnostic;
use crate::store::{RunStore, SledStore};

fn seconds(ms: u64) -> String {
    format!("{}.{}s", ms / 1000, ms % 1000 / 100)
}

pub fn runs(cli: &Cli) -> Result<u8, Vec<Diagnostic>> {
    let store = or_store_failure!(cli.state, SledStore::open(&cli.state));
    let runs = or_store_failure!(cli.state, store.runs());
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
    let store = or_store_failure!(cli.state, SledStore::open(&cli.state));
    let Some(run) = or_store_failure!(cli.state, store.run(&args.run)) else {
        return Err(vec![Diagnostic::error(format!(
            "no run {} in {}",
            args.run,
            cli.state.display()
        ))]);
    };
    let tasks = or_store_failure!(cli.state, store.tasks(&args.run));
    if args.format == TableFormat::Json {
        let events = or_store_failure!(cli.state, store.events(&args.run));
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
    let store = or_store_failure!(cli.state, SledStore::open(&cli.state));
    if or_store_failure!(cli.state, store.run(&args.run)).is_none() {
        return Err(vec![Diagnostic::error(format!(
            "no run {} in {}",
            args.run,
            cli.state.display()
        ))]);
    }
    let tasks = or_store_failure!(cli.state, store.tasks(&args.run));
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
