//! `quorate apply FILE`: runs a saved plan exactly. It refuses a file that was edited or
//! cut short, a plan that today's files no longer compile to (showing the difference),
//! and a plan whose cluster changed since it was saved (a stale plan); `--force` runs the
//! saved plan anyway, and the run records that it was forced and why.

use std::io::Write as _;
use std::path::Path;

use super::args::{ApplyArgs, Cli, LimitArgs};
use super::execute::{drive, open_store, resume_secrets, window_arg, Driving};
use super::exit::BAD_INPUT;
use super::inputs::compile_with_sources;
use super::saved::{load, read_fingerprint, SavedCompile};
use super::store_failure::report_store_failure;
use super::warn;
use crate::exec::{compare_fingerprints, create_run, EventKind, Window};
use crate::plan::diff::diff;
use crate::plan::saved::{SavedPlan, Sources};
use crate::plan::{ParamInput, Secrets};
use crate::source::{escape, Diagnostic};
use crate::store::{controller, RunStore as _};

/// The longest `forced` event recorded: the reasons, the difference cut at this length.
const FORCED_NOTE_LIMIT: usize = 8_000;

/// What stands between the saved plan and running it.
struct Refusal {
    error: Diagnostic,
    /// The difference of plans, or the changes of the cluster, shown after the error.
    detail: String,
}

pub fn run(cli: &Cli, args: &ApplyArgs) -> Result<u8, Vec<Diagnostic>> {
    let saved = load(&args.file)?;
    let file = args.file.display().to_string();
    let recorded = compile_args(&saved, args, &file)?;
    let (refusals, secrets) = check_plan(&saved, &recorded, args, &file)?;
    let mut refusals = refusals;
    refusals.extend(check_cluster(&saved, &file));
    if !refusals.is_empty() && !args.force {
        for r in &refusals {
            show_refusal(r);
        }
        return Ok(BAD_INPUT);
    }
    for r in &refusals {
        warn(&[Diagnostic::error(format!(
            "--force: applying it anyway although {}",
            r.error.message
        ))
        .warning()]);
    }
    let window = window_arg(&args.exec)?;
    let store = match open_store(cli) {
        Ok(s) => s,
        Err((code, d)) => {
            warn(&d);
            return Ok(code);
        }
    };
    let plan = &saved.content.plan;
    let run_id = match create_run(&*store, plan) {
        Ok(id) => id,
        Err(e) => return Ok(report_store_failure(&cli.state, &e)),
    };
    let mut events = vec![
        EventKind::Sources.change(None, super::sources::record(&recorded.args)),
        EventKind::Applied.change(
            None,
            format!(
                "applied saved plan {} ({}), saved by {}",
                absolute(&args.file),
                saved.digest,
                saved.content.saved_by
            ),
        ),
    ];
    events.extend(window.as_ref().map(Window::record));
    if !refusals.is_empty() {
        events.push(EventKind::Forced.change(None, forced_note(&refusals)));
    }
    or_store_failure!(cli.state, store.commit(&run_id, events));
    outln!(
        "applying saved plan {} ({})",
        escape::line(&file),
        saved.digest
    );
    Ok(drive(
        &cli.state,
        &store,
        &run_id,
        plan,
        secrets,
        Driving {
            exec: &args.exec,
            window,
            settle: None,
        },
    ))
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// The recorded compile arguments, with `-p` and `--params` of `apply` in place of the
/// recorded ones.
fn compile_args(
    saved: &SavedPlan,
    args: &ApplyArgs,
    file: &str,
) -> Result<SavedCompile, Vec<Diagnostic>> {
    let mut recorded: SavedCompile = serde_json::from_value(saved.content.compile.clone())
        .map_err(|e| {
            vec![Diagnostic::error(format!(
                "{file}: the compile arguments it records cannot be read: {e}"
            ))]
        })?;
    let name = |p: &String| p.split_once('=').map_or(p.clone(), |(n, _)| n.to_owned());
    let given: Vec<String> = args.params.iter().map(name).collect();
    recorded.args.params.retain(|p| !given.contains(&name(p)));
    recorded.args.params.extend(args.params.iter().cloned());
    if let Some(f) = &args.params_file {
        recorded.args.params_file = Some(f.clone());
    }
    Ok(recorded)
}

/// Compiles today's files as the plan was compiled and compares: a different plan is a
/// refusal with the difference. The secrets are checked (every one must have a value)
/// and returned. Files that no longer compile end the command, unless `--force`.
fn check_plan(
    saved: &SavedPlan,
    recorded: &SavedCompile,
    args: &ApplyArgs,
    file: &str,
) -> Result<(Vec<Refusal>, Secrets), Vec<Diagnostic>> {
    let plan = &saved.content.plan;
    // Secrets are checked apart, so a missing one is named as such.
    let compiled = compile_with_sources(&recorded.args, false).and_then(|(mut c, sources)| {
        super::plan::apply_limit(
            &mut c.plan,
            &LimitArgs {
                limit: recorded.limit.clone(),
            },
        )?;
        Ok((c, sources))
    });
    let (compiled, sources) = match compiled {
        Ok(c) => c,
        Err(errors) if !args.force => {
            let mut errors = errors;
            errors.push(
                Diagnostic::error(format!(
                    "{file}: today's runbook, inventory and parameters do not compile, so they cannot be checked against the saved plan"
                ))
                .with_hint("fix the problems above, or `--force` to run the saved plan as it is"),
            );
            return Err(errors);
        }
        Err(errors) => {
            super::report(&errors);
            let secrets = resume_secrets(plan, args.params_file.as_ref())?;
            check_secret_values(plan, &secrets)?;
            let refusal = Refusal {
                error: Diagnostic::error(format!(
                    "{file}: today's runbook, inventory and parameters do not compile"
                )),
                detail: String::new(),
            };
            return Ok((vec![refusal], secrets));
        }
    };
    warn(&compiled.warnings);
    check_secret_values(plan, &compiled.secrets)?;
    let mut refusals = Vec::new();
    match diff(plan, &compiled.plan) {
        Some(difference) => refusals.push(Refusal {
            error: Diagnostic::error(format!(
                "{file}: today's runbook, inventory or parameters compile to a different plan than the one saved"
            ))
            .with_hint("review the new plan and save it again (`quorate plan ... --out FILE`), or `--force` to run the saved plan anyway"),
            detail: format!("difference from the saved plan to today's:\n{difference}"),
        }),
        None => note_changed_files(&saved.content.sources, &sources),
    }
    Ok((refusals, compiled.secrets))
}

/// Every secret of the plan has a value (when `--force` runs a plan today's files no
/// longer compile to, the compile cannot check it).
fn check_secret_values(plan: &crate::plan::Plan, secrets: &Secrets) -> Result<(), Vec<Diagnostic>> {
    let missing: Vec<Diagnostic> = plan
        .params
        .iter()
        .filter(|p| p.secret && secrets.get(&p.name).is_none())
        .map(|p| {
            Diagnostic::error(format!("missing secret parameter `{}`", p.name)).with_hint(format!(
                "set {} or put it in a --params file",
                ParamInput::env_var(&p.name)
            ))
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
    }
}

/// A note for each file whose text changed while the plan stayed the same (a comment,
/// formatting).
fn note_changed_files(then: &Sources, now: &Sources) {
    let mut changed = Vec::new();
    let pairs = [
        (&then.runbook, &now.runbook),
        (&then.inventory, &now.inventory),
    ];
    for (a, b) in pairs {
        if a.sha256 != b.sha256 {
            changed.push(a.path.clone());
        }
    }
    for a in &then.includes {
        if now
            .includes
            .iter()
            .any(|b| b.path == a.path && b.sha256 != a.sha256)
        {
            changed.push(a.path.clone());
        }
    }
    if !changed.is_empty() {
        warn(&[Diagnostic::error(format!(
            "{} changed since the plan was saved, but compile to the same plan",
            escape::line(&changed.join(", "))
        ))
        .warning()]);
    }
}

/// Reads the cluster fingerprint again and compares it with the saved one: a change is
/// a refusal (the plan is stale).
fn check_cluster(saved: &SavedPlan, file: &str) -> Vec<Refusal> {
    let Some(then) = &saved.content.fingerprint else {
        return Vec::new();
    };
    let Some(now) = read_fingerprint(&saved.content.plan) else {
        return Vec::new();
    };
    let check = compare_fingerprints(then, &now);
    for n in &check.notes {
        warn(&[Diagnostic::error(n.clone()).warning()]);
    }
    if check.changes.is_empty() {
        return Vec::new();
    }
    vec![Refusal {
        error: Diagnostic::error(format!(
            "{file}: the cluster changed since the plan was saved: the plan is stale"
        ))
        .with_hint("plan again against the cluster as it is now and review it, or `--force` to run the saved plan anyway"),
        detail: check
            .changes
            .iter()
            .fold("what changed:\n".to_owned(), |out, c| out + "  " + c + "\n"),
    }]
}

fn show_refusal(r: &Refusal) {
    warn(std::slice::from_ref(&r.error));
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(r.detail.as_bytes());
}

/// The `forced` event: who forced it, and what it overrode.
fn forced_note(refusals: &[Refusal]) -> String {
    let mut note = format!("forced with --force by {}", controller());
    for r in refusals {
        note.push_str("; ");
        note.push_str(&r.error.message);
        if !r.detail.is_empty() {
            note.push('\n');
            note.push_str(&r.detail);
        }
    }
    if note.len() > FORCED_NOTE_LIMIT {
        let mut end = FORCED_NOTE_LIMIT;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
        note.push_str("\n(cut short)");
    }
    note
}
