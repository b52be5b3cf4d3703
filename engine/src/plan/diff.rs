//! The difference between two plans, as a reviewer reads it: parameters, quorum math,
//! tasks (added, removed, and for a changed one the lines of its commands and fields
//! that changed), rolling batches, and any other part of the plan that differs. Every
//! value goes through [`crate::source::escape`], as in the plan text.

use std::fmt::Write as _;

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use super::types::{Action, Node, NodeKind, Plan, Rolling, Task, Text};
use crate::source::escape;

/// The plan as two plans are compared: how a secret was given (environment, params
/// file, not yet) is not part of what was reviewed, since secrets are supplied at apply.
pub fn comparable(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    for p in plan.params.iter_mut().filter(|p| p.secret) {
        p.origin = String::new();
    }
    plan
}

/// Whether two plans would run the same (see [`comparable`]).
pub fn same(a: &Plan, b: &Plan) -> bool {
    comparable(a) == comparable(b)
}

/// The difference from `a` to `b` as text, or `None` when they are the same plan.
pub fn diff(a: &Plan, b: &Plan) -> Option<String> {
    let (a, b) = (comparable(a), comparable(b));
    if a == b {
        return None;
    }
    let mut out = String::new();
    section(&mut out, "parameters", &param_lines(&a), &param_lines(&b));
    section(&mut out, "quorum", &quorum_lines(&a), &quorum_lines(&b));
    task_section(&mut out, &a, &b);
    let steps = |p: &Plan| -> Vec<String> { p.rollings.iter().map(|r| r.step.clone()).collect() };
    let mut rolling_steps = steps(&a);
    rolling_steps.extend(steps(&b).into_iter().filter(|s| !steps(&a).contains(s)));
    for step in rolling_steps {
        let lines = |p: &Plan| {
            p.rollings
                .iter()
                .find(|r| r.step == step)
                .map(|r| rolling_lines(p, r))
                .unwrap_or_default()
        };
        section(
            &mut out,
            &format!("batches of `{}`", one_line(&step)),
            &lines(&a),
            &lines(&b),
        );
    }
    other_sections(&mut out, &a, &b);
    if out.is_empty() {
        // Equal in every part compared above yet not equal: say so rather than nothing.
        out.push_str("the plans differ in a part not shown here\n");
    }
    Some(out)
}

fn one_line(text: &str) -> String {
    escape::line(text).into_owned()
}

/// A section with its lines diffed: `-` only in `a`, `+` only in `b`, unchanged lines
/// left out. Nothing when the lines are the same.
fn section(out: &mut String, title: &str, a: &[String], b: &[String]) {
    if a == b {
        return;
    }
    let _ = writeln!(out, "{title}:");
    write_changes(out, "  ", a, b, false);
}

/// The changed lines of `a` against `b`; `context` keeps unchanged lines (as `  `).
fn write_changes(out: &mut String, indent: &str, a: &[String], b: &[String], context: bool) {
    let (a, b) = (a.join("\n") + "\n", b.join("\n") + "\n");
    for change in TextDiff::from_lines(&a, &b).iter_all_changes() {
        let sign = match change.tag() {
            ChangeTag::Delete => "- ",
            ChangeTag::Insert => "+ ",
            ChangeTag::Equal if context => "  ",
            ChangeTag::Equal => continue,
        };
        let _ = writeln!(
            out,
            "{indent}{sign}{}",
            change.value().trim_end_matches('\n')
        );
    }
}

fn param_lines(plan: &Plan) -> Vec<String> {
    plan.params
        .iter()
        .map(|p| match &p.value {
            Some(v) => format!(
                "{} = {}",
                one_line(&p.name),
                escape::neutralize(&v.to_string())
            ),
            None => format!("{} = (secret)", one_line(&p.name)),
        })
        .collect()
}

fn quorum_lines(plan: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(q) = &plan.quorum {
        lines.push(format!(
            "{}: n = {}, f = {}, quorum {}",
            q.consensus_name(),
            q.n,
            q.f,
            q.needed()
        ));
    }
    if !plan.members.is_empty() {
        lines.push(format!("members: {}", one_line(&plan.members.join(", "))));
    }
    lines
}

/// `STEP@HOST` of a task.
fn task_name(task: &Task) -> String {
    one_line(&format!("{}@{}", task.step, task.host_name()))
}

/// What a node is called in `after:` lines: tasks by name, gates and joins by what they
/// stand for (node ids change whenever a task is added, so they are never shown).
fn node_name(plan: &Plan, node: &Node) -> String {
    match &node.kind {
        NodeKind::Task(t) => task_name(t),
        NodeKind::Gate(g) => format!(
            "the gate of batch {} of `{}`",
            g.batch + 1,
            plan.rollings
                .get(g.rolling)
                .map_or_else(String::new, |r| one_line(&r.step))
        ),
        NodeKind::Join { step } => format!("the end of `{}`", one_line(step)),
    }
}

fn text_lines(label: &str, text: &Text) -> Vec<String> {
    let note = if text.is_deferred() {
        " (rendered when the task starts)"
    } else {
        ""
    };
    let mut lines: Vec<String> = text.as_str().lines().map(one_line).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let first = format!("{label}: {}{note}", lines[0]);
    lines[0] = first;
    for l in lines.iter_mut().skip(1) {
        *l = format!("  {l}");
    }
    lines
}

/// A task as lines: its action and command, then every other field that is set.
fn task_lines(plan: &Plan, node: Option<&Node>, task: &Task) -> Vec<String> {
    let mut lines = match &task.action {
        Action::Run { command } => text_lines("run", command),
        Action::Copy { src, dest, mode } => {
            let mut l = text_lines("copy", src);
            l.extend(text_lines("to", dest));
            if let Some(m) = mode {
                l.push(format!("mode: {}", one_line(m)));
            }
            l
        }
        Action::Fetch { src, dest } => {
            let mut l = text_lines("fetch", src);
            l.extend(text_lines("to", dest));
            l
        }
        Action::Wait {
            until,
            every,
            timeout,
        } => {
            let mut l = text_lines("wait until", until);
            l.push(format!("every {every}, timeout {timeout}"));
            l
        }
        Action::Approve { message } => text_lines("approve", message),
        Action::Sleep { duration } => vec![format!("sleep {duration}")],
    };
    for (name, value) in [
        ("when", task.when.as_ref()),
        ("creates", task.guards.creates.as_ref()),
        ("removes", task.guards.removes.as_ref()),
        ("unless", task.guards.unless.as_ref()),
        ("only_if", task.guards.only_if.as_ref()),
        ("cwd", task.cwd.as_ref()),
    ] {
        if let Some(v) = value {
            lines.extend(text_lines(name, v));
        }
    }
    for (k, v) in &task.env {
        lines.push(format!("env {}={}", one_line(k), one_line(&v.shown())));
    }
    // The remaining fields, as JSON: whatever they hold, a change shows.
    if let Ok(Value::Object(fields)) = serde_json::to_value(task) {
        let shown = [
            "step", "host", "scope", "action", "when", "guards", "env", "cwd", "batch",
        ];
        for (k, v) in fields.iter().filter(|(k, _)| !shown.contains(&k.as_str())) {
            lines.push(format!("{k}: {}", escape::neutralize(&v.to_string())));
        }
    }
    if task.skip {
        lines.push("skipped: `when` is false".to_owned());
    }
    if let Some(b) = task.batch {
        lines.push(format!(
            "in batch {} of `{}`",
            b.batch + 1,
            plan.rollings
                .get(b.rolling)
                .map_or_else(String::new, |r| one_line(&r.step))
        ));
    }
    if let Some(node) = node.filter(|n| !n.needs.is_empty()) {
        let after: Vec<String> = node
            .needs
            .iter()
            .filter_map(|&id| plan.nodes.get(id))
            .map(|n| node_name(plan, n))
            .collect();
        lines.push(format!("after: {}", after.join(", ")));
    }
    if plan.excluded(task) {
        lines.push("left out by --limit".to_owned());
    }
    lines
}

fn task_section(out: &mut String, a: &Plan, b: &Plan) {
    let cards = |p: &Plan| -> Vec<(String, Vec<String>)> {
        p.tasks()
            .map(|(n, t)| (task_name(t), task_lines(p, Some(n), t)))
            .collect()
    };
    let (in_a, in_b) = (cards(a), cards(b));
    let find = |list: &[(String, Vec<String>)], name: &str| -> Option<Vec<String>> {
        list.iter().find(|(n, _)| n == name).map(|(_, l)| l.clone())
    };
    let mut body = String::new();
    for (name, lines) in &in_a {
        match find(&in_b, name) {
            None => {
                let _ = writeln!(body, "  - {name} (removed)");
                for l in lines {
                    let _ = writeln!(body, "      {l}");
                }
            }
            Some(other) if &other != lines => {
                let _ = writeln!(body, "  ~ {name}");
                write_changes(&mut body, "      ", lines, &other, false);
            }
            Some(_) => {}
        }
    }
    for (name, lines) in in_b.iter().filter(|(n, _)| find(&in_a, n).is_none()) {
        let _ = writeln!(body, "  + {name} (added)");
        for l in lines {
            let _ = writeln!(body, "      {l}");
        }
    }
    if !body.is_empty() {
        let _ = writeln!(out, "tasks:");
        out.push_str(&body);
    }
}

fn rolling_lines(plan: &Plan, r: &Rolling) -> Vec<String> {
    let mut lines = vec![format!("batch size: {} ({})", r.size, one_line(&r.rule))];
    if let Some(by) = &r.by {
        lines.push(format!("by: {}", one_line(by)));
    }
    if let Some(p) = r.pause {
        lines.push(format!("pause: {p}"));
    }
    if r.quorum_loss_allowed {
        lines.push("quorum loss allowed (--allow-quorum-loss)".to_owned());
    }
    for (i, b) in r.batches.iter().enumerate() {
        lines.push(format!(
            "batch {}: {} ({} voting member{} down)",
            i + 1,
            one_line(&b.hosts.join(", ")),
            b.members,
            if b.members == 1 { "" } else { "s" }
        ));
    }
    for (host, cmd) in &r.health {
        lines.extend(text_lines(&format!("health on {}", one_line(host)), cmd));
    }
    for (host, cmd) in &r.membership {
        lines.extend(text_lines(
            &format!("membership on {}", one_line(host)),
            cmd,
        ));
    }
    for t in &r.on_failure {
        lines.push(format!("on_failure {}:", task_name(t)));
        lines.extend(
            task_lines(plan, None, t)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
    }
    lines
}

/// The parts of the plan not compared above, as JSON lines, where they differ: how
/// hosts are reached, the variables deferred templates read, `--limit`, and the rest.
fn other_sections(out: &mut String, a: &Plan, b: &Plan) {
    let covered = ["params", "quorum", "members", "nodes", "rollings", "format"];
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return;
    };
    let mut keys: Vec<&String> = a.keys().collect();
    keys.extend(b.keys().filter(|k| !a.contains_key(*k)));
    for key in keys.into_iter().filter(|k| !covered.contains(&k.as_str())) {
        let (va, vb) = (
            without_shown(key, a.get(key)),
            without_shown(key, b.get(key)),
        );
        if va != vb {
            section(out, &format!("`{key}`"), &json_lines(&va), &json_lines(&vb));
        }
    }
}

/// A top-level part of the plan without what the sections above show already: the
/// parameter values of `scopes`, the node ids of `steps` (their tasks are compared).
fn without_shown(key: &str, value: Option<&Value>) -> Value {
    let mut value = value.cloned().unwrap_or(Value::Null);
    let field = match key {
        "scopes" => "params",
        "steps" => "nodes",
        _ => return value,
    };
    for item in value.as_array_mut().into_iter().flatten() {
        if let Some(o) = item.as_object_mut() {
            o.remove(field);
        }
    }
    value
}

fn json_lines(value: &Value) -> Vec<String> {
    serde_json::to_string_pretty(value)
        .unwrap_or_default()
        .lines()
        .map(escape::neutralize)
        .map(std::borrow::Cow::into_owned)
        .collect()
}
