//! `quorate demo`: a demo chain on this machine (local transport, no sshd needed), started,
//! planned, upgraded with `rolling-upgrade` under live progress, with the health table
//! before and after, and what to try next; or, with `--setup-only`, the chain and its
//! inventory (with spare hosts) as a playground for the built-in runbooks. `--system etcd`
//! is a real etcd cluster instead (`demo_etcd.rs`).

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::args::{Cli, DemoArgs};
use super::demo_inventory::{inventory, DemoLayout};
use super::exit::{DONE, FAILED};
use crate::source::Diagnostic;

/// The version the demo upgrades the chain to.
const NEW_VERSION: &str = "1.1.0";

pub(super) fn failed(message: impl Into<String>) -> Vec<Diagnostic> {
    vec![Diagnostic::error(message.into())]
}

/// This binary, started as the demo chain's node program.
fn demo_node(exe: &Path) -> Command {
    let mut c = Command::new(exe);
    c.arg0("demo-node");
    c
}

pub(super) fn run_checked(mut cmd: Command, what: &str) -> Result<String, Vec<Diagnostic>> {
    let out = cmd
        .output()
        .map_err(|e| failed(format!("cannot {what}: {e}")))?;
    if !out.status.success() {
        return Err(failed(format!(
            "cannot {what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A base port with `count` ports free from it, for the chain's nodes and the spares.
/// It is taken below 32768, outside Linux's ephemeral range: a spare's port is only bound
/// when `add-node` starts it, and a port in that range could by then be the local port of
/// any outgoing connection (the nodes' own links among them).
fn free_base_port(count: u16) -> u16 {
    const LOW: u16 = 20_000;
    const HIGH: u16 = 32_000;
    let span = HIGH - LOW - count.min(HIGH - LOW - 1);
    let seed = std::hash::BuildHasher::hash_one(
        &std::collections::hash_map::RandomState::new(),
        std::process::id(),
    );
    let free = |base: u16| {
        (base..base.saturating_add(count))
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
    };
    (0..200u64)
        .map(|k| LOW + u16::try_from(seed.wrapping_add(k * 97) % u64::from(span)).unwrap_or(0))
        .find(|&base| free(base))
        .unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_or(30300, |a| a.port())
        })
}

fn status(node_dir: &Path) -> Option<Value> {
    let out = Command::new(node_dir.join("status.sh"))
        .current_dir(node_dir)
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

fn health_table(chain: &Path, nodes: usize, title: &str) {
    outln!("\n{title}");
    outln!(
        "  {:6}  {:8}  {:8}  {:7}  {:>6}  {:6}  {:5}",
        "NODE",
        "RUNNING",
        "ROLE",
        "VERSION",
        "HEIGHT",
        "SYNCED",
        "PEERS"
    );
    for i in 0..nodes {
        let name = format!("node{i}");
        if let Some(s) = status(&chain.join(&name)) {
            outln!(
                "  {name:6}  {:8}  {:8}  {:7}  {:>6}  {:6}  {:5}",
                s["running"].to_string(),
                s["role"].as_str().unwrap_or("?"),
                s["version"].as_str().unwrap_or("?"),
                s["height"].to_string(),
                s["synced"].to_string(),
                s["peers"].to_string()
            );
        } else {
            outln!("  {name:6}  no answer");
        }
    }
}

/// Waits until every node reports healthy (or gives up after `limit`).
fn wait_healthy(chain: &Path, nodes: usize, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        let all = (0..nodes).all(|i| {
            let dir = chain.join(format!("node{i}"));
            Command::new(dir.join("status.sh"))
                .arg("--healthy")
                .current_dir(&dir)
                .output()
                .is_ok_and(|o| o.status.success())
        });
        if all {
            return true;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    false
}

fn stop_chain(chain: &Path) {
    let _ = Command::new(chain.join("stop_all.sh")).output();
}

/// The demo directory `dir` (absolute), emptied: what an earlier demo left there in
/// `DIR/inner` is stopped with `stop` first. Returns (`dir`, `dir/inner`).
pub(super) fn fresh_dir(
    dir: &Path,
    inner: &str,
    stop: fn(&Path),
) -> Result<(PathBuf, PathBuf), Vec<Diagnostic>> {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let inner = dir.join(inner);
    if inner.exists() {
        stop(&inner);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| failed(format!("cannot clear {}: {e}", dir.display())))?;
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
    Ok((dir, inner))
}

fn is_builtin(name: &str) -> bool {
    crate::catalog::BUILTIN
        .iter()
        .any(|(file, _)| file.strip_suffix(".yaml") == Some(name))
}

/// What to try on a chain made with `--setup-only`: each built-in runbook's command line.
fn playground_hints(dir: &Path, l: &DemoLayout<'_>) {
    let inv = dir.join("inventory.yaml").display().to_string();
    let q = format!("quorate --state {}", dir.join("state").display());
    let spare = format!("node{}", l.sealers);
    let victim = "node1";
    outln!(
        "\nthe inventory: {inv}\nnothing runs on the spare hosts{} until add-node makes them nodes.",
        if l.spares == 0 {
            " (none: pass --spares K)".to_owned()
        } else {
            format!(" ({spare}..)")
        }
    );
    outln!("\nwhat to try (`quorate` is this binary: `cargo run -q -p quorate --` or target/debug/quorate):\n");
    outln!("  {q} run health-check -i {inv}");
    outln!(
        "  {q} run rolling-upgrade -i {inv} -p binary=NEW_BINARY -p version=X.Y.Z\n      (make NEW_BINARY with: {}/demo-node release --version 1.1.0 --out {}/demo-node-1.1.0)",
        l.chain.display(),
        dir.display()
    );
    if is_builtin("rolling-restart") {
        outln!(
            "  {q} run rolling-restart -i {inv}{}",
            if l.spares > 0 { " --limit sealers" } else { "" }
        );
    }
    if l.spares > 0 && is_builtin("add-node") {
        outln!("  {q} run add-node -i {inv} -p node={spare}");
    }
    if is_builtin("remove-node") {
        // Refused below the consensus' minimum (bft 4, cft 3 sealers): say so up front.
        outln!(
            "  {q} run remove-node -i {inv} -p node={victim}\n      (refused when it would leave fewer than {} sealers: add a node first)",
            if l.consensus == "cft" { 3 } else { 4 }
        );
    }
    if is_builtin("migrate-disk") {
        outln!(
            "  {q} run migrate-disk -i {inv} -p node={victim} -p dest={}\n      (stops at the approval to remove the old data: `{q} approve RUN`, then `{q} resume RUN`)",
            dir.join("disk2").join(format!("{victim}-data")).display()
        );
    }
    if l.spares >= l.sealers && is_builtin("replace-upgrade") {
        let new: Vec<String> = (l.sealers..2 * l.sealers)
            .map(|i| format!("node{i}"))
            .collect();
        outln!(
            "  {q} run replace-upgrade -i {inv} -p nodes={} -p binary=NEW_BINARY -p version=X.Y.Z",
            new.join(",")
        );
    }
    outln!(
        "  {q} runs   |   {q} show RUN   |   interrupt a run (Ctrl-C), then `{q} resume RUN`\n  stop the chain: {}",
        l.chain.join("stop_all.sh").display()
    );
}

#[expect(
    clippy::too_many_lines,
    reason = "the demo's steps, in the order the user sees them"
)]
pub fn run(cli: &Cli, args: &DemoArgs) -> Result<u8, Vec<Diagnostic>> {
    if args.system == "etcd" {
        return super::demo_etcd::run(cli, args);
    }
    let exe = std::env::current_exe()
        .map_err(|e| failed(format!("cannot locate the quorate binary: {e}")))?;
    let (dir, chain) = fresh_dir(&args.dir, "chain", stop_chain)?;
    let nodes = usize::from(args.sealers);
    let spares = usize::from(args.spares);
    outln!(
        "creating a {nodes}-sealer {} demo chain in {}",
        args.consensus,
        chain.display()
    );
    // The ports after a free one may be taken: another base port is tried then.
    let mut attempts = 0;
    let base_port = loop {
        let base_port = free_base_port(args.sealers.saturating_add(args.spares));
        let mut init = demo_node(&exe);
        init.args(["init", "--dir"]).arg(&chain).args([
            "--sealers",
            &nodes.to_string(),
            "--consensus",
            &args.consensus,
            "--base-port",
            &base_port.to_string(),
            "--start",
        ]);
        attempts += 1;
        match run_checked(init, "create the demo chain") {
            Ok(_) => break base_port,
            Err(e) if attempts >= 3 => return Err(e),
            Err(_) => {
                stop_chain(&chain);
                let _ = std::fs::remove_dir_all(&chain);
            }
        }
    };
    // The node program, by the name the chain's scripts and `add-node` call it.
    std::os::unix::fs::symlink(&exe, chain.join("demo-node"))
        .map_err(|e| failed(format!("cannot link {}/demo-node: {e}", chain.display())))?;
    let inv = dir.join("inventory.yaml");
    let layout = DemoLayout {
        chain: &chain,
        sealers: nodes,
        consensus: &args.consensus,
        spare_port: base_port.saturating_add(args.sealers),
        spares,
    };
    std::fs::write(&inv, inventory(&layout))
        .map_err(|e| failed(format!("cannot write {}: {e}", inv.display())))?;
    if !wait_healthy(&chain, nodes, Duration::from_secs(30)) {
        stop_chain(&chain);
        return Err(failed(
            "the demo chain did not become healthy within 30 s; see its logs under chain/node*/log",
        ));
    }
    if args.setup_only {
        health_table(&chain, nodes, "the chain:");
        playground_hints(&dir, &layout);
        return Ok(DONE);
    }
    let release = dir.join(format!("demo-node-{NEW_VERSION}"));
    let mut rel = demo_node(&exe);
    rel.args(["release", "--version", NEW_VERSION, "--out"])
        .arg(&release);
    run_checked(rel, "build the new release")?;
    health_table(&chain, nodes, "health before the upgrade:");
    let state = dir.join("state");
    let params = [
        format!("binary={}", release.display()),
        format!("version={NEW_VERSION}"),
    ];
    let quorate = |args: &[&str]| {
        let mut c = Command::new(&exe);
        c.arg("--state").arg(&state).args(args);
        c
    };
    outln!(
        "\nthe plan (`quorate plan rolling-upgrade -i {} -p {} -p {}`):\n",
        inv.display(),
        params[0],
        params[1]
    );
    let inv_s = inv.display().to_string();
    let plan_args = [
        "plan",
        "rolling-upgrade",
        "-i",
        &inv_s,
        "-p",
        &params[0],
        "-p",
        &params[1],
    ];
    let planned = quorate(&plan_args)
        .status()
        .ok()
        .and_then(|s| s.code())
        .unwrap_or(1);
    if planned != 0 {
        stop_chain(&chain);
        return Err(failed(
            "the demo's plan was refused (see above); the chain is stopped",
        ));
    }
    outln!("\nrunning it:\n");
    let mut run_args = plan_args;
    run_args[0] = "run";
    let code = quorate(&run_args)
        .status()
        .ok()
        .and_then(|s| s.code())
        .unwrap_or(1);
    health_table(&chain, nodes, "health after the upgrade:");
    let q = format!("quorate --state {}", state.display());
    outln!("\nwhat to try next (`quorate` is this binary: `cargo run -q -p quorate --` or target/debug/quorate):");
    outln!(
        "\n  {q} runs                      # the run history\n  {q} show RUN                  # its tasks: host, step, state, attempts, duration\n  quorate plan health-check -i {inv_s}\n  {q} run health-check -i {inv_s}\n  interrupt a run with Ctrl-C (or kill it), then `{q} resume RUN`\n  stop the chain: {}",
        chain.join("stop_all.sh").display()
    );
    if args.stop {
        stop_chain(&chain);
        outln!("(the chain is stopped: --stop)");
    }
    Ok(if code == 0 {
        DONE
    } else {
        u8::try_from(code).unwrap_or(FAILED)
    })
}
