//! Compiles a synthetic runbook of 50 steps (40 plain, one rolling block of 10) over an
//! inventory of 1,000 hosts, i.e. 50,000 tasks, and prints the time and peak memory.
//!
//! Run: `cargo bench -p quorate --bench compile_bench`

use std::fmt::Write as _;
use std::time::Instant;

use quorate::catalog::Catalog;
use quorate::plan::{compile, parse_inventory, parse_runbook, text, CompileOptions, ParamInput};
use quorate::source::SourceFile;

const HOSTS: usize = 1_000;
const PLAIN_STEPS: usize = 40;
const ROLLING_STEPS: usize = 10;

fn inventory() -> String {
    let mut s = String::from("name: bench\nhosts:\n");
    for i in 0..HOSTS {
        let _ = writeln!(
            s,
            "  h{i}: {{ address: 127.0.{}.{}, vars: {{ node_dir: /data/node{i}, zone: z{} }} }}",
            i / 250 + 1,
            i % 250 + 1,
            i % 4
        );
    }
    s.push_str("groups:\n  members: [");
    s.push_str(
        &(0..HOSTS)
            .map(|i| format!("h{i}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    s.push_str("]\nvars: { chain_id: \"7\" }\ncluster:\n  consensus: cft\n  members: members\n  health: \"{{host.vars.node_dir}}/status.sh --healthy\"\n");
    s
}

fn runbook() -> String {
    let mut s = String::from(
        "runbook: bench\nparams:\n  version: { schema: { type: string }, default: \"1.2.3\" }\non: all\nsteps:\n",
    );
    for i in 0..PLAIN_STEPS {
        let _ = writeln!(
            s,
            "  - id: s{i}\n    run: \"{{{{host.vars.node_dir}}}}/step.sh {i} --chain {{{{vars.chain_id}}}} --version {{{{params.version}}}}\"\n    creates: \"{{{{host.vars.node_dir}}}}/done-{i}\""
        );
    }
    s.push_str("  - id: roll\n    rolling:\n      batch: 25%\n      by: \"{{host.vars.zone}}\"\n      steps:\n");
    for i in 0..ROLLING_STEPS {
        let _ = writeln!(
            s,
            "        - id: r{i}\n          run: \"{{{{host.vars.node_dir}}}}/roll.sh {i}\""
        );
    }
    s
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let (inv_text, rb_text) = (inventory(), runbook());
    let before = peak_rss_mib();
    let start = Instant::now();
    let inv =
        parse_inventory(SourceFile::new("bench-inventory.yaml", inv_text)).expect("inventory");
    let rb = parse_runbook(SourceFile::new("bench-runbook.yaml", rb_text)).expect("runbook");
    let parsed = start.elapsed();
    let compiled = compile(
        &rb,
        &inv,
        &[] as &[ParamInput],
        &Catalog::default(),
        &CompileOptions {
            allow_quorum_loss: true,
            ..CompileOptions::default()
        },
    )
    .expect("compile");
    let compiled_at = start.elapsed();
    let tasks = compiled.plan.tasks().count();
    let rendered = text::render(&compiled.plan);
    let total = start.elapsed();
    println!(
        "hosts: {HOSTS}, steps: {}, tasks: {tasks}, graph nodes: {}",
        PLAIN_STEPS + ROLLING_STEPS,
        compiled.plan.nodes.len()
    );
    println!("parse + schema: {:.1} ms", parsed.as_secs_f64() * 1e3);
    println!(
        "compile (parse included): {:.1} ms",
        compiled_at.as_secs_f64() * 1e3
    );
    println!(
        "text rendering of the plan: {:.1} ms ({} lines)",
        total.saturating_sub(compiled_at).as_secs_f64() * 1e3,
        rendered.lines().count()
    );
    println!(
        "peak memory: {:.1} MiB (before: {before:.1} MiB)",
        peak_rss_mib()
    );
}
