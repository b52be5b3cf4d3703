//! Removing runs' task journals from hosts: a run's journal on every host of its plan
//! once the run is done or abandoned, and (`quorate gc`) the journals on an inventory's
//! hosts that no run of the store still needs.
//!
//! A journal is what lets `resume` tell how an interrupted task ended, so only runs that
//! will never resume lose theirs: a failed or paused run keeps it. Cleaning never changes
//! a run's result; a host that cannot be reached is reported and left for `quorate gc`.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use tokio::task::JoinSet;

use super::hosts::{address_spec, controller_spec, host_spec};
use crate::plan::{Connection, Plan};
use crate::transport::{remove_run, Connections, HostSpec, TransportError};

/// A host where a journal could not be listed or removed, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreached {
    pub host: String,
    pub error: String,
}

/// Every host the plan's tasks run on (the controller too, when it has tasks: its
/// journal is local), each once, in plan order.
pub fn plan_hosts(plan: &Plan) -> Vec<HostSpec> {
    let mut seen = HashSet::new();
    plan.tasks()
        .map(|(_, task)| task.host.as_deref())
        .filter(|host| seen.insert(*host))
        // A host without connection settings never ran a task: it has no journal.
        .filter_map(|host| host_spec(plan, host).ok())
        .collect()
}

/// Every SSH host of an inventory's connection settings, then the controller, whose
/// local journal holds the records of controller tasks and of `transport: local` hosts
/// (listed once, not once per local host).
pub fn inventory_hosts(connection: &Connection) -> Vec<HostSpec> {
    connection
        .hosts
        .iter()
        .filter(|a| !a.local)
        .map(address_spec)
        .chain(std::iter::once(controller_spec(super::context::CONTROLLER)))
        .collect()
}

/// Removes run `run`'s journal on every host in `hosts`, all at once; returns the hosts
/// where that failed, in the order given.
pub async fn remove_run_journals(
    conns: &Arc<Connections>,
    hosts: &[HostSpec],
    run: &str,
) -> Vec<Unreached> {
    let mut removals = JoinSet::new();
    for (i, host) in hosts.iter().enumerate() {
        let (conns, host, run) = (Arc::clone(conns), host.clone(), run.to_owned());
        removals.spawn(async move { (i, remove_run(&conns, &host, &run).await) });
    }
    let mut failed: Vec<(usize, Unreached)> = Vec::new();
    while let Some(joined) = removals.join_next().await {
        let (i, result) = joined.expect("a journal removal does not panic");
        if let Err(e) = result {
            failed.push((i, unreached(&hosts[i], &e)));
        }
    }
    failed.sort_by_key(|(i, _)| *i);
    failed.into_iter().map(|(_, u)| u).collect()
}

fn unreached(host: &HostSpec, error: &TransportError) -> Unreached {
    Unreached {
        host: host.name.clone(),
        error: error.to_string(),
    }
}

/// Lists the run directories under the host's journal (`~/.quorate/runs`, or
/// `$QUORATE_HOME/runs` as the wrapper has it). Read-only. Names that are not valid run
/// ids are not journals this quorate wrote and are left out.
pub async fn list_journals(
    conns: &Connections,
    host: &HostSpec,
) -> Result<Vec<String>, TransportError> {
    const LIST: &str = r#"d="${QUORATE_HOME:-$HOME/.quorate}/runs"
[ -d "$d" ] || exit 0
cd "$d" || exit 1
for f in *; do [ -d "$f" ] && printf '%s\n' "$f"; done
exit 0"#;
    let out = conns.run(host, LIST, b"").await?;
    if !out.success() {
        return Err(TransportError::Remote {
            host: host.name.clone(),
            message: format!(
                "cannot list the task journals ({}): {}",
                out.exit_text(),
                out.stderr_text()
            ),
        });
    }
    let mut runs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|name| is_run_id(name))
        .map(str::to_owned)
        .collect();
    runs.sort();
    Ok(runs)
}

/// What the wrapper accepts as a run id (see wrapper.sh).
fn is_run_id(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// One host's journals as `gc` found and cleaned them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostGc {
    pub host: String,
    /// Whether the journals could be listed at all.
    pub listed: bool,
    /// Journals of runs the store no longer needs (removed, unless a dry run).
    pub removable: Vec<String>,
    /// Journals kept: their runs are unfinished and may resume.
    pub kept: Vec<String>,
    /// Journals removed (not counting a dry run's).
    pub removed: usize,
    /// Why the host could not be listed, or the first journal that could not be removed.
    pub error: Option<String>,
}

/// On every host, removes the journals of runs not in `unfinished` (the ids of the
/// store's runs that may still resume). With `dry_run`, only lists them.
pub async fn collect_garbage(
    conns: &Arc<Connections>,
    hosts: &[HostSpec],
    unfinished: &BTreeSet<String>,
    dry_run: bool,
) -> Vec<HostGc> {
    let mut jobs = JoinSet::new();
    for (i, host) in hosts.iter().enumerate() {
        let (conns, host, unfinished) = (Arc::clone(conns), host.clone(), unfinished.clone());
        jobs.spawn(async move { (i, gc_host(&conns, &host, &unfinished, dry_run).await) });
    }
    let mut reports = Vec::with_capacity(hosts.len());
    while let Some(joined) = jobs.join_next().await {
        reports.push(joined.expect("a host's gc does not panic"));
    }
    reports.sort_by_key(|(i, _)| *i);
    reports.into_iter().map(|(_, r)| r).collect()
}

async fn gc_host(
    conns: &Connections,
    host: &HostSpec,
    unfinished: &BTreeSet<String>,
    dry_run: bool,
) -> HostGc {
    let mut report = HostGc {
        host: host.name.clone(),
        ..HostGc::default()
    };
    let runs = match list_journals(conns, host).await {
        Ok(runs) => runs,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    report.listed = true;
    (report.kept, report.removable) = runs.into_iter().partition(|r| unfinished.contains(r));
    if dry_run {
        return report;
    }
    for run in &report.removable {
        match remove_run(conns, host, run).await {
            Ok(()) => report.removed += 1,
            Err(e) => {
                report.error = Some(e.to_string());
                break;
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::{inventory_hosts, is_run_id};
    use crate::plan::{Connection, HostAddress};

    #[test]
    fn gc_visits_each_ssh_host_and_the_controller_once() {
        let host = |name: &str, local: bool| HostAddress {
            name: name.to_owned(),
            address: format!("{name}.example"),
            port: None,
            user: None,
            local,
        };
        let connection = Connection {
            hosts: vec![
                host("a", false),
                host("here", true),
                host("b", false),
                host("also-here", true),
            ],
            ssh_config: None,
            accept_new_host_keys: false,
        };
        let names: Vec<String> = inventory_hosts(&connection)
            .into_iter()
            .map(|h| h.name)
            .collect();
        assert_eq!(names, ["a", "b", "controller"]);
    }

    #[test]
    fn only_names_the_wrapper_accepts_are_run_ids() {
        for good in ["20261201-223300-ab12", "r.1_x-2"] {
            assert!(is_run_id(good), "{good}");
        }
        for bad in ["", ".hidden", "a b", "a/b", "*", &"x".repeat(129)] {
            assert!(!is_run_id(bad), "{bad}");
        }
    }
}
