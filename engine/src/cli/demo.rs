//! `quorate demo`: a 4-node demo chain on this machine (local transport, no sshd needed),
//! started, planned, upgraded with `rolling-upgrade` under live progress, with the health
//! table before and after, and what to try next.

use std::fmt::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::args::{Cli, DemoArgs};
use super::exit::{DONE, FAILED};
use crate::source::Diagnostic;

/// The version the demo upgrades the chain to.
const NEW_VERSION: &str = "1.1.0";

fn failed(message: impl Into<String>) -> Vec<Diagnostic> {
    vec![Diagnostic::error(message.into())]
}

/// This binary, started as the demo chain's node program.
fn demo_node(exe: &Path) -> Command {
    let mut c = Command::new(exe);
    c.arg0("demo-node");
    c
}

fn run_checked(mut cmd: Command, what: &str) -> Result<String, Vec<Diagnostic>> {
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

/// A port with free ones after it, for the chain's nodes.
fn free_base_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(30300, |a| a.port())
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

fn inventory(chain: &Path, nodes: usize) -> String {
    let mut y = String::from(
        "# The demo chain: four sealers on this machine, reached without SSH.\nname: quorate-demo\nhosts:\n",
    );
    for i in 0..nodes {
        let _ = writeln!(
            y,
            "  node{i}: {{ transport: local, vars: {{ node_dir: {} }} }}",
            chain.join(format!("node{i}")).display()
        );
    }
    let names: Vec<String> = (0..nodes).map(|i| format!("node{i}")).collect();
    let _ = write!(
        y,
        "groups:\n  sealers: [{}]\ncluster:\n  consensus: bft\n  members: sealers\n  health: cd {{{{host.vars.node_dir}}}} && ./status.sh --healthy\n  membership: cd {{{{host.vars.node_dir}}}} && ./status.sh --sealers\n",
        names.join(", ")
    );
    y
}

fn stop_chain(chain: &Path) {
    let _ = Command::new(chain.join("stop_all.sh")).output();
}

#[expect(
    clippy::too_many_lines,
    reason = "the demo's steps, in the order the user sees them"
)]
pub fn run(_cli: &Cli, args: &DemoArgs) -> Result<u8, Vec<Diagnostic>> {
    let exe = std::env::current_exe()
        .map_err(|e| failed(format!("cannot locate the quorate binary: {e}")))?;
    let dir = std::path::absolute(&args.dir).unwrap_or_else(|_| args.dir.clone());
    let chain = dir.join("chain");
    if chain.exists() {
        stop_chain(&chain);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| failed(format!("cannot clear {}: {e}", dir.display())))?;
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
    let nodes = 4;
    outln!("creating a {nodes}-node demo chain in {}", chain.display());
    // The ports after a free one may be taken: another base port is tried then.
    let mut attempts = 0;
    loop {
        let mut init = demo_node(&exe);
        init.args(["init", "--dir"]).arg(&chain).args([
            "--sealers",
            &nodes.to_string(),
            "--base-port",
            &free_base_port().to_string(),
            "--start",
        ]);
        attempts += 1;
        match run_checked(init, "create the demo chain") {
            Ok(_) => break,
            Err(e) if attempts >= 3 => return Err(e),
            Err(_) => {
                stop_chain(&chain);
                let _ = std::fs::remove_dir_all(&chain);
            }
        }
    }
    let release = dir.join(format!("demo-node-{NEW_VERSION}"));
    let mut rel = demo_node(&exe);
    rel.args(["release", "--version", NEW_VERSION, "--out"])
        .arg(&release);
    run_checked(rel, "build the new release")?;
    let inv = dir.join("inventory.yaml");
    std::fs::write(&inv, inventory(&chain, nodes))
        .map_err(|e| failed(format!("cannot write {}: {e}", inv.display())))?;
    if !wait_healthy(&chain, nodes, Duration::from_secs(30)) {
        stop_chain(&chain);
        return Err(failed(
            "the demo chain did not become healthy within 30 s; see its logs under chain/node*/log",
        ));
    }
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
