//! `quorate gc`, and removing a run's host journals when it ends done or is abandoned:
//! the operator-facing side of exec's journal cleanup (what to print, which exit code).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::args::{Cli, GcArgs};
use super::execute::{control_dir, open_store, runtime};
use super::exit::{DONE, FAILED};
use super::inputs::read_source;
use super::warn;
use crate::exec::{
    collect_garbage, connection_ssh_settings, inventory_hosts, plan_hosts, read_plan,
    remove_run_journals, ssh_settings, Unreached,
};
use crate::plan::{parse_inventory, Connection, Plan};
use crate::source::{escape, Diagnostic};
use crate::store::{RunReader, RunStore, Store};
use crate::transport::Connections;

/// Removes run `run`'s journal on every host of its plan; a host that cannot be reached
/// gets a warning, and the run's result stands.
pub(super) async fn remove_journals(conns: &Arc<Connections>, plan: &Plan, run: &str) {
    let unreached = remove_run_journals(conns, &plan_hosts(plan), run).await;
    warn_unreached(run, &unreached);
}

/// After `abandon`: removes the run's journals on the hosts of its stored plan.
pub(super) fn remove_abandoned_journals(store: &Store, run: &str) {
    let Ok(Some(plan_json)) = store.plan_json(run) else {
        return;
    };
    let Ok(plan) = read_plan(&plan_json) else {
        return;
    };
    runtime().block_on(async {
        match Connections::new(ssh_settings(&plan), control_dir()) {
            Ok(conns) => {
                let conns = Arc::new(conns);
                remove_journals(&conns, &plan, run).await;
                close(&conns).await;
            }
            Err(e) => warn_unreached(
                run,
                &[Unreached {
                    host: "every host".to_owned(),
                    error: e.to_string(),
                }],
            ),
        }
    });
}

fn warn_unreached(run: &str, unreached: &[Unreached]) {
    let warnings: Vec<Diagnostic> = unreached
        .iter()
        .map(|u| {
            Diagnostic::error(format!(
                "cannot remove the task journal of run {run} on host {}",
                escape::line(&u.host)
            ))
            .warning()
            .with_note(escape::line(&u.error))
            .with_hint("once the host is reachable, `quorate gc -i INVENTORY` removes it")
        })
        .collect();
    warn(&warnings);
}

async fn close(conns: &Connections) {
    conns.close().await;
    // The masters are closed: their socket directory is ours to remove.
    let _ = std::fs::remove_dir_all(conns.control_dir());
}

/// `quorate gc -i INVENTORY [--dry-run]`: on every host of the inventory (and the
/// controller), removes the journals of runs that are done, abandoned or unknown to the
/// store; unfinished runs keep theirs.
pub fn run(cli: &Cli, args: &GcArgs) -> Result<u8, Vec<Diagnostic>> {
    let inventory = read_source(&args.inventory).and_then(parse_inventory)?;
    let connection = Connection::of_inventory(&inventory);
    let store = match open_store(cli) {
        Ok(s) => s,
        Err((code, d)) => {
            warn(&d);
            return Ok(code);
        }
    };
    let runs = or_store_failure!(cli.state, store.runs());
    let unfinished: BTreeSet<String> = runs
        .into_iter()
        .filter(|r| !r.status.is_finished())
        .map(|r| r.id)
        .collect();
    // The store stays open (and so locked) until the hosts are cleaned: no run of this
    // state directory can start meanwhile and be taken for garbage.
    let hosts = inventory_hosts(&connection);
    let reports = runtime().block_on(async {
        let conns = Connections::new(connection_ssh_settings(&connection), control_dir())
            .map(Arc::new)
            .map_err(|e| vec![Diagnostic::error(e.to_string())])?;
        let reports = collect_garbage(&conns, &hosts, &unfinished, args.dry_run).await;
        close(&conns).await;
        Ok::<_, Vec<Diagnostic>>(reports)
    })?;
    drop(store);
    let mut failures = Vec::new();
    for r in &reports {
        let host = escape::line(&r.host);
        let kept = r.kept.len();
        if !r.listed {
            outln!("{host}: not reached");
        } else if args.dry_run {
            let listed = if r.removable.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.removable.join(", "))
            };
            outln!(
                "{host}: {} to remove{listed}, {kept} kept",
                r.removable.len()
            );
        } else {
            outln!("{host}: {} removed, {kept} kept", r.removed);
        }
        if let Some(error) = &r.error {
            failures.push(
                Diagnostic::error(format!("cannot clean the task journals on host {host}"))
                    .with_note(escape::line(error)),
            );
        }
    }
    if failures.is_empty() {
        Ok(DONE)
    } else {
        warn(&failures);
        Ok(FAILED)
    }
}
