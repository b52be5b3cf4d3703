//! Measuring one tool run: wall time, CPU seconds of every process involved (the
//! controller's processes and the hosts' sshd sessions and shells), and the peak memory
//! of the controller's processes.
//!
//! How the CPU is accounted, without cgroups: the harness is a child subreaper, so every
//! process a tool leaves behind (`ControlPersist` masters, daemonised `ssh -f`) is
//! re-parented to it and reaped by it; once a tool and all its leftovers are reaped, the
//! growth of this process's `cutime + cstime` is the controller's CPU. The hosts' side is
//! the growth of each sshd listener's own and reaped children's CPU, read once all its
//! sessions have closed (each session reaps its shells and commands).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::sshd::alive;

/// `USER_HZ` is 100 on Linux.
const TICK: f64 = 0.01;
const PAGE: u64 = 4096;
/// How often the controller's memory is sampled (at least; see `sample_memory`).
const SAMPLE_EVERY: Duration = Duration::from_millis(25);

/// What one run of a tool cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    pub wall: f64,
    /// CPU seconds of the controller's processes (user + system).
    pub cpu_controller: f64,
    /// CPU seconds of the hosts' sshd sessions and everything they ran.
    pub cpu_hosts: f64,
    /// Largest sum of the resident memory of the controller's processes at one time, MiB.
    pub peak_rss_mib: f64,
    /// Processes of the controller alive at that time.
    pub peak_processes: usize,
}

/// Makes this process the reaper of every orphan its descendants leave.
pub fn become_subreaper() {
    nix::sys::prctl::set_child_subreaper(true).expect("prctl(PR_SET_CHILD_SUBREAPER)");
}

/// `(pid, ppid, utime+stime, cutime+cstime, rss pages)` of every process.
struct Proc {
    ppid: u32,
    own: u64,
    reaped: u64,
    rss: u64,
}

fn processes() -> HashMap<u32, Proc> {
    let mut all = HashMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return all;
    };
    for pid in entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
    {
        if let Some(p) = fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| parse_stat(&s))
        {
            all.insert(pid, p);
        }
    }
    all
}

/// Fields of `/proc/PID/stat` after the command name (which may hold spaces).
fn parse_stat(stat: &str) -> Option<Proc> {
    let (_, tail) = stat.rsplit_once(')')?;
    let f: Vec<&str> = tail.split_whitespace().collect();
    // f[0] is field 3 (state): field k is f[k - 3].
    let num = |k: usize| f.get(k - 3).and_then(|w| w.parse::<u64>().ok());
    Some(Proc {
        ppid: u32::try_from(num(4)?).ok()?,
        own: num(14)? + num(15)?,
        reaped: num(16)? + num(17)?,
        rss: num(24)?,
    })
}

fn own_pid() -> u32 {
    std::process::id()
}

/// CPU ticks of this process's reaped children.
fn reaped_ticks() -> u64 {
    fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| parse_stat(&s))
        .map_or(0, |p| p.reaped)
}

/// CPU ticks of the listeners and what they reaped.
fn listener_ticks(listeners: &[u32]) -> u64 {
    listeners
        .iter()
        .filter_map(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| parse_stat(&s))
        })
        .map(|p| p.own + p.reaped)
        .sum()
}

/// Descendants of `root` (itself included), leaving out the subtrees of `skip`.
fn tree(all: &HashMap<u32, Proc>, root: u32, skip: &HashSet<u32>) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&pid, p) in all {
        children.entry(p.ppid).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(pid) = frontier.pop() {
        if skip.contains(&pid) {
            continue;
        }
        found.push(pid);
        if let Some(c) = children.get(&pid) {
            frontier.extend(c);
        }
    }
    found
}

/// Samples the memory of every process below this one except the hosts' sshd, until
/// stopped; returns the peak sum and the process count then.
fn sample_memory(stop: &AtomicBool, listeners: &HashSet<u32>) -> (f64, usize) {
    let me = own_pid();
    let mut peak = (0u64, 0usize);
    loop {
        let scan = Instant::now();
        let all = processes();
        let pids = tree(&all, me, listeners);
        // This process (the harness) is not the tool's.
        let rss: u64 = pids
            .iter()
            .filter(|&&p| p != me)
            .filter_map(|p| all.get(p))
            .map(|p| p.rss)
            .sum();
        if rss > peak.0 {
            peak = (rss, pids.len() - 1);
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // With hundreds of processes a scan costs milliseconds of a shared core: sample
        // less often rather than take the tools' CPU.
        thread::sleep(SAMPLE_EVERY.max(scan.elapsed() * 10));
    }
    #[expect(clippy::cast_precision_loss, reason = "memory sizes")]
    let mib = (peak.0 * PAGE) as f64 / (1024.0 * 1024.0);
    (mib, peak.1)
}

/// Runs `command` to its end and measures it; `listeners` are the hosts' sshd pids.
/// Leftover processes (e.g. `ControlPersist` masters) are stopped afterwards, outside the
/// wall time but inside the CPU figures.
pub fn run(mut command: Command, listeners: &[u32]) -> (ExitStatus, Sample) {
    let skip: HashSet<u32> = listeners.iter().copied().collect();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (stop, skip) = (Arc::clone(&stop), skip.clone());
        thread::spawn(move || sample_memory(&stop, &skip))
    };
    let controller0 = reaped_ticks();
    let hosts0 = listener_ticks(listeners);
    let start = Instant::now();
    let mut child: Child = command.spawn().expect("start the tool");
    let status = child.wait().expect("wait for the tool");
    let wall = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (peak_rss_mib, peak_processes) = sampler.join().expect("sampler");
    reap_leftovers(&skip);
    wait_sessions_closed(listeners);
    #[expect(clippy::cast_precision_loss, reason = "tick counts")]
    let sample = Sample {
        wall,
        cpu_controller: (reaped_ticks() - controller0) as f64 * TICK,
        cpu_hosts: (listener_ticks(listeners).saturating_sub(hosts0)) as f64 * TICK,
        peak_rss_mib,
        peak_processes,
    };
    (status, sample)
}

/// Direct children of this process other than the listeners: what tools left behind.
fn leftovers(skip: &HashSet<u32>) -> Vec<u32> {
    let me = own_pid();
    processes()
        .into_iter()
        .filter(|(pid, p)| p.ppid == me && !skip.contains(pid))
        .map(|(pid, _)| pid)
        .collect()
}

/// Waits a moment for leftovers to end by themselves, then ends them (by pid) and reaps
/// them all, so their CPU is counted.
fn reap_leftovers(skip: &HashSet<u32>) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let left = leftovers(skip);
        let live: Vec<u32> = left.iter().copied().filter(|&p| alive(p)).collect();
        for &pid in left.iter().filter(|p| !live.contains(p)) {
            let _ = waitpid(to_pid(pid), None);
        }
        if live.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            for &pid in &live {
                let _ = kill(to_pid(pid), Signal::SIGTERM);
                let _ = waitpid(to_pid(pid), None);
            }
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (at most 10 s) until no listener has a session left.
fn wait_sessions_closed(listeners: &[u32]) {
    let set: HashSet<u32> = listeners.iter().copied().collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && processes().values().any(|p| set.contains(&p.ppid)) {
        thread::sleep(Duration::from_millis(10));
    }
}

fn to_pid(pid: u32) -> Pid {
    Pid::from_raw(i32::try_from(pid).expect("a pid"))
}

/// Size of the files under `dir`, in bytes.
pub fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Peak resident memory of this process so far, MiB.
pub fn own_peak_rss_mib() -> f64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
