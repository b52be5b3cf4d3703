//! A lab for engine tests: real sshd hosts on 127.0.0.x plus a controller directory
//! (store, runbook, inventory), and readers for what a run recorded. Included by path
//! (`#[path = "support/engine_lab.rs"] mod lab;`) next to `mod support;`.

#![allow(dead_code)]

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};

use serde_json::Value;

use super::support::sshd::SshCluster;
use super::support::{Output, Quorate};

pub struct Lab {
    pub cluster: SshCluster,
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub fn new(hosts: usize, inventory_extra: &str) -> Self {
        let cluster = SshCluster::start(hosts);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("inventory.yaml"),
            cluster.inventory_yaml(inventory_extra),
        )
        .unwrap();
        for h in &cluster.hosts {
            std::fs::create_dir_all(h.home.join("node")).unwrap();
        }
        Self { cluster, dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn runbook(&self, text: &str) -> PathBuf {
        let p = self.path("runbook.yaml");
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn node_dir(&self, i: usize) -> PathBuf {
        self.cluster.hosts[i].home.join("node")
    }

    pub fn read(&self, i: usize, file: &str) -> String {
        std::fs::read_to_string(self.node_dir(i).join(file)).unwrap_or_default()
    }

    pub fn quorate(&self) -> Quorate {
        Quorate::in_lab(self.dir.path())
    }

    /// `quorate COMMAND RUNBOOK -i INVENTORY EXTRA...` (`run` adds `--plain`).
    pub fn compile_command(&self, command: &str, runbook: &Path, extra: &[&str]) -> Output {
        let mut q = self
            .quorate()
            .args([command])
            .arg(runbook)
            .arg("-i")
            .arg(self.path("inventory.yaml"));
        if command == "run" {
            q = q.args(["--plain"]);
        }
        q.args(extra).run()
    }

    pub fn run(&self, runbook: &Path, extra: &[&str]) -> Output {
        self.compile_command("run", runbook, extra)
    }

    /// Starts `quorate run` in the background with JSON logs on a pipe.
    pub fn spawn_run(&self, runbook: &Path) -> (Child, BufReader<ChildStderr>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_quorate"))
            .current_dir(super::support::root())
            .arg("--state")
            .arg(self.path("state"))
            .args(["--log-format", "json", "run"])
            .arg(runbook)
            .arg("-i")
            .arg(self.path("inventory.yaml"))
            .arg("--plain")
            .env("HOME", self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = BufReader::new(child.stderr.take().unwrap());
        (child, err)
    }

    pub fn show(&self, run: &str) -> Value {
        let out = self
            .quorate()
            .args(["show", run, "--format", "json"])
            .run()
            .success();
        serde_json::from_str(&out).unwrap()
    }
}

/// The run id in a `quorate run` transcript (`starting run ID: ...`).
pub fn run_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("starting run "))
        .and_then(|l| l.split(':').next())
        .unwrap_or_else(|| panic!("no run id in:\n{stdout}"))
        .to_owned()
}

/// The task record of `step` on `host` ("controller" for controller tasks).
pub fn task<'v>(show: &'v Value, step: &str, host: &str) -> &'v Value {
    show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["step"] == step && t["host"].as_str().unwrap_or("controller") == host)
        .unwrap_or_else(|| panic!("no task {step}@{host} in {show}"))
}
