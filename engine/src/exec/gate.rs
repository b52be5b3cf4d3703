//! The gate before each rolling batch: the pause, then the cluster health check, which
//! waits until taking the batch down would still leave `n - f` healthy members.

use std::time::Instant;

use super::dispatcher::ExecOptions;
use super::events::{ExecEvent, Observer};
use super::hosts::host_spec;
use super::join::join_all;
use crate::plan::{Gate, Plan};
use crate::transport::Connections;

/// How long one member's health command may take.
const HEALTH_COMMAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn run_gate(
    plan: &Plan,
    gate: &Gate,
    conns: &Connections,
    options: &ExecOptions,
    run_id: &str,
    observer: &dyn Observer,
) -> Result<(), String> {
    if let Some(p) = gate.pause {
        tokio::time::sleep(p.as_duration()).await;
    }
    let rolling = &plan.rollings[gate.rolling];
    let (Some(quorum), false) = (plan.quorum, rolling.health.is_empty()) else {
        return Ok(());
    };
    let batch = &rolling.batches[gate.batch];
    let start = Instant::now();
    // The count is reported when it changes, not on every poll.
    let mut last = None;
    loop {
        let checks = rolling.health.iter().map(|(host, cmd)| async move {
            // A member that cannot be reached by the plan counts as unhealthy, and so
            // does a health command that hangs rather than holding the gate.
            let healthy = match host_spec(plan, Some(host)) {
                Ok(spec) => {
                    let answer = tokio::time::timeout(
                        HEALTH_COMMAND_LIMIT,
                        conns.run(&spec, cmd.as_str(), &[]),
                    )
                    .await;
                    matches!(answer, Ok(Ok(o)) if o.code == Some(0))
                }
                Err(_) => false,
            };
            (host.clone(), healthy)
        });
        let answers = join_all(checks.collect()).await;
        let healthy: Vec<&String> = answers
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(h, _)| h)
            .collect();
        let going_down = healthy.iter().filter(|h| batch.hosts.contains(h)).count();
        let left = healthy.len() - going_down;
        if last != Some(healthy.len()) {
            last = Some(healthy.len());
            observer.event(&ExecEvent::BatchGate {
                run: run_id.to_owned(),
                rolling: rolling.step.clone(),
                batch: gate.batch + 1,
                batches: rolling.batches.len(),
                healthy: healthy.len(),
                needed: quorum.needed(),
                members: quorum.n,
            });
        }
        if left >= quorum.needed() || rolling.quorum_loss_allowed {
            return Ok(());
        }
        if start.elapsed() >= options.gate_timeout {
            let unhealthy: Vec<&str> = answers
                .iter()
                .filter(|(_, ok)| !*ok)
                .map(|(h, _)| h.as_str())
                .collect();
            return Err(format!(
                "batch {} of `{}` would leave {left} healthy members, fewer than the {} needed ({} of {} healthy now; unhealthy: {})",
                gate.batch + 1,
                rolling.step,
                quorum.needed(),
                healthy.len(),
                quorum.n,
                unhealthy.join(", ")
            ));
        }
        tokio::time::sleep(options.gate_poll).await;
    }
}
