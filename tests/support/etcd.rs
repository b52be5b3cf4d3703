//! A real etcd cluster made by `quorate demo --system etcd --setup-only` for end-to-end
//! runbook tests, `etcdctl` on it, and a client that writes continuously through every
//! member's JSON gateway (`/v3/kv/put`) while a runbook runs.
//!
//! Each cluster lives in a temp dir under /tmp on free 127.0.0.1 ports; dropping it stops
//! every member it started (archived ones too) by the pid in its `etcd.pid`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::playground::alive;
use super::{Output, Quorate};

pub struct EtcdCluster {
    pub dir: tempfile::TempDir,
}

impl EtcdCluster {
    pub fn create(members: u16, spares: u16) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("qetcd")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let c = Self { dir };
        let out = Quorate::in_lab(c.dir.path())
            .args(["demo", "--system", "etcd", "--setup-only", "--dir"])
            .arg(c.demo_dir())
            .args(["--members", &members.to_string()])
            .args(["--spares", &spares.to_string()])
            .run();
        assert_eq!(
            out.code, 0,
            "demo --system etcd --setup-only failed:\n{}{}",
            out.stdout, out.stderr
        );
        c
    }

    pub fn demo_dir(&self) -> PathBuf {
        self.dir.path().join("demo")
    }

    pub fn inventory(&self) -> PathBuf {
        self.demo_dir().join("inventory.yaml")
    }

    pub fn member_dir(&self, name: &str) -> PathBuf {
        self.demo_dir().join("etcd").join(name)
    }

    /// The client URL the inventory gives host `name`.
    pub fn client_url(&self, name: &str) -> String {
        let inv = std::fs::read_to_string(self.inventory()).expect("inventory");
        let line = inv
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("{name} is not in the inventory"));
        line.split("client_url: \"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("client_url")
            .to_owned()
    }

    /// `quorate run RUNBOOK -i INVENTORY ARGS` with this cluster's store.
    pub fn run(&self, runbook: &str, args: &[&str]) -> Output {
        self.run_with(&self.inventory(), runbook, args)
    }

    pub fn run_with(&self, inventory: &Path, runbook: &str, args: &[&str]) -> Output {
        Quorate::in_lab(self.dir.path())
            .args(["run", runbook, "--plain", "-i"])
            .arg(inventory)
            .args(args)
            .run()
    }

    /// `etcdctl ARGS` against every host's client URL.
    pub fn etcdctl(&self, args: &[&str]) -> (i32, String) {
        etcdctl_at(&self.all_endpoints().join(","), args)
    }

    /// Every host's client URL (members and spares), for a client that fails over.
    pub fn all_endpoints(&self) -> Vec<String> {
        let inv = std::fs::read_to_string(self.inventory()).expect("inventory");
        inv.lines()
            .filter_map(|l| l.split("client_url: \"").nth(1))
            .filter_map(|r| r.split('"').next())
            .map(str::to_owned)
            .collect()
    }

    /// `etcdctl member list` as (name, is learner), sorted by name; an unstarted member
    /// has an empty name.
    pub fn members(&self) -> Vec<(String, bool)> {
        let (code, out) = self.etcdctl(&["member", "list"]);
        assert_eq!(code, 0, "member list: {out}");
        let mut m: Vec<(String, bool)> = out
            .lines()
            .filter(|l| l.contains(", "))
            .map(|l| {
                let f: Vec<&str> = l.split(", ").collect();
                (f[2].to_owned(), f[5].trim() == "true")
            })
            .collect();
        m.sort();
        m
    }

    /// The names of the voting members (not learners), sorted.
    pub fn voters(&self) -> Vec<String> {
        self.members()
            .into_iter()
            .filter(|(_, learner)| !learner)
            .map(|(n, _)| n)
            .collect()
    }

    /// `etcdctl endpoint health` on each member `names` (its own endpoint).
    pub fn assert_healthy(&self, names: &[&str]) {
        for name in names {
            let (code, out) = etcdctl_at(&self.client_url(name), &["endpoint", "health"]);
            assert_eq!(code, 0, "{name} is not healthy: {out}");
        }
    }

    /// Waits until every member in `names` answers `endpoint health`.
    pub fn wait_healthy(&self, names: &[&str], limit: Duration) {
        let start = Instant::now();
        while !names
            .iter()
            .all(|n| etcdctl_at(&self.client_url(n), &["endpoint", "health"]).0 == 0)
        {
            assert!(
                start.elapsed() < limit,
                "{names:?} not healthy within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The pid in a member's etcd.pid, if the file is there.
    pub fn pid(&self, name: &str) -> Option<i32> {
        pid_in(&self.member_dir(name))
    }
}

/// `etcdctl ARGS` against `endpoints` (comma separated): (exit code, stdout + stderr).
pub fn etcdctl_at(endpoints: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .env_remove("ETCDCTL_ENDPOINTS")
        .arg(format!("--endpoints={endpoints}"))
        .args(args)
        .output()
        .expect("run etcdctl");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn pid_in(dir: &Path) -> Option<i32> {
    std::fs::read_to_string(dir.join("etcd.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.demo_dir().join("etcd")) else {
            return;
        };
        for dir in entries.flatten().map(|e| e.path()) {
            if let Some(pid) = pid_in(&dir).filter(|&p| alive(p)) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// How long one attempt may take before a client gives up on that member and fails over
/// (a member that is starting accepts connections but answers only once it is ready).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);

/// An HTTP client (keeping connections alive, as an etcd client does) whose requests give
/// up after `timeout`.
pub fn client(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

/// One request to etcd's JSON gateway at `endpoint`; the response body on HTTP 200.
pub fn gateway(
    agent: &ureq::Agent,
    endpoint: &str,
    path: &str,
    body: &serde_json::Value,
) -> Result<String, String> {
    let resp = agent
        .post(format!("{endpoint}{path}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let text = resp
        .into_body()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    if status == 200 {
        Ok(text)
    } else {
        Err(format!("HTTP {status}: {text}"))
    }
}

/// `PUT key=value` through the first endpoint that answers, starting at `first` and
/// failing over to the next on an error, as a client would, for at most 5 s; returns how
/// many endpoints failed before one acknowledged.
pub fn put(
    agent: &ureq::Agent,
    endpoints: &[String],
    first: usize,
    key: &str,
    value: &str,
) -> Result<usize, String> {
    let body = serde_json::json!({ "key": b64(key), "value": b64(value) });
    let start = Instant::now();
    let mut i = first;
    loop {
        match gateway(agent, &endpoints[i % endpoints.len()], "/v3/kv/put", &body) {
            Ok(_) => return Ok(i - first),
            Err(e) if start.elapsed() > Duration::from_secs(5) => return Err(e),
            Err(_) => i += 1,
        }
    }
}

/// Every key under `prefix` and its value, read (linearizably) from the cluster.
pub fn read_prefix(endpoints: &[String], prefix: &str) -> Vec<(String, String)> {
    // The range end of a prefix: the prefix with its last byte incremented.
    let mut end = prefix.as_bytes().to_vec();
    *end.last_mut().expect("non-empty prefix") += 1;
    let body = serde_json::json!({
        "key": b64(prefix),
        "range_end": base64::engine::general_purpose::STANDARD.encode(&end),
    });
    let agent = client(Duration::from_secs(5));
    let text = endpoints
        .iter()
        .find_map(|e| gateway(&agent, e, "/v3/kv/range", &body).ok())
        .expect("no member answers a range read");
    let v: serde_json::Value = serde_json::from_str(&text).expect("range JSON");
    let decode = |f: &serde_json::Value| {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(f.as_str().unwrap_or(""))
            .expect("base64");
        String::from_utf8(raw).expect("utf-8")
    };
    v["kvs"]
        .as_array()
        .map(|kvs| {
            kvs.iter()
                .map(|kv| (decode(&kv["key"]), decode(&kv["value"])))
                .collect()
        })
        .unwrap_or_default()
}

/// What the continuous writer saw.
pub struct WriteFigures {
    /// The keys whose write etcd acknowledged, in order.
    pub acked: Vec<String>,
    /// Writes that no member acknowledged within 5 s, with the last error.
    pub failed: Vec<(String, String)>,
    /// The longest time from a write's first attempt to its acknowledgement.
    pub worst: Duration,
    /// Writes that needed another endpoint than the first they tried.
    pub failovers: usize,
    /// The slowest write: its key, the endpoint it tried first and how many failed.
    pub worst_write: String,
    /// How long each acknowledged write took, in the order of `acked`.
    pub latencies: Vec<Duration>,
}

/// Writes `PREFIX/NNNNNN` keys one after another, each to the next endpoint in turn,
/// until stopped.
pub struct ContinuousWriter {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<WriteFigures>,
}

impl ContinuousWriter {
    pub fn start(endpoints: Vec<String>, prefix: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let prefix = prefix.to_owned();
        let thread = std::thread::spawn(move || {
            let mut f = WriteFigures {
                acked: Vec::new(),
                failed: Vec::new(),
                worst: Duration::ZERO,
                failovers: 0,
                worst_write: String::new(),
                latencies: Vec::new(),
            };
            let agent = client(ATTEMPT_TIMEOUT);
            let mut seq = 0usize;
            while !flag.load(Ordering::Relaxed) {
                let key = format!("{prefix}/{seq:06}");
                let start = Instant::now();
                let outcome = put(&agent, &endpoints, seq, &key, &seq.to_string());
                match outcome {
                    Ok(failed_over) => {
                        let took = start.elapsed();
                        f.latencies.push(took);
                        if took > f.worst {
                            f.worst = took;
                            f.worst_write = format!(
                                "{key}, first tried at {}, {failed_over} endpoint(s) failed",
                                endpoints[seq % endpoints.len()]
                            );
                        }
                        f.failovers += usize::from(failed_over > 0);
                        f.acked.push(key);
                    }
                    Err(e) => f.failed.push((key, e)),
                }
                seq += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            f
        });
        Self { stop, thread }
    }

    pub fn finish(self) -> WriteFigures {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("writer thread")
    }
}

impl EtcdCluster {
    /// `quorate run RUNBOOK -i INVENTORY` while a [`ContinuousWriter`] writes `prefix/…`
    /// keys, from 300 ms before the run to 300 ms after it (so that the figures cover the
    /// whole run): the run's output, what the writer saw and how long the run took.
    pub fn run_under_writes(
        &self,
        inventory: &Path,
        runbook: &str,
        prefix: &str,
    ) -> (Output, WriteFigures, Duration) {
        let writer = ContinuousWriter::start(self.all_endpoints(), prefix);
        std::thread::sleep(Duration::from_millis(300));
        let start = Instant::now();
        let out = self.run_with(inventory, runbook, &[]);
        let took = start.elapsed();
        std::thread::sleep(Duration::from_millis(300));
        (out, writer.finish(), took)
    }

    /// `quorate run RUNBOOK ARGS` killed (SIGKILL) once it logged `kill_at` task
    /// transitions (or it ended), then `quorate resume`d to its end.
    pub fn run_killed_and_resumed(&self, runbook: &str, args: &[&str], kill_at: usize) -> Output {
        let run = super::run_killed_at(self.dir.path(), &self.inventory(), runbook, args, kill_at);
        Quorate::in_lab(self.dir.path())
            .args(["resume", &run, "--plain"])
            .run()
    }
}
