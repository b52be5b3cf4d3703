//! Execution overhead on real hosts: 20 trivial steps (`echo N`) on each of 8 real sshd
//! hosts (the test fixture's, on 127.0.0.2..9), run by the engine with durable
//! checkpoints (sled, one flush per group commit) and the remote task journal, beside
//! the same commands sent by a plain OpenSSH loop: one
//! `ssh -o ControlMaster=auto -o ControlPath=... -o ControlPersist=...` client process per
//! command, over multiplexed masters.
//!
//! Two shapes of runbook, each with its matching plain loop:
//! - barrier: 20 steps `on: all`, every step waiting for all hosts; plain: per step, 8
//!   clients in parallel, wait for all.
//! - chains: one `rolling` block of the 20 steps with `batch: 8`, chained per host with no
//!   cross-host barrier; plain: per host, 20 clients one after the other, hosts in
//!   parallel.
//!
//! Measured, `REPS` times each (median and min reported):
//! - engine: `create_run` + `drive_run` through the library, wired as `quorate run` wires
//!   them, with warm masters (a warm-up run opened them first) and no process start;
//!   store commits are counted and timed through a wrapper around the sled store.
//! - plain: the ssh loop over warm masters (a warm-up command per host opened them).
//!   The target: engine at most 0.8x plain.
//! - end to end, cold: the `quorate run --plain` binary (process start, compile, store
//!   open, 8 key exchanges, the run), beside the plain loop with its masters closed before
//!   each repetition (8 key exchanges too).
//! - where the engine's time goes: the same commands in the same shape over the engine's
//!   masters through `Connections::run` alone (transport), then through
//!   `journal::run_task` (transport + journal wrapper), so that engine minus journal is
//!   the dispatcher and the store; and the journal wrapper run locally without SSH.
//!
//! Beside each figure: CPU time per command over the whole machine (hosts and controller
//! share it here, so wall time follows CPU once the cores are busy), the controller's part
//! of it (this process, its reaped children, its live SSH masters), and processes created
//! per command, all from `/proc`.
//!
//! Run: `cargo bench -p quorate --bench exec_bench` (needs `/usr/sbin/sshd`:
//! `apt-get install -y openssh-server`; runs as root).

#[path = "../../tests/support/sshd.rs"]
#[allow(dead_code)]
mod sshd;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use quorate::catalog::Catalog;
use quorate::exec::{
    create_run, drive_run, host_spec, ssh_settings, Drive, ExecOptions, RunOutcome, Silent,
};
use quorate::plan::{compile, parse_inventory, parse_runbook, CompileOptions, ParamInput, Plan};
use quorate::source::SourceFile;
use quorate::store::{
    Change, Event, RunReader, RunRecord, RunStore, SledStore, StoreError, TaskRecord,
};
use quorate::transport::{run_task, Connections, HostSpec, TaskSpec};
use sshd::SshCluster;
use tokio::sync::watch;
use tokio::task::JoinSet;

const HOSTS: usize = 8;
const STEPS: usize = 20;
const REPS: usize = 5;
const TARGET_RATIO: f64 = 0.8;

#[derive(Clone, Copy)]
enum Shape {
    Barrier,
    Chains,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Barrier => "barrier (20 steps `on: all`)",
            Shape::Chains => "chains (rolling, batch: 8)",
        }
    }

    fn runbook(self) -> String {
        let mut s = String::new();
        match self {
            Shape::Barrier => {
                s.push_str("runbook: bench-barrier\non: all\nsteps:\n");
                for i in 0..STEPS {
                    let _ = writeln!(s, "  - id: s{i}\n    run: echo {i}");
                }
            }
            Shape::Chains => {
                s.push_str(
                    "runbook: bench-chains\non: all\nsteps:\n  - id: roll\n    rolling:\n      batch: 8\n      steps:\n",
                );
                for i in 0..STEPS {
                    let _ = writeln!(s, "        - id: s{i}\n          run: echo {i}");
                }
            }
        }
        s
    }
}

/// The sled store, with its group commits counted and timed.
struct Counted {
    inner: SledStore,
    commits: AtomicU64,
    commit_nanos: AtomicU64,
}

impl Counted {
    fn take(&self) -> (u64, Duration) {
        let n = self.commits.swap(0, Ordering::Relaxed);
        let t = self.commit_nanos.swap(0, Ordering::Relaxed);
        (n, Duration::from_nanos(t))
    }
}

impl RunReader for Counted {
    fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.inner.run(id)
    }
    fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.inner.runs()
    }
    fn tasks(&self, id: &str) -> Result<Vec<TaskRecord>, StoreError> {
        self.inner.tasks(id)
    }
    fn task(&self, id: &str, node: usize) -> Result<Option<TaskRecord>, StoreError> {
        self.inner.task(id, node)
    }
    fn events_after(&self, id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        self.inner.events_after(id, after)
    }
}

impl RunStore for Counted {
    fn create_run(
        &self,
        run: &RunRecord,
        plan_json: &str,
        tasks: &[TaskRecord],
    ) -> Result<(), StoreError> {
        let start = Instant::now();
        let r = self.inner.create_run(run, plan_json, tasks);
        self.count(start);
        r
    }
    fn plan_json(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.inner.plan_json(id)
    }
    fn commit(&self, id: &str, changes: Vec<Change>) -> Result<Vec<u64>, StoreError> {
        let start = Instant::now();
        let r = self.inner.commit(id, changes);
        self.count(start);
        r
    }
    fn lock_holder(&self, cluster: &str) -> Result<Option<String>, StoreError> {
        self.inner.lock_holder(cluster)
    }
}

impl Counted {
    fn count(&self, start: Instant) {
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.commit_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// One measurement: wall time, and what the whole machine spent meanwhile (the hosts'
/// sshd and shells share it with the controller): CPU time over all cores, the part of
/// it spent by the controller (this process, its reaped children and the SSH masters),
/// and processes created. From `/proc`, at 10 ms resolution.
#[derive(Clone, Copy, Default)]
struct Sample {
    wall: Duration,
    cpu: Duration,
    controller: Duration,
    forks: u64,
}

/// `USER_HZ` is 100 on Linux.
fn ticks(n: u64) -> Duration {
    Duration::from_millis(n * 10)
}

/// Busy CPU time of all cores (user, nice, system, irq, softirq, steal) and the count of
/// processes created since boot.
fn machine() -> (Duration, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let mut busy = 0;
    let mut forks = 0;
    for l in stat.lines() {
        let mut words = l.split_whitespace();
        match words.next() {
            Some("cpu") => {
                let v: Vec<u64> = words.filter_map(|w| w.parse().ok()).collect();
                // user nice system idle iowait irq softirq steal (guest is inside user).
                let all: u64 = v.iter().take(8).sum();
                busy = all - v.get(3).unwrap_or(&0) - v.get(4).unwrap_or(&0);
            }
            Some("processes") => forks = words.next().and_then(|w| w.parse().ok()).unwrap_or(0),
            _ => {}
        }
    }
    (ticks(busy), forks)
}

/// utime, stime, cutime, cstime of a process (`/proc/PID/stat` fields 14 to 17).
fn process_ticks(stat: &str) -> [u64; 4] {
    let mut t = [0; 4];
    if let Some((_, tail)) = stat.rsplit_once(')') {
        for (slot, w) in t.iter_mut().zip(tail.split_whitespace().skip(11)) {
            *slot = w.parse().unwrap_or(0);
        }
    }
    t
}

/// CPU time of the controller: this process and the children it reaped (ssh clients, the
/// `quorate` binary), plus the live `ssh` masters whose command line names `work` (theirs
/// are under it; a master is nobody's reaped child).
fn controller_cpu(work: &Path) -> Duration {
    let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let mut total: u64 = process_ticks(&own).iter().sum();
    let work = work.to_string_lossy();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let path = entry.path();
        if std::fs::read_to_string(path.join("comm")).is_ok_and(|c| c.trim() == "ssh")
            && std::fs::read(path.join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&*work))
        {
            let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
            let [user, system, _, _] = process_ticks(&stat);
            total += user + system;
        }
    }
    ticks(total)
}

/// The bench's temp dir: the SSH control sockets of both sides are under it.
static WORK: OnceLock<PathBuf> = OnceLock::new();

fn measure(f: impl FnOnce()) -> Sample {
    let work = WORK.get().expect("the work dir is set first");
    let (cpu0, forks0) = machine();
    let controller0 = controller_cpu(work);
    let start = Instant::now();
    f();
    let wall = start.elapsed();
    let (cpu1, forks1) = machine();
    Sample {
        wall,
        cpu: cpu1.saturating_sub(cpu0),
        controller: controller_cpu(work).saturating_sub(controller0),
        forks: forks1.saturating_sub(forks0),
    }
}

/// Median and minimum wall time; medians of the rest.
struct Stats {
    median: Duration,
    min: Duration,
    cpu: Duration,
    controller: Duration,
    forks: u64,
}

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort_unstable();
    v[v.len() / 2]
}

fn stats(samples: &[Sample]) -> Stats {
    Stats {
        median: median(samples.iter().map(|s| s.wall).collect()),
        min: samples.iter().map(|s| s.wall).min().expect("samples"),
        cpu: median(samples.iter().map(|s| s.cpu).collect()),
        controller: median(samples.iter().map(|s| s.controller).collect()),
        forks: median(samples.iter().map(|s| s.forks).collect()),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn compile_plan(runbook: &str, inventory: &str) -> Plan {
    let rb = parse_runbook(SourceFile::new("bench-runbook.yaml", runbook)).expect("runbook");
    let inv = parse_inventory(SourceFile::new("bench-inventory.yaml", inventory)).expect("inv");
    compile(
        &rb,
        &inv,
        &[] as &[ParamInput],
        &Catalog::default(),
        &CompileOptions {
            require_secrets: true,
            ..CompileOptions::default()
        },
    )
    .expect("the bench runbook compiles")
    .plan
}

/// The engine through the library: one store and one pool of masters for every run.
struct Engine {
    rt: tokio::runtime::Runtime,
    store: Arc<Counted>,
    conns: Arc<Connections>,
}

struct EngineRun {
    sample: Sample,
    commits: u64,
    commit_time: Duration,
}

/// Which layers a breakdown run goes through.
#[derive(Clone, Copy)]
enum Layer {
    /// `Connections::run`: `sh -c 'echo N'` over the native-mux master.
    Transport,
    /// `journal::run_task`: the same through the task journal wrapper.
    Journal,
}

impl Engine {
    fn new(state: &Path, control: PathBuf, plan: &Plan) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let store = Arc::new(Counted {
            inner: SledStore::open(state).expect("store"),
            commits: AtomicU64::new(0),
            commit_nanos: AtomicU64::new(0),
        });
        let conns = Arc::new(Connections::new(ssh_settings(plan), control).expect("connections"));
        Self { rt, store, conns }
    }

    /// One run as `quorate run` does it, after the compile: create it, drive it.
    fn run(&self, plan: &Plan) -> EngineRun {
        self.store.take();
        let mut outcome = None;
        let sample = measure(|| {
            let id = create_run(&*self.store, plan).expect("create run");
            let drive = Drive {
                conns: Arc::clone(&self.conns),
                secrets: Arc::default(),
                observer: Arc::new(Silent),
                options: ExecOptions::default(),
                settle: None,
            };
            let (_keep, interrupts) = watch::channel(0u32);
            outcome = Some(
                self.rt
                    .block_on(drive_run(Arc::clone(&self.store), &id, drive, interrupts))
                    .expect("drive"),
            );
        });
        assert_eq!(outcome, Some(RunOutcome::Done));
        let (commits, commit_time) = self.store.take();
        EngineRun {
            sample,
            commits,
            commit_time,
        }
    }

    /// The same commands in the same shape, through the transport (and the journal) only:
    /// no plan, no dispatcher, no store.
    fn layer(&self, plan: &Plan, shape: Shape, layer: Layer, run: &str) -> Sample {
        let hosts: Vec<HostSpec> = (0..HOSTS)
            .map(|h| {
                host_spec(plan, Some(&format!("node{h}"))).expect("the bench hosts are planned")
            })
            .collect();
        let one = move |conns: Arc<Connections>, host: HostSpec, step: usize, run: Arc<str>| async move {
            let command = format!("echo {step}");
            match layer {
                Layer::Transport => {
                    let out = conns.run(&host, &command, b"").await.expect("run");
                    assert!(out.success());
                }
                Layer::Journal => {
                    let key = format!("n{step}-a1");
                    let spec = TaskSpec {
                        run: &run,
                        key: &key,
                        command: &command,
                        env: &[],
                        cwd: None,
                        sudo: false,
                        timeout: None,
                    };
                    let out = run_task(&conns, &host, &spec).await.expect("task");
                    assert_eq!(out.exit, 0);
                }
            }
        };
        let run: Arc<str> = Arc::from(run);
        measure(|| {
            self.rt.block_on(async {
                match shape {
                    Shape::Barrier => {
                        for step in 0..STEPS {
                            let mut set = JoinSet::new();
                            for h in &hosts {
                                set.spawn(one(
                                    Arc::clone(&self.conns),
                                    h.clone(),
                                    step,
                                    Arc::clone(&run),
                                ));
                            }
                            while let Some(r) = set.join_next().await {
                                r.expect("join");
                            }
                        }
                    }
                    Shape::Chains => {
                        let mut set = JoinSet::new();
                        for h in &hosts {
                            let (conns, h, run) =
                                (Arc::clone(&self.conns), h.clone(), Arc::clone(&run));
                            set.spawn(async move {
                                for step in 0..STEPS {
                                    one(Arc::clone(&conns), h.clone(), step, Arc::clone(&run))
                                        .await;
                                }
                            });
                        }
                        while let Some(r) = set.join_next().await {
                            r.expect("join");
                        }
                    }
                }
            });
        })
    }

    fn close(self) {
        self.rt.block_on(self.conns.close());
    }
}

/// Plain OpenSSH with multiplexed masters, one client process per command.
struct Plain<'c> {
    cluster: &'c SshCluster,
    control: PathBuf,
}

impl Plain<'_> {
    fn ssh(&self, host: usize, extra: &[&str], command: Option<&str>) -> Command {
        let h = &self.cluster.hosts[host];
        let mut c = Command::new("ssh");
        c.arg("-F")
            .arg(&self.cluster.ssh_config)
            .args(["-o", "ControlMaster=auto", "-o"])
            .arg(format!("ControlPath={}/%C", self.control.display()))
            .args(["-o", "ControlPersist=60", "-p"])
            .arg(h.port.to_string())
            .args(extra)
            .arg(format!("root@{}", h.address));
        if let Some(command) = command {
            c.arg(command);
        }
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn checked(out: &Output, what: &str) {
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Opens every host's master (in parallel).
    fn open_masters(&self) {
        let children: Vec<_> = (0..HOSTS)
            .map(|h| self.ssh(h, &[], Some("true")).spawn().expect("ssh"))
            .collect();
        for c in children {
            Self::checked(&c.wait_with_output().expect("ssh"), "warm-up");
        }
    }

    fn close_masters(&self) {
        for h in 0..HOSTS {
            let _ = self.ssh(h, &["-O", "exit"], None).output();
        }
    }

    fn steps(&self, shape: Shape) {
        match shape {
            Shape::Barrier => {
                for step in 0..STEPS {
                    let cmd = format!("echo {step}");
                    let children: Vec<_> = (0..HOSTS)
                        .map(|h| self.ssh(h, &[], Some(&cmd)).spawn().expect("ssh"))
                        .collect();
                    for c in children {
                        Self::checked(&c.wait_with_output().expect("ssh"), "step");
                    }
                }
            }
            Shape::Chains => std::thread::scope(|s| {
                for h in 0..HOSTS {
                    s.spawn(move || {
                        for step in 0..STEPS {
                            let out = self
                                .ssh(h, &[], Some(&format!("echo {step}")))
                                .output()
                                .expect("ssh");
                            Self::checked(&out, "step");
                        }
                    });
                }
            }),
        }
    }

    fn run(&self, shape: Shape) -> Sample {
        measure(|| self.steps(shape))
    }

    /// With the masters closed first: 8 key exchanges, then the steps.
    fn run_cold(&self, shape: Shape) -> Sample {
        self.close_masters();
        measure(|| {
            self.open_masters();
            self.steps(shape);
        })
    }
}

/// `quorate run RUNBOOK -i INV --plain --state DIR`, as an operator runs it (the binary
/// cargo built for this bench).
fn binary_run(runbook: &Path, inventory: &Path, state: &Path) -> Sample {
    let mut out = None;
    let mut pid = 0;
    let sample = measure(|| {
        let child = Command::new(env!("CARGO_BIN_EXE_quorate"))
            .arg("--state")
            .arg(state)
            .arg("run")
            .arg(runbook)
            .arg("-i")
            .arg(inventory)
            .arg("--plain")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run quorate");
        pid = child.id();
        out = Some(child.wait_with_output().expect("quorate"));
    });
    // The control directory `quorate run` made for its masters, empty now.
    let _ = std::fs::remove_dir(std::env::temp_dir().join(format!("qr-{pid}")));
    let out = out.expect("ran");
    assert!(
        out.status.success(),
        "quorate run failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    sample
}

/// The journal wrapper alone, run locally (no SSH), one task after the other: what it
/// costs a host per task (processes: the `sh` that runs it included).
fn wrapper_alone(home: &Path) -> Sample {
    const WRAPPER: &str = include_str!("../src/transport/wrapper.sh");
    const TASKS: usize = 40;
    let mut sample = measure(|| {
        for i in 0..TASKS {
            // The framing of wrapper.sh: LEN bytes of input ending with the nonce's line.
            let nonce = format!("{i:032x}");
            let input = format!("# quorate task input\necho {i}\n# quorate-end {nonce}\n");
            let script = format!(
                "set -- task local n{i}-a1 0 0 {} {nonce}\n{WRAPPER}",
                input.len()
            );
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(script)
                .env("HOME", home)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("sh");
            std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input.as_bytes())
                .expect("input");
            let out = child.wait_with_output().expect("wrapper");
            let finished = format!("quorate-journal {nonce} finished");
            assert!(out.status.success() && out.stdout.starts_with(finished.as_bytes()));
        }
    });
    let n = u32::try_from(TASKS).expect("small");
    sample.wall /= n;
    sample.cpu /= n;
    sample.forks /= TASKS as u64;
    sample
}

fn line(label: &str, samples: &[Sample]) -> Stats {
    let s = stats(samples);
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let (commands, steps, forks) = ((HOSTS * STEPS) as f64, STEPS as f64, s.forks as f64);
    println!(
        "  {label:<38} median {:>7.1} ms  min {:>7.1} ms | per command {:>5.2} ms, per step {:>5.1} ms | per command: CPU {:>5.2} ms (controller {:>4.2} ms), {:>4.1} processes",
        ms(s.median),
        ms(s.min),
        ms(s.median) / commands,
        ms(s.median) / steps,
        ms(s.cpu) / commands,
        ms(s.controller) / commands,
        forks / commands,
    );
    s
}

fn ratio(a: &Stats, b: &Stats) -> (f64, f64) {
    (
        a.median.as_secs_f64() / b.median.as_secs_f64(),
        a.min.as_secs_f64() / b.min.as_secs_f64(),
    )
}

fn verdict(r: f64) -> &'static str {
    if r <= TARGET_RATIO {
        "met"
    } else {
        "MISSED"
    }
}

#[expect(clippy::too_many_lines, reason = "one report, top to bottom")]
fn main() {
    let nproc = std::thread::available_parallelism().map_or(0, usize::from);
    let ssh_version = Command::new("ssh")
        .arg("-V")
        .output()
        .expect("ssh -V")
        .stderr;
    println!(
        "exec_bench: {HOSTS} sshd hosts on loopback, {STEPS} steps each ({} commands per run), {REPS} runs per figure; nproc {nproc} (hosts and controller share it); {}",
        HOSTS * STEPS,
        String::from_utf8_lossy(&ssh_version).trim()
    );
    let cluster = SshCluster::start(HOSTS);
    let work = tempfile::Builder::new()
        .prefix("qb")
        .tempdir_in("/tmp")
        .expect("work dir");
    WORK.set(work.path().to_path_buf()).expect("set once");
    let inventory_text = cluster.inventory_yaml("");
    let inventory = work.path().join("inventory.yaml");
    std::fs::write(&inventory, &inventory_text).expect("inventory");

    let ssh_loop = Plain {
        cluster: &cluster,
        control: work.path().join("p"),
    };
    std::fs::create_dir_all(&ssh_loop.control).expect("control dir");
    let first = measure(|| ssh_loop.open_masters());
    println!(
        "plain ssh, first connection of 8 hosts in parallel (key exchange; not in the warm figures): {:.1} ms",
        ms(first.wall)
    );
    let alone = wrapper_alone(&work.path().join("wrapper-home"));
    println!(
        "journal wrapper alone, locally, per task (no SSH): {:.2} ms wall, {:.2} ms CPU, {} processes",
        ms(alone.wall),
        ms(alone.cpu),
        alone.forks
    );

    let mut engine: Option<Engine> = None;
    let mut verdicts = Vec::new();
    for (n, shape) in [Shape::Barrier, Shape::Chains].into_iter().enumerate() {
        let text = shape.runbook();
        let compiled = compile_plan(&text, &inventory_text);
        let plan = &compiled;
        let engine = engine.get_or_insert_with(|| {
            Engine::new(&work.path().join("state"), work.path().join("e"), plan)
        });
        // Warm-up: opens the engine's masters (first shape), warms sled and the hosts.
        let warm = engine.run(plan);
        let _ = ssh_loop.run(shape);

        let mut engine_runs = Vec::new();
        let mut plain_runs = Vec::new();
        let mut transport = Vec::new();
        let mut journal = Vec::new();
        for rep in 0..REPS {
            engine_runs.push(engine.run(plan));
            plain_runs.push(ssh_loop.run(shape));
            transport.push(engine.layer(plan, shape, Layer::Transport, ""));
            journal.push(engine.layer(plan, shape, Layer::Journal, &format!("bench{n}-{rep}")));
        }
        let engine_samples: Vec<Sample> = engine_runs.iter().map(|r| r.sample).collect();

        let rb_path = work.path().join(format!("runbook-{n}.yaml"));
        std::fs::write(&rb_path, &text).expect("runbook");
        let state = work.path().join(format!("state-bin-{n}"));
        let mut binary = Vec::new();
        let mut cold = Vec::new();
        for _ in 0..REPS {
            binary.push(binary_run(&rb_path, &inventory, &state));
            cold.push(ssh_loop.run_cold(shape));
        }

        println!("\n{}, warm masters:", shape.name());
        let eng = line("engine (library: create_run + drive_run)", &engine_samples);
        let pla = line("plain ssh loop (ssh client per command)", &plain_runs);
        let (med, min) = ratio(&eng, &pla);
        println!(
            "  ratio engine/plain: median {med:.2}x, min {min:.2}x; target <= {TARGET_RATIO}x: {}",
            verdict(med)
        );
        let commit_times: Vec<Sample> = engine_runs
            .iter()
            .map(|r| Sample {
                wall: r.commit_time,
                ..Sample::default()
            })
            .collect();
        let com = stats(&commit_times);
        println!(
            "  store: {} group commits per run (create_run included), {:.1} ms in them (median) = {:.0}% of the engine's wall time; warm-up run (opens masters on first use) {:.1} ms",
            engine_runs[0].commits,
            ms(com.median),
            100.0 * com.median.as_secs_f64() / eng.median.as_secs_f64(),
            ms(warm.sample.wall),
        );
        println!("  where the engine's time goes (same commands, same shape, same masters):");
        let tra = line("transport only (Connections::run)", &transport);
        let jou = line("transport + journal (run_task)", &journal);
        println!(
            "  split of the engine's median: transport {:.0} ms, journal wrapper {:+.0} ms, dispatcher + store {:+.0} ms",
            ms(tra.median),
            ms(jou.median) - ms(tra.median),
            ms(eng.median) - ms(jou.median),
        );
        println!(
            "{}, cold (new process / new masters every run; the binary's controller CPU leaves out its masters):",
            shape.name()
        );
        let bin = line("quorate run binary, end to end", &binary);
        let cold_plain = line("plain ssh loop + opening 8 masters", &cold);
        let (cmed, cmin) = ratio(&bin, &cold_plain);
        println!("  ratio binary/plain: median {cmed:.2}x, min {cmin:.2}x");
        verdicts.push((shape.name(), med));
    }
    ssh_loop.close_masters();
    if let Some(engine) = engine {
        engine.close();
    }
    println!();
    for (name, r) in verdicts {
        println!(
            "target engine <= {TARGET_RATIO}x plain, {name}: {r:.2}x, {}",
            verdict(r)
        );
    }
}
