//! `quorate store migrate`: copies every run of one store into a team store on etcd, with
//! its plan, task records and event log as they are.

use super::args::{Cli, MigrateArgs};
use super::store_failure::report_store_failure;
use crate::source::Diagnostic;
use crate::store::{StateLocation, StoreError};

pub fn run(cli: &Cli, args: &MigrateArgs) -> Result<u8, Vec<Diagnostic>> {
    let to_etcd = matches!(StateLocation::parse(&args.to), Ok(StateLocation::Etcd(_)));
    if !to_etcd {
        return Err(vec![Diagnostic::error(format!(
            "--to {} is not an etcd store: runs are copied into etcd://HOST:PORT[,...]/PREFIX",
            args.to.display()
        ))]);
    }
    if args.from == args.to {
        return Err(vec![Diagnostic::error(
            "--from and --to name the same store".to_owned(),
        )]);
    }
    copy(cli, args)
}

#[cfg(not(feature = "etcd"))]
#[expect(
    clippy::unnecessary_wraps,
    reason = "the signature of the copy an etcd build makes"
)]
fn copy(_cli: &Cli, args: &MigrateArgs) -> Result<u8, Vec<Diagnostic>> {
    let error = StoreError::NotBuilt(args.to.display().to_string());
    Ok(report_store_failure(&args.to, &error))
}

#[cfg(feature = "etcd")]
fn copy(cli: &Cli, args: &MigrateArgs) -> Result<u8, Vec<Diagnostic>> {
    use super::exit::{BAD_INPUT, DONE};
    use super::warn;
    use crate::store::{open_store, RunReader, RunStore, Store};

    let options = cli.etcd_options();
    let from = match open_store(&args.from, &options) {
        Ok(store) => store,
        Err(e) => return Ok(report_store_failure(&args.from, &e)),
    };
    let to = match open_store(&args.to, &options) {
        Ok(Store::Etcd(store)) => store,
        Ok(_) => return Ok(BAD_INPUT),
        Err(e) => return Ok(report_store_failure(&args.to, &e)),
    };
    let mut runs = or_store_failure!(args.from, from.runs());
    // Oldest first: the team store's history then reads in the order it happened.
    runs.reverse();
    let (mut copied, mut present) = (0usize, 0usize);
    for run in &runs {
        let read = (|| -> Result<_, StoreError> {
            let plan = from
                .plan_json(&run.id)?
                .ok_or_else(|| StoreError::Corrupt(format!("run {} has no plan", run.id)))?;
            Ok((plan, from.tasks(&run.id)?, from.events(&run.id)?))
        })();
        let (plan, tasks, events) = or_store_failure!(args.from, read);
        match to.import_run(run, &plan, &tasks, &events) {
            Ok(true) => copied += 1,
            Ok(false) => present += 1,
            Err(e) => {
                warn(&[Diagnostic::error(format!(
                    "run {} was not copied: {e}",
                    run.id
                ))]);
                return Ok(report_store_failure(&args.to, &e));
            }
        }
    }
    outln!(
        "copied {copied} run(s) from {} to {}{}",
        args.from.display(),
        to.address(),
        if present > 0 {
            format!("; {present} were there already and were left as they are")
        } else {
            String::new()
        }
    );
    Ok(DONE)
}
