//! One tracing event per execution event, with run id, host and step as fields, so
//! `--log-format json` gives one machine-readable line per task transition. Values are
//! recorded as they are (Display): the text format escapes them, JSON keeps them exact.

use crate::exec::{state_name, ExecEvent, Observer};

pub struct LogObserver;

impl Observer for LogObserver {
    fn event(&self, event: &ExecEvent) {
        match event {
            ExecEvent::Task {
                run,
                node,
                step,
                host,
                state,
                attempt,
                exit,
                reason,
                seq,
                rollback,
            } => tracing::info!(
                target: "quorate::task",
                run = %run, node, step = %step, host = %host, state = %state_name(*state), attempt, exit = *exit,
                reason = %reason.as_deref().unwrap_or(""), seq, rollback,
                "task {step}@{host} {}", state_name(*state)
            ),
            ExecEvent::RunStarted {
                run,
                runbook,
                cluster,
                tasks,
                resumed,
                ..
            } => {
                tracing::info!(target: "quorate::run", run = %run, runbook = %runbook, cluster = %cluster, tasks, resumed, "run started");
            }
            ExecEvent::BatchGate {
                run,
                rolling,
                batch,
                batches,
                healthy,
                needed,
                members,
                live,
            } => tracing::info!(
                target: "quorate::gate", run = %run, rolling = %rolling, batch, batches, healthy, needed, members, live_f = live.as_ref().map(|l| l.f), "batch gate"
            ),
            ExecEvent::Rollback {
                run,
                rolling,
                batch,
                batches,
                hosts,
            } => tracing::warn!(
                target: "quorate::run", run = %run, rolling = %rolling, batch, batches, hosts = %hosts.join(","), "rolling back batch"
            ),
            ExecEvent::Retry {
                run,
                node,
                step,
                host,
                attempt,
                delay_ms,
                reason,
            } => tracing::warn!(
                target: "quorate::task", run = %run, node, step = %step, host = %host, attempt, delay_ms, reason = %reason, "retrying"
            ),
            ExecEvent::Settled {
                run,
                node,
                step,
                host,
                outcome,
            } => {
                tracing::info!(target: "quorate::task", run = %run, node, step = %step, host = %host, outcome = %outcome, "settled");
            }
            ExecEvent::Paused { run, reason } => {
                tracing::warn!(target: "quorate::run", run = %run, reason = %reason, "paused");
            }
            ExecEvent::RunFinished {
                run,
                status,
                done,
                skipped,
                failed,
                rolled_back,
                rollbacks,
                rollbacks_failed,
            } => tracing::info!(
                target: "quorate::run", run = %run, status = super::super::exec::status_name(*status), done, skipped, failed,
                rolled_back, rollbacks, rollbacks_failed, "run finished"
            ),
        }
    }
}
