//! The transport against real sshd processes on loopback (and the local transport): what
//! reaches the host, what the host records, and what survives a dropped connection.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use quorate::transport::{
    probe, remove_run, run_task, wait_task, Connections, HostKeys, HostSpec, JournalState,
    SshSettings, TaskOutcome, TaskSpec, TransportError, TransportKind, Upload, MAX_CONTROL_DIR_LEN,
};
use support::sshd::{alive, keygen, SshCluster};
use tokio::task::JoinSet;

/// The wrapper as the hosts get it, for driving it by hand where the API cannot reach.
const WRAPPER: &str = include_str!("../engine/src/transport/wrapper.sh");

fn connections(cluster: &SshCluster, name: &str) -> Arc<Connections> {
    Arc::new(Connections::new(cluster.settings(), cluster.dir().join(name)).expect("connections"))
}

fn task<'a>(run: &'a str, key: &'a str, command: &'a str) -> TaskSpec<'a> {
    TaskSpec {
        run,
        key,
        command,
        env: &[],
        cwd: None,
        sudo: false,
        timeout: None,
    }
}

/// A task's journal files: `runs/RUN/KEY.NAME` (`JournalEntry::file`).
struct JournalEntry(PathBuf);

impl JournalEntry {
    fn file(&self, name: &str) -> PathBuf {
        let mut p = self.0.clone().into_os_string();
        p.push(".");
        p.push(name);
        PathBuf::from(p)
    }
}

/// The exit record of a finished task: the second line of its `pid` file.
fn exit_line(entry: &JournalEntry) -> String {
    let pid = fs::read_to_string(entry.file("pid")).expect("the pid file");
    let lines: Vec<&str> = pid.lines().collect();
    assert_eq!(lines.len(), 2, "pid file {pid:?}");
    lines[1].to_owned()
}

fn journal(home: &Path, run: &str, key: &str) -> JournalEntry {
    JournalEntry(home.join(".quorate/runs").join(run).join(key))
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("utf-8")
}

fn read_pid(path: &Path) -> u32 {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .split_whitespace()
        .next()
        .expect("a pid")
        .parse()
        .expect("a number")
}

/// Waits until `path` exists (a task on the host reached some point).
async fn appears(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until none of `pids` is alive, failing after a few seconds.
async fn all_gone(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while pids.iter().any(|&p| alive(p)) {
        assert!(Instant::now() < deadline, "still alive: {pids:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stop_pid(pid: u32) {
    let _ = kill(Pid::from_raw(i32::try_from(pid).unwrap()), Signal::SIGKILL);
}

/// Every process's argv, to prove a secret is in none of them.
fn all_command_lines() -> Vec<String> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .collect()
}

/// Every file under `dir`, recursively, with its content.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), fs::read(&path).unwrap()));
        }
    }
    out
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            x.to_be_bytes()[0]
        })
        .collect()
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn local_host() -> HostSpec {
    HostSpec {
        name: "controller".into(),
        address: "localhost".into(),
        port: None,
        user: None,
        kind: TransportKind::Local,
    }
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_returns_output_and_every_command_shares_one_master() {
    let cluster = SshCluster::start(2);
    let conns = connections(&cluster, "c");
    let host = cluster.spec(0);

    let started = Instant::now();
    let out = conns
        .run(&host, "echo out; echo err >&2; exit 3", b"")
        .await
        .unwrap();
    let first = started.elapsed();
    assert_eq!(
        (out.code, text(&out.stdout), text(&out.stderr)),
        (Some(3), "out\n", "err\n")
    );

    // One argument, exactly as written, through the login shell and `sh -c`; each fake
    // host runs in its own home.
    for i in 0..2 {
        let out = conns
            .run(
                &cluster.spec(i),
                r#"printf '%s|' "$HOME" "$(pwd)" 'it'\''s' "$0""#,
                b"",
            )
            .await
            .unwrap();
        let home = cluster.hosts[i].home.display().to_string();
        assert_eq!(text(&out.stdout), format!("{home}|{home}|it's|sh|"));
    }

    let data = pseudo_random(1 << 20, 7);
    let out = conns.run(&host, "cat; echo eof >&2", &data).await.unwrap();
    assert!(out.stdout == data, "stdin did not arrive intact");
    assert_eq!(text(&out.stderr), "eof\n");
    // Input the command does not read is not an error.
    let out = conns.run(&host, "echo ignored", &data).await.unwrap();
    assert_eq!((out.code, text(&out.stdout)), (Some(0), "ignored\n"));

    // Codes the mux client treats specially elsewhere are plain exit codes here.
    for code in [127, 255] {
        let out = conns
            .run(&host, &format!("exit {code}"), b"")
            .await
            .unwrap();
        assert_eq!(out.code, Some(code));
    }
    // A signal death has no exit code, unless a shell in between (here the fake host's
    // ForceCommand) reports it as 128 + N.
    let out = conns.run(&host, "kill -KILL $$", b"").await.unwrap();
    assert!(matches!(out.code, None | Some(137)), "{:?}", out.code);

    let started = Instant::now();
    for i in 0..50 {
        let out = conns.run(&host, &format!("echo {i}"), b"").await.unwrap();
        assert_eq!(text(&out.stdout), format!("{i}\n"));
    }
    let sequential = started.elapsed() / 50;

    let started = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..50 {
        let (conns, host) = (Arc::clone(&conns), host.clone());
        set.spawn(async move {
            let out = conns.run(&host, &format!("echo {i}"), b"").await.unwrap();
            assert_eq!(text(&out.stdout), format!("{i}\n"));
        });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
    let concurrent = started.elapsed();
    println!(
        "connect + first command {first:?}; then per command over the master: \
         {sequential:?} one at a time, {concurrent:?} for 50 at once"
    );
    assert_eq!(
        cluster.accepted_connections(0),
        1,
        "every command to a host goes over one master connection"
    );
    assert_eq!(cluster.accepted_connections(1), 1);

    conns.close().await;
    let masters = || {
        fs::read_dir(conns.control_dir())
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".ssh-connection")
            })
            .count()
    };
    assert_eq!(masters(), 0, "close removes every master's socket");
    let log = fs::read_to_string(cluster.dir().join("h0/sshd.log")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fs::read_to_string(cluster.dir().join("h0/sshd.log"))
        .unwrap()
        .contains("Disconnected from user root")
    {
        assert!(
            Instant::now() < deadline,
            "the master did not hang up:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Used again after close: a new master, lazily.
    assert!(conns.run(&host, "true", b"").await.unwrap().success());
    assert_eq!(cluster.accepted_connections(0), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_is_exact_atomic_and_skipped_when_equal() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster, "c");
    let host = cluster.spec(0);
    let node = cluster.hosts[0].home.join("node");
    let dest = node.join("bin.new");
    let dest_str = dest.to_str().unwrap();

    let data = pseudo_random(3 << 20, 1);
    let up = conns
        .upload(&host, &data, dest_str, Some(0o750))
        .await
        .unwrap();
    assert_eq!(up, Upload::Written);
    assert!(fs::read(&dest).unwrap() == data);
    assert_eq!(mode_of(&dest), 0o750);

    let up = conns
        .upload(&host, &data, dest_str, Some(0o750))
        .await
        .unwrap();
    assert_eq!(up, Upload::Skipped);
    let up = conns
        .upload(&host, &data, dest_str, Some(0o700))
        .await
        .unwrap();
    assert_eq!(up, Upload::Skipped, "same content, only the mode changes");
    assert_eq!(mode_of(&dest), 0o700);

    let changed = pseudo_random(3 << 20, 2);
    let up = conns.upload(&host, &changed, dest_str, None).await.unwrap();
    assert_eq!(up, Upload::Written);
    assert!(conns.download(&host, dest_str).await.unwrap() == changed);

    // A relative destination is relative to the login directory, the host's home.
    let up = conns
        .upload(&host, b"x\n", "node/rel.txt", None)
        .await
        .unwrap();
    assert_eq!(up, Upload::Written);
    assert_eq!(fs::read(node.join("rel.txt")).unwrap(), b"x\n");
    assert_eq!(
        conns.upload(&host, b"", "node/empty", None).await.unwrap(),
        Upload::Written
    );
    assert_eq!(fs::read(node.join("empty")).unwrap(), b"");

    let err = conns.download(&host, "node/missing").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "node0: cannot read node/missing: node/missing: no such file"
    );
    let err = conns
        .upload(&host, b"x", "nowhere/file", None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "node0: cannot write nowhere/file: directory nowhere does not exist"
    );
    let leftovers: Vec<_> = fs::read_dir(&node)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("quorate"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    let big = pseudo_random(32 << 20, 3);
    let started = Instant::now();
    let up = conns
        .upload(&host, &big, dest_str, Some(0o755))
        .await
        .unwrap();
    let up_time = started.elapsed();
    assert_eq!(up, Upload::Written);
    let started = Instant::now();
    let back = conns.download(&host, dest_str).await.unwrap();
    let down_time = started.elapsed();
    assert!(back == big);
    let mib = |t: Duration| 32.0 / t.as_secs_f64();
    println!(
        "32 MiB: upload {up_time:?} ({:.0} MiB/s, hashing and verifying included), \
         download {down_time:?} ({:.0} MiB/s)",
        mib(up_time),
        mib(down_time)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_is_recorded_and_its_secrets_stay_off_the_command_line_and_the_disk() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster, "c");
    let host = cluster.spec(0);
    let home = cluster.hosts[0].home.clone();
    let secret = "s3cr3t-'Zq9$x";
    // The command holds the secret too (a rendered template may); the output does not,
    // because the journal records output by design.
    let command = format!(
        "if [ \"$TOKEN\" = {} ]; then echo token-reached; fi; pwd; echo to-stderr >&2; sleep 1; exit 4",
        quorate::shell::quote(secret)
    );
    let env = vec![("TOKEN".to_owned(), secret.to_owned())];
    let node = home.join("node");
    let spec = TaskSpec {
        env: &env,
        cwd: Some(node.to_str().unwrap()),
        ..task("run1", "n1-a1", &command)
    };
    let entry = journal(&home, "run1", "n1-a1");

    let running = {
        let (conns, host) = (Arc::clone(&conns), host.clone());
        let (command, node, env) = (command.clone(), node.clone(), env.clone());
        tokio::spawn(async move {
            let spec = TaskSpec {
                env: &env,
                cwd: Some(node.to_str().unwrap()),
                ..task("run1", "n1-a1", &command)
            };
            run_task(&conns, &host, &spec).await
        })
    };
    appears(&entry.file("pid")).await;
    let wrapper = read_pid(&entry.file("pid"));
    let argv = String::from_utf8_lossy(&fs::read(format!("/proc/{wrapper}/cmdline")).unwrap())
        .replace('\0', " ");
    // The task runs in the host's journal server, whose command line is the wrapper only.
    assert!(argv.contains("while IFS= read -r q_req"), "{argv}");
    for line in all_command_lines() {
        assert!(
            !line.contains("s3cr3t"),
            "the secret is in a command line: {line}"
        );
    }
    let inputs: Vec<_> = fs::read_dir(home.join(".quorate/runs/run1"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".input."))
        .map(|e| e.path())
        .collect();
    assert!(
        inputs.is_empty(),
        "without a timeout or sudo the input never touches the disk"
    );
    assert_eq!(mode_of(&home.join(".quorate/runs/run1")), 0o700);

    let outcome = running.await.unwrap().unwrap();
    assert_eq!(
        outcome,
        TaskOutcome {
            exit: 4,
            stdout: format!("token-reached\n{}\n", node.display()).into_bytes(),
            stderr: b"to-stderr\n".to_vec(),
            timed_out: false,
        }
    );
    // The exit record is the pid file's second line; no `exit` file is made.
    assert_eq!(exit_line(&entry), "4 0");
    assert!(!entry.file("exit").exists());
    assert_eq!(fs::read(entry.file("stdout")).unwrap(), outcome.stdout);
    assert_eq!(fs::read(entry.file("stderr")).unwrap(), outcome.stderr);
    for (path, content) in files_under(&home.join(".quorate")) {
        assert!(
            !String::from_utf8_lossy(&content).contains("s3cr3t"),
            "the secret stayed on disk in {}",
            path.display()
        );
    }
    // The same key again: the recorded outcome, not a second run.
    assert_eq!(run_task(&conns, &host, &spec).await.unwrap(), outcome);

    // sudo -n never prompts: it runs, or fails at once.
    let spec = TaskSpec {
        sudo: true,
        ..task("run1", "sudo-a1", "id -u")
    };
    let started = Instant::now();
    let outcome = run_task(&conns, &host, &spec).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    if outcome.exit == 0 {
        assert_eq!(text(&outcome.stdout), "0\n");
    } else {
        assert!(text(&outcome.stderr).contains("sudo"), "{outcome:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_kills_the_task_and_its_children_on_the_host() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster, "c");
    let host = cluster.spec(0);
    let node = cluster.hosts[0].home.join("node");
    let cwd = node.to_str().unwrap();

    let command = "sleep 300 & echo $! > child.pid; echo $$ > main.pid; wait";
    let spec = TaskSpec {
        cwd: Some(cwd),
        timeout: Some(Duration::from_secs(2)),
        ..task("run1", "t-a1", command)
    };
    let started = Instant::now();
    let outcome = run_task(&conns, &host, &spec).await.unwrap();
    let took = started.elapsed();
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.exit, 124);
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
    all_gone(&[
        read_pid(&node.join("main.pid")),
        read_pid(&node.join("child.pid")),
    ])
    .await;

    // A command that ignores TERM gets KILL 5 s later, children included.
    let command = "trap '' TERM; sleep 300 & echo $! > child2.pid; echo $$ > main2.pid; wait";
    let spec = TaskSpec {
        cwd: Some(cwd),
        timeout: Some(Duration::from_secs(1)),
        ..task("run1", "t-a2", command)
    };
    let outcome = run_task(&conns, &host, &spec).await.unwrap();
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.exit, 137);
    all_gone(&[
        read_pid(&node.join("main2.pid")),
        read_pid(&node.join("child2.pid")),
    ])
    .await;

    // A command that exits 124 by itself before its deadline did not time out.
    let spec = TaskSpec {
        timeout: Some(Duration::from_secs(30)),
        ..task("run1", "t-a3", "exit 124")
    };
    let outcome = run_task(&conns, &host, &spec).await.unwrap();
    assert_eq!((outcome.exit, outcome.timed_out), (124, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_timeout1_a_watchdog_kills_the_process_group() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster, "c");
    let host = cluster.spec(0);
    let home = cluster.hosts[0].home.clone();
    // A `timeout` that does not work hides the real one.
    let fake = home.join("fakebin");
    fs::create_dir_all(&fake).unwrap();
    fs::write(fake.join("timeout"), "#!/bin/sh\nexit 127\n").unwrap();
    fs::set_permissions(fake.join("timeout"), fs::Permissions::from_mode(0o755)).unwrap();
    // The wrapper run once, with the framing of wrapper.sh: LEN bytes of input ending
    // with the nonce's end line.
    let nonce = "0123456789abcdef0123456789abcdef";
    let input = format!(
        "sleep 300 & echo $! > child.pid; echo $$ > main.pid; wait\n# quorate-end {nonce}\n"
    );
    let script = format!(
        "PATH={}:$PATH; export PATH\nset -- task run1 w-a1 1 0 {} {nonce}\n{WRAPPER}",
        fake.display(),
        input.len()
    );
    let out = conns.run(&host, &script, input.as_bytes()).await.unwrap();
    let head = text(&out.stdout).lines().next().unwrap().to_owned();
    assert_eq!(
        head,
        format!("quorate-journal {nonce} finished exit=143 timed_out=1")
    );
    all_gone(&[
        read_pid(&home.join("main.pid")),
        read_pid(&home.join("child.pid")),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_daemon_outlives_its_task_which_returns_at_once() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster, "c");
    let host = cluster.spec(0);
    let node = cluster.hosts[0].home.join("node");
    for (key, timeout) in [("d-a1", None), ("d-a2", Some(Duration::from_secs(30)))] {
        let command = format!("nohup sleep 60 >/dev/null 2>&1 & echo $! > {key}.pid; echo started");
        let spec = TaskSpec {
            cwd: Some(node.to_str().unwrap()),
            timeout,
            ..task("run1", key, &command)
        };
        let started = Instant::now();
        let outcome = run_task(&conns, &host, &spec).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!((outcome.exit, text(&outcome.stdout)), (0, "started\n"));
        let daemon = read_pid(&node.join(format!("{key}.pid")));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(alive(daemon), "the daemon died with its task");
        stop_pid(daemon);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_tells_running_finished_and_never_started_apart() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster, "c");
    let host = cluster.spec(0);
    let home = cluster.hosts[0].home.clone();
    journal_semantics(&conns, &host, &home, "run1").await;
}

/// The same story on any transport: never started, running after the controller let go,
/// finished (and replayed, not re-run), removed.
async fn journal_semantics(conns: &Connections, host: &HostSpec, home: &Path, run: &str) {
    let state = probe(conns, host, run, "unknown-a1").await.unwrap();
    assert_eq!(state, JournalState::NotStarted);

    // The controller gives up waiting (as if it died); the task goes on on the host.
    let slow = task(run, "slow-a1", "sleep 1.5; echo slept; exit 5");
    let gave_up = tokio::time::timeout(Duration::from_millis(400), run_task(conns, host, &slow));
    assert!(gave_up.await.is_err());
    let JournalState::Running { pid } = probe(conns, host, run, "slow-a1").await.unwrap() else {
        panic!("not running");
    };
    assert!(alive(pid));
    assert_eq!(pid, read_pid(&journal(home, run, "slow-a1").file("pid")));
    let outcome = wait_task(conns, host, run, "slow-a1", Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!((outcome.exit, text(&outcome.stdout)), (5, "slept\n"));
    assert_eq!(
        probe(conns, host, run, "slow-a1").await.unwrap(),
        JournalState::Finished(outcome)
    );

    // Delivered twice: it ran once.
    let log = home.join(format!("{run}-appended.txt"));
    let command = format!(
        "echo line >> {}; echo appended",
        quorate::shell::quote(log.to_str().unwrap())
    );
    let once = task(run, "append-a1", &command);
    let first = run_task(conns, host, &once).await.unwrap();
    let again = run_task(conns, host, &once).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(fs::read_to_string(&log).unwrap(), "line\n");
    assert_eq!(
        probe(conns, host, run, "append-a1").await.unwrap(),
        JournalState::Finished(first)
    );

    // Delivered again while the first delivery still runs: waits for it, runs nothing.
    let command = format!(
        "sleep 1; echo line >> {}",
        quorate::shell::quote(log.to_str().unwrap())
    );
    let twice = task(run, "append-a2", &command);
    let gave_up = tokio::time::timeout(Duration::from_millis(300), run_task(conns, host, &twice));
    assert!(gave_up.await.is_err());
    let outcome = run_task(conns, host, &twice).await.unwrap();
    assert_eq!(outcome.exit, 0);
    assert_eq!(fs::read_to_string(&log).unwrap(), "line\nline\n");

    // A journal an older wrapper wrote (the exit record in a file of its own, the pid
    // file one line): replayed, never run again.
    let old = journal(home, run, "old-a1");
    fs::write(old.file("pid"), "1 some-boot 1\n").unwrap();
    fs::write(old.file("stdout"), "old out\n").unwrap();
    fs::write(old.file("stderr"), "old err\n").unwrap();
    fs::write(old.file("exit"), "3 0\n").unwrap();
    let recorded = TaskOutcome {
        exit: 3,
        stdout: b"old out\n".to_vec(),
        stderr: b"old err\n".to_vec(),
        timed_out: false,
    };
    assert_eq!(
        probe(conns, host, run, "old-a1").await.unwrap(),
        JournalState::Finished(recorded.clone())
    );
    let again = format!(
        "echo ran >> {}",
        quorate::shell::quote(log.to_str().unwrap())
    );
    let outcome = run_task(conns, host, &task(run, "old-a1", &again))
        .await
        .unwrap();
    assert_eq!(outcome, recorded);
    assert_eq!(fs::read_to_string(&log).unwrap(), "line\nline\n");

    remove_run(conns, host, run).await.unwrap();
    assert!(!home.join(".quorate/runs").join(run).exists());
    let state = probe(conns, host, run, "slow-a1").await.unwrap();
    assert_eq!(state, JournalState::NotStarted);
    let _ = fs::remove_file(log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_keys_are_checked_strictly_unless_accept_new_is_asked_for() {
    let cluster = SshCluster::start(1);
    let host = cluster.spec(0);
    let h = &cluster.hosts[0];
    let settings = |config: PathBuf, host_keys| SshSettings {
        config: Some(config),
        host_keys,
        connect_timeout: Duration::from_secs(5),
    };
    let connect = |name: &str, config: PathBuf, host_keys| {
        Connections::new(settings(config, host_keys), cluster.dir().join(name)).unwrap()
    };

    // A known_hosts entry with another key for this host.
    let impostor = cluster.dir().join("impostor");
    keygen(&impostor);
    let public = fs::read_to_string(impostor.with_extension("pub")).unwrap();
    let key: Vec<&str> = public.split_whitespace().take(2).collect();
    let wrong = cluster.dir().join("wrong_known_hosts");
    fs::write(
        &wrong,
        format!("[{}]:{} {}\n", h.address, h.port, key.join(" ")),
    )
    .unwrap();
    let wrong_config = cluster.client_config_with("wrong_config", &wrong, "yes");
    for (name, policy) in [("c1", HostKeys::Strict), ("c2", HostKeys::AcceptNew)] {
        let conns = connect(name, wrong_config.clone(), policy);
        let err = conns.run(&host, "true", b"").await.unwrap_err();
        let TransportError::Connect {
            host: name,
            message,
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(name, "node0");
        assert!(message.contains("host key does not match"), "{message}");
        assert!(
            err.to_string().starts_with("cannot connect to node0: "),
            "{err}"
        );
        assert!(err.is_retryable());
    }

    // Not in known_hosts at all.
    let empty = cluster.dir().join("empty_known_hosts");
    fs::write(&empty, "").unwrap();
    let empty_config = cluster.client_config_with("empty_config", &empty, "yes");
    let conns = connect("c3", empty_config.clone(), HostKeys::Strict);
    let err = conns.run(&host, "true", b"").await.unwrap_err().to_string();
    assert!(
        err.contains("cannot connect to node0: the host key of 127.0.0.2 is not in known_hosts"),
        "{err}"
    );

    // accept-new records it, and strict checking then accepts the recorded key.
    let conns = connect("c4", empty_config.clone(), HostKeys::AcceptNew);
    assert!(conns.run(&host, "true", b"").await.unwrap().success());
    assert!(!fs::read_to_string(&empty).unwrap().trim().is_empty());
    let conns = connect("c5", empty_config, HostKeys::Strict);
    assert!(conns.run(&host, "true", b"").await.unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_drops_off_is_lost_then_unreachable_then_back_with_its_journal() {
    let mut cluster = SshCluster::start(2);
    let conns = connections(&cluster, "c");
    let (host, other) = (cluster.spec(0), cluster.spec(1));
    let home = cluster.hosts[0].home.clone();
    assert!(conns.run(&host, "true", b"").await.unwrap().success());
    assert!(conns.run(&other, "true", b"").await.unwrap().success());

    let running = {
        let (conns, host) = (Arc::clone(&conns), host.clone());
        tokio::spawn(async move {
            run_task(
                &conns,
                &host,
                &task("run1", "k-a1", "sleep 1.5; echo survived"),
            )
            .await
        })
    };
    appears(&journal(&home, "run1", "k-a1").file("pid")).await;
    cluster.stop(0);
    let err = running.await.unwrap().unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
    assert!(err.to_string().contains("node0"), "{err}");

    // The master may take a moment to notice; then: nothing listens.
    let deadline = Instant::now() + Duration::from_secs(5);
    let err = loop {
        match conns.run(&host, "true", b"").await {
            Err(e @ TransportError::Connect { .. }) => break e,
            Err(e) if e.outcome_unknown() && Instant::now() < deadline => {}
            other => panic!("{other:?}"),
        }
    };
    let message = err.to_string();
    assert!(
        message.starts_with("cannot connect to node0: "),
        "{message}"
    );
    assert!(message.contains("Connection refused"), "{message}");
    assert!(conns.run(&other, "true", b"").await.unwrap().success());

    cluster.restart(0);
    assert!(conns.run(&host, "true", b"").await.unwrap().success());
    let outcome = wait_task(&conns, &host, "run1", "k-a1", Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!((outcome.exit, text(&outcome.stdout)), (0, "survived\n"));
    assert_eq!(cluster.accepted_connections(1), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_transport_keeps_the_same_contract() {
    let dir = tempfile::Builder::new()
        .prefix("ql")
        .tempdir_in("/tmp")
        .unwrap();
    let conns = Connections::new(SshSettings::default(), dir.path().join("c")).unwrap();
    let host = local_host();

    let out = conns
        .run(&host, "cat; echo err >&2; exit 3", b"from stdin")
        .await
        .unwrap();
    assert_eq!(
        (out.code, text(&out.stdout), text(&out.stderr)),
        (Some(3), "from stdin", "err\n")
    );
    let out = conns
        .run(&host, "echo ignored", &pseudo_random(1 << 20, 9))
        .await
        .unwrap();
    assert_eq!((out.code, text(&out.stdout)), (Some(0), "ignored\n"));

    let dest = dir.path().join("file");
    let dest_str = dest.to_str().unwrap();
    let up = conns
        .upload(&host, b"abc", dest_str, Some(0o640))
        .await
        .unwrap();
    assert_eq!(up, Upload::Written);
    assert_eq!(mode_of(&dest), 0o640);
    let up = conns
        .upload(&host, b"abc", dest_str, Some(0o640))
        .await
        .unwrap();
    assert_eq!(up, Upload::Skipped);
    assert_eq!(conns.download(&host, dest_str).await.unwrap(), b"abc");

    // The local journal lives in the controller's own home.
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let run = unique("local");
    let env = vec![("TOKEN".to_owned(), "local-secret".to_owned())];
    let cwd = dir.path().to_str().unwrap();
    let spec = TaskSpec {
        env: &env,
        cwd: Some(cwd),
        ..task(&run, "n1-a1", "[ \"$TOKEN\" = local-secret ] && pwd")
    };
    let outcome = run_task(&conns, &host, &spec).await.unwrap();
    assert_eq!(
        (outcome.exit, text(&outcome.stdout)),
        (0, format!("{cwd}\n").as_str())
    );
    assert_eq!(exit_line(&journal(&home, &run, "n1-a1")), "0 0");

    let command = format!("cd {cwd}; sleep 300 & echo $! > child.pid; echo $$ > main.pid; wait");
    let spec = TaskSpec {
        timeout: Some(Duration::from_secs(1)),
        ..task(&run, "t-a1", &command)
    };
    let outcome = run_task(&conns, &host, &spec).await.unwrap();
    assert_eq!((outcome.exit, outcome.timed_out), (124, true));
    all_gone(&[
        read_pid(&dir.path().join("main.pid")),
        read_pid(&dir.path().join("child.pid")),
    ])
    .await;

    let daemon = format!("nohup sleep 60 >/dev/null 2>&1 & echo $! > {cwd}/daemon.pid");
    let started = Instant::now();
    run_task(&conns, &host, &task(&run, "d-a1", &daemon))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    let daemon = read_pid(&dir.path().join("daemon.pid"));
    assert!(alive(daemon));
    stop_pid(daemon);

    journal_semantics(&conns, &host, &home, &run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_a_connect_error_after_the_timeout() {
    // Accepts TCP connections and says nothing.
    let silent = tokio::net::TcpListener::bind("127.0.0.250:0")
        .await
        .unwrap();
    let port = silent.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let dir = tempfile::Builder::new()
        .prefix("qt")
        .tempdir_in("/tmp")
        .unwrap();
    let settings = SshSettings {
        connect_timeout: Duration::from_secs(1),
        ..SshSettings::default()
    };
    let conns = Connections::new(settings, dir.path().join("c")).unwrap();
    let host = HostSpec {
        name: "mute".into(),
        address: "127.0.0.250".into(),
        port: Some(port),
        user: Some("root".into()),
        kind: TransportKind::Ssh,
    };
    let started = Instant::now();
    let err = conns.run(&host, "true", b"").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let message = err.to_string();
    assert!(message.starts_with("cannot connect to mute: "), "{message}");
    assert!(message.contains("timed out"), "{message}");
    holder.abort();
}

#[tokio::test]
async fn a_control_directory_too_long_for_a_socket_is_refused_with_the_fix() {
    let long = PathBuf::from("/tmp").join("x".repeat(MAX_CONTROL_DIR_LEN));
    let Err(err) = Connections::new(SshSettings::default(), long) else {
        panic!("accepted");
    };
    let message = err.to_string();
    assert!(matches!(err, TransportError::Setup(_)));
    assert!(message.contains("must fit a Unix socket path"), "{message}");
    assert!(message.contains("at most 60 bytes"), "{message}");
}

#[test]
fn the_fixture_inventory_is_a_valid_inventory() {
    let cluster = SshCluster::start(2);
    let yaml = cluster.inventory_yaml(
        "groups:\n  sealers: [node0, node1]\ncluster:\n  consensus: cft\n  members: sealers\n",
    );
    assert!(yaml.contains(&format!("port: {}", cluster.hosts[1].port)));
    let path = cluster.dir().join("inventory.yaml");
    fs::write(&path, yaml).unwrap();
    let out = support::Quorate::new()
        .arg("validate")
        .arg(&path)
        .run()
        .success();
    assert!(out.starts_with("ok: "), "{out}");
}
