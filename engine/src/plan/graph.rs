//! The task graph in Graphviz dot and Mermaid, for `quorate graph`.

use std::fmt::Write as _;

use super::types::{NodeKind, Plan};

fn label(plan: &Plan, kind: &NodeKind) -> String {
    match kind {
        NodeKind::Task(t) => format!("{} @ {}", t.step, t.host_name()),
        NodeKind::Gate(g) => format!(
            "{} batch {}/{}",
            plan.rollings[g.rolling].step,
            g.batch + 1,
            plan.rollings[g.rolling].batches.len()
        ),
        NodeKind::Join { step } => format!("{step} done"),
    }
}

pub fn dot(plan: &Plan) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n",
        plan.runbook
    );
    for n in &plan.nodes {
        let shape = match n.kind {
            NodeKind::Task(_) => "box",
            NodeKind::Gate(_) => "hexagon",
            NodeKind::Join { .. } => "ellipse",
        };
        let text = label(plan, &n.kind)
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        let _ = writeln!(out, "  n{} [label=\"{text}\", shape={shape}];", n.id);
    }
    for n in &plan.nodes {
        for d in &n.needs {
            let _ = writeln!(out, "  n{d} -> n{};", n.id);
        }
    }
    out.push_str("}\n");
    out
}

pub fn mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart TD\n");
    for n in &plan.nodes {
        let text = label(plan, &n.kind).replace('"', "#quot;");
        let shape = match n.kind {
            NodeKind::Task(_) => format!("[\"{text}\"]"),
            NodeKind::Gate(_) => format!("{{{{\"{text}\"}}}}"),
            NodeKind::Join { .. } => format!("([\"{text}\"])"),
        };
        let _ = writeln!(out, "  n{}{shape}", n.id);
    }
    for n in &plan.nodes {
        for d in &n.needs {
            let _ = writeln!(out, "  n{d} --> n{}", n.id);
        }
    }
    out
}
