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

pub mod etcd;
pub mod lab;
pub mod playground;
pub mod sshd;

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
