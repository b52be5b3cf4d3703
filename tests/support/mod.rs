//! Test helpers: run the `quorate` binary as a user would and look at what it printed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (tests run with the engine package as working directory).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The run id in a `quorate run` transcript (`starting run ID: ...`).
pub fn run_id_in(text: &str) -> String {
    find_run_id(text).unwrap_or_else(|| panic!("no run id in:\n{text}"))
}

/// The run id of the first `starting run ID: ...` in `text`, if there is one.
pub fn find_run_id(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.split_once("starting run ").map(|(_, rest)| rest))
        .and_then(|l| l.split(':').next())
        .map(str::to_owned)
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// One `quorate` invocation, built fluently and run once.
pub struct Quorate {
    cmd: Command,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Quorate {
    pub fn new() -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorate"));
        cmd.current_dir(root());
        cmd.env_remove("QUORATE_RUNBOOKS");
        Self { cmd }
    }

    /// `quorate` for a test's own controller: its store under `dir/state`, `dir` as HOME
    /// (where the local task journal lives), no colour.
    pub fn in_lab(dir: &Path) -> Self {
        Self::new()
            .arg("--state")
            .arg(dir.join("state"))
            .env("HOME", dir.to_str().expect("utf-8 temp path"))
            .env("NO_COLOR", "1")
    }

    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    #[must_use]
    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    /// Runs it in `dir` instead of the repository root.
    #[must_use]
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    #[must_use]
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn run(mut self) -> Output {
        let out = self.cmd.output().expect("run quorate");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Output {
    /// The id of the run a `quorate run` started (`starting run ID: ...`).
    pub fn run_id(&self) -> String {
        run_id_in(&format!("{}\n{}", self.stdout, self.stderr))
    }

    /// Asserts exit 0 and returns stdout.
    pub fn success(self) -> String {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self.stdout
    }

    /// Asserts the exit code and returns stderr.
    pub fn failure(self, code: i32) -> String {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self.stderr
    }
}

/// Every file under `dir`, at any depth (none if it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else if p.is_file() {
            out.push(p);
        }
    }
    out
}

/// Whether `needle` occurs in `haystack`.
pub fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub mod data;
pub mod etcd;
pub mod lab;
pub mod playground;
pub mod sshd;
pub mod team_etcd;

/// Reads `quorate --log-format json` lines from a run's stderr until `n` task transitions
/// were logged (each is durable once logged), or the run ended; returns them.
pub fn read_transitions(
    err: &mut std::io::BufReader<std::process::ChildStderr>,
    n: usize,
) -> Vec<serde_json::Value> {
    use std::io::BufRead as _;
    let mut seen = Vec::new();
    let mut line = String::new();
    while seen.len() < n {
        line.clear();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
            if v.get("state").is_some() && v.get("seq").is_some() {
                seen.push(v);
            }
        }
    }
    seen
}

/// A number in `1..=max` that differs from run to run (the clock's nanoseconds), or the
/// value of environment variable `replay` to repeat one.
pub fn random_point(replay: &str, max: usize) -> usize {
    std::env::var(replay)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .subsec_nanos();
            1 + usize::try_from(nanos).expect("u32 fits") % max
        })
}

/// Starts `quorate run RUNBOOK -i INVENTORY ARGS` with the store and HOME of `lab`, kills
/// it (SIGKILL) once it logged `kill_at` task transitions (or it ended), and returns the
/// run's id.
pub fn run_killed_at(
    lab: &Path,
    inventory: &Path,
    runbook: &str,
    args: &[&str],
    kill_at: usize,
) -> String {
    let (seen, run) = run_killed(lab, inventory, runbook, args, kill_at);
    let last = seen.last().expect("a transition before the kill");
    println!(
        "{runbook}: killed after transition {} of {kill_at}: {} {}@{}",
        seen.len(),
        last["state"],
        last["step"],
        last["host"]
    );
    run
}

/// Starts `quorate run RUNBOOK -i INVENTORY ARGS` (JSON logs) with the store and HOME of
/// `lab`, kills it (SIGKILL) once it logged `kill_at` task transitions (or it ended):
/// (the transitions seen, the run's id).
pub fn run_killed(
    lab: &Path,
    inventory: &Path,
    runbook: &str,
    args: &[&str],
    kill_at: usize,
) -> (Vec<serde_json::Value>, String) {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .current_dir(root())
        .env_remove("QUORATE_RUNBOOKS")
        .env("HOME", lab)
        .arg("--state")
        .arg(lab.join("state"))
        .args(["--log-format", "json", "run", runbook, "--plain", "-i"])
        .arg(inventory)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start quorate run");
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr pipe"));
    let seen = read_transitions(&mut err, kill_at);
    child.kill().expect("SIGKILL the run");
    child.wait().expect("reap the run");
    let run = seen
        .first()
        .and_then(|t| t["run"].as_str())
        .expect("a transition before the kill")
        .to_owned();
    (seen, run)
}
