//! A real etcd cluster on loopback for the team-store tests: `n` members of Debian's
//! `etcd` on free ports of 127.0.0.1, each with a data directory in one temp dir, each
//! stopped by its pid when the cluster is dropped. Members can be killed (SIGKILL) and
//! started again on their data, and the leader can be found.

#![allow(dead_code)]

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const ETCD: &str = "/usr/bin/etcd";
const ETCDCTL: &str = "/usr/bin/etcdctl";

/// How long the cluster may take to elect a leader.
const READY_WAIT: Duration = Duration::from_secs(30);

struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    data: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

pub struct EtcdCluster {
    members: Vec<Member>,
    initial_cluster: String,
    token: String,
    dir: TempDir,
}

/// A port nobody listens on now (the kernel's pick).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl EtcdCluster {
    /// Starts `n` members and waits until they have a leader.
    pub fn start(n: usize) -> Self {
        assert!(
            Path::new(ETCD).exists(),
            "{ETCD} is missing: apt-get install -y etcd-server etcd-client"
        );
        let dir = tempfile::Builder::new()
            .prefix("qetcd")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let members: Vec<Member> = (0..n)
            .map(|i| Member {
                name: format!("m{i}"),
                client_port: free_port(),
                peer_port: free_port(),
                data: dir.path().join(format!("m{i}.etcd")),
                log: dir.path().join(format!("m{i}.log")),
                child: None,
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Self {
            members,
            initial_cluster,
            token: format!("quorate-test-{}", std::process::id()),
            dir,
        };
        for i in 0..n {
            cluster.spawn(i, "new");
        }
        cluster.wait_ready();
        cluster
    }

    fn spawn(&mut self, i: usize, state: &str) {
        let m = &self.members[i];
        let client = format!("http://127.0.0.1:{}", m.client_port);
        let peer = format!("http://127.0.0.1:{}", m.peer_port);
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&m.log)
            .expect("member log");
        let child = Command::new(ETCD)
            .args(["--name", &m.name])
            .arg("--data-dir")
            .arg(&m.data)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-token", &self.token])
            .args(["--initial-cluster-state", state])
            .args(["--heartbeat-interval", "100", "--election-timeout", "1000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start etcd");
        self.members[i].child = Some(child);
    }

    /// The members' `HOST:PORT`, comma separated (what `--state etcd://` takes).
    pub fn endpoints(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("127.0.0.1:{}", m.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `etcd://MEMBERS/PREFIX`.
    pub fn url(&self, prefix: &str) -> String {
        format!(
            "etcd://{}/{}",
            self.endpoints(),
            prefix.trim_start_matches('/')
        )
    }

    pub fn pid(&self, i: usize) -> Option<u32> {
        self.members[i].child.as_ref().map(Child::id)
    }

    /// Kills member `i` with SIGKILL and reaps it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data directory.
    pub fn restart(&mut self, i: usize) {
        assert!(self.members[i].child.is_none(), "member {i} runs already");
        self.spawn(i, "existing");
    }

    /// `etcdctl` against the running members.
    pub fn etcdctl(&self, args: &[&str]) -> std::process::Output {
        let endpoints: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| format!("http://127.0.0.1:{}", m.client_port))
            .collect();
        Command::new(ETCDCTL)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", endpoints.join(",")))
            .args(["--command-timeout=2s"])
            .args(args)
            .output()
            .expect("run etcdctl")
    }

    /// Each running member's view: (index, its member id, the leader it knows, 0 if none).
    fn statuses(&self) -> Vec<(usize, u64, u64)> {
        let mut seen = Vec::new();
        for (i, m) in self.members.iter().enumerate() {
            if m.child.is_none() {
                continue;
            }
            let out = Command::new(ETCDCTL)
                .env("ETCDCTL_API", "3")
                .arg(format!("--endpoints=http://127.0.0.1:{}", m.client_port))
                .args(["--command-timeout=1s", "endpoint", "status", "-w", "json"])
                .output()
                .expect("run etcdctl");
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
                continue;
            };
            let status = &v[0]["Status"];
            if let (Some(id), Some(leader)) = (
                status["header"]["member_id"].as_u64(),
                status["leader"].as_u64(),
            ) {
                seen.push((i, id, leader));
            }
        }
        seen
    }

    /// The index of the leader, once every running member answers and agrees on one.
    pub fn leader(&self) -> Option<usize> {
        let seen = self.statuses();
        let running = self.members.iter().filter(|m| m.child.is_some()).count();
        let leader = seen.first()?.2;
        if leader == 0 || seen.len() != running || seen.iter().any(|s| s.2 != leader) {
            return None;
        }
        seen.iter().find(|s| s.1 == leader).map(|s| s.0)
    }

    /// Waits until the running members agree on a leader.
    pub fn wait_ready(&self) -> usize {
        let deadline = Instant::now() + READY_WAIT;
        loop {
            if let Some(leader) = self.leader() {
                return leader;
            }
            assert!(
                Instant::now() < deadline,
                "the etcd cluster elected no leader in {READY_WAIT:?}; logs in {}",
                self.dir.path().display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}
