//! Figures of quorate alone: compile time and peak memory of 50 steps over 1,000 and
//! 10,000 hosts; the store of a 50,000-task run (its size, what a durable checkpoint
//! costs with and without group commit) and how soon `quorate resume` of that run, half
//! done, starts executing. Each measured part runs in its own child process (this binary,
//! `internal-...`), so its peak memory is its own.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use quorate::catalog::Catalog;
use quorate::exec::{create_run, EventKind};
use quorate::plan::{compile, parse_inventory, parse_runbook, CompileOptions, ParamInput, Plan};
use quorate::source::SourceFile;
use quorate::store::{now_ms, Change, RunReader, RunStore, SledStore, TaskState};
use serde::{Deserialize, Serialize};

use crate::measure::{dir_size, own_peak_rss_mib};
use crate::workload::quorate_runbook;

/// The runbook's steps: `mkdir` and 49 `echo` steps.
pub const STEPS: usize = 50;
/// Hosts of the store's run: 50 steps x 1,000 hosts = 50,000 tasks.
const STORE_HOSTS: usize = 1_000;
/// Transitions per commit in the group-commit figure: as many as the default concurrency
/// finishes at once.
const GROUP: usize = 16;
/// Commits timed one transition at a time.
const SINGLE_COMMITS: usize = 200;

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct CompileFigure {
    pub hosts: usize,
    pub tasks: usize,
    pub parse_ms: f64,
    pub compile_ms: f64,
    pub peak_rss_mib: f64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct StoreFigure {
    pub tasks: usize,
    pub create_run_ms: f64,
    pub size_created_bytes: u64,
    pub size_half_bytes: u64,
    /// One transition (task record + event) per commit, one commit after the other.
    pub single_commit_ms: f64,
    pub single_commits_per_s: f64,
    /// `GROUP` transitions per commit.
    pub group_size: usize,
    pub group_commit_ms: f64,
    pub group_transitions_per_s: f64,
    /// `quorate resume` of the half-done run: from process start to its first task's
    /// effect on disk.
    pub resume_first_task_ms: f64,
    /// What a resume reads before it can start, each read timed alone (ms), in order.
    #[serde(default)]
    pub resume_reads: Vec<(String, f64)>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Internal {
    pub compile: Vec<CompileFigure>,
    pub store: Option<StoreFigure>,
}

/// An inventory of `hosts` hosts; `local` ones run their tasks on this machine.
fn inventory(hosts: usize, local: bool) -> String {
    let mut s = String::from("name: bench-internal\nhosts:\n");
    for i in 0..hosts {
        if local {
            let _ = writeln!(s, "  h{i}: {{ address: localhost, transport: local }}");
        } else {
            let _ = writeln!(
                s,
                "  h{i}: {{ address: 127.{}.{}.{}, vars: {{ zone: z{} }} }}",
                i / 62_500 + 1,
                i / 250 % 250,
                i % 250 + 1,
                i % 4
            );
        }
    }
    s
}

fn plan_of(runbook: &str, inventory: &str) -> Plan {
    let inv = parse_inventory(SourceFile::new("inventory.yaml", inventory)).expect("inventory");
    let rb = parse_runbook(SourceFile::new("runbook.yaml", runbook)).expect("runbook");
    compile(
        &rb,
        &inv,
        &[] as &[ParamInput],
        &Catalog::default(),
        &CompileOptions::default(),
    )
    .expect("compile")
    .plan
}

/// Child: compiles 50 steps over `hosts` hosts and prints the figure as JSON.
pub fn compile_child(hosts: usize) {
    let rb_text = quorate_runbook(Path::new("/tmp/bench-out"), STEPS - 1);
    let inv_text = inventory(hosts, false);
    let start = Instant::now();
    let inv = parse_inventory(SourceFile::new("inventory.yaml", inv_text)).expect("inventory");
    let rb = parse_runbook(SourceFile::new("runbook.yaml", rb_text)).expect("runbook");
    let parse_ms = start.elapsed().as_secs_f64() * 1e3;
    let compiled = compile(
        &rb,
        &inv,
        &[] as &[ParamInput],
        &Catalog::default(),
        &CompileOptions::default(),
    )
    .expect("compile");
    let compile_ms = start.elapsed().as_secs_f64() * 1e3;
    let figure = CompileFigure {
        hosts,
        tasks: compiled.plan.tasks().count(),
        parse_ms,
        compile_ms,
        peak_rss_mib: own_peak_rss_mib(),
    };
    println!("{}", serde_json::to_string(&figure).expect("json"));
}

/// Child: records a 50,000-task run in `state` (tasks on local hosts writing under
/// `out`), times checkpoints, finishes the first half of the tasks as the dispatcher
/// records them, and exits as a controller that died would: the run still `running`.
pub fn store_child(state: &Path, out: &Path) {
    let runbook = quorate_runbook(out, STEPS - 1);
    let plan = plan_of(&runbook, &inventory(STORE_HOSTS, true));
    for i in 0..STORE_HOSTS {
        std::fs::create_dir_all(out.join(format!("h{i}"))).expect("host dir");
    }
    let store = SledStore::open(state).expect("store");
    let start = Instant::now();
    let id = create_run(&store, &plan).expect("create run");
    let create_run_ms = start.elapsed().as_secs_f64() * 1e3;
    let size_created_bytes = dir_size(state);
    let mut records = store.tasks(&id).expect("tasks");
    // The plan's order is step after step: the first half is steps 1..25 on every host.
    records.sort_by_key(|r| r.node);
    let half = records.len() / 2;
    let transition = |r: &quorate::store::TaskRecord| {
        let message = format!(
            "{:?} {}@{}",
            r.state,
            r.step,
            r.host.as_deref().unwrap_or("-")
        )
        .to_lowercase();
        [
            Change::Task(r.clone()),
            EventKind::Task.change(Some(r.node), message),
        ]
    };
    let mut single = Duration::ZERO;
    let mut single_count = 0;
    let mut group = Duration::ZERO;
    let mut group_count = 0;
    let mut done = 0;
    for chunk in records[..half].chunks_mut(GROUP) {
        // running, then done: two transitions per task, as the dispatcher records them.
        for target in [TaskState::Running, TaskState::Done] {
            for r in chunk.iter_mut() {
                r.state = target;
                r.attempts = 1;
                let now = now_ms();
                if target == TaskState::Running {
                    r.started_ms = Some(now);
                } else {
                    r.ended_ms = Some(now);
                    r.exit = Some(0);
                }
            }
            if single_count < SINGLE_COMMITS {
                for r in chunk.iter() {
                    let t = Instant::now();
                    store.commit(&id, transition(r).to_vec()).expect("commit");
                    single += t.elapsed();
                    single_count += 1;
                }
            } else {
                let changes: Vec<Change> = chunk.iter().flat_map(transition).collect();
                let t = Instant::now();
                store.commit(&id, changes).expect("commit");
                group += t.elapsed();
                group_count += 1;
            }
        }
        done += chunk.len();
    }
    assert_eq!(done, half);
    #[expect(clippy::cast_precision_loss, reason = "counts")]
    let figure = StoreFigure {
        tasks: records.len(),
        create_run_ms,
        size_created_bytes,
        size_half_bytes: dir_size(state),
        single_commit_ms: single.as_secs_f64() * 1e3 / single_count as f64,
        single_commits_per_s: single_count as f64 / single.as_secs_f64(),
        group_size: GROUP,
        group_commit_ms: group.as_secs_f64() * 1e3 / group_count as f64,
        group_transitions_per_s: (group_count * GROUP) as f64 / group.as_secs_f64(),
        resume_first_task_ms: 0.0,
        resume_reads: Vec::new(),
    };
    println!("{}", serde_json::to_string(&figure).expect("json"));
}

/// Child: the reads a resume of the latest run in `state` makes before it starts, timed
/// one by one; prints them as JSON.
pub fn reads_child(state: &Path) {
    let mut reads: Vec<(String, f64)> = Vec::new();
    let mut time = |what: &str, start: Instant| {
        reads.push((what.to_owned(), start.elapsed().as_secs_f64() * 1e3));
    };
    let t = Instant::now();
    let store = SledStore::open(state).expect("store");
    time("open the store", t);
    let t = Instant::now();
    let runs = store.runs().expect("runs");
    let run = runs.last().expect("a run").clone();
    time("list the runs (`latest`)", t);
    let t = Instant::now();
    let plan_json = store.plan_json(&run.id).expect("plan").expect("a plan");
    time("read the frozen plan", t);
    let t = Instant::now();
    let _plan = quorate::exec::frozen_plan(&run, &plan_json).expect("the plan");
    time("parse and check the frozen plan", t);
    let t = Instant::now();
    let tasks = store.tasks(&run.id).expect("tasks");
    time(&format!("read {} task records", tasks.len()), t);
    let t = Instant::now();
    let events = store.events(&run.id).expect("events");
    time(&format!("read {} events", events.len()), t);
    println!("{}", serde_json::to_string(&reads).expect("json"));
}

fn child(exe: &Path, args: &[String]) -> String {
    let out = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the child");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// Whether any host's log exists: the first resumed task ran.
fn first_task_ran(out: &Path) -> bool {
    (0..STORE_HOSTS).any(|i| out.join(format!("h{i}/log")).exists())
}

/// `quorate resume latest` of the half-done run: how long until its first task ran.
/// Stopped with Ctrl-C's signal after that (and killed if it lingers).
fn resume(quorate: &Path, state: &Path, out: &Path, home: &Path) -> f64 {
    let start = Instant::now();
    let mut child = Command::new(quorate)
        .arg("--state")
        .arg(state)
        .args(["resume", "latest", "--plain"])
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("quorate resume");
    let deadline = start + Duration::from_secs(60);
    while !first_task_ran(out) && Instant::now() < deadline {
        if child.try_wait().expect("status").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = start.elapsed().as_secs_f64() * 1e3;
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let _ = kill(pid, Signal::SIGINT);
    let stop_by = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("status").is_none() {
        if Instant::now() > stop_by {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(first_task_ran(out), "the resumed run never started a task");
    took
}

/// Runs every internal figure; `work` is scratch space.
pub fn measure(exe: &Path, quorate: &Path, work: &Path) -> Internal {
    let mut figures = Internal::default();
    for hosts in [1_000usize, 10_000] {
        let line = child(exe, &["internal-compile".into(), hosts.to_string()]);
        let f: CompileFigure = serde_json::from_str(&line).expect("compile figure");
        println!(
            "compile: {} steps x {} hosts = {} tasks: {:.0} ms (parse {:.0} ms), peak {:.0} MiB",
            STEPS, f.hosts, f.tasks, f.compile_ms, f.parse_ms, f.peak_rss_mib
        );
        figures.compile.push(f);
    }
    let state: PathBuf = work.join("internal-state");
    let out = work.join("internal-out");
    let home = work.join("internal-home");
    std::fs::create_dir_all(&home).expect("home");
    let line = child(
        exe,
        &[
            "internal-store".into(),
            state.display().to_string(),
            out.display().to_string(),
        ],
    );
    let mut f: StoreFigure = serde_json::from_str(&line).expect("store figure");
    let line = child(exe, &["internal-reads".into(), state.display().to_string()]);
    f.resume_reads = serde_json::from_str(&line).expect("reads");
    f.resume_first_task_ms = resume(quorate, &state, &out, &home);
    println!(
        "store: {} tasks; create_run {:.0} ms; {:.1} MiB created, {:.1} MiB half done; checkpoint {:.2} ms ({:.0}/s) alone, {:.2} ms per commit of {} ({:.0} transitions/s); resume: first task after {:.0} ms",
        f.tasks,
        f.create_run_ms,
        mib(f.size_created_bytes),
        mib(f.size_half_bytes),
        f.single_commit_ms,
        f.single_commits_per_s,
        f.group_commit_ms,
        f.group_size,
        f.group_transitions_per_s,
        f.resume_first_task_ms
    );
    for (what, ms) in &f.resume_reads {
        println!("  resume reads: {what}: {ms:.0} ms");
    }
    figures.store = Some(f);
    let _ = std::fs::remove_dir_all(&state);
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&home);
    figures
}

#[expect(clippy::cast_precision_loss, reason = "sizes")]
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
