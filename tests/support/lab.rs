//! A controller directory (store, runbook, inventory, its own HOME) next to a cluster of
//! fake sshd hosts, for the tests that run the `quorate` binary against them.

use std::path::{Path, PathBuf};

use super::sshd::SshCluster;
use super::{Output, Quorate};

pub struct Lab {
    pub cluster: SshCluster,
    pub dir: tempfile::TempDir,
}

impl Lab {
    /// `hosts` fake hosts and the inventory `inventory_yaml(&cluster)` writes.
    pub fn new(hosts: usize, inventory_yaml: impl FnOnce(&SshCluster) -> String) -> Self {
        let cluster = SshCluster::start(hosts);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("inventory.yaml"), inventory_yaml(&cluster)).unwrap();
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

    /// A file in host `i`'s `node` directory, or "" when it is missing.
    pub fn read(&self, i: usize, file: &str) -> String {
        std::fs::read_to_string(self.cluster.hosts[i].home.join("node").join(file))
            .unwrap_or_default()
    }

    /// Host `i`'s task journal directory of run `run`.
    pub fn journal(&self, i: usize, run: &str) -> PathBuf {
        self.cluster.hosts[i].home.join(".quorate/runs").join(run)
    }

    /// The controller's own (local) task journal directory of run `run`.
    pub fn controller_journal(&self, run: &str) -> PathBuf {
        self.dir.path().join(".quorate/runs").join(run)
    }

    /// `quorate` with this lab's store and a home of its own (the controller's journal).
    pub fn quorate(&self) -> Quorate {
        Quorate::in_lab(self.dir.path())
    }

    pub fn run(&self, runbook: &Path) -> Output {
        self.quorate()
            .args(["run"])
            .arg(runbook)
            .arg("-i")
            .arg(self.path("inventory.yaml"))
            .args(["--plain"])
            .run()
    }
}

#[allow(
    unused_imports,
    reason = "not every test that includes the support module uses it"
)]
pub use super::run_id_in as run_id;
