//! `quorate demo --system etcd`: a real etcd cluster on this machine (members on 127.0.0.1,
//! each with its own ports, data directory, start/stop scripts and pid file) and its
//! inventory; then a `rolling-restart` under live progress, or, with `--setup-only`, what
//! to try with the built-in runbooks.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::args::{Cli, DemoArgs};
use super::demo::{failed, fresh_dir, run_checked};
use super::demo_etcd_files::{
    inventory, EtcdLayout, MEMBER_INIT, MEMBER_START, MEMBER_STOP, STOP_ALL,
};
use super::exit::{DONE, FAILED};
use crate::source::Diagnostic;

/// The programs the cluster needs, and the Debian package that provides each.
const PROGRAMS: [(&str, &str); 2] = [("etcd", "etcd-server"), ("etcdctl", "etcd-client")];

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Refuses, naming the Debian packages, when `etcd` or `etcdctl` is not on PATH.
fn check_programs() -> Result<(), Vec<Diagnostic>> {
    let missing: Vec<_> = PROGRAMS.iter().filter(|(p, _)| !on_path(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = missing
        .iter()
        .map(|(p, pkg)| format!("`{p}` (Debian package {pkg})"))
        .collect();
    let pkgs: Vec<&str> = missing.iter().map(|(_, pkg)| *pkg).collect();
    Err(vec![Diagnostic::error(format!(
        "quorate demo --system etcd needs {} on PATH",
        names.join(" and ")
    ))
    .with_hint(format!(
        "install with: apt-get install {}",
        pkgs.join(" ")
    ))])
}

/// `count` distinct free ports on 127.0.0.1 (held open together, so none repeats).
fn free_ports(count: usize) -> Result<Vec<u16>, Vec<Diagnostic>> {
    let listeners: Vec<std::net::TcpListener> = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .map_err(|e| failed(format!("cannot find free ports on 127.0.0.1: {e}")))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| failed(format!("cannot find free ports on 127.0.0.1: {e}")))
}

fn write_script(path: &Path, text: &str) -> Result<(), Vec<Diagnostic>> {
    std::fs::write(path, text)
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))
}

fn sh(dir: &Path, command: &str) -> std::io::Result<std::process::Output> {
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .output()
}

fn stop_cluster(cluster: &Path) {
    let _ = Command::new(cluster.join("stop_all.sh")).output();
}

/// Waits until every member answers `endpoint health` (or gives up after `limit`).
fn wait_healthy(dirs: &[PathBuf], limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        let all = dirs.iter().all(|d| {
            sh(d, ". ./member.env && etcdctl endpoint health").is_ok_and(|o| o.status.success())
        });
        if all {
            return true;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    false
}

/// `etcdctl endpoint status` and `member list` of the cluster, as etcd prints them.
fn status_table(cluster: &Path, first: &Path, title: &str) {
    outln!("\n{title}");
    let list = sh(
        first,
        ". ./member.env && ETCDCTL_ENDPOINTS=\"$CLUSTER_ENDPOINTS\" etcdctl -w table endpoint status --cluster",
    );
    match list {
        Ok(o) => out!("{}", String::from_utf8_lossy(&o.stdout)),
        Err(e) => outln!("  cannot run etcdctl in {}: {e}", cluster.display()),
    }
}

/// What to try on a cluster made with `--setup-only`: each built-in runbook's command line.
fn playground_hints(dir: &Path, cluster: &Path, members: usize, spares: usize) {
    let inv = dir.join("inventory.yaml").display().to_string();
    let q = format!("quorate --state {}", dir.join("state").display());
    let spare = format!("etcd{members}");
    outln!(
        "\nthe inventory: {inv}\nnothing runs on the spare hosts{} until add-node makes them members.",
        if spares == 0 {
            " (none: pass --spares K)".to_owned()
        } else {
            format!(" ({spare}..)")
        }
    );
    outln!("\nwhat to try (`quorate` is this binary: `cargo run -q -p quorate --` or target/debug/quorate):\n");
    outln!("  {q} run health-check -i {inv} --limit members");
    outln!("  {q} run rolling-restart -i {inv} --limit members");
    if spares > 0 {
        outln!("  {q} run add-node -i {inv} -p node={spare}");
    }
    outln!("  {q} run remove-node -i {inv} -p node=etcd1\n      (refused when it would leave fewer than 2 members)");
    outln!(
        "  {q} run etcd-backup -i {inv} -p dest={}\n  {q} run etcd-disaster-recovery -i {inv} -p from={}/RUN_ID --limit members",
        dir.join("backups").display(),
        dir.join("backups").display()
    );
    outln!(
        "  etcdctl by hand: . {}/member.env && etcdctl member list",
        cluster.join("etcd0").display()
    );
    outln!(
        "  {q} runs   |   {q} show RUN   |   interrupt a run (Ctrl-C), then `{q} resume RUN`\n  stop the cluster: {}",
        cluster.join("stop_all.sh").display()
    );
}

/// Creates the cluster directory, its scripts and the members' directories, and starts
/// every member; returns the layout for the inventory.
fn create_cluster(
    cluster: &Path,
    members: usize,
    spares: usize,
) -> Result<EtcdLayout<'_>, Vec<Diagnostic>> {
    std::fs::create_dir_all(cluster)
        .map_err(|e| failed(format!("cannot create {}: {e}", cluster.display())))?;
    write_script(
        &cluster.join("member-init.sh"),
        &MEMBER_INIT.replace("__TOKEN__", super::demo_etcd_files::CLUSTER_TOKEN),
    )?;
    write_script(&cluster.join("member-start.sh"), MEMBER_START)?;
    write_script(&cluster.join("member-stop.sh"), MEMBER_STOP)?;
    write_script(&cluster.join("stop_all.sh"), STOP_ALL)?;
    let ports = free_ports(2 * (members + spares))?;
    let hosts: Vec<(String, String, String)> = (0..members + spares)
        .map(|i| {
            (
                format!("etcd{i}"),
                format!("http://127.0.0.1:{}", ports[2 * i]),
                format!("http://127.0.0.1:{}", ports[2 * i + 1]),
            )
        })
        .collect();
    let initial: Vec<String> = hosts[..members]
        .iter()
        .map(|(n, _, p)| format!("{n}={p}"))
        .collect();
    let endpoints: Vec<&str> = hosts[..members].iter().map(|h| h.1.as_str()).collect();
    std::fs::write(cluster.join("endpoints"), endpoints.join(","))
        .map_err(|e| failed(format!("cannot write {}/endpoints: {e}", cluster.display())))?;
    for (name, client, peer) in &hosts[..members] {
        let mut init = Command::new(cluster.join("member-init.sh"));
        init.args([name, client, peer, "new", &initial.join(",")]);
        run_checked(init, &format!("create member {name}"))?;
        run_checked(
            Command::new(cluster.join(name).join("start.sh")),
            &format!("start {name}"),
        )?;
    }
    Ok(EtcdLayout {
        cluster,
        hosts,
        members,
    })
}

pub fn run(_cli: &Cli, args: &DemoArgs) -> Result<u8, Vec<Diagnostic>> {
    check_programs()?;
    let exe = std::env::current_exe()
        .map_err(|e| failed(format!("cannot locate the quorate binary: {e}")))?;
    let (dir, cluster) = fresh_dir(&args.dir, "etcd", stop_cluster)?;
    let members = usize::from(args.members);
    let spares = usize::from(args.spares);
    outln!(
        "creating a {members}-member etcd cluster in {}",
        cluster.display()
    );
    let layout = match create_cluster(&cluster, members, spares) {
        Ok(l) => l,
        Err(e) => {
            stop_cluster(&cluster);
            return Err(e);
        }
    };
    let inv = dir.join("inventory.yaml");
    std::fs::write(&inv, inventory(&layout))
        .map_err(|e| failed(format!("cannot write {}: {e}", inv.display())))?;
    let member_dirs: Vec<PathBuf> = layout.hosts[..members]
        .iter()
        .map(|h| cluster.join(&h.0))
        .collect();
    if !wait_healthy(&member_dirs, Duration::from_secs(30)) {
        stop_cluster(&cluster);
        return Err(failed(
            "the etcd cluster did not become healthy within 30 s; see etcd/etcd*/etcd.log",
        ));
    }
    let first = &member_dirs[0];
    if args.setup_only {
        status_table(&cluster, first, "the cluster:");
        playground_hints(&dir, &cluster, members, spares);
        return Ok(DONE);
    }
    status_table(&cluster, first, "before the rolling restart:");
    let inv_s = inv.display().to_string();
    outln!("\nrunning `quorate run rolling-restart -i {inv_s} --limit members`:\n");
    let code = Command::new(&exe)
        .arg("--state")
        .arg(dir.join("state"))
        .args(["run", "rolling-restart", "-i", &inv_s, "--limit", "members"])
        .status()
        .ok()
        .and_then(|s| s.code())
        .unwrap_or(1);
    status_table(&cluster, first, "after the rolling restart:");
    playground_hints(&dir, &cluster, members, spares);
    if args.stop {
        stop_cluster(&cluster);
        outln!("(the cluster is stopped: --stop)");
    }
    Ok(if code == 0 {
        DONE
    } else {
        u8::try_from(code).unwrap_or(FAILED)
    })
}
