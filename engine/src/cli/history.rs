//! `quorate runs`, `show` and `logs`: reading recorded runs. Recorded values are shown
//! escaped (table cells as single lines, host output as blocks); `--format json` gives
//! them exactly as stored.

use std::fmt::Write as _;

use super::args::{Cli, LogsArgs, ShowArgs, TableFormat};
use super::exit::DONE;
use crate::exec::state_name;
use crate::source::{escape, Diagnostic};
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
            escape::line(&r.id),
            escape::line(&r.runbook),
            escape::line(&r.cluster),
            escape::line(&r.paused.unwrap_or_default())
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
        escape::line(&run.id),
        escape::line(&run.runbook),
        escape::line(&run.cluster),
        format!("{:?}", run.status).to_lowercase(),
        run.paused
            .map(|p| format!(" ({})", escape::line(&p)))
            .unwrap_or_default()
    );
    let cells: Vec<(String, String)> = tasks
        .iter()
        .map(|t| {
            let host = t.host.as_deref().unwrap_or("controller");
            (
                escape::line(host).into_owned(),
                escape::line(&t.step).into_owned(),
            )
        })
        .collect();
    let widest = |cell: fn(&(String, String)) -> usize| cells.iter().map(cell).max().unwrap_or(0);
    let hw = widest(|(h, _)| h.chars().count()).max(10);
    let sw = widest(|(_, s)| s.chars().count()).max(4);
    let _ = writeln!(
        out,
        "{:hw$}  {:sw$}  {:8}  {:8}  {:>9}  NOTE",
        "HOST", "STEP", "STATE", "ATTEMPTS", "DURATION"
    );
    for (t, (host, step)) in tasks.iter().zip(&cells) {
        let duration = match (t.started_ms, t.ended_ms) {
            (Some(s), Some(e)) => seconds(e.saturating_sub(s)),
            _ => String::new(),
        };
        let note = t
            .reason
            .as_deref()
            .map(|r| escape::line(r).into_owned())
            .or_else(|| t.exit.map(|c| format!("exit {c}")))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{host:hw$}  {step:sw$}  {:8}  {:8}  {duration:>9}  {note}",
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
            "==> {} on {} ({}) <==",
            escape::line(&t.step),
            escape::line(host),
            state_name(t.state)
        );
        push_output(&mut out, &t.stdout);
        if !t.stderr.is_empty() {
            let _ = writeln!(out, "--- stderr ---");
            push_output(&mut out, &t.stderr);
        }
    }
    out!("{out}");
    Ok(DONE)
}

/// Host output as a block: its lines stay lines, everything else that could steer the
/// terminal is escaped; it always ends with a newline.
fn push_output(out: &mut String, output: &str) {
    out.push_str(&escape::block(output));
    if !output.is_empty() && !output.ends_with('\n') {
        out.push('\n');
    }
}
