//! A run's life: created with its frozen plan, driven (and resumed) to an end, approved,
//! with its final status recorded.

use std::sync::Arc;

use tokio::sync::watch;

use super::dispatcher::{final_status, Dispatcher, ExecOptions, RunOutcome};
use super::events::{EventKind, ExecEvent, Observer};
use super::mask::SecretMask;
use super::rollback::{is_rollback, rollback_records, ROLLED_BACK};
use super::scrub::scrub_after_commit;
use super::settle::{settle, InDoubt, SettleOptions, Settled};
use crate::plan::{NodeKind, Plan, Secrets, PLAN_FORMAT};
use crate::store::{
    commit_async, controller, new_run_id, now_ms, Change, RunRecord, RunStatus, RunStore,
    StoreError, TaskRecord, TaskState,
};
use crate::template::Renderer;
use crate::transport::Connections;

#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{} task(s) were running when the controller stopped and their outcome cannot be known", .0.len())]
    InDoubt(Vec<InDoubt>),
    #[error("run {0} is already finished ({1}); nothing to do")]
    Finished(String, String),
    #[error("no run {0} in this store")]
    NoRun(String),
    #[error("the stored plan of run {0} cannot be read: {1}")]
    BadPlan(String, String),
}

pub fn plan_digest(plan_json: &str) -> String {
    crate::digest::sha256_hex(plan_json.as_bytes())
}

/// A frozen plan, read back: of this quorate's plan format, or refused (an older plan's
/// `env` values held secrets as text markers, which this format no longer reads).
pub fn read_plan(plan_json: &str) -> Result<Plan, String> {
    #[derive(serde::Deserialize)]
    struct Format {
        format: u32,
    }
    let format = serde_json::from_str::<Format>(plan_json)
        .map_err(|e| e.to_string())?
        .format;
    if format != PLAN_FORMAT {
        return Err(format!(
            "it has plan format {format}; this quorate reads format {PLAN_FORMAT} (plan the runbook again)"
        ));
    }
    serde_json::from_str(plan_json).map_err(|e| e.to_string())
}

/// A run's frozen plan, read back only if it is the plan the run was created with (its
/// digest matches the one recorded then) and of this quorate's plan format.
pub fn frozen_plan(run: &RunRecord, plan_json: &str) -> Result<Plan, String> {
    let digest = plan_digest(plan_json);
    if digest != run.plan_digest {
        return Err(format!(
            "it does not match the digest recorded when the run was created (sha256 {}, now {digest}): it was changed since; refusing to run it",
            run.plan_digest
        ));
    }
    read_plan(plan_json)
}

/// Records a new run with its frozen plan, every task pending, and takes the cluster lock.
pub fn create_run<S: RunStore>(store: &S, plan: &Plan) -> Result<String, StoreError> {
    let plan_json = serde_json::to_string(plan).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let id = new_run_id();
    let tasks: Vec<TaskRecord> = plan
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Task(t) => Some(TaskRecord::pending(n.id, t.step.clone(), t.host.clone())),
            _ => None,
        })
        .chain(rollback_records(plan))
        .collect();
    let now = now_ms();
    let record = RunRecord {
        id: id.clone(),
        runbook: plan.runbook.clone(),
        cluster: plan.cluster.clone(),
        status: RunStatus::Running,
        created_ms: now,
        updated_ms: now,
        paused: None,
        controller: controller(),
        plan_digest: plan_digest(&plan_json),
        tasks: tasks.len(),
    };
    store.create_run(&record, &plan_json, &tasks)?;
    Ok(id)
}

/// A run that has not finished, with its frozen plan; a finished run is refused.
pub(super) fn unfinished_run<S: RunStore + ?Sized>(
    store: &S,
    run_id: &str,
) -> Result<(RunRecord, Plan), DriveError> {
    let run = store
        .run(run_id)?
        .ok_or_else(|| DriveError::NoRun(run_id.to_owned()))?;
    if run.status.is_finished() {
        return Err(DriveError::Finished(
            run_id.to_owned(),
            format!("{:?}", run.status).to_lowercase(),
        ));
    }
    let plan_json = store
        .plan_json(run_id)?
        .ok_or_else(|| DriveError::NoRun(run_id.to_owned()))?;
    let plan =
        frozen_plan(&run, &plan_json).map_err(|e| DriveError::BadPlan(run_id.to_owned(), e))?;
    Ok((run, plan))
}

/// Everything a drive needs besides the store.
pub struct Drive {
    pub conns: Arc<Connections>,
    pub secrets: Arc<Secrets>,
    pub observer: Arc<dyn Observer>,
    pub options: ExecOptions,
    /// Set when resuming: how to settle interrupted tasks.
    pub settle: Option<SettleOptions>,
}

/// Drives run `run_id` from its recorded state to an end and records its final status.
#[expect(
    clippy::too_many_lines,
    reason = "load, settle, drive, record: one sequence"
)]
pub async fn drive_run<S: RunStore + Send + Sync + 'static>(
    store: Arc<S>,
    run_id: &str,
    drive: Drive,
    interrupts: watch::Receiver<u32>,
) -> Result<RunOutcome, DriveError> {
    let (mut run, plan) = unfinished_run(&*store, run_id)?;
    // Before anything is used to settle or drive: a second controller is refused here.
    store.claim(&run.cluster)?;
    let plan = Arc::new(plan);
    let mut records = store.tasks(run_id)?;
    let resumed = drive.settle.is_some();
    let mask = Arc::new(SecretMask::new(&drive.secrets));
    let mut settled = Settled::default();
    if let Some(options) = &drive.settle {
        settled = settle(
            &plan,
            &mut records,
            run_id,
            &drive.conns,
            options,
            &mask,
            &*drive.observer,
        )
        .await
        .map_err(DriveError::InDoubt)?;
    }
    let mut changes = settled.changes;
    let approved = super::approval::approved_nodes(&*store, run_id)?;
    run.status = RunStatus::Running;
    run.paused = None;
    run.controller = controller();
    run.updated_ms = now_ms();
    changes.push(Change::Run(run.clone()));
    let kind = if resumed {
        EventKind::Resumed
    } else {
        EventKind::Started
    };
    changes.push(kind.change(None, run.controller.clone()));
    commit_async(&store, run_id, changes).await?;
    scrub_after_commit(&drive.conns, run_id, settled.scrubs).await;
    drive.observer.event(&ExecEvent::RunStarted {
        run: run_id.to_owned(),
        runbook: plan.runbook.clone(),
        cluster: plan.cluster.clone(),
        tasks: records
            .iter()
            .filter(|r| !is_rollback(&plan, r.node))
            .count(),
        resumed,
        limit: plan.limit.as_ref().map(|l| {
            let excluded = plan.tasks().filter(|(_, t)| plan.excluded(t)).count();
            (l.hosts.clone(), excluded)
        }),
    });
    let dispatcher = Dispatcher {
        store: Arc::clone(&store),
        plan: Arc::clone(&plan),
        run_id: run_id.to_owned(),
        conns: drive.conns,
        secrets: drive.secrets,
        mask,
        observer: Arc::clone(&drive.observer),
        options: drive.options,
        renderer: Arc::new(Renderer::new()),
        approved,
    };
    let outcome = dispatcher.drive(records, interrupts).await?;
    let (status, paused) = final_status(&outcome);
    run.status = status;
    // The note `runs` and `show` print: why it paused, or why it failed.
    run.paused = match &outcome {
        RunOutcome::Failed(reasons) => Some(reasons.join("; ")),
        _ => paused,
    };
    run.updated_ms = now_ms();
    let message = match &outcome {
        RunOutcome::Failed(reasons) => reasons.join("; "),
        RunOutcome::AwaitingApproval(m) => format!("awaiting approval: {m}"),
        RunOutcome::Interrupted => "interrupted".to_owned(),
        RunOutcome::OutsideWindow(reason) => reason.clone(),
        RunOutcome::Done => "done".to_owned(),
    };
    commit_async(
        &store,
        run_id,
        vec![Change::Run(run), EventKind::Finished.change(None, message)],
    )
    .await?;
    let (rollbacks, tasks): (Vec<TaskRecord>, Vec<TaskRecord>) = store
        .tasks(run_id)?
        .into_iter()
        .partition(|t| is_rollback(&plan, t.node));
    let count = |s: TaskState| tasks.iter().filter(|t| t.state == s).count();
    let ran = |t: &&TaskRecord| t.attempts > 0 && t.state != TaskState::Pending;
    drive.observer.event(&ExecEvent::RunFinished {
        run: run_id.to_owned(),
        status,
        done: count(TaskState::Done),
        skipped: count(TaskState::Skipped),
        failed: count(TaskState::Failed),
        rolled_back: tasks
            .iter()
            .filter(|t| t.state == TaskState::Pending && t.reason.as_deref() == Some(ROLLED_BACK))
            .count(),
        rollbacks: rollbacks.iter().filter(ran).count(),
        rollbacks_failed: rollbacks
            .iter()
            .filter(ran)
            .filter(|t| t.state == TaskState::Failed)
            .count(),
    });
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::{frozen_plan, plan_digest, read_plan};
    use crate::store::{RunRecord, RunStatus};

    fn record(digest: String) -> RunRecord {
        RunRecord {
            id: "r".to_owned(),
            runbook: "rb".to_owned(),
            cluster: "c".to_owned(),
            status: RunStatus::Running,
            created_ms: 0,
            updated_ms: 0,
            paused: None,
            controller: String::new(),
            plan_digest: digest,
            tasks: 0,
        }
    }

    #[test]
    fn a_plan_that_does_not_match_its_digest_is_refused() {
        let stored = r#"{"format": 2}"#;
        let run = record(plan_digest(r#"{"format": 2, "x": 1}"#));
        let err = frozen_plan(&run, stored).unwrap_err();
        assert!(
            err.starts_with("it does not match the digest recorded when the run was created"),
            "{err}"
        );
        // A matching digest goes on to the format check.
        let err = frozen_plan(&record(plan_digest(stored)), stored).unwrap_err();
        assert!(!err.contains("digest"), "{err}");
    }

    #[test]
    fn a_plan_of_another_format_is_refused_by_name() {
        let err = read_plan(r#"{"format": 1, "env": "\u0001secret:tok\u0001"}"#).unwrap_err();
        assert_eq!(
            err,
            "it has plan format 1; this quorate reads format 2 (plan the runbook again)"
        );
        assert!(read_plan("not json").is_err());
    }
}
