//! The tools compared, and the command line that runs the workload with each, as a child
//! process of the harness.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::bare::BareArgs;
use crate::workload::{
    ansible_cfg, ansible_inventory, ansible_playbook, pyinfra_deploy, pyinfra_inventory,
    quorate_rolling_runbook, quorate_runbook, ssh_loop_script, Target,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    Quorate,
    QuorateRolling,
    BareMux,
    SshMux,
    SshNoMux,
    AnsibleLinear,
    AnsibleFree,
    Pyinfra,
}

pub const ALL: [Tool; 8] = [
    Tool::Quorate,
    Tool::QuorateRolling,
    Tool::BareMux,
    Tool::SshMux,
    Tool::SshNoMux,
    Tool::AnsibleLinear,
    Tool::AnsibleFree,
    Tool::Pyinfra,
];

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Quorate => "quorate",
            Tool::QuorateRolling => "quorate-rolling",
            Tool::BareMux => "bare-mux",
            Tool::SshMux => "ssh-mux",
            Tool::SshNoMux => "ssh-nomux",
            Tool::AnsibleLinear => "ansible-linear",
            Tool::AnsibleFree => "ansible-free",
            Tool::Pyinfra => "pyinfra",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Tool::Quorate => "`quorate run` (release binary; durable checkpoints, remote task journal): M+1 plain steps `on: all`, each step after the previous one on every host",
            Tool::QuorateRolling => "the same, the steps in one `rolling` block of `batch: 100%`: each host's chain on its own, no barrier between hosts",
            Tool::BareMux => "bare tokio loop, openssh crate native mux, one channel per command",
            Tool::SshMux => "sh loop, one `ssh` per command, ControlMaster/ControlPersist",
            Tool::SshNoMux => "sh loop, one `ssh` per command, a new connection each",
            Tool::AnsibleLinear => "ansible-playbook, `shell` tasks, strategy linear",
            Tool::AnsibleFree => "ansible-playbook, `shell` tasks, strategy free",
            Tool::Pyinfra => "pyinfra, `server.shell` operations (paramiko)",
        }
    }

    /// Tools that use OpenSSH's key exchange, and so run with both client configs.
    pub fn has_kex_variants(self) -> bool {
        matches!(
            self,
            Tool::Quorate | Tool::QuorateRolling | Tool::BareMux | Tool::SshMux | Tool::SshNoMux
        )
    }
}

/// OpenSSH's default key exchange (post-quantum first), or the classic one only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kex {
    Default,
    Curve,
}

impl Kex {
    pub fn name(self) -> &'static str {
        match self {
            Kex::Default => "default",
            Kex::Curve => "curve25519",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Kex::Default, Kex::Curve]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// Everything a tool needs to reach the cluster of one cell.
pub struct Setup {
    pub hosts: Vec<Target>,
    pub steps: usize,
    /// The fixture's client config, and one that only offers curve25519-sha256.
    pub ssh_config: PathBuf,
    pub ssh_config_curve: PathBuf,
    pub client_key: PathBuf,
    pub known_hosts: PathBuf,
    /// quorate inventories for each key exchange.
    pub inventory: PathBuf,
    pub inventory_curve: PathBuf,
    pub quorate: PathBuf,
    pub own_exe: PathBuf,
    pub venv: PathBuf,
}

impl Setup {
    fn config(&self, kex: Kex) -> &Path {
        match kex {
            Kex::Default => &self.ssh_config,
            Kex::Curve => &self.ssh_config_curve,
        }
    }

    /// The command that runs the workload with `tool`, writing under `dir`; `scratch` is
    /// the run's own directory for the tool's files, logs and control sockets.
    pub fn command(&self, tool: Tool, kex: Kex, dir: &Path, scratch: &Path) -> Command {
        let n = self.hosts.len();
        let write = |name: &str, text: String| write_file(scratch, name, text);
        let mut c = match tool {
            Tool::Quorate | Tool::QuorateRolling => {
                let text = if tool == Tool::Quorate {
                    quorate_runbook(dir, self.steps)
                } else {
                    quorate_rolling_runbook(dir, self.steps)
                };
                let runbook = write("runbook.yaml", text);
                let inventory = match kex {
                    Kex::Default => &self.inventory,
                    Kex::Curve => &self.inventory_curve,
                };
                let mut c = Command::new(&self.quorate);
                c.arg("--state")
                    .arg(scratch.join("state"))
                    .arg("run")
                    .arg(runbook)
                    .arg("-i")
                    .arg(inventory)
                    .arg("--plain")
                    .arg("--concurrency")
                    .arg(n.to_string())
                    .env("NO_COLOR", "1");
                c
            }
            Tool::BareMux => {
                let control = scratch.join("c");
                fs::create_dir_all(&control).expect("control dir");
                let args = BareArgs {
                    config: self.config(kex).to_path_buf(),
                    control,
                    dir: dir.to_path_buf(),
                    steps: self.steps,
                    hosts: self.hosts.clone(),
                };
                let mut c = Command::new(&self.own_exe);
                c.args(args.to_args());
                c
            }
            Tool::SshMux | Tool::SshNoMux => {
                let mux = tool == Tool::SshMux;
                let mut ssh = format!("ssh -F {}", self.config(kex).display());
                if mux {
                    let control = scratch.join("c");
                    fs::create_dir_all(&control).expect("control dir");
                    let _ = write!(
                        ssh,
                        " -o ControlMaster=auto -o ControlPath={}/%C -o ControlPersist=60",
                        control.display()
                    );
                }
                let script = write(
                    "loop.sh",
                    ssh_loop_script(&ssh, mux, dir, &self.hosts, self.steps),
                );
                let mut c = Command::new("sh");
                c.arg(script);
                c
            }
            Tool::AnsibleLinear => self.ansible("linear", kex, dir, scratch),
            Tool::AnsibleFree => self.ansible("free", kex, dir, scratch),
            Tool::Pyinfra => self.pyinfra(dir, scratch),
        };
        let log = |name: &str| fs::File::create(scratch.join(name)).expect("a tool's log file");
        c.stdin(Stdio::null())
            .stdout(log("stdout.log"))
            .stderr(log("stderr.log"));
        c
    }
}

impl Setup {
    fn ansible(&self, strategy: &str, kex: Kex, dir: &Path, scratch: &Path) -> Command {
        let control = scratch.join("cp");
        fs::create_dir_all(&control).expect("control dir");
        let n = self.hosts.len();
        let cfg = write_file(
            scratch,
            "ansible.cfg",
            ansible_cfg(n, self.config(kex), &control),
        );
        let inventory = write_file(
            scratch,
            "inventory.yaml",
            ansible_inventory(&self.hosts, "/usr/bin/python3"),
        );
        let playbook = write_file(
            scratch,
            "playbook.yaml",
            ansible_playbook(dir, self.steps, strategy),
        );
        let mut c = Command::new(self.venv.join("bin/ansible-playbook"));
        c.arg("-i")
            .arg(inventory)
            .arg(playbook)
            .env("ANSIBLE_CONFIG", cfg)
            .env("ANSIBLE_HOME", scratch.join("ansible-home"))
            .env("ANSIBLE_LOCAL_TEMP", scratch.join("ansible-tmp"));
        c
    }

    fn pyinfra(&self, dir: &Path, scratch: &Path) -> Command {
        let inventory = write_file(
            scratch,
            "inventory.py",
            pyinfra_inventory(&self.hosts, &self.client_key, &self.known_hosts),
        );
        let deploy = write_file(scratch, "deploy.py", pyinfra_deploy(dir, self.steps));
        let mut c = Command::new(self.venv.join("bin/pyinfra"));
        c.args(["-y", "--parallel"])
            .arg(self.hosts.len().to_string())
            .arg(inventory)
            .arg(deploy)
            .current_dir(scratch);
        c
    }
}

fn write_file(scratch: &Path, name: &str, text: String) -> PathBuf {
    let path = scratch.join(name);
    fs::write(&path, text).expect("write a tool's file");
    path
}

/// The last lines of a run's logs, for a failure message.
pub fn log_tail(scratch: &Path) -> String {
    let mut s = String::new();
    for name in ["stdout.log", "stderr.log"] {
        let text = fs::read_to_string(scratch.join(name)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(8)..];
        let _ = write!(s, "--- {name}\n{}\n", tail.join("\n"));
    }
    s
}
