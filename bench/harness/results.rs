//! What the harness measured, kept in bench/out/results.json: every run of every tool, the
//! machine it ran on, quorate's internal figures. A run of some cells replaces those cells
//! and keeps the rest, so the matrix can be measured in parts.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::internal::Internal;
use crate::measure::Sample;
use crate::tools::{Kex, Tool};

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub openssh: String,
    pub ansible_core: String,
    pub pyinfra: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct RunResult {
    pub tool: String,
    pub kex: String,
    pub hosts: usize,
    pub steps: usize,
    pub ok: bool,
    pub error: Option<String>,
    pub wall: f64,
    pub cpu_controller: f64,
    pub cpu_hosts: f64,
    pub peak_rss_mib: f64,
    pub peak_processes: usize,
    /// The machine's 1-minute load average when the run started.
    pub load1: f64,
    /// Seconds since the epoch when the run was recorded.
    pub at: u64,
}

impl RunResult {
    pub fn new(
        tool: Tool,
        kex: Kex,
        hosts: usize,
        steps: usize,
        s: Sample,
        load1: f64,
        error: Option<String>,
    ) -> Self {
        Self {
            tool: tool.name().to_owned(),
            kex: kex.name().to_owned(),
            hosts,
            steps,
            ok: error.is_none(),
            error,
            wall: s.wall,
            cpu_controller: s.cpu_controller,
            cpu_hosts: s.cpu_hosts,
            peak_rss_mib: s.peak_rss_mib,
            peak_processes: s.peak_processes,
            load1,
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    pub fn summary(&self) -> String {
        let status = match &self.error {
            None => "ok".to_owned(),
            Some(e) => format!("FAILED: {}", e.lines().next().unwrap_or_default()),
        };
        format!(
            "wall {:>7.3} s  cpu {:>6.2} s (controller {:>6.2}, hosts {:>6.2})  peak {:>7.1} MiB in {:>3} processes  load {:.1}  {status}",
            self.wall,
            self.cpu_controller + self.cpu_hosts,
            self.cpu_controller,
            self.cpu_hosts,
            self.peak_rss_mib,
            self.peak_processes,
            self.load1
        )
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Results {
    pub machine: Machine,
    pub runs: Vec<RunResult>,
    pub internal: Option<Internal>,
}

impl Results {
    pub fn load(path: &Path) -> Self {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, path: &Path) {
        let text = serde_json::to_string_pretty(self).expect("json");
        std::fs::write(path, text + "\n").expect("write results.json");
    }

    /// Replaces the runs of the (tool, kex) variants measured anew in cell (hosts, steps).
    pub fn replace_cell(&mut self, hosts: usize, steps: usize, fresh: Vec<RunResult>) {
        self.runs.retain(|r| {
            !(r.hosts == hosts
                && r.steps == steps
                && fresh.iter().any(|f| f.tool == r.tool && f.kex == r.kex))
        });
        self.runs.extend(fresh);
    }
}

/// The medians of one variant in one cell.
#[derive(Clone, Debug)]
pub struct Medians {
    pub runs: usize,
    pub failed: usize,
    pub wall: f64,
    pub wall_min: f64,
    pub wall_max: f64,
    pub cpu: f64,
    pub cpu_controller: f64,
    pub cpu_hosts: f64,
    pub peak_rss_mib: f64,
    pub load1: f64,
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => f64::midpoint(v[n / 2 - 1], v[n / 2]),
    }
}

impl Results {
    /// Medians over the successful runs of `tool` with `kex` in the cell; None without any.
    pub fn medians(&self, tool: &str, kex: &str, hosts: usize, steps: usize) -> Option<Medians> {
        let all: Vec<&RunResult> = self
            .runs
            .iter()
            .filter(|r| r.tool == tool && r.kex == kex && r.hosts == hosts && r.steps == steps)
            .collect();
        let ok: Vec<&RunResult> = all.iter().copied().filter(|r| r.ok).collect();
        if ok.is_empty() {
            return None;
        }
        let m = |f: fn(&RunResult) -> f64| median(ok.iter().map(|r| f(r)).collect());
        Some(Medians {
            runs: ok.len(),
            failed: all.len() - ok.len(),
            wall: m(|r| r.wall),
            wall_min: ok.iter().map(|r| r.wall).fold(f64::INFINITY, f64::min),
            wall_max: ok.iter().map(|r| r.wall).fold(0.0, f64::max),
            cpu: m(|r| r.cpu_controller + r.cpu_hosts),
            cpu_controller: m(|r| r.cpu_controller),
            cpu_hosts: m(|r| r.cpu_hosts),
            peak_rss_mib: m(|r| r.peak_rss_mib),
            load1: m(|r| r.load1),
        })
    }

    /// The cells with any run, in matrix order.
    pub fn cells(&self) -> Vec<(usize, usize)> {
        let mut c: Vec<(usize, usize)> = self.runs.iter().map(|r| (r.hosts, r.steps)).collect();
        c.sort_unstable();
        c.dedup();
        c
    }
}

pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

pub fn machine(venv: &Path) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    let venv_bin = |p: &str| venv.join("bin").join(p).display().to_string();
    Machine {
        cpu: cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default(),
        cores: std::thread::available_parallelism().map_or(0, usize::from),
        memory_gib: kb / (1024.0 * 1024.0),
        kernel: first_line("uname", &["-sr"]),
        openssh: first_line("ssh", &["-V"]),
        ansible_core: first_line(&venv_bin("ansible-playbook"), &["--version"]),
        pyinfra: first_line(&venv_bin("pyinfra"), &["--version"]),
    }
}
