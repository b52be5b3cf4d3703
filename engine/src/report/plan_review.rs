//! A plan as a review artifact, for a change ticket (Markdown) or as one self-contained
//! HTML page: summary, quorum math, parameters (secrets only named), estimated duration,
//! the graph (HTML), batches, and per host the commands it will run.

use std::fmt::Write as _;

use super::clock::duration;
use super::escape::{html, html_escaped_block, markdown, markdown_escaped_block};
use super::estimate::Estimate;
use super::page::{markdown_table, page, table};
use super::svg::plan_graph;
use crate::plan::text::action_line;
use crate::plan::{text, Plan, Task, CONTROLLER};
use crate::source::escape;

/// The SHA-256 of the plan as a run records it (`show --format json`: `plan_digest`).
fn digest(plan: &Plan) -> String {
    crate::exec::plan_digest(&serde_json::to_string(plan).unwrap_or_default())
}

/// `label: value` facts at the top, as plain text.
fn summary(plan: &Plan) -> Vec<(&'static str, String)> {
    let tasks = plan.tasks().count();
    let hosts = hosts(plan);
    let mut facts = vec![
        ("runbook", plan.runbook.clone()),
        ("cluster", plan.cluster.clone()),
        (
            "tasks",
            format!("{tasks} on {} (controller tasks included)", hosts.len()),
        ),
        ("plan digest", format!("sha256 {}", digest(plan))),
    ];
    if let Some(limit) = &plan.limit {
        let excluded = plan.tasks().filter(|(_, t)| plan.excluded(t)).count();
        facts.push((
            "limit",
            format!(
                "{} ({excluded} of {tasks} tasks excluded)",
                limit.hosts.join(", ")
            ),
        ));
    }
    if plan.four_eyes {
        facts.push((
            "approvals",
            "four eyes: another operator than the one who starts the run approves".to_owned(),
        ));
    }
    facts
}

/// The quorum math, as sentences.
fn quorum(plan: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    match &plan.quorum {
        Some(q) => lines.push(format!(
            "{} consensus, {} voting members ({}): n = {}, f = {}, the cluster needs {} healthy members (n - f)",
            q.consensus_name(),
            q.n,
            plan.members.join(", "),
            q.n,
            q.f,
            q.needed()
        )),
        None => lines.push("the inventory declares no cluster: no quorum math".to_owned()),
    }
    for r in &plan.rollings {
        let mut line = format!(
            "rolling `{}`: {} batches of up to {} ({})",
            r.step,
            r.batches.len(),
            r.size,
            r.rule
        );
        if let (Some(q), false) = (&plan.quorum, r.health.is_empty()) {
            let _ = write!(
                line,
                "; before each batch a health gate waits for {} of {} members healthy",
                q.needed(),
                q.n
            );
        }
        if r.quorum_loss_allowed {
            line.push_str("; QUORUM LOSS ALLOWED (--allow-quorum-loss)");
        }
        lines.push(line);
    }
    lines
}

fn params(plan: &Plan) -> Vec<[String; 3]> {
    plan.params
        .iter()
        .map(|p| {
            let value = p.value.as_ref().map_or_else(
                || "(secret: supplied at run)".to_owned(),
                ToString::to_string,
            );
            [p.name.clone(), value, p.origin.clone()]
        })
        .collect()
}

/// One row per batch: rolling step, batch number, hosts, members down, zone.
fn batches(plan: &Plan) -> Vec<[String; 5]> {
    let mut rows = Vec::new();
    for r in &plan.rollings {
        for (k, b) in r.batches.iter().enumerate() {
            rows.push([
                r.step.clone(),
                format!("{} of {}", k + 1, r.batches.len()),
                b.hosts.join(", "),
                b.members.to_string(),
                b.zone.clone().unwrap_or_default(),
            ]);
        }
    }
    rows
}

/// The hosts with tasks, in first-task order, the controller among them.
fn hosts(plan: &Plan) -> Vec<&str> {
    let mut hosts: Vec<&str> = Vec::new();
    for (_, t) in plan.tasks() {
        if !hosts.contains(&t.host_name()) {
            hosts.push(t.host_name());
        }
    }
    hosts
}

/// What is said about a task besides its action.
fn notes(plan: &Plan, t: &Task) -> String {
    let mut notes = Vec::new();
    if plan.excluded(t) {
        notes.push("excluded by --limit".to_owned());
    }
    if t.skip {
        notes.push("skipped: `when` is false".to_owned());
    }
    if let Some(w) = &t.when {
        notes.push(format!("when {}", w.as_str()));
    }
    if !t.guards.is_empty() {
        notes.push("guarded".to_owned());
    }
    if let Some(b) = t.batch {
        notes.push(format!("batch {}", b.batch + 1));
    }
    notes.join("; ")
}

/// Per host (controller included), its tasks in plan order: step, action, notes.
fn per_host(plan: &Plan) -> Vec<(&str, Vec<[String; 3]>)> {
    hosts(plan)
        .into_iter()
        .map(|h| {
            let rows = plan
                .tasks()
                .filter(|(_, t)| t.host_name() == h)
                .map(|(_, t)| [t.step.clone(), action_line(&t.action), notes(plan, t)])
                .collect();
            (h, rows)
        })
        .collect()
}

/// The estimate as one sentence, and the per-step medians.
fn estimate_text(plan: &Plan, e: &Estimate) -> String {
    match e.total_ms {
        None => format!("no past runs of `{}` in this store", plan.runbook),
        Some(ms) => {
            let mut s = format!(
                "about {} (the median duration of each step over {} past run{}, along the longest path)",
                duration(ms),
                e.runs,
                if e.runs == 1 { "" } else { "s" }
            );
            if !e.unknown.is_empty() {
                let _ = write!(s, "; no past data for {}", e.unknown.join(", "));
            }
            s
        }
    }
}

fn step_rows(e: &Estimate) -> Vec<[String; 2]> {
    e.steps
        .iter()
        .map(|(s, ms)| [s.clone(), duration(*ms)])
        .collect()
}

fn md_rows<const N: usize>(rows: &[[String; N]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| markdown(c)).collect())
        .collect()
}

fn html_rows<const N: usize>(rows: &[[String; N]], pre: usize) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == pre {
                        format!("<pre>{}</pre>", html_escaped_block(c))
                    } else {
                        html(c)
                    }
                })
                .collect()
        })
        .collect()
}

/// The plan for a change ticket.
pub fn markdown_plan(plan: &Plan, estimate: &Estimate) -> String {
    let mut out = format!(
        "# Plan: {} on cluster {}\n\n",
        markdown(&plan.runbook),
        markdown(&plan.cluster)
    );
    for (label, value) in summary(plan) {
        let _ = writeln!(out, "- **{label}**: {}", markdown(&value));
    }
    let _ = writeln!(
        out,
        "- **estimated duration**: {}",
        markdown(&estimate_text(plan, estimate))
    );
    out.push_str("\n## Quorum math\n\n");
    for line in quorum(plan) {
        let _ = writeln!(out, "- {}", markdown(&line));
    }
    if !plan.params.is_empty() {
        out.push_str("\n## Parameters\n\n");
        out.push_str(&markdown_table(
            &["name", "value", "from"],
            &md_rows(&params(plan)),
        ));
    }
    let batches = batches(plan);
    if !batches.is_empty() {
        out.push_str("\n## Batches\n\n");
        out.push_str(&markdown_table(
            &["rolling", "batch", "hosts", "members down", "zone"],
            &md_rows(&batches),
        ));
    }
    if !estimate.steps.is_empty() {
        out.push_str("\n## Past durations (median per step)\n\n");
        out.push_str(&markdown_table(
            &["step", "median"],
            &md_rows(&step_rows(estimate)),
        ));
    }
    out.push_str("\n## Commands per host\n");
    for (host, rows) in per_host(plan) {
        let _ = writeln!(out, "\n### {}\n", markdown(host));
        let mut block = String::new();
        for [step, action, notes] in rows {
            let _ = writeln!(block, "{}: {action}", escape::line(&step));
            if !notes.is_empty() {
                let _ = writeln!(block, "    ({})", escape::line(&notes));
            }
        }
        out.push_str(&markdown_escaped_block(&block));
    }
    out.push_str("\n## Full plan\n\n");
    out.push_str(&markdown_escaped_block(&text::render(plan)));
    out
}

/// The plan as one self-contained HTML page.
pub fn html_plan(plan: &Plan, estimate: &Estimate) -> String {
    let title = format!("Plan: {} on cluster {}", plan.runbook, plan.cluster);
    let mut body = format!("<h1>{}</h1>\n<ul>\n", html(&title));
    for (label, value) in summary(plan) {
        let _ = writeln!(body, "<li><b>{label}</b>: {}</li>", html(&value));
    }
    let _ = writeln!(
        body,
        "<li><b>estimated duration</b>: <span id=\"estimate\">{}</span></li>\n</ul>",
        html(&estimate_text(plan, estimate))
    );
    body.push_str("<h2>Quorum math</h2>\n<ul>\n");
    for line in quorum(plan) {
        let _ = writeln!(body, "<li>{}</li>", html(&line));
    }
    body.push_str("</ul>\n<h2>Task graph</h2>\n<div class=\"scroll\">\n");
    body.push_str(&plan_graph(plan));
    body.push_str("</div>\n");
    if !plan.params.is_empty() {
        body.push_str("<h2>Parameters</h2>\n");
        body.push_str(&table(
            &["name", "value", "from"],
            &html_rows(&params(plan), 1),
        ));
    }
    let batches = batches(plan);
    if !batches.is_empty() {
        body.push_str("<h2>Batches</h2>\n");
        body.push_str(&table(
            &["rolling", "batch", "hosts", "members down", "zone"],
            &html_rows(&batches, usize::MAX),
        ));
    }
    if !estimate.steps.is_empty() {
        body.push_str("<h2>Past durations (median per step)</h2>\n");
        body.push_str(&table(
            &["step", "median"],
            &html_rows(&step_rows(estimate), usize::MAX),
        ));
    }
    body.push_str("<h2>Commands per host</h2>\n");
    for (host, rows) in per_host(plan) {
        let id = if host == CONTROLLER {
            "controller"
        } else {
            "host"
        };
        let _ = writeln!(body, "<h3 class=\"{id}\">{}</h3>", html(host));
        body.push_str(&table(&["step", "does", "notes"], &html_rows(&rows, 1)));
    }
    body.push_str("<h2>Full plan</h2>\n<details><summary>as <code>quorate plan</code> prints it</summary>\n<pre>");
    body.push_str(&html_escaped_block(&text::render(plan)));
    body.push_str("</pre></details>\n");
    page(&title, &body)
}
