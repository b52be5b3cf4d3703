//! A real OpenSSH server per fake host, on 127.0.0.2, 127.0.0.3, ... (past the 200th host,
//! 127.0.1.2, ...): what the transport and executor tests, and the benchmarks, connect
//! to. Everything stays on loopback and in one temp dir.

use std::fmt::Write as _;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use quorate::transport::{HostKeys, HostSpec, SshSettings, TransportKind};
use tempfile::TempDir;

const SSHD: &str = "/usr/sbin/sshd";

/// Fake hosts per loopback /24: 127.0.X.2 ..= 127.0.X.201.
const HOSTS_PER_NET: usize = 200;
/// Enough for the benchmarks' largest cell, on 127.0.0.x and 127.0.1.x.
pub const MAX_HOSTS: usize = 2 * HOSTS_PER_NET;

/// The loopback address of fake host `i`.
pub fn host_address(i: usize) -> String {
    format!("127.0.{}.{}", i / HOSTS_PER_NET, i % HOSTS_PER_NET + 2)
}

/// One fake host: its own sshd, host key, HOME (also the working directory of every
/// command) and log.
pub struct FakeHost {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub home: PathBuf,
    /// The listening sshd's pid; 0 while stopped.
    pub pid: u32,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// `n` fake hosts, a client key they all accept, and a client config that knows their
/// host keys.
pub struct SshCluster {
    pub hosts: Vec<FakeHost>,
    /// `IdentityFile`, `UserKnownHostsFile`, strict checking, batch mode.
    pub ssh_config: PathBuf,
    pub known_hosts: PathBuf,
    pub client_key: PathBuf,
    dir: TempDir,
}

impl SshCluster {
    /// Starts `n` sshd processes and waits until each one listens.
    pub fn start(n: usize) -> Self {
        Self::start_in(n, Path::new("/tmp"))
    }

    /// The same, with the cluster's files (the hosts' homes among them) in a new temp dir
    /// under `parent` (kept short: control sockets go under it).
    pub fn start_in(n: usize, parent: &Path) -> Self {
        assert!(
            n <= MAX_HOSTS,
            "fake hosts live on 127.0.0.2..=127.0.0.201 and 127.0.1.2..=127.0.1.201"
        );
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: apt-get install -y openssh-server"
        );
        // sshd's privilege separation directory.
        fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        // Short: tests put SSH control sockets under it.
        let dir = tempfile::Builder::new()
            .prefix("qs")
            .tempdir_in(parent)
            .expect("temp dir");
        let client_key = dir.path().join("client_key");
        keygen(&client_key);
        let authorized = dir.path().join("authorized_keys");
        fs::copy(client_key.with_extension("pub"), &authorized).expect("authorized_keys");

        let mut hosts = Vec::with_capacity(n);
        let mut known = String::new();
        for i in 0..n {
            let root = dir.path().join(format!("h{i}"));
            let home = root.join("home");
            fs::create_dir_all(home.join("node")).expect("host home");
            let host_key = root.join("host_key");
            keygen(&host_key);
            let mut host = FakeHost {
                name: format!("node{i}"),
                address: host_address(i),
                port: 0,
                home,
                pid: 0,
                config: root.join("sshd_config"),
                log: root.join("sshd.log"),
                child: None,
            };
            host.launch(&host_key, &authorized);
            let public = fs::read_to_string(host_key.with_extension("pub")).expect("host key");
            let mut words = public.split_whitespace();
            let (kind, key) = (words.next().unwrap(), words.next().unwrap());
            writeln!(known, "[{}]:{} {kind} {key}", host.address, host.port).unwrap();
            hosts.push(host);
        }
        let known_hosts = dir.path().join("known_hosts");
        fs::write(&known_hosts, known).expect("known_hosts");
        let ssh_config = dir.path().join("ssh_config");
        fs::write(&ssh_config, client_config(&client_key, &known_hosts, "yes"))
            .expect("ssh_config");
        Self {
            hosts,
            ssh_config,
            known_hosts,
            client_key,
            dir,
        }
    }

    /// The cluster's temp dir (for a test's own files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Host `i` as the transport sees it.
    pub fn spec(&self, i: usize) -> HostSpec {
        let h = &self.hosts[i];
        HostSpec {
            name: h.name.clone(),
            address: h.address.clone(),
            port: Some(h.port),
            user: Some("root".to_owned()),
            kind: TransportKind::Ssh,
        }
    }

    /// Strict host keys, this cluster's client config.
    pub fn settings(&self) -> SshSettings {
        SshSettings {
            config: Some(self.ssh_config.clone()),
            host_keys: HostKeys::Strict,
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// Another client config with the same key but `known_hosts` and checking of the
    /// caller's choice (for host key tests).
    pub fn client_config_with(&self, name: &str, known_hosts: &Path, strict: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, client_config(&self.client_key, known_hosts, strict)).unwrap();
        path
    }

    /// Stops host `i`'s sshd and the per-connection sshd processes it forked, as if the
    /// host dropped off the network; commands it was running keep running.
    pub fn stop(&mut self, i: usize) {
        self.hosts[i].stop();
    }

    /// Starts host `i`'s sshd again, on the same address, port and host key.
    pub fn restart(&mut self, i: usize) {
        self.hosts[i].start();
    }

    /// An inventory of the cluster: hosts node0..N-1 (address, port, user root, and
    /// `vars.node_dir`, a directory in the host's home), this cluster's client config, and
    /// strict host keys. `cluster_extra` is appended as is (e.g. `groups:` and `cluster:`
    /// sections).
    pub fn inventory_yaml(&self, cluster_extra: &str) -> String {
        let mut yaml = String::from("name: sshd-test\nhosts:\n");
        for h in &self.hosts {
            writeln!(
                yaml,
                "  {}:\n    address: {}\n    port: {}\n    user: root\n    vars:\n      node_dir: {}",
                h.name,
                h.address,
                h.port,
                h.home.join("node").display()
            )
            .unwrap();
        }
        writeln!(
            yaml,
            "ssh:\n  config: {}\n  host_keys: strict",
            self.ssh_config.display()
        )
        .unwrap();
        yaml.push_str(cluster_extra);
        yaml
    }

    /// How many SSH connections host `i` has accepted so far.
    pub fn accepted_connections(&self, i: usize) -> usize {
        fs::read_to_string(&self.hosts[i].log)
            .unwrap_or_default()
            .matches("Accepted publickey")
            .count()
    }
}

impl Drop for SshCluster {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            h.stop();
        }
    }
}

impl FakeHost {
    /// Writes the config and starts sshd on a free port; a port taken between our probe
    /// and sshd's bind (by another test) just means another try.
    fn launch(&mut self, host_key: &Path, authorized: &Path) {
        let pid_file = self.config.with_file_name("sshd.pid");
        for _ in 0..20 {
            self.port = free_port(&self.address);
            let config = sshd_config(
                &self.address,
                self.port,
                host_key,
                &pid_file,
                authorized,
                &self.home,
            );
            fs::write(&self.config, config).expect("sshd_config");
            if self.try_start() {
                return;
            }
        }
        panic!(
            "sshd for {} would not start; its log:\n{}",
            self.name,
            fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// Starts sshd with the config already written.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        assert!(
            self.try_start(),
            "sshd for {} would not start again on port {}; its log:\n{}",
            self.name,
            self.port,
            fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    fn try_start(&mut self) -> bool {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("sshd log");
        // Only what this sshd logs counts, not an earlier run's "listening".
        let logged_before = fs::metadata(&self.log).map_or(0, |m| m.len());
        let logged_before = usize::try_from(logged_before).expect("a log that fits in memory");
        let mut child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn sshd");
        let listening = format!("Server listening on {} port {}.", self.address, self.port);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if child.try_wait().expect("sshd status").is_some() {
                return false; // e.g. the port was taken after all
            }
            let log = fs::read(&self.log).unwrap_or_default();
            let new = String::from_utf8_lossy(log.get(logged_before..).unwrap_or(&[]));
            if new.contains(&listening)
                && TcpStream::connect((self.address.as_str(), self.port)).is_ok()
            {
                self.pid = child.id();
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Kills this host's sshd, and the per-connection sshd processes it forked (found
    /// through /proc before the listener dies and they are re-parented), by pid.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let sessions = sshd_descendants(child.id());
        let _ = child.kill();
        let _ = child.wait();
        for &pid in &sessions {
            let _ = kill(Pid::from_raw(i32::try_from(pid).unwrap()), Signal::SIGKILL);
        }
        // Until they are really gone, a client could still talk to them.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && sessions.iter().any(|&pid| alive(pid)) {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.pid = 0;
    }
}

/// Per-connection sshd processes below `pid`, from /proc.
fn sshd_descendants(pid: u32) -> Vec<u32> {
    let procs = processes();
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (child, ppid, comm) in &procs {
            if *ppid == parent {
                frontier.push(*child);
                if comm.starts_with("sshd") {
                    found.push(*child);
                }
            }
        }
    }
    found
}

/// `(pid, ppid, comm)` of every process.
fn processes() -> Vec<(u32, u32, String)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // comm is in parentheses and may hold spaces; the fields after it do not.
            let (head, tail) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1.to_owned();
            let ppid = tail.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid, comm))
        })
        .collect()
}

/// Whether `pid` is a live process (a zombie is not: our container's init may be slow to
/// reap what it inherits).
pub fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, t)| t.split_whitespace().next().map(str::to_owned))
        })
        .is_some_and(|state| state != "Z" && state != "X")
}

/// A new ed25519 key pair at `path` and `path.pub`, without a passphrase.
pub fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "quorate-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
}

/// A port nobody listens on at `address` right now.
fn free_port(address: &str) -> u16 {
    TcpListener::bind((address, 0))
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

fn sshd_config(
    address: &str,
    port: u16,
    host_key: &Path,
    pid_file: &Path,
    authorized: &Path,
    home: &Path,
) -> String {
    let home = home.display();
    format!(
        "ListenAddress {address}\n\
         Port {port}\n\
         HostKey {}\n\
         PidFile {}\n\
         AuthorizedKeysFile {}\n\
         UsePAM no\n\
         StrictModes no\n\
         PermitRootLogin prohibit-password\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         MaxSessions 50\n\
         MaxStartups 100\n\
         UseDNS no\n\
         PrintMotd no\n\
         # SHLVL=1 keeps root's slow ~/.bashrc from running for every command; HOME makes\n\
         # each fake host's home its own.\n\
         SetEnv SHLVL=1 HOME={home}\n\
         # sshd starts commands in the account's real home: start them in the fake one,\n\
         # still parsed by the login shell exactly as without this line.\n\
         ForceCommand cd \"$HOME\" && eval \"$SSH_ORIGINAL_COMMAND\"\n",
        host_key.display(),
        pid_file.display(),
        authorized.display(),
    )
}

fn client_config(key: &Path, known_hosts: &Path, strict: &str) -> String {
    format!(
        "Host *\n\
         \x20 IdentityFile {}\n\
         \x20 IdentitiesOnly yes\n\
         \x20 UserKnownHostsFile {}\n\
         \x20 GlobalKnownHostsFile /dev/null\n\
         \x20 StrictHostKeyChecking {strict}\n\
         \x20 UpdateHostKeys no\n\
         \x20 BatchMode yes\n",
        key.display(),
        known_hosts.display()
    )
}
