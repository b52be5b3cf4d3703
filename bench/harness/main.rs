//! The tools benchmark: N real sshd hosts on loopback (the test fixture), the same
//! workload run by quorate, OpenSSH loops with and without multiplexing, a bare
//! native-mux loop, ansible-core and pyinfra, in alternated repetitions; then quorate's
//! internal figures; results merged into bench/out/results.json, from which
//! docs/benchmarks.md and its plot are written.
//!
//! Run: `bench/run` (builds, installs ansible-core and pyinfra into bench/.venv, runs
//! everything). Directly: `cargo bench -p quorate --bench tools_bench -- [OPTIONS]`, see
//! `--help`.

#[path = "../../tests/support/sshd.rs"]
#[allow(dead_code)]
mod sshd;

mod bare;
mod internal;
mod measure;
mod plot;
mod report;
mod results;
mod tools;
mod workload;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use results::{Results, RunResult};
use sshd::SshCluster;
use tools::{Kex, Setup, Tool};
use workload::{verify, Target};

/// The matrix of (hosts, steps) cells.
const CELLS: [(usize, usize); 5] = [(1, 50), (8, 20), (16, 20), (64, 10), (250, 4)];

const USAGE: &str = "\
tools_bench [OPTIONS]
  --cells NxM,...    cells to run (default 1x50,8x20,16x20,64x10,250x4)
  --tools A,B,...    quorate,bare-mux,ssh-mux,ssh-nomux,ansible-linear,ansible-free,pyinfra
  --kex K,...        default,curve25519 (for the OpenSSH-based tools; default both)
  --reps R           repetitions per tool and cell, alternated (default 3)
  --no-internal      skip quorate's internal figures
  --internal-only    only quorate's internal figures
  --report-only      only regenerate docs/benchmarks.md and the plot from results.json
  --venv DIR         the virtualenv with ansible-core and pyinfra (default bench/.venv)
  --quorate PATH     the quorate binary to measure (default: the one cargo built); another
                     one keeps its results apart, like --hosts-dir
  --hosts-dir DIR    where the fake hosts' homes live (default /tmp); another one keeps
                     its results apart, in bench/out/results-hosts-in-<DIR>.json, and
                     leaves docs/benchmarks.md alone";

struct Options {
    cells: Vec<(usize, usize)>,
    tools: Vec<Tool>,
    kex: Vec<Kex>,
    reps: usize,
    internal: bool,
    matrix: bool,
    venv: PathBuf,
    hosts_dir: Option<PathBuf>,
    quorate: Option<PathBuf>,
}

fn list<T>(arg: Option<String>, parse: impl Fn(&str) -> Option<T>) -> Vec<T> {
    let arg = arg.unwrap_or_else(|| fail("a list is missing after an option"));
    arg.split(',')
        .map(|w| parse(w).unwrap_or_else(|| fail(&format!("unknown value `{w}`"))))
        .collect()
}

fn fail(message: &str) -> ! {
    eprintln!("tools_bench: {message}\n{USAGE}");
    std::process::exit(2)
}

fn parse_cell(w: &str) -> Option<(usize, usize)> {
    let (n, m) = w.split_once('x')?;
    Some((n.parse().ok()?, m.parse().ok()?))
}

fn options(args: Vec<String>) -> Option<Options> {
    let mut o = Options {
        cells: CELLS.to_vec(),
        tools: tools::ALL.to_vec(),
        kex: vec![Kex::Default, Kex::Curve],
        reps: 3,
        internal: true,
        matrix: true,
        venv: repo().join("bench/.venv"),
        hosts_dir: None,
        quorate: None,
    };
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cells" => o.cells = list(args.next(), parse_cell),
            "--tools" => o.tools = list(args.next(), Tool::from_name),
            "--kex" => o.kex = list(args.next(), Kex::from_name),
            "--reps" => {
                o.reps = args
                    .next()
                    .and_then(|r| r.parse().ok())
                    .filter(|&r| r > 0)
                    .unwrap_or_else(|| fail("--reps takes a positive number"));
            }
            "--no-internal" => o.internal = false,
            "--internal-only" => o.matrix = false,
            "--report-only" => return None,
            "--venv" => o.venv = args.next().unwrap_or_else(|| fail("--venv DIR")).into(),
            "--quorate" => {
                o.quorate = Some(args.next().unwrap_or_else(|| fail("--quorate PATH")).into());
            }
            "--hosts-dir" => {
                o.hosts_dir = Some(
                    args.next()
                        .unwrap_or_else(|| fail("--hosts-dir DIR"))
                        .into(),
                );
            }
            // cargo bench passes it.
            "--bench" => {}
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => fail(&format!("unknown option `{other}`")),
        }
    }
    Some(o)
}

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Child processes of the harness: this binary again.
    match args.first().map(String::as_str) {
        Some("bare-loop") => return bare::main(bare::BareArgs::parse(&args[1..])),
        Some("internal-compile") => {
            return internal::compile_child(args[1].parse().expect("hosts"));
        }
        Some("internal-reads") => return internal::reads_child(Path::new(&args[1])),
        Some("internal-store") => {
            return internal::store_child(Path::new(&args[1]), Path::new(&args[2]));
        }
        _ => {}
    }
    let out_dir = repo().join("bench/out");
    fs::create_dir_all(&out_dir).expect("bench/out");
    let options = options(args);
    let apart = options.as_ref().and_then(|o| {
        let name = |p: &PathBuf| p.display().to_string().replace('/', "_");
        match (&o.hosts_dir, &o.quorate) {
            (None, None) => None,
            (hosts, quorate) => Some(format!(
                "results{}{}.json",
                hosts
                    .as_ref()
                    .map_or(String::new(), |d| format!("-hosts-in-{}", name(d))),
                quorate
                    .as_ref()
                    .map_or(String::new(), |q| format!("-quorate-{}", name(q)))
            )),
        }
    });
    let results_path = out_dir.join(apart.as_deref().unwrap_or("results.json"));
    let mut results = Results::load(&results_path);
    if let Some(o) = &options {
        measure::become_subreaper();
        let work = tempfile::Builder::new()
            .prefix("qb")
            .tempdir_in("/tmp")
            .expect("work dir");
        results.machine = results::machine(&o.venv);
        if o.matrix && !o.cells.is_empty() && !o.tools.is_empty() {
            matrix(o, work.path(), &mut results, &results_path);
        }
        if o.internal {
            let exe = std::env::current_exe().expect("own path");
            results.internal = Some(internal::measure(
                &exe,
                Path::new(env!("CARGO_BIN_EXE_quorate")),
                work.path(),
            ));
            results.save(&results_path);
        }
    }
    if apart.is_some() {
        println!("results in {}", results_path.display());
        return;
    }
    let docs = repo().join("docs");
    plot::write(&results, &docs.join("benchmarks-wall.svg"));
    let tmpfs_path = out_dir.join(report::TMPFS_RESULTS);
    let tmpfs = tmpfs_path.exists().then(|| Results::load(&tmpfs_path));
    fs::write(
        docs.join("benchmarks.md"),
        report::markdown(&results, tmpfs.as_ref()),
    )
    .expect("benchmarks.md");
    println!("wrote docs/benchmarks.md and docs/benchmarks-wall.svg");
}

/// The variants of `tools` to run: the OpenSSH-based ones once per key exchange.
fn variants(o: &Options) -> Vec<(Tool, Kex)> {
    let mut v = Vec::new();
    for &t in &o.tools {
        if t.has_kex_variants() {
            v.extend(o.kex.iter().map(|&k| (t, k)));
        } else {
            v.push((t, Kex::Default));
        }
    }
    v
}

fn matrix(o: &Options, work: &Path, results: &mut Results, results_path: &Path) {
    let most = o.cells.iter().map(|c| c.0).max().expect("cells");
    println!("starting {most} sshd hosts");
    let cluster = match &o.hosts_dir {
        None => SshCluster::start(most),
        Some(dir) => SshCluster::start_in(most, dir),
    };
    let listeners: Vec<u32> = cluster.hosts.iter().map(|h| h.pid).collect();
    let curve = cluster.dir().join("ssh_config_curve");
    let base = fs::read_to_string(&cluster.ssh_config).expect("ssh_config");
    fs::write(&curve, format!("{base}  KexAlgorithms curve25519-sha256\n")).expect("config");
    let variants = variants(o);
    let mut counter = 0usize;
    // One unrecorded run of each tool first (1 host, 1 step): loads caches, compiles
    // Python byte code.
    let mut warm = true;
    for &(hosts, steps) in &o.cells {
        let mut setup = setup(&cluster, &curve, hosts, steps, &o.venv, work);
        if let Some(quorate) = &o.quorate {
            setup.quorate.clone_from(quorate);
        }
        if warm {
            let one = setup_one(&setup);
            for &(tool, kex) in &variants {
                counter += 1;
                let _ = run_once(&one, tool, kex, work, counter, &listeners);
            }
            warm = false;
        }
        let mut fresh = Vec::new();
        for rep in 0..o.reps {
            for &(tool, kex) in &variants {
                counter += 1;
                let r = run_once(&setup, tool, kex, work, counter, &listeners);
                println!(
                    "{hosts:>3}x{steps:<2} rep {rep} {:<15} kex {:<10} {}",
                    tool.name(),
                    kex.name(),
                    r.summary()
                );
                fresh.push(r);
            }
        }
        results.replace_cell(hosts, steps, fresh);
        results.save(results_path);
    }
}

fn setup(
    cluster: &SshCluster,
    curve: &Path,
    hosts: usize,
    steps: usize,
    venv: &Path,
    work: &Path,
) -> Setup {
    let targets: Vec<Target> = cluster.hosts[..hosts]
        .iter()
        .map(|h| Target {
            name: h.name.clone(),
            address: h.address.clone(),
            port: h.port,
        })
        .collect();
    let full = cluster.inventory_yaml("");
    // The inventory of the first `hosts` hosts: the fixture writes one block per host.
    let inventory_text = first_hosts(&full, hosts);
    let inventory = work.join(format!("inventory-{hosts}.yaml"));
    fs::write(&inventory, &inventory_text).expect("inventory");
    let inventory_curve = work.join(format!("inventory-{hosts}-curve.yaml"));
    fs::write(
        &inventory_curve,
        inventory_text.replace(
            &format!("config: {}", cluster.ssh_config.display()),
            &format!("config: {}", curve.display()),
        ),
    )
    .expect("inventory");
    Setup {
        hosts: targets,
        steps,
        ssh_config: cluster.ssh_config.clone(),
        ssh_config_curve: curve.to_path_buf(),
        client_key: cluster.client_key.clone(),
        known_hosts: cluster.known_hosts.clone(),
        inventory,
        inventory_curve,
        quorate: PathBuf::from(env!("CARGO_BIN_EXE_quorate")),
        own_exe: std::env::current_exe().expect("own path"),
        venv: venv.to_path_buf(),
    }
}

/// The fixture's inventory cut to its first `n` hosts (each host is 6 lines under
/// `hosts:`; the `ssh:` section follows them).
fn first_hosts(full: &str, n: usize) -> String {
    let lines: Vec<&str> = full.lines().collect();
    let ssh = lines
        .iter()
        .position(|l| l.starts_with("ssh:"))
        .expect("the ssh section");
    let mut out: Vec<&str> = lines[..2 + 6 * n].to_vec();
    out.extend(&lines[ssh..]);
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// The warm-up's setup: the first host, one step.
fn setup_one(s: &Setup) -> Setup {
    Setup {
        hosts: s.hosts[..1].to_vec(),
        steps: 1,
        ssh_config: s.ssh_config.clone(),
        ssh_config_curve: s.ssh_config_curve.clone(),
        client_key: s.client_key.clone(),
        known_hosts: s.known_hosts.clone(),
        inventory: s.inventory.clone(),
        inventory_curve: s.inventory_curve.clone(),
        quorate: s.quorate.clone(),
        own_exe: s.own_exe.clone(),
        venv: s.venv.clone(),
    }
}

fn run_once(
    setup: &Setup,
    tool: Tool,
    kex: Kex,
    work: &Path,
    counter: usize,
    listeners: &[u32],
) -> RunResult {
    // Short: control sockets live below it.
    let scratch = work.join(format!("r{counter}"));
    let dir = scratch.join("out");
    fs::create_dir_all(&dir).expect("run dir");
    let load1 = results::load_average();
    let command: Command = setup.command(tool, kex, &dir, &scratch);
    let (status, sample) = measure::run(command, listeners);
    let error = if status.success() {
        verify(&dir, &setup.hosts, setup.steps).err()
    } else {
        Some(format!(
            "exited with {status}\n{}",
            tools::log_tail(&scratch)
        ))
    };
    if error.is_none() {
        let _ = fs::remove_dir_all(&scratch);
    } else {
        eprintln!(
            "{} ({}) failed; its files are kept in {}",
            tool.name(),
            kex.name(),
            scratch.display()
        );
    }
    RunResult::new(
        tool,
        kex,
        setup.hosts.len(),
        setup.steps,
        sample,
        load1,
        error,
    )
}
