//! Pictures for review artifacts, as inline SVG laid out here (no script, no fetch): the
//! plan's task graph in layers by dependency depth, and a run's timeline per host.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::clock::duration;
use super::escape::html;
use crate::exec::{state_name, Approval};
use crate::plan::{NodeKind, Plan, CONTROLLER};
use crate::store::{TaskRecord, TaskState};

/// Graphs with more nodes are not drawn: the picture would be unreadable and the file huge.
pub const MAX_DRAWN_NODES: usize = 600;

const BOX_W: usize = 150;
const BOX_H: usize = 34;
const GAP_X: usize = 16;
const GAP_Y: usize = 36;
const MARGIN: usize = 12;

/// A label cut to fit a box; the whole text is in the element's `<title>`.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The nodes drawn (tasks and batch gates; joins are left out and their edges go
/// through), each with the drawn nodes it needs.
fn drawn_needs(plan: &Plan) -> Vec<(usize, Vec<usize>)> {
    let is_join = |id: usize| matches!(plan.nodes[id].kind, NodeKind::Join { .. });
    let mut through: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut direct: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut order: Vec<usize> = match petgraph::algo::toposort(&plan.graph(), None) {
        Ok(sorted) => sorted
            .into_iter()
            .map(petgraph::graph::NodeIndex::index)
            .collect(),
        Err(_) => (0..plan.nodes.len()).collect(),
    };
    order.retain(|&id| id < plan.nodes.len());
    let mut drawn = Vec::new();
    for id in order {
        let mut needs: Vec<usize> = Vec::new();
        for &need in &plan.nodes[id].needs {
            if is_join(need) {
                needs.extend(through.get(&need).into_iter().flatten().copied());
            } else {
                needs.push(need);
            }
        }
        needs.sort_unstable();
        needs.dedup();
        if is_join(id) {
            // Through a join, only the ends of the chains it closes: a task that another
            // of them needs is reached through that one already.
            let ends: Vec<usize> = needs
                .iter()
                .copied()
                .filter(|n| {
                    !needs
                        .iter()
                        .any(|m| direct.get(m).is_some_and(|d: &Vec<usize>| d.contains(n)))
                })
                .collect();
            through.insert(id, ends);
        } else {
            direct.insert(id, needs.clone());
            drawn.push((id, needs));
        }
    }
    drawn
}

/// The plan's graph: one row per dependency depth, a box per task (step and host) or
/// batch gate, a line from each need to what needs it.
pub fn plan_graph(plan: &Plan) -> String {
    let drawn = drawn_needs(plan);
    if drawn.len() > MAX_DRAWN_NODES {
        return format!(
            "<p class=\"note\">The graph has {} nodes, more than the {MAX_DRAWN_NODES} drawn here; \
             see <code>quorate graph</code>.</p>\n",
            drawn.len()
        );
    }
    let mut depth: HashMap<usize, usize> = HashMap::new();
    let mut rows: Vec<Vec<usize>> = Vec::new();
    for (id, needs) in &drawn {
        let d = needs
            .iter()
            .filter_map(|n| depth.get(n))
            .map(|d| d + 1)
            .max()
            .unwrap_or(0);
        depth.insert(*id, d);
        if rows.len() <= d {
            rows.resize(d + 1, Vec::new());
        }
        rows[d].push(*id);
    }
    let widest = rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let width = MARGIN * 2 + widest * (BOX_W + GAP_X);
    let height = MARGIN * 2 + rows.len().max(1) * (BOX_H + GAP_Y);
    let mut at: HashMap<usize, (usize, usize)> = HashMap::new();
    for (d, row) in rows.iter().enumerate() {
        // Rows are centred, so a narrow row sits under the middle of a wide one.
        let offset = (widest - row.len()) * (BOX_W + GAP_X) / 2;
        for (i, id) in row.iter().enumerate() {
            at.insert(
                *id,
                (
                    MARGIN + offset + i * (BOX_W + GAP_X),
                    MARGIN + d * (BOX_H + GAP_Y),
                ),
            );
        }
    }
    let mut svg = format!(
        "<svg id=\"plan-graph\" class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"task graph\">\n"
    );
    for (id, needs) in &drawn {
        let (x, y) = at[id];
        for n in needs {
            let (nx, ny) = at[n];
            let _ = writeln!(
                svg,
                "<line class=\"edge\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{y}\"/>",
                nx + BOX_W / 2,
                ny + BOX_H,
                x + BOX_W / 2
            );
        }
    }
    for (id, _) in &drawn {
        let (x, y) = at[id];
        let (class, top, bottom) = match &plan.nodes[*id].kind {
            NodeKind::Task(t) => (
                if t.host.is_none() {
                    "node controller"
                } else {
                    "node task"
                },
                t.step.clone(),
                t.host_name().to_owned(),
            ),
            NodeKind::Gate(g) => (
                "node gate",
                format!("health gate, batch {}", g.batch + 1),
                plan.rollings
                    .get(g.rolling)
                    .map(|r| r.step.clone())
                    .unwrap_or_default(),
            ),
            NodeKind::Join { step } => ("node", step.clone(), String::new()),
        };
        let _ = writeln!(
            svg,
            "<g class=\"{class}\"><title>{}</title><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" \
             height=\"{BOX_H}\" rx=\"5\"/><text x=\"{}\" y=\"{}\">{}</text><text class=\"sub\" \
             x=\"{}\" y=\"{}\">{}</text></g>",
            html(&format!("{top} on {bottom}")),
            x + 8,
            y + 14,
            html(&short(&top, 22)),
            x + 8,
            y + 28,
            html(&short(&bottom, 24)),
        );
    }
    svg.push_str("</svg>\n");
    svg
}

const LABEL_W: usize = 150;
const TRACK_W: usize = 820;
const ROW_H: usize = 26;
const AXIS_H: usize = 30;

/// The CSS class a task's bar gets (its colour).
fn state_class(t: &TaskRecord) -> &'static str {
    match t.state {
        TaskState::Pending if t.attempts > 0 => "waiting",
        s => state_name(s),
    }
}

/// A run's timeline: one row per host, a bar per task attempt span from its start to its
/// end (to `now_ms` while running), coloured by state; approvals as marks.
pub fn timeline(tasks: &[TaskRecord], approvals: &[Approval], now_ms: u64) -> String {
    let started: Vec<&TaskRecord> = tasks.iter().filter(|t| t.started_ms.is_some()).collect();
    let Some(t0) = started.iter().filter_map(|t| t.started_ms).min() else {
        return "<p class=\"note\">No task has started yet.</p>\n".to_owned();
    };
    let end_of = |t: &TaskRecord| t.ended_ms.unwrap_or(now_ms).max(t.started_ms.unwrap_or(t0));
    let t1 = started
        .iter()
        .map(|t| end_of(t))
        .chain(approvals.iter().map(|a| a.at_ms))
        .max()
        .unwrap_or(t0)
        .max(t0 + 1);
    let span = t1 - t0;
    let mut hosts: Vec<&str> = Vec::new();
    for t in &started {
        let h = t.host.as_deref().unwrap_or(CONTROLLER);
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }
    let x_of = |ms: u64| {
        let offset = u128::from(ms.saturating_sub(t0)) * TRACK_W as u128 / u128::from(span);
        LABEL_W + usize::try_from(offset).unwrap_or(TRACK_W)
    };
    // Room on the right for the last tick's label.
    let width = LABEL_W + TRACK_W + 64;
    let height = AXIS_H + hosts.len() * ROW_H + MARGIN;
    let mut svg = format!(
        "<svg id=\"timeline\" class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"timeline per host\">\n"
    );
    for k in 0..=4u64 {
        let ms = t0 + span * k / 4;
        let x = x_of(ms);
        let _ = writeln!(
            svg,
            "<line class=\"tick\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/><text class=\"axis\" \
             x=\"{x}\" y=\"14\">+{}</text>",
            AXIS_H - 8,
            height - MARGIN,
            duration(ms - t0)
        );
    }
    for (row, host) in hosts.iter().enumerate() {
        let y = AXIS_H + row * ROW_H;
        let _ = writeln!(
            svg,
            "<text class=\"host\" x=\"4\" y=\"{}\">{}</text>",
            y + ROW_H / 2 + 4,
            html(&short(host, 20))
        );
        for t in started
            .iter()
            .filter(|t| t.host.as_deref().unwrap_or(CONTROLLER) == *host)
        {
            let start = t.started_ms.unwrap_or(t0);
            let (x1, x2) = (x_of(start), x_of(end_of(t)));
            let _ = writeln!(
                svg,
                "<rect class=\"bar {}\" x=\"{x1}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
                state_class(t),
                y + 4,
                (x2 - x1).max(3),
                ROW_H - 8,
                html(&format!(
                    "{} on {host}: {}, {}",
                    t.step,
                    state_name(t.state),
                    duration(end_of(t) - start)
                )),
            );
        }
    }
    for a in approvals.iter().filter(|a| a.at_ms >= t0) {
        let x = x_of(a.at_ms);
        let _ = writeln!(
            svg,
            "<line class=\"approval\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"><title>{}</title></line>",
            AXIS_H - 4,
            height - MARGIN,
            html(&format!("{} approved by {}", a.step, a.by()))
        );
    }
    svg.push_str("</svg>\n");
    svg
}
