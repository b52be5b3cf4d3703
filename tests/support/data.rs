//! Helpers for the data runbooks' end-to-end tests (backup, restore, checkpoints, disaster
//! recovery): checksums, files on disk, a run killed at a chosen point.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::playground::Playground;

/// The SHA-256 of a file, in lower-case hex.
pub fn sha256_file(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    quorate::digest::sha256_hex(&bytes)
}

/// Every file under `dir`, at any depth, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = super::files_under(dir);
    out.sort();
    out
}

/// The run id a finished or failed run names in its last lines (`run ID ...`).
pub fn run_id(out: &super::Output) -> String {
    format!("{}\n{}", out.stdout, out.stderr)
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .rev()
        .find(|w| w[0] == "run" && w[1].len() > 12 && w[1].starts_with("20"))
        .map(|w| w[1].trim_end_matches(':').to_owned())
        .expect("a run id in the output")
}

/// The transition to kill a run after: `VAR=N` replays one point, otherwise a random one
/// in 1..=`max`.
pub fn kill_point(var: &str, max: usize) -> usize {
    super::random_point(var, max)
}

/// Starts `quorate run RUNBOOK ARGS` on the playground, SIGKILLs it after `kill_at` task
/// transitions, and returns the run's id.
pub fn run_killed(pg: &Playground, runbook: &str, args: &[&str], kill_at: usize) -> String {
    super::run_killed_at(pg.dir.path(), &pg.inventory(), runbook, args, kill_at)
}

/// Runs RUNBOOK killed at the transition `var` names (or a random one up to `max`), then
/// resumes it and asserts that the resumed run succeeded; returns the run's id.
pub fn killed_and_resumed(
    pg: &Playground,
    runbook: &str,
    args: &[&str],
    (var, max): (&str, usize),
) -> String {
    let kill_at = kill_point(var, max);
    let run = run_killed(pg, runbook, args, kill_at);
    let out = resume(pg, &run);
    assert_eq!(
        out.code, 0,
        "resume of {runbook} killed after {kill_at} transitions ({var}={kill_at}):\n{}{}",
        out.stdout, out.stderr
    );
    run
}

/// What one step printed in a run (`quorate logs RUN --step STEP`).
pub fn step_log(pg: &Playground, run: &str, step: &str) -> String {
    super::Quorate::in_lab(pg.dir.path())
        .args(["logs", run, "--step", step])
        .run()
        .success()
}

/// `quorate resume RUN` on the playground's store.
pub fn resume(pg: &Playground, run: &str) -> super::Output {
    super::Quorate::in_lab(pg.dir.path())
        .args(["resume", run, "--plain"])
        .run()
}

/// The height `demo-node verify` reports for a node or checkpoint directory (with the
/// `demo-node` of the nearest directory above that has one), or the error it printed.
pub fn verified_height(node_dir: &Path) -> Result<u64, String> {
    let program = node_dir
        .ancestors()
        .map(|d| d.join("demo-node"))
        .find(|p| p.exists())
        .expect("a demo-node above the directory");
    let out = Command::new(program)
        .args(["verify", "--dir"])
        .arg(node_dir)
        .output()
        .expect("run demo-node verify");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    text.split_whitespace()
        .nth(4)
        .and_then(|h| h.trim_end_matches(',').parse().ok())
        .ok_or(text)
}
