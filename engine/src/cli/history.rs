//! `quorate runs`, `show`, `logs` and `report`: reading recorded runs, creating nothing. They read
//! the store when it is free, and ask the running controller when it holds it. Recorded
//! values are shown escaped (table cells as single lines, host output as blocks);
//! `--format json` gives them exactly as stored.

use std::fmt::Write as _;

use super::args::{Cli, LogsArgs, ReportArgs, ReportFormat, RunsArgs, ShowArgs, TableFormat};
use super::exit::DONE;
use super::log_output::LogPrinter;
use super::run_ref::resolve_run;
use crate::exec::{approvals, state_name, status_name};
use crate::report::{html_report, markdown_report, RunFacts};
use crate::source::{escape, Diagnostic};
use crate::store::{now_ms, open_reader};

/// Version of the JSON document `runs --format json` prints.
pub const RUNS_FORMAT_VERSION: u32 = 1;

fn seconds(ms: u64) -> String {
    format!("{}.{}s", ms / 1000, ms % 1000 / 100)
}

/// Opens the state directory for reading and resolves the RUN argument `$arg`: evaluates
/// to `(reader, run id)`, or ends the command with the store failure or the diagnostic.
macro_rules! open_run {
    ($cli:expr, $arg:expr) => {{
        let reader = or_store_failure!($cli.state, open_reader(&$cli.state, &$cli.etcd_options()));
        match or_store_failure!(
            $cli.state,
            resolve_run(reader.as_reader(), &$cli.state, $arg)
        ) {
            Ok(id) => (reader, id),
            Err(d) => return Err(vec![d]),
        }
    }};
}

/// Opens the store and reads the run the RUN argument `$arg` names: evaluates to `(run,
/// tasks, events)`, or ends the command with the store failure or the diagnostic.
macro_rules! read_run {
    ($cli:expr, $arg:expr) => {{
        let (reader, id) = open_run!($cli, $arg);
        let reader = reader.as_reader();
        let Some(run) = or_store_failure!($cli.state, reader.run(&id)) else {
            return Err(vec![Diagnostic::error(format!(
                "no run {id} in {}",
                $cli.state.display()
            ))]);
        };
        let tasks = or_store_failure!($cli.state, reader.tasks(&id));
        let events = or_store_failure!($cli.state, reader.events(&id));
        (run, tasks, events)
    }};
}

pub fn runs(cli: &Cli, args: &RunsArgs) -> Result<u8, Vec<Diagnostic>> {
    let reader = or_store_failure!(cli.state, open_reader(&cli.state, &cli.etcd_options()));
    let runs = or_store_failure!(cli.state, reader.as_reader().runs());
    if args.format == TableFormat::Json {
        let value = serde_json::json!({ "version": RUNS_FORMAT_VERSION, "runs": runs });
        outln!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return Ok(DONE);
    }
    if runs.is_empty() {
        outln!("no runs in {}", cli.state.display());
        return Ok(DONE);
    }
    let mut out = format!(
        "{:22}  {:10}  {:20}  {:16}  {}\n",
        "RUN", "STATUS", "RUNBOOK", "CLUSTER", "NOTE"
    );
    for r in runs {
        let _ = writeln!(
            out,
            "{:22}  {:10}  {:20}  {:16}  {}",
            escape::line(&r.id),
            status_name(r.status),
            escape::line(&r.runbook),
            escape::line(&r.cluster),
            escape::line(&r.paused.unwrap_or_default())
        );
    }
    out!("{out}");
    Ok(DONE)
}

pub fn show(cli: &Cli, args: &ShowArgs) -> Result<u8, Vec<Diagnostic>> {
    let (run, tasks, events) = read_run!(cli, &args.run);
    let approvals = approvals(&events);
    if args.format == TableFormat::Json {
        let value = serde_json::json!({
            "run": run,
            "tasks": tasks,
            "events": events,
            "approvals": approvals,
        });
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
        status_name(run.status),
        run.paused
            .map(|p| format!(" ({})", escape::line(&p)))
            .unwrap_or_default()
    );
    out.push_str(&super::saved::provenance(&events));
    let cells: Vec<(String, String)> = tasks
        .iter()
        .map(|t| {
            let host = t.host.as_deref().unwrap_or(crate::model::CONTROLLER);
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
    if !approvals.is_empty() {
        out.push('\n');
    }
    for a in &approvals {
        let _ = writeln!(
            out,
            "approved {} by {} at {}{}",
            escape::line(&a.step),
            escape::line(&a.by()),
            crate::store::utc(a.at_ms),
            a.comment
                .as_deref()
                .map(|c| format!(": {}", escape::line(c)))
                .unwrap_or_default()
        );
    }
    out!("{out}");
    Ok(DONE)
}

pub fn logs(cli: &Cli, args: &LogsArgs) -> Result<u8, Vec<Diagnostic>> {
    let (reader, id) = open_run!(cli, &args.run);
    if args.follow {
        return Ok(super::follow::follow(cli, args, reader, &id));
    }
    let reader = reader.as_reader();
    let Some(run) = or_store_failure!(cli.state, reader.run(&id)) else {
        return Err(vec![Diagnostic::error(format!(
            "no run {id} in {}",
            cli.state.display()
        ))]);
    };
    let tasks = or_store_failure!(cli.state, reader.tasks(&id));
    let printer = LogPrinter { run: &id, args };
    for t in &tasks {
        printer.task(t);
    }
    printer.end(&run);
    Ok(DONE)
}

/// `quorate report`: the run as HTML or Markdown, on standard output or in a file.
pub fn report(cli: &Cli, args: &ReportArgs) -> Result<u8, Vec<Diagnostic>> {
    let (run, tasks, events) = read_run!(cli, &args.run);
    let facts = RunFacts {
        run: &run,
        tasks: &tasks,
        events: &events,
        now_ms: now_ms(),
    };
    let text = match args.format {
        ReportFormat::Html => html_report(&facts),
        ReportFormat::Markdown => markdown_report(&facts),
    };
    if let Some(path) = &args.out {
        std::fs::write(path, text).map_err(|e| {
            vec![Diagnostic::error(format!(
                "cannot write the report to {}: {e}",
                path.display()
            ))]
        })?;
    } else {
        out!("{text}");
    }
    Ok(DONE)
}
