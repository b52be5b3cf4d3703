//! How long a plan will take, estimated from past runs of the same runbook in the store:
//! the median duration of each step's tasks, added up along the plan's longest path.

use std::collections::HashMap;

use crate::plan::{NodeKind, Plan};
use crate::store::{TaskRecord, TaskState};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// Past runs of the runbook the figures come from.
    pub runs: usize,
    /// Each step of the plan with past data: its median task duration, in milliseconds.
    pub steps: Vec<(String, u64)>,
    /// Steps of the plan no past run finished a task of (counted as taking no time).
    pub unknown: Vec<String>,
    /// The longest path through the plan, with each task at its step's median and each
    /// gate at its pause; `None` without past runs.
    pub total_ms: Option<u64>,
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        values[mid - 1].midpoint(values[mid])
    } else {
        values[mid]
    }
}

/// The estimate for `plan` from the tasks of past runs (each run's task records).
pub fn estimate(plan: &Plan, past: &[Vec<TaskRecord>]) -> Estimate {
    let mut durations: HashMap<&str, Vec<u64>> = HashMap::new();
    for t in past.iter().flatten() {
        if let (TaskState::Done, Some(s), Some(e)) = (t.state, t.started_ms, t.ended_ms) {
            durations
                .entry(&t.step)
                .or_default()
                .push(e.saturating_sub(s));
        }
    }
    let medians: HashMap<&str, u64> = durations
        .into_iter()
        .map(|(step, d)| (step, median(d)))
        .collect();
    let mut steps = Vec::new();
    let mut unknown = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (_, t) in plan.tasks() {
        if seen.contains(&t.step.as_str()) {
            continue;
        }
        seen.push(&t.step);
        match medians.get(t.step.as_str()) {
            Some(&m) => steps.push((t.step.clone(), m)),
            None => unknown.push(t.step.clone()),
        }
    }
    let total_ms = (!past.is_empty()).then(|| longest_path(plan, &medians));
    Estimate {
        runs: past.len(),
        steps,
        unknown,
        total_ms,
    }
}

/// The latest finish over the graph, each node starting when all its needs are done.
fn longest_path(plan: &Plan, medians: &HashMap<&str, u64>) -> u64 {
    let order: Vec<usize> = petgraph::algo::toposort(&plan.graph(), None).map_or_else(
        |_| (0..plan.nodes.len()).collect(),
        |s| {
            s.into_iter()
                .map(petgraph::graph::NodeIndex::index)
                .collect()
        },
    );
    let mut finish = vec![0u64; plan.nodes.len()];
    for id in order.into_iter().filter(|&id| id < plan.nodes.len()) {
        let node = &plan.nodes[id];
        let start = node.needs.iter().map(|&n| finish[n]).max().unwrap_or(0);
        let own = match &node.kind {
            NodeKind::Task(t) if !t.skip && !plan.excluded(t) => {
                medians.get(t.step.as_str()).copied().unwrap_or(0)
            }
            NodeKind::Gate(g) => g.pause.map_or(0, crate::model::Duration::as_millis),
            _ => 0,
        };
        finish[id] = start + own;
    }
    finish.into_iter().max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_two_middle_ones() {
        assert_eq!(median(vec![5, 1, 9]), 5);
        assert_eq!(median(vec![4, 1, 9, 6]), 5);
        assert_eq!(median(vec![7]), 7);
    }
}
