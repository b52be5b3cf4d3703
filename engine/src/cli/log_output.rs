//! How `logs` prints: task output as escaped blocks, or one JSON object per line (the shape
//! of schemas/logs.schema.json), and, when following, the run's events as they come.

use std::fmt::Write as _;

use serde_json::json;

use super::args::{LogsArgs, TableFormat};
use crate::exec::{state_name, status_name};
use crate::source::escape;
use crate::store::{Event, RunRecord, TaskRecord};

/// Version of the JSON lines `logs --format json` prints.
pub const LOGS_FORMAT_VERSION: u32 = 1;

/// Event kinds a follower does not print: they are for `resume`, not for people.
const QUIET_EVENTS: &[&str] = &["sources"];

/// Prints what `logs` shows of one run, filtered by `--host` and `--step`.
pub struct LogPrinter<'a> {
    pub run: &'a str,
    pub args: &'a LogsArgs,
}

impl LogPrinter<'_> {
    fn json(&self) -> bool {
        self.args.format == TableFormat::Json
    }

    /// Whether the filters keep this task.
    pub fn keeps(&self, t: &TaskRecord) -> bool {
        let host = t.host.as_deref().unwrap_or(crate::model::CONTROLLER);
        !(self.args.host.as_deref().is_some_and(|h| h != host)
            || self.args.step.as_deref().is_some_and(|s| s != t.step))
    }

    /// A task's kept output: as a block when there is some (text), always (JSON).
    pub fn task(&self, t: &TaskRecord) {
        if !self.keeps(t) {
            return;
        }
        if self.json() {
            line(&json!({
                "version": LOGS_FORMAT_VERSION,
                "type": "task",
                "run": self.run,
                "task": t,
            }));
            return;
        }
        if t.stdout.is_empty() && t.stderr.is_empty() {
            return;
        }
        let host = t.host.as_deref().unwrap_or(crate::model::CONTROLLER);
        let mut out = format!(
            "==> {} on {} ({}) <==\n",
            escape::line(&t.step),
            escape::line(host),
            state_name(t.state)
        );
        push_output(&mut out, &t.stdout);
        if !t.stderr.is_empty() {
            let _ = writeln!(out, "--- stderr ---");
            push_output(&mut out, &t.stderr);
        }
        out!("{out}");
    }

    /// One event of the run's log; `task` is the record of the event's task, if any.
    pub fn event(&self, e: &Event, task: Option<&TaskRecord>) {
        if QUIET_EVENTS.contains(&e.kind.as_str()) || task.is_some_and(|t| !self.keeps(t)) {
            return;
        }
        if self.json() {
            line(&json!({
                "version": LOGS_FORMAT_VERSION,
                "type": "event",
                "run": self.run,
                "event": e,
            }));
        } else if e.kind == "task" {
            outln!("-- {}", escape::line(&e.message));
        } else {
            outln!("-- {}: {}", escape::line(&e.kind), escape::line(&e.message));
        }
    }

    /// The last line: where the run stands as `logs` stops (JSON only; the text shows it
    /// in the events).
    pub fn end(&self, run: &RunRecord) {
        if self.json() {
            line(&json!({
                "version": LOGS_FORMAT_VERSION,
                "type": "end",
                "run": self.run,
                "status": status_name(run.status),
                "note": run.paused,
            }));
        }
    }
}

fn line(value: &serde_json::Value) {
    outln!("{}", serde_json::to_string(value).unwrap_or_default());
}

/// Host output as a block: its lines stay lines, everything else that could steer the
/// terminal is escaped, and so is the first character of a line that would read as one
/// of the lines `logs` frames output with; it always ends with a newline.
fn push_output(out: &mut String, output: &str) {
    out.push_str(&unframed(&escape::block(output)));
    if !output.is_empty() && !output.ends_with('\n') {
        out.push('\n');
    }
}

/// The starts of the lines `logs` writes around and between outputs: `==> STEP on HOST
/// (STATE) <==`, `--- stderr ---`, and the followed events `-- ...`.
const FRAME_STARTS: [&str; 2] = ["==>", "--"];

/// Escaped host output with the first character of every line that starts like a frame
/// line written as `\xHH` (`\x3d=> ...`, `\x2d- ...`), so that no output can pass for
/// the end of its block, another task's block or an event. The escape scheme already
/// doubles a literal backslash before `x`, so the result still reads back exactly.
fn unframed(escaped: &str) -> std::borrow::Cow<'_, str> {
    let forged = |l: &str| FRAME_STARTS.iter().any(|f| l.starts_with(f));
    if !escaped.split('\n').any(forged) {
        return std::borrow::Cow::Borrowed(escaped);
    }
    let mut out = String::with_capacity(escaped.len() + 16);
    for (i, l) in escaped.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match l.bytes().next() {
            Some(first) if forged(l) => {
                let _ = write!(out, "\\x{first:02x}");
                out.push_str(&l[1..]);
            }
            _ => out.push_str(l),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_cannot_pass_for_a_frame_line() {
        let mut out = String::new();
        push_output(
            &mut out,
            "ok\n==> verify on node1 (done) <==\n--- stderr ---\n-- done x@y\n - fine\n=> fine\n",
        );
        assert_eq!(
            out,
            "ok\n\\x3d=> verify on node1 (done) <==\n\\x2d-- stderr ---\n\\x2d- done x@y\n - fine\n=> fine\n"
        );
        for line in out.lines() {
            assert!(
                !line.starts_with("==>") && !line.starts_with("--"),
                "{line}"
            );
        }
        // A literal backslash-x at the start stays distinguishable from the escape.
        let mut lit = String::new();
        push_output(&mut lit, "\\x3d=> x");
        assert_eq!(lit, "\\\\x3d=> x\n");
        let mut plain = String::new();
        push_output(&mut plain, "a\nb");
        assert!(matches!(unframed("a\nb"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(plain, "a\nb\n");
    }
}
