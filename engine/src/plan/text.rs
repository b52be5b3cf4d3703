//! The plan as operators review it: batches in order, per host the rendered commands and
//! guards, the quorum math, and deferred templates marked as such. Secrets are masked;
//! every value from the runbook, inventory or parameters goes through
//! [`crate::source::escape`]: shell commands as blocks (their lines indented under the
//! first), everything else as single-line fields, so no value can steer the terminal or
//! pass for a line of its own.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::env_value::EnvValue;
use super::types::{Action, NodeKind, Plan, PlanStep, Rolling, Task, Text};
use crate::source::escape;

/// A value shown inside one line of the plan.
fn one_line(text: &str) -> String {
    escape::line(text).into_owned()
}

fn joined(items: &[String]) -> String {
    one_line(&items.join(", "))
}

/// Renders the whole plan. Output depends only on the plan, so equal plans print equal.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan: {} on cluster {}",
        one_line(&plan.runbook),
        one_line(&plan.cluster)
    );
    if let Some(q) = &plan.quorum {
        let _ = writeln!(
            out,
            "cluster: {}, {} members ({}): n = {}, f = {}, quorum {}",
            q.consensus_name(),
            q.n,
            joined(&plan.members),
            q.n,
            q.f,
            q.needed()
        );
    }
    if !plan.params.is_empty() {
        let _ = writeln!(out, "params:");
        for p in &plan.params {
            let value = match &p.value {
                Some(v) => v.to_string(),
                None => "(secret)".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {} = {}  [{}]",
                one_line(&p.name),
                // JSON text: unambiguous already, but keeps bidi and invisible characters.
                escape::neutralize(&value),
                one_line(&p.origin)
            );
        }
    }
    let tasks = plan.tasks().count();
    let mut hosts: Vec<&str> = plan
        .tasks()
        .filter_map(|(_, t)| t.host.as_deref())
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    let controller = plan.tasks().any(|(_, t)| t.host.is_none());
    let _ = writeln!(
        out,
        "tasks: {tasks} on {} host{}{}",
        hosts.len(),
        if hosts.len() == 1 { "" } else { "s" },
        if controller {
            " and the controller"
        } else {
            ""
        }
    );
    write_limit(&mut out, plan, tasks);
    let rolling_ids: Vec<&str> = plan.rollings.iter().map(|r| r.step.as_str()).collect();
    let mut by_batch: HashMap<(usize, usize, &str), Vec<&Task>> = HashMap::new();
    for (_, t) in plan.tasks() {
        if let (Some(b), Some(h)) = (t.batch, t.host.as_deref()) {
            by_batch.entry((b.rolling, b.batch, h)).or_default().push(t);
        }
    }
    let mut number = 0;
    for step in &plan.steps {
        if step
            .parent
            .as_deref()
            .is_some_and(|p| rolling_ids.contains(&p))
        {
            continue;
        }
        number += 1;
        out.push('\n');
        let _ = writeln!(out, "{number}. {}", header(step));
        if let Some(d) = &step.description {
            let _ = writeln!(out, "   {}", one_line(d.trim_end()));
        }
        if let Some(r) = step.rolling {
            render_rolling(&mut out, plan, r, &by_batch);
            continue;
        }
        let tasks: Vec<&Task> = step
            .nodes
            .iter()
            .filter_map(|&id| match &plan.nodes[id].kind {
                NodeKind::Task(t) => Some(&**t),
                _ => None,
            })
            .collect();
        let who: Vec<String> = tasks.iter().map(|t| one_line(t.host_name())).collect();
        let width = who.iter().map(|w| w.chars().count()).max().unwrap_or(0);
        for (t, w) in tasks.iter().zip(&who) {
            write_task(&mut out, plan, "   ", w, width, t);
        }
    }
    // Every value was escaped where it was inserted; this catches any that was not.
    escape::neutralize(&out).into_owned()
}

/// What `--limit` leaves out, when one is given.
fn write_limit(out: &mut String, plan: &Plan, tasks: usize) {
    if let Some(limit) = &plan.limit {
        let excluded = plan.tasks().filter(|(_, t)| plan.excluded(t)).count();
        let _ = writeln!(
            out,
            "limit: {} ({}): {excluded} of {tasks} tasks excluded; controller tasks still run, \
             and batch sizes and health gates still count every member",
            joined(&limit.hosts),
            joined(&limit.names)
        );
    }
}

fn header(step: &PlanStep) -> String {
    let mut h = format!("{}: {}", one_line(&step.id), step.action);
    if !step.on.is_empty() {
        let _ = write!(h, " on {}", one_line(&step.on));
    }
    if !step.needs.is_empty() {
        let _ = write!(h, ", after {}", joined(&step.needs));
    }
    h
}

/// The health gate of a rolling block: the quorum it needs and each member's command.
fn render_gate(out: &mut String, plan: &Plan, rolling: &Rolling) {
    match &plan.quorum {
        Some(q) if !rolling.health.is_empty() => {
            let _ = writeln!(
                out,
                "   health gate before each batch: at least {} of {} members healthy",
                q.needed(),
                q.n
            );
            if !rolling.membership.is_empty() {
                let _ = writeln!(
                    out,
                    "   n and f are recomputed from cluster.membership before every batch"
                );
            }
            let width = rolling
                .health
                .iter()
                .map(|(h, _)| one_line(h).chars().count())
                .max()
                .unwrap_or(0);
            for (host, cmd) in &rolling.health {
                write_entry(
                    out,
                    &format!("     {:width$}  ", one_line(host)),
                    &command(cmd),
                );
            }
            if !rolling.health_others.is_empty() {
                // Their commands are the same template: the names say enough.
                let others: Vec<String> = rolling
                    .health_others
                    .iter()
                    .map(|(h, _)| one_line(h))
                    .collect();
                let _ = writeln!(
                    out,
                    "   also counted when cluster.membership names them: {}",
                    others.join(", ")
                );
            }
        }
        _ => {
            let _ = writeln!(
                out,
                "   health gate: none (the inventory has no cluster.health command)"
            );
        }
    }
}

fn render_rolling(
    out: &mut String,
    plan: &Plan,
    r: usize,
    by_batch: &HashMap<(usize, usize, &str), Vec<&Task>>,
) {
    let rolling = &plan.rollings[r];
    let count = rolling.batches.len();
    let _ = write!(
        out,
        "   batches: {count} of up to {} host{} ({})",
        rolling.size,
        if rolling.size == 1 { "" } else { "s" },
        one_line(&rolling.rule)
    );
    if let Some(by) = &rolling.by {
        let _ = write!(out, ", never spanning two values of {}", one_line(by));
    }
    if let Some(p) = rolling.pause {
        let _ = write!(out, ", pause {p} between batches");
    }
    out.push('\n');
    if rolling.quorum_loss_allowed {
        let _ = writeln!(out, "   QUORUM LOSS ALLOWED (--allow-quorum-loss)");
    }
    render_gate(out, plan, rolling);
    for (k, batch) in rolling.batches.iter().enumerate() {
        let zone = batch
            .zone
            .as_ref()
            .map(|z| format!(" [by {}]", one_line(z)))
            .unwrap_or_default();
        let f = plan
            .quorum
            .map(|q| format!(", f = {}", q.f))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "   batch {} of {count}{zone}: {}  ({} member{} down{f})",
            k + 1,
            joined(&batch.hosts),
            batch.members,
            if batch.members == 1 { "" } else { "s" }
        );
        for host in &batch.hosts {
            let _ = writeln!(out, "     {}", one_line(host));
            let tasks = by_batch
                .get(&(r, k, host.as_str()))
                .map_or(&[][..], Vec::as_slice);
            let width = tasks
                .iter()
                .map(|t| one_line(&t.step).chars().count())
                .max()
                .unwrap_or(0);
            for t in tasks {
                write_task(out, plan, "       ", &one_line(&t.step), width, t);
            }
        }
    }
    if !rolling.on_failure.is_empty() {
        let _ = writeln!(out, "   on failure, on the failed batch's hosts, in order:");
        let who: Vec<String> = rolling
            .on_failure
            .iter()
            .map(|t| one_line(&format!("{} {}", t.host_name(), t.step)))
            .collect();
        let width = who.iter().map(|w| w.chars().count()).max().unwrap_or(0);
        for (t, w) in rolling.on_failure.iter().zip(&who) {
            write_task(out, plan, "     ", w, width, t);
        }
    }
}

/// A shell command: a block whose lines stay lines.
fn command(t: &Text) -> String {
    match t {
        Text::Ready(s) => format!("$ {}", escape::block(s)),
        Text::Deferred { deferred } => format!(
            "$ {}  (rendered when the task starts)",
            escape::block(deferred)
        ),
    }
}

/// Any other text of a task (paths, messages, values): one line.
fn plain(t: &Text) -> String {
    match t {
        Text::Ready(s) => one_line(s),
        Text::Deferred { deferred } => {
            format!("{}  (rendered when the task starts)", one_line(deferred))
        }
    }
}

/// One entry after `prefix`; the further lines of a multi-line command are indented two
/// more than the entry, so they cannot pass for an entry of their own.
fn write_entry(out: &mut String, prefix: &str, text: &str) {
    let mut lines = text.lines();
    let _ = writeln!(out, "{prefix}{}", lines.next().unwrap_or_default());
    let cont = " ".repeat(prefix.chars().count() + 2);
    for l in lines {
        let _ = writeln!(out, "{cont}{l}");
    }
}

/// What a task does, on one line (a command as a block): `$ CMD`, `copy A -> B`, `approve: TEXT`.
pub fn action_line(action: &Action) -> String {
    match action {
        Action::Run { command: c } => command(c),
        Action::Copy { src, dest, mode } => {
            let mode = mode
                .as_ref()
                .map(|m| format!(" (mode {})", one_line(m)))
                .unwrap_or_default();
            format!("copy {} -> {}{mode}", plain(src), plain(dest))
        }
        Action::Fetch { src, dest } => format!("fetch {} -> {}", plain(src), plain(dest)),
        Action::Wait {
            until,
            every,
            timeout,
        } => format!(
            "wait until {} (every {every}, timeout {timeout})",
            command(until)
        ),
        Action::Approve { message } => format!("approve: {}", plain(message)),
        Action::Sleep { duration } => format!("sleep {duration}"),
    }
}

/// One task: the action on the first line, then its conditions and options.
fn write_task(out: &mut String, plan: &Plan, indent: &str, who: &str, width: usize, t: &Task) {
    let first = action_line(&t.action);
    let pad = " ".repeat(width + 2);
    write_entry(out, &format!("{indent}{who:width$}  "), &first);
    let mut extra = Vec::new();
    if plan.excluded(t) {
        extra.push("excluded by --limit: does not run".to_owned());
    }
    if t.skip {
        extra.push("skipped: `when` is false".to_owned());
    }
    if let Some(w) = &t.when {
        extra.push(format!("when {}", plain(w)));
    }
    let g = &t.guards;
    if let Some(c) = &g.creates {
        extra.push(format!("skip if exists: {}", plain(c)));
    }
    if let Some(c) = &g.removes {
        extra.push(format!("skip if missing: {}", plain(c)));
    }
    if let Some(c) = &g.unless {
        extra.push(format!("skip if this succeeds: {}", command(c)));
    }
    if let Some(c) = &g.only_if {
        extra.push(format!("run only if this succeeds: {}", command(c)));
    }
    if let Some(e) = &t.expect {
        let codes: Vec<String> = e.exit.iter().map(ToString::to_string).collect();
        let mut s = format!("expect exit {}", codes.join(" or "));
        if let Some(re) = &e.stdout {
            let _ = write!(s, ", stdout =~ /{}/", one_line(re));
        }
        if let Some(re) = &e.stderr {
            let _ = write!(s, ", stderr =~ /{}/", one_line(re));
        }
        extra.push(s);
    }
    if let Some(r) = &t.retries {
        extra.push(format!(
            "retries {} (delay {}, backoff x{}, at most {})",
            r.count, r.delay, r.backoff, r.max_delay
        ));
    }
    if let Some(d) = t.timeout {
        extra.push(format!("timeout {d}"));
    }
    for (name, value) in &t.env {
        let deferred = if matches!(value, EnvValue::Deferred { .. }) {
            "  (rendered when the task starts)"
        } else {
            ""
        };
        extra.push(format!(
            "env {}={}{deferred}",
            one_line(name),
            one_line(&value.shown())
        ));
    }
    if let Some(c) = &t.cwd {
        extra.push(format!("in {}", plain(c)));
    }
    for (on, text) in [
        (t.sudo, "with sudo"),
        (t.capture, "stdout captured"),
        (t.idempotent, "idempotent"),
    ] {
        if on {
            extra.push(text.to_owned());
        }
    }
    for e in extra {
        write_entry(out, &format!("{indent}{pad}"), &e);
    }
}
