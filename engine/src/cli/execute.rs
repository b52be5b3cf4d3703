//! `quorate run`, `resume`, `approve` and `abandon`: the commands that change a run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use super::args::{ApproveArgs, Cli, ExecArgs, ResumeArgs, RunArgs, RunIdArgs};
use super::exit::{BAD_INPUT, DONE, FAILED, LOCKED, PAUSED};
use super::inputs::{compile_from_args, param_from_env, read_params_file};
use super::store_failure::{report_store_failure, store_failure};
use super::warn;
use crate::exec::{
    approve as approve_run, create_run, drive_run, ssh_settings, ApproveError, Drive, DriveError,
    EventKind, ExecOptions, Observer, RunOutcome, SettleOptions, Window,
};
use crate::plan::{ParamInput, Plan, Secrets};
use crate::report::{Fanout, LogObserver, Progress};
use crate::source::{escape, Diagnostic};
use crate::store::{
    now_ms, operator, serve_readers, Change, LiveServer, RunReader, RunStatus, RunStore, Store,
    StoreError,
};
use crate::transport::Connections;

pub(super) fn open_store(cli: &Cli) -> Result<Arc<Store>, (u8, Vec<Diagnostic>)> {
    crate::store::open_store(&cli.state, &cli.etcd_options())
        .map(Arc::new)
        .map_err(|e| {
            let (code, d) = store_failure(&cli.state, &e);
            (code, vec![d])
        })
}

/// Answers `runs`, `show` and `logs` from other shells while this process holds the store.
/// Without it a run still runs; it just cannot be watched, so a failure is a warning.
/// A shared store needs none: readers read it directly, from any machine.
fn serve_live_reads(state: &Path, store: &Arc<Store>, run_id: &str) -> Option<LiveServer> {
    if !matches!(**store, Store::Sled(_)) {
        return None;
    }
    match serve_readers(state, Arc::clone(store), run_id) {
        Ok(server) => Some(server),
        Err(e) => {
            warn(&[Diagnostic::error(format!(
                "the run cannot be watched from another shell: {e}"
            ))
            .warning()]);
            None
        }
    }
}

/// Resolves a RUN argument (`latest`, a unique prefix) against the open store.
fn resolve(cli: &Cli, store: &Store, arg: &str) -> Result<Result<String, u8>, Vec<Diagnostic>> {
    match super::run_ref::resolve_run(store, &cli.state, arg) {
        Ok(Ok(id)) => Ok(Ok(id)),
        Ok(Err(d)) => Err(vec![d]),
        Err(e) => Ok(Err(report_store_failure(&cli.state, &e))),
    }
}

/// A short control directory for SSH master sockets (socket paths are limited to ~100 bytes).
pub(super) fn control_dir() -> PathBuf {
    std::env::temp_dir().join(format!("qr-{}", std::process::id()))
}

pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts")
}

/// Counts Ctrl-C presses for the dispatcher.
fn interrupts() -> watch::Receiver<u32> {
    let (tx, rx) = watch::channel(0u32);
    tokio::spawn(async move {
        let mut n = 0;
        while tokio::signal::ctrl_c().await.is_ok() {
            n += 1;
            if tx.send(n).is_err() {
                break;
            }
        }
    });
    rx
}

fn observer(plan: &Plan, exec: &ExecArgs) -> Arc<dyn Observer> {
    let tasks = plan.tasks().count();
    Arc::new(Fanout(vec![
        Arc::new(Progress::new(tasks, exec.plain)),
        Arc::new(LogObserver),
    ]))
}

fn options(exec: &ExecArgs, window: Option<Window>) -> ExecOptions {
    ExecOptions {
        concurrency: exec.concurrency.max(1),
        gate_timeout: exec.health_timeout.as_duration(),
        window,
        ..ExecOptions::default()
    }
}

/// The `--window` given, read against the clock now.
pub(super) fn window_arg(exec: &ExecArgs) -> Result<Option<Window>, Vec<Diagnostic>> {
    exec.window
        .as_deref()
        .map(|spec| Window::parse(spec, now_ms()))
        .transpose()
        .map_err(|e| vec![Diagnostic::error(e.to_string())])
}

/// The exit code of a drive, with what to tell the operator.
fn finish(result: Result<RunOutcome, DriveError>, run_id: &str, state: &Path) -> u8 {
    match result {
        Ok(RunOutcome::Done) => DONE,
        Ok(RunOutcome::Failed(reasons)) => {
            let mut d = Diagnostic::error(format!("run {run_id} failed"));
            for r in reasons {
                d = d.with_note(escape::line(&r));
            }
            warn(&[d.with_hint(format!("fix the cause, then `quorate resume {run_id}`"))]);
            FAILED
        }
        Ok(RunOutcome::AwaitingApproval(message)) => {
            outln!("run {run_id} awaits approval: {}", escape::line(&message));
            outln!("approve with `quorate approve {run_id}`, then `quorate resume {run_id}`");
            PAUSED
        }
        Ok(RunOutcome::OutsideWindow(reason)) => {
            outln!("run {run_id} paused {}", escape::line(&reason));
            outln!("continue with `quorate resume {run_id}` inside the window");
            PAUSED
        }
        Ok(RunOutcome::Interrupted) => {
            outln!("run {run_id} interrupted; continue with `quorate resume {run_id}`");
            PAUSED
        }
        Err(DriveError::InDoubt(tasks)) => {
            let mut d = Diagnostic::error(format!(
                "{} task(s) were running when the controller stopped, have no guard, and their hosts' journals cannot tell how they ended",
                tasks.len()
            ));
            for t in &tasks {
                d = d.with_note(escape::line(&format!("{}@{}", t.step, t.host)));
            }
            warn(&[d.with_hint(format!(
                "check them by hand, then `quorate resume {run_id} --mark-done STEP@HOST`, or `--rerun-interrupted` to run them again"
            ))]);
            FAILED
        }
        Err(DriveError::Finished(id, status)) => {
            outln!("run {id} is already {status}; nothing to do");
            DONE
        }
        Err(
            e @ DriveError::Store(
                StoreError::Busy { .. } | StoreError::Locked { .. } | StoreError::Controlled { .. },
            ),
        ) => {
            warn(&[Diagnostic::error(e.to_string())]);
            LOCKED
        }
        Err(DriveError::Store(e)) => report_store_failure(state, &e),
        Err(e) => {
            warn(&[Diagnostic::error(e.to_string())]);
            FAILED
        }
    }
}

/// How a drive goes: the command's options, its window, and (resuming) how to settle.
pub(super) struct Driving<'a> {
    pub(super) exec: &'a ExecArgs,
    pub(super) window: Option<Window>,
    pub(super) settle: Option<SettleOptions>,
}

/// Drives a run on a fresh runtime and connection pool, and turns the outcome into an
/// exit code.
pub(super) fn drive(
    state: &Path,
    store: &Arc<Store>,
    run_id: &str,
    plan: &Plan,
    secrets: Secrets,
    how: Driving<'_>,
) -> u8 {
    let Driving {
        exec,
        window,
        settle,
    } = how;
    let observer = observer(plan, exec);
    let _live = serve_live_reads(state, store, run_id);
    runtime().block_on(async {
        let conns = match Connections::new(ssh_settings(plan), control_dir()) {
            Ok(c) => Arc::new(c),
            Err(e) => {
                warn(&[Diagnostic::error(e.to_string())]);
                return BAD_INPUT;
            }
        };
        let secrets = Arc::new(secrets);
        let signals = interrupts();
        let mut settle = settle;
        let result = loop {
            let drive = Drive {
                conns: Arc::clone(&conns),
                secrets: Arc::clone(&secrets),
                observer: Arc::clone(&observer),
                options: options(exec, window.clone()),
                settle: settle.take(),
            };
            let result = drive_run(Arc::clone(store), run_id, drive, signals.clone()).await;
            // On a terminal, an approval may be given in place; the run then goes on.
            if let Ok(RunOutcome::AwaitingApproval(message)) = &result {
                if super::prompt::can_ask() {
                    let (store, id, message) =
                        (Arc::clone(store), run_id.to_owned(), message.clone());
                    let approved = tokio::task::spawn_blocking(move || {
                        super::prompt::approve_in_place(&*store, &id, &message)
                    })
                    .await
                    .unwrap_or(false);
                    if approved {
                        settle = Some(SettleOptions::default());
                        continue;
                    }
                }
            }
            break result;
        };
        if matches!(result, Ok(RunOutcome::Done)) {
            super::gc::remove_journals(&conns, plan, run_id).await;
        }
        conns.close().await;
        // The masters are closed: their socket directory is ours to remove.
        let _ = std::fs::remove_dir_all(conns.control_dir());
        finish(result, run_id, state)
    })
}

pub fn run(cli: &Cli, args: &RunArgs) -> Result<u8, Vec<Diagnostic>> {
    let mut compiled = compile_from_args(&args.compile, true)?;
    super::plan::apply_limit(&mut compiled.plan, &args.limit)?;
    let window = window_arg(&args.exec)?;
    warn(&compiled.warnings);
    let store = match open_store(cli) {
        Ok(s) => s,
        Err((code, d)) => {
            warn(&d);
            return Ok(code);
        }
    };
    let run_id = match create_run(&*store, &compiled.plan) {
        Ok(id) => id,
        Err(e) => return Ok(report_store_failure(&cli.state, &e)),
    };
    let mut recorded = vec![EventKind::Sources.change(None, super::sources::record(&args.compile))];
    recorded.extend(window.as_ref().map(Window::record));
    or_store_failure!(cli.state, store.commit(&run_id, recorded));
    Ok(drive(
        &cli.state,
        &store,
        &run_id,
        &compiled.plan,
        compiled.secrets,
        Driving {
            exec: &args.exec,
            window,
            settle: None,
        },
    ))
}

/// Secret values for a resumed run: from the environment or a params file, never stored.
pub(super) fn resume_secrets(
    plan: &Plan,
    params_file: Option<&PathBuf>,
) -> Result<Secrets, Vec<Diagnostic>> {
    let mut secrets = Secrets::default();
    let mut from_file = Vec::new();
    if let Some(path) = params_file {
        let doc = read_params_file(path)?;
        from_file = ParamInput::from_file(&Arc::new(doc)).map_err(|d| vec![d])?;
    }
    for p in plan.params.iter().filter(|p| p.secret) {
        let value = from_file
            .iter()
            .find(|i| i.name == p.name)
            .map(|i| {
                i.value
                    .as_str()
                    .map_or_else(|| i.value.to_string(), str::to_owned)
            })
            .map_or_else(
                || param_from_env(&p.name).map(|v| v.map(|(_, value)| value)),
                |v| Ok(Some(v)),
            )
            .map_err(|d| vec![d])?;
        if let Some(v) = value {
            secrets.insert(p.name.clone(), v);
        }
    }
    Ok(secrets)
}

/// Every `--mark-done STEP@HOST` must name a task of the plan.
fn check_mark_done(plan: &Plan, names: &[String]) -> Result<(), Vec<Diagnostic>> {
    let tasks: Vec<String> = plan
        .tasks()
        .map(|(_, t)| format!("{}@{}", t.step, t.host_name()))
        .collect();
    let known: Vec<&str> = tasks.iter().map(String::as_str).collect();
    let errors: Vec<Diagnostic> = names
        .iter()
        .filter(|n| !known.contains(&n.as_str()))
        .map(|n| {
            let d = Diagnostic::error(format!("`--mark-done {n}` names no task of this run"));
            match crate::source::did_you_mean(n, &known) {
                Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                None => d.with_hint("tasks are named STEP@HOST, as `quorate show` lists them"),
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

pub fn resume(cli: &Cli, args: &ResumeArgs) -> Result<u8, Vec<Diagnostic>> {
    let store = match open_store(cli) {
        Ok(s) => s,
        Err((code, d)) => {
            warn(&d);
            return Ok(code);
        }
    };
    let run_id = match resolve(cli, &store, &args.run)? {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let plan_json = or_store_failure!(cli.state, store.plan_json(&run_id));
    let Some(plan_json) = plan_json else {
        return Err(vec![Diagnostic::error(format!(
            "no run {run_id} in {}",
            cli.state.display()
        ))
        .with_hint("`quorate runs` lists the recorded runs")]);
    };
    let Some(run) = or_store_failure!(cli.state, store.run(&run_id)) else {
        return Err(vec![Diagnostic::error(format!(
            "no run {run_id} in {}",
            cli.state.display()
        ))]);
    };
    let plan: Plan = crate::exec::frozen_plan(&run, &plan_json).map_err(|e| {
        vec![Diagnostic::error(format!(
            "the stored plan of run {run_id} cannot be used: {e}"
        ))]
    })?;
    check_mark_done(&plan, &args.mark_done)?;
    let secrets = resume_secrets(&plan, args.params_file.as_ref())?;
    let events = or_store_failure!(cli.state, store.events(&run_id));
    if let Some(note) = events
        .iter()
        .find(|e| EventKind::of(e) == Some(EventKind::Sources))
        .and_then(|e| super::sources::changes(&e.message, &plan))
    {
        out!("{note}");
    }
    let window = match window_arg(&args.exec)? {
        Some(w) => {
            or_store_failure!(cli.state, store.commit(&run_id, vec![w.record()]));
            Some(w)
        }
        None => Window::recorded(&events),
    };
    let settle = SettleOptions {
        rerun_interrupted: args.rerun_interrupted,
        mark_done: args.mark_done.clone(),
    };
    Ok(drive(
        &cli.state,
        &store,
        &run_id,
        &plan,
        secrets,
        Driving {
            exec: &args.exec,
            window,
            settle: Some(settle),
        },
    ))
}

pub fn approve(cli: &Cli, args: &ApproveArgs) -> Result<u8, Vec<Diagnostic>> {
    let store = match open_store(cli) {
        Ok(s) => s,
        Err((code, d)) => {
            warn(&d);
            return Ok(code);
        }
    };
    let run_id = match resolve(cli, &store, &args.run)? {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let (user, host) = operator();
    match approve_run(&*store, &run_id, (&user, &host), args.comment.as_deref()) {
        Ok(approvals) if approvals.is_empty() => {
            outln!("run {run_id} is not waiting for an approval");
            Ok(DONE)
        }
        Ok(approvals) => {
            let steps: Vec<&str> = approvals.iter().map(|a| a.step.as_str()).collect();
            outln!(
                "approved {} in run {run_id} as {}; continue with `quorate resume {run_id}`",
                escape::line(&steps.join(", ")),
                escape::line(&approvals[0].by()),
            );
            Ok(DONE)
        }
        Err(e @ ApproveError::FourEyes { .. }) => Err(vec![Diagnostic::error(e.to_string())
            .with_hint(
                "another operator approves it with `quorate approve`; the run stays paused",
            )]),
        Err(ApproveError::Drive(e)) => Ok(finish(Err(e), &run_id, &cli.state)),
    }
}

pub fn abandon(cli: &Cli, args: &RunIdArgs) -> Result<u8, Vec<Diagnostic>> {
    let store = match open_store(cli) {
        Ok(s) => s,
        Err((code, d)) => {
            warn(&d);
            return Ok(code);
        }
    };
    let run_id = match resolve(cli, &store, &args.run)? {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let Some(mut run) = or_store_failure!(cli.state, store.run(&run_id)) else {
        return Err(vec![Diagnostic::error(format!(
            "no run {run_id} in {}",
            cli.state.display()
        ))]);
    };
    if run.status.is_finished() {
        outln!(
            "run {run_id} is already {}",
            format!("{:?}", run.status).to_lowercase()
        );
        return Ok(DONE);
    }
    run.status = RunStatus::Abandoned;
    run.paused = None;
    run.updated_ms = now_ms();
    let cluster = run.cluster.clone();
    or_store_failure!(
        cli.state,
        store.commit(
            &run_id,
            vec![
                Change::Run(run),
                EventKind::Abandoned.change(None, "abandoned by the operator".to_owned()),
            ],
        )
    );
    outln!("run {run_id} abandoned; cluster {cluster} is free");
    super::gc::remove_abandoned_journals(&store, &run_id);
    Ok(DONE)
}
