//! Hostile inputs, each in its own process so that its peak memory is its own: how long
//! quorate takes to plan 8,000 sequential steps, and to refuse 200,000 expressions in one
//! field, templates nested 5,000 deep and an include bomb (16 files, each including the
//! next twice).
//!
//! Run: `cargo bench -p quorate --bench limits_bench`

use std::fmt::Write as _;
use std::time::Instant;

use quorate::catalog::Catalog;
use quorate::plan::{compile, parse_inventory, parse_runbook, CompileOptions, ParamInput, Runbook};
use quorate::source::SourceFile;

const ITEMS: &[&str] = &[
    "8000-steps",
    "200000-expressions",
    "nested-not",
    "nested-if",
    "include-bomb",
];

fn inventory() -> String {
    "name: one\nhosts:\n  h1: { address: 127.0.0.1 }\n".to_owned()
}

fn one_step(run: &str) -> String {
    format!("runbook: hostile\non: all\nsteps:\n  - id: a\n    run: \"{run}\"\n")
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Plans `runbook` (includes resolved from `dir`); returns what happened, in a few words.
fn plan(runbook: &str, file: &str) -> String {
    let inv = parse_inventory(SourceFile::new("inventory.yaml", inventory())).expect("inventory");
    let rb = match parse_runbook(SourceFile::new(file, runbook)) {
        Ok(rb) => rb,
        Err(e) => return format!("refused: {}", e[0].message),
    };
    match compile(
        &rb,
        &inv,
        &[] as &[ParamInput],
        &Catalog::default(),
        &CompileOptions::default(),
    ) {
        Ok(c) => format!("planned {} tasks", c.plan.tasks().count()),
        Err(e) => format!("refused: {}", e[0].message),
    }
}

fn validate(runbook: &str) -> String {
    match parse_runbook(SourceFile::new("hostile.yaml", runbook)) {
        Ok(rb) => match Runbook::validate(&rb).1.first() {
            None => "valid".to_owned(),
            Some(d) => format!("refused: {}", d.message),
        },
        Err(e) => format!("refused: {}", e[0].message),
    }
}

fn run_item(item: &str) -> String {
    match item {
        "8000-steps" => {
            let mut s = String::from("runbook: long\non: all\nsteps:\n");
            for i in 0..8_000 {
                let _ = writeln!(s, "  - id: s{i}\n    run: echo {i}");
            }
            plan(&s, "steps.yaml")
        }
        "200000-expressions" => validate(&one_step(&"{{host.name}}".repeat(200_000))),
        "nested-not" => plan(
            &one_step(&format!(
                "{{{{json {}true{}}}}}",
                "(not ".repeat(5_000),
                ")".repeat(5_000)
            )),
            "not.yaml",
        ),
        "nested-if" => plan(
            &one_step(&format!(
                "{}x{}",
                "{{#if true}}".repeat(5_000),
                "{{/if}}".repeat(5_000)
            )),
            "if.yaml",
        ),
        "include-bomb" => {
            let dir = tempfile::tempdir().expect("temp dir");
            for k in 0..16 {
                let body = if k < 15 {
                    let next = format!("b{}.yaml", k + 1);
                    format!("runbook: b{k}\non: all\nsteps:\n  - {{ id: x, include: {next} }}\n  - {{ id: y, include: {next} }}\n")
                } else {
                    "runbook: b15\non: all\nsteps:\n  - { id: x, run: echo }\n".to_owned()
                };
                std::fs::write(dir.path().join(format!("b{k}.yaml")), body).expect("write");
            }
            let first = dir.path().join("b0.yaml");
            let text = std::fs::read_to_string(&first).expect("read");
            plan(&text, &first.display().to_string())
        }
        other => panic!("unknown item {other}"),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a child gets the item's name.
    if let Some(item) = std::env::args()
        .skip(1)
        .find(|a| ITEMS.contains(&a.as_str()))
    {
        let start = Instant::now();
        let outcome = run_item(&item);
        let took = start.elapsed();
        println!(
            "{item:<20} {:>9.1} ms  peak {:>7.1} MiB  {outcome}",
            took.as_secs_f64() * 1e3,
            peak_rss_mib()
        );
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    for item in ITEMS {
        let out = std::process::Command::new(&exe)
            .arg(item)
            .output()
            .expect("run item");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            println!(
                "{item:<20} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
            );
        }
    }
}
