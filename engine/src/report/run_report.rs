//! What happened in a run, as Markdown or one self-contained HTML page: summary,
//! timeline per host (SVG bars in HTML, text bars in Markdown), approvals, failures with
//! their output (bounded, escaped), every task, and the event log.

use std::fmt::Write as _;

use super::clock::duration;
use super::escape::{html, html_block, markdown, markdown_block};
use super::page::{markdown_table, page, table};
use super::svg::timeline;
use crate::exec::{approvals, started_by, state_name, status_name, Approval, EventKind, Window};
use crate::plan::CONTROLLER;
use crate::source::escape;
use crate::store::{utc, Event, RunRecord, TaskRecord, TaskState};

/// The most output of one failed task a report shows (its end, where errors are).
pub const OUTPUT_SHOWN: usize = 4096;
/// The most events a report lists (the latest).
pub const EVENTS_SHOWN: usize = 200;
const TEXT_BAR_W: usize = 50;

/// Everything a report is made from.
pub struct RunFacts<'a> {
    pub run: &'a RunRecord,
    pub tasks: &'a [TaskRecord],
    pub events: &'a [Event],
    /// The time the report is made: the end of bars of tasks still running.
    pub now_ms: u64,
}

/// The end of `text`, at most `max` bytes, cut at a character boundary.
fn tail(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    (&text[start..], true)
}

fn host(t: &TaskRecord) -> &str {
    t.host.as_deref().unwrap_or(CONTROLLER)
}

fn task_duration(t: &TaskRecord) -> String {
    match (t.started_ms, t.ended_ms) {
        (Some(s), Some(e)) => duration(e.saturating_sub(s)),
        _ => String::new(),
    }
}

impl RunFacts<'_> {
    fn approvals(&self) -> Vec<Approval> {
        approvals(self.events)
    }

    fn title(&self) -> String {
        format!(
            "Run {}: {} on {}, {}",
            self.run.id,
            self.run.runbook,
            self.run.cluster,
            status_name(self.run.status)
        )
    }

    /// `label: value` facts, as plain text.
    fn summary(&self) -> Vec<(&'static str, String)> {
        let r = self.run;
        let count = |s: TaskState| self.tasks.iter().filter(|t| t.state == s).count();
        let mut facts = vec![
            ("status", status_name(r.status).to_owned()),
            ("started", utc(r.created_ms)),
            ("last change", utc(r.updated_ms)),
            (
                "elapsed",
                duration(r.updated_ms.saturating_sub(r.created_ms)),
            ),
            (
                "started by",
                started_by(self.events).unwrap_or_else(|| r.controller.clone()),
            ),
            (
                "tasks",
                format!(
                    "{} done, {} skipped, {} failed, {} pending, {} running",
                    count(TaskState::Done),
                    count(TaskState::Skipped),
                    count(TaskState::Failed),
                    count(TaskState::Pending),
                    count(TaskState::Running)
                ),
            ),
            ("plan digest", format!("sha256 {}", r.plan_digest)),
        ];
        if let Some(note) = &r.paused {
            facts.insert(1, ("note", note.clone()));
        }
        if let Some(w) = Window::recorded(self.events) {
            facts.push(("window", w.describe()));
        }
        facts
    }

    fn failed(&self) -> impl Iterator<Item = &TaskRecord> {
        self.tasks.iter().filter(|t| t.state == TaskState::Failed)
    }

    fn task_rows(&self) -> Vec<[String; 6]> {
        self.tasks
            .iter()
            .map(|t| {
                [
                    host(t).to_owned(),
                    t.step.clone(),
                    state_name(t.state).to_owned(),
                    t.attempts.to_string(),
                    task_duration(t),
                    t.reason
                        .clone()
                        .or_else(|| t.exit.map(|c| format!("exit {c}")))
                        .unwrap_or_default(),
                ]
            })
            .collect()
    }

    fn approval_rows(&self) -> Vec<[String; 4]> {
        self.approvals()
            .iter()
            .map(|a| {
                [
                    a.step.clone(),
                    a.by(),
                    utc(a.at_ms),
                    a.comment.clone().unwrap_or_default(),
                ]
            })
            .collect()
    }

    /// The latest events, each as time, kind, node and message. Task transitions are left
    /// out: the task table and timeline show them.
    fn event_rows(&self) -> Vec<[String; 3]> {
        let shown: Vec<&Event> = self
            .events
            .iter()
            .filter(|e| EventKind::of(e) != Some(EventKind::Task))
            .collect();
        let skip = shown.len().saturating_sub(EVENTS_SHOWN);
        shown
            .into_iter()
            .skip(skip)
            .map(|e| [utc(e.at_ms), e.kind.clone(), e.message.clone()])
            .collect()
    }

    /// A failure's output: stderr and stdout, each its last [`OUTPUT_SHOWN`] bytes.
    fn outputs(t: &TaskRecord) -> Vec<(String, &str)> {
        [("stderr", t.stderr.as_str()), ("stdout", t.stdout.as_str())]
            .into_iter()
            .filter(|(_, o)| !o.is_empty())
            .map(|(name, o)| {
                let (shown, cut) = tail(o, OUTPUT_SHOWN);
                let label = if cut {
                    format!("{name} (its last {OUTPUT_SHOWN} bytes)")
                } else {
                    name.to_owned()
                };
                (label, shown)
            })
            .collect()
    }

    /// The timeline as text bars, one line per task that started.
    fn text_timeline(&self) -> String {
        let started: Vec<&TaskRecord> = self
            .tasks
            .iter()
            .filter(|t| t.started_ms.is_some())
            .collect();
        let Some(t0) = started.iter().filter_map(|t| t.started_ms).min() else {
            return "no task has started yet\n".to_owned();
        };
        let end = |t: &TaskRecord| t.ended_ms.unwrap_or(self.now_ms);
        let t1 = started
            .iter()
            .map(|t| end(t))
            .max()
            .unwrap_or(t0)
            .max(t0 + 1);
        let col = |ms: u64| {
            usize::try_from(
                u128::from(ms.saturating_sub(t0)) * TEXT_BAR_W as u128 / u128::from(t1 - t0),
            )
            .unwrap_or(TEXT_BAR_W)
            .min(TEXT_BAR_W)
        };
        let names: Vec<String> = started
            .iter()
            .map(|t| format!("{} {}", escape::line(host(t)), escape::line(&t.step)))
            .collect();
        let w = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        let mut out = String::new();
        for (t, name) in started.iter().zip(&names) {
            let (a, b) = (col(t.started_ms.unwrap_or(t0)), col(end(t)));
            let mark = match t.state {
                TaskState::Done => '#',
                TaskState::Failed => 'X',
                TaskState::Running => '=',
                TaskState::Skipped => '.',
                TaskState::Pending => '?',
            };
            let bar: String = (0..TEXT_BAR_W)
                .map(|i| if i >= a && i <= b.max(a) { mark } else { ' ' })
                .collect();
            let _ = writeln!(
                out,
                "{name:w$} |{bar}| {} {}",
                state_name(t.state),
                task_duration(t)
            );
        }
        let _ = writeln!(
            out,
            "{:w$}  0{:>width$}",
            "",
            format!("+{}", duration(t1 - t0)),
            width = TEXT_BAR_W
        );
        out.push_str("(# done, X failed, = running, . skipped, ? waiting)\n");
        out
    }
}

fn md_rows<const N: usize>(rows: &[[String; N]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| markdown(c)).collect())
        .collect()
}

fn html_rows<const N: usize>(rows: &[[String; N]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| html(c)).collect())
        .collect()
}

/// The run report in Markdown.
pub fn markdown_report(facts: &RunFacts<'_>) -> String {
    let mut out = format!("# {}\n\n", markdown(&facts.title()));
    for (label, value) in facts.summary() {
        let _ = writeln!(out, "- **{label}**: {}", markdown(&value));
    }
    out.push_str("\n## Timeline\n\n");
    out.push_str(&super::escape::markdown_escaped_block(
        &facts.text_timeline(),
    ));
    let approvals = facts.approval_rows();
    if !approvals.is_empty() {
        out.push_str("\n## Approvals\n\n");
        out.push_str(&markdown_table(
            &["step", "approved by", "at", "comment"],
            &md_rows(&approvals),
        ));
    }
    let mut failed = facts.failed().peekable();
    if failed.peek().is_some() {
        out.push_str("\n## Failures\n");
        for t in failed {
            let _ = writeln!(
                out,
                "\n### {} on {}\n\n{}\n",
                markdown(&t.step),
                markdown(host(t)),
                markdown(t.reason.as_deref().unwrap_or("failed"))
            );
            for (label, text) in RunFacts::outputs(t) {
                let _ = writeln!(out, "{label}:\n");
                out.push_str(&markdown_block(text));
            }
        }
    }
    out.push_str("\n## Tasks\n\n");
    out.push_str(&markdown_table(
        &["host", "step", "state", "attempts", "duration", "note"],
        &md_rows(&facts.task_rows()),
    ));
    out.push_str("\n## Events\n\n");
    out.push_str(&markdown_table(
        &["at", "kind", "message"],
        &md_rows(&facts.event_rows()),
    ));
    out
}

/// The run report as one self-contained HTML page.
pub fn html_report(facts: &RunFacts<'_>) -> String {
    let title = facts.title();
    let mut body = format!("<h1>{}</h1>\n<ul>\n", html(&title));
    for (label, value) in facts.summary() {
        let _ = writeln!(body, "<li><b>{label}</b>: {}</li>", html(&value));
    }
    body.push_str("</ul>\n<h2>Timeline per host</h2>\n<p class=\"legend\"><span style=\"background:#2e7d32\">done</span><span style=\"background:#c62828\">failed</span><span style=\"background:#1565c0\">running</span><span style=\"background:#9e9e9e\">skipped</span><span style=\"background:#f9a825\">waiting</span><span style=\"background:#6a1b9a\">approval</span></p>\n<div class=\"scroll\">\n");
    body.push_str(&timeline(facts.tasks, &facts.approvals(), facts.now_ms));
    body.push_str("</div>\n");
    let approvals = facts.approval_rows();
    if !approvals.is_empty() {
        body.push_str("<h2>Approvals</h2>\n");
        body.push_str(&table(
            &["step", "approved by", "at", "comment"],
            &html_rows(&approvals),
        ));
    }
    let mut failed = facts.failed().peekable();
    if failed.peek().is_some() {
        body.push_str("<h2>Failures</h2>\n");
        for t in failed {
            let _ = writeln!(
                body,
                "<h3 class=\"failure\">{} on {}</h3>\n<p class=\"warn\">{}</p>",
                html(&t.step),
                html(host(t)),
                html(t.reason.as_deref().unwrap_or("failed"))
            );
            for (label, text) in RunFacts::outputs(t) {
                let _ = writeln!(
                    body,
                    "<p>{}:</p>\n<pre>{}</pre>",
                    html(&label),
                    html_block(text)
                );
            }
        }
    }
    body.push_str("<h2>Tasks</h2>\n");
    body.push_str(&table(
        &["host", "step", "state", "attempts", "duration", "note"],
        &html_rows(&facts.task_rows()),
    ));
    body.push_str("<h2>Events</h2>\n");
    body.push_str(&table(
        &["at", "kind", "message"],
        &html_rows(&facts.event_rows()),
    ));
    page(&title, &body)
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn the_tail_of_output_is_cut_on_a_character_boundary() {
        assert_eq!(tail("abc", 5), ("abc", false));
        assert_eq!(tail("aé", 1), ("", true));
        assert_eq!(tail("xaé", 2), ("é", true));
    }
}
