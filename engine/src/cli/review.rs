//! `plan --format markdown|html`: the plan as a review artifact, with the estimate from
//! past runs of its runbook in the store.

use std::path::Path;

use super::args::PlanFormat;
use crate::plan::Plan;
use crate::report::{estimate, html_plan, markdown_plan};
use crate::store::{open_reader, EtcdOptions, TaskRecord};

/// The tasks of every recorded run of the plan's runbook; none when there is no store
/// or it cannot be read (the estimate then says there are no past runs).
fn past_runs(plan: &Plan, state: &Path, etcd: &EtcdOptions) -> Vec<Vec<TaskRecord>> {
    let Ok(reader) = open_reader(state, etcd) else {
        return Vec::new();
    };
    let reader = reader.as_reader();
    reader
        .runs()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.runbook == plan.runbook)
        .filter_map(|r| reader.tasks(&r.id).ok())
        .collect()
}

/// The plan as Markdown or HTML.
pub(super) fn plan_artifact(
    plan: &Plan,
    format: PlanFormat,
    state: &Path,
    etcd: &EtcdOptions,
) -> String {
    let estimate = estimate(plan, &past_runs(plan, state, etcd));
    match format {
        PlanFormat::Html => html_plan(plan, &estimate),
        _ => markdown_plan(plan, &estimate),
    }
}
