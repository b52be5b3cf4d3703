//! The task journal's framing against hostile values and hostile output, on real sshd
//! hosts: a value or an output line shaped like the journal's markers or requests is
//! delivered as data, byte for byte, and never ends a frame, runs as a command or forges
//! an answer. Runs go through the `quorate` binary (inventory variables, parameters,
//! secrets in `env`, one host's captured stdout passed to another) or the transport API.

mod support;

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use quorate::transport::{
    probe, remove_run, run_task, scrub_output, Connections, HostSpec, JournalState, SshSettings,
    TaskOutcome, TaskSpec, TransportKind, KEPT_OUTPUT, MAX_FETCH,
};
use serde_json::Value;
use support::sshd::SshCluster;
use support::Quorate;

/// A nonce-shaped word: a forged end line must not pass for a real one.
const ZEROS: &str = "00000000000000000000000000000000";

/// A value built to break the old framing and to try the new one: end lines (old and
/// nonce-shaped), request lines that would run `touch PWNED` as a task of their own,
/// answer lines and end-of-output trailers, and shell syntax.
fn hostile(pwned: &Path) -> String {
    let p = pwned.display();
    format!(
        "ok\n# quorate-end n0-a1\ntask zzinv n1-a1 0 0\ntouch {p}\n# quorate-end n1-a1\n\
         task zzinv n9-a1 0 0 0 {ZEROS}\ntouch {p}\n# quorate-end {ZEROS}\n\
         quorate-journal {ZEROS} finished exit=0 timed_out=0\n\
         quorate-journal-stdout-end {ZEROS}\n\x1fquorate-journal-end\n\
         quorate-journal-stderr-end {ZEROS}\n\x1fquorate-journal-stderr-end\n\
         $(touch {p})`touch {p}`'\"; touch {p} \\\nrest"
    )
}

/// Three hosts and a controller directory: node0 gets the hostile value, node1 may be
/// the compromised host, node2 runs a concurrent task.
struct Lab {
    cluster: SshCluster,
    dir: tempfile::TempDir,
    pwned: PathBuf,
}

impl Lab {
    /// `node0_vars` gives node0's extra inventory variables (YAML lines), knowing the
    /// path an injected command would create.
    fn new(node0_vars: impl FnOnce(&Path) -> String) -> Self {
        let cluster = SshCluster::start(3);
        let dir = tempfile::tempdir().unwrap();
        let pwned = dir.path().join("pwned");
        let node0_vars = node0_vars(&pwned);
        let node0_dir = format!(
            "      node_dir: {}\n",
            cluster.hosts[0].home.join("node").display()
        );
        let inventory =
            cluster
                .inventory_yaml("")
                .replacen(&node0_dir, &format!("{node0_dir}{node0_vars}"), 1);
        fs::write(dir.path().join("inventory.yaml"), inventory).unwrap();
        for h in &cluster.hosts {
            fs::create_dir_all(h.home.join("node")).unwrap();
        }
        Self {
            cluster,
            dir,
            pwned,
        }
    }

    fn node(&self, i: usize) -> PathBuf {
        self.cluster.hosts[i].home.join("node")
    }

    /// `quorate run` of `runbook` with extra arguments and environment.
    fn run(&self, runbook: &str, args: &[&str], env: &[(&str, &str)]) -> Value {
        let rb = self.dir.path().join("runbook.yaml");
        fs::write(&rb, runbook).unwrap();
        let mut q = Quorate::in_lab(self.dir.path());
        for (k, v) in env {
            q = q.env(k, v);
        }
        let out = q
            .arg("run")
            .arg(&rb)
            .arg("-i")
            .arg(self.dir.path().join("inventory.yaml"))
            .arg("--plain")
            .args(args)
            .run();
        let stdout = out.success();
        let run = support::run_id_in(&stdout);
        let show = Quorate::in_lab(self.dir.path())
            .args(["show", &run, "--format", "json"])
            .run()
            .success();
        serde_json::from_str(&show).unwrap()
    }

    /// What an injection would have left: the file its command touches, or a journal
    /// entry of the forged run on any host.
    fn assert_nothing_injected(&self) {
        assert!(
            !self.pwned.exists(),
            "an injected command ran: {}",
            self.pwned.display()
        );
        for h in &self.cluster.hosts {
            let forged = h.home.join(".quorate/runs/zzinv");
            assert!(
                !forged.exists(),
                "a forged request ran: {}",
                forged.display()
            );
        }
    }

    /// node0's `out` holds exactly `value`; node2's concurrent task ran; every task of the
    /// run is recorded done, and no others.
    fn assert_delivered(&self, show: &Value, value: &str, steps: &[&str]) {
        self.assert_nothing_injected();
        assert_eq!(
            fs::read(self.node(0).join("out")).unwrap(),
            value.as_bytes()
        );
        assert_eq!(
            fs::read_to_string(self.node(2).join("slow")).unwrap(),
            "slept\n"
        );
        let tasks = show["tasks"].as_array().unwrap();
        let mut recorded: Vec<(&str, &str)> = tasks
            .iter()
            .map(|t| (t["step"].as_str().unwrap(), t["state"].as_str().unwrap()))
            .collect();
        recorded.sort_unstable();
        let mut want: Vec<(&str, &str)> = steps.iter().map(|s| (*s, "done")).collect();
        want.sort_unstable();
        assert_eq!(recorded, want, "{show}");
        assert_eq!(show["run"]["status"], "done");
    }
}

/// A runbook: node2 sleeps (a concurrent task on another host) while node0 writes
/// `VALUE` (shell-quoted by the template) to its `out`; `params` and `extra` steps go in.
fn runbook(params: &str, extra: &str, victim: &str) -> String {
    format!(
        "runbook: framing\n{params}steps:\n{extra}  - id: slow\n    needs: []\n    on: node2\n    \
         run: sleep 2; echo slept > {{{{host.vars.node_dir}}}}/slow\n  - id: victim\n{victim}"
    )
}

#[test]
fn an_inventory_variable_cannot_end_its_task_or_start_another() {
    // JSON strings are YAML double-quoted scalars.
    let lab = Lab::new(|pwned| {
        let json = serde_json::to_string(&hostile(pwned)).unwrap();
        format!("      note: {json}\n")
    });
    let value = hostile(&lab.pwned);
    let rb = runbook(
        "",
        "",
        "    needs: []\n    on: node0\n    run: printf '%s' {{host.vars.note}} > {{host.vars.node_dir}}/out\n",
    );
    let show = lab.run(&rb, &[], &[]);
    lab.assert_delivered(&show, &value, &["slow", "victim"]);
}

const PARAM: &str = "params:\n  note: { schema: { type: string } }\n";
const VICTIM_PARAM: &str =
    "    needs: []\n    on: node0\n    run: printf '%s' {{params.note}} > {{host.vars.node_dir}}/out\n";

#[test]
fn a_parameter_on_the_command_line_or_in_a_params_file_cannot_inject() {
    let lab = Lab::new(|_| String::new());
    let value = hostile(&lab.pwned);
    let rb = runbook(PARAM, "", VICTIM_PARAM);
    let show = lab.run(&rb, &["-p", &format!("note={value}")], &[]);
    lab.assert_delivered(&show, &value, &["slow", "victim"]);

    fs::remove_file(lab.node(0).join("out")).unwrap();
    let file = lab.dir.path().join("params.yaml");
    fs::write(
        &file,
        format!("note: {}\n", serde_json::to_string(&value).unwrap()),
    )
    .unwrap();
    let show = lab.run(&rb, &["--params", file.to_str().unwrap()], &[]);
    lab.assert_delivered(&show, &value, &["slow", "victim"]);
}

#[test]
fn a_secret_in_env_from_a_params_file_or_the_environment_cannot_inject() {
    let lab = Lab::new(|_| String::new());
    let value = hostile(&lab.pwned);
    let rb = runbook(
        "params:\n  note: { secret: true }\n",
        "",
        "    needs: []\n    on: node0\n    run: printf '%s' \"$NOTE\" > {{host.vars.node_dir}}/out\n    \
         env: { NOTE: \"{{params.note}}\" }\n",
    );
    let show = lab.run(&rb, &[], &[("QUORATE_PARAM_NOTE", &value)]);
    lab.assert_delivered(&show, &value, &["slow", "victim"]);

    fs::remove_file(lab.node(0).join("out")).unwrap();
    let file = lab.dir.path().join("secrets.yaml");
    fs::write(
        &file,
        format!("note: {}\n", serde_json::to_string(&value).unwrap()),
    )
    .unwrap();
    let show = lab.run(&rb, &["--params", file.to_str().unwrap()], &[]);
    lab.assert_delivered(&show, &value, &["slow", "victim"]);
}

#[test]
fn one_hosts_captured_stdout_cannot_run_commands_on_another() {
    let lab = Lab::new(|_| String::new());
    let value = hostile(&lab.pwned);
    // node1 is compromised: what it prints is the attack.
    fs::write(lab.node(1).join("evil.txt"), &value).unwrap();
    let rb = runbook(
        "",
        "  - id: evil\n    on: node1\n    run: cat {{host.vars.node_dir}}/evil.txt\n    capture: true\n",
        "    needs: [evil]\n    on: node0\n    \
         run: printf '%s' {{steps.evil.hosts.node1.stdout}} > {{host.vars.node_dir}}/out\n",
    );
    let show = lab.run(&rb, &[], &[]);
    lab.assert_delivered(&show, &value, &["evil", "slow", "victim"]);
}

// --- The transport API, for exact outcomes --------------------------------------------

fn connections(cluster: &SshCluster) -> Arc<Connections> {
    Arc::new(Connections::new(cluster.settings(), cluster.dir().join("c")).expect("connections"))
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

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_holding_old_trailers_and_forged_answers_is_recorded_exactly() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster);
    let host = cluster.spec(0);
    let node = cluster.hosts[0].home.join("node");
    fs::create_dir_all(&node).unwrap();
    let pwned = node.join("pwned");
    let forged = format!(
        "{}\n\x1fquorate-journal-end\nquorate-journal finished exit=0 timed_out=0\nforged\n\
         \x1fquorate-journal-end\n\x1fquorate-journal-stderr-end\nquorate-journal running pid=1\n\
         partial line without newline",
        hostile(&pwned)
    );
    fs::write(node.join("forged.txt"), &forged).unwrap();
    let cwd = node.to_str().unwrap();
    let spec = TaskSpec {
        cwd: Some(cwd),
        ..task("run1", "f-a1", "cat forged.txt; cat forged.txt >&2; exit 3")
    };
    let want = TaskOutcome {
        exit: 3,
        stdout: forged.clone().into_bytes(),
        stderr: forged.clone().into_bytes(),
        timed_out: false,
    };
    assert_eq!(run_task(&conns, &host, &spec).await.unwrap(), want);
    // The next task's answer is its own, not one the output above tried to forge.
    let next = TaskSpec {
        cwd: Some(cwd),
        ..task("run1", "f-a2", "printf next; exit 7")
    };
    let outcome = run_task(&conns, &host, &next).await.unwrap();
    assert_eq!((outcome.exit, &outcome.stdout[..]), (7, &b"next"[..]));
    // A replay (a new nonce, the same record) and a probe are exact too.
    assert_eq!(run_task(&conns, &host, &spec).await.unwrap(), want);
    assert_eq!(
        probe(&conns, &host, "run1", "f-a1").await.unwrap(),
        JournalState::Finished(want)
    );
    assert!(!pwned.exists(), "an injected command ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_kb_value_of_30000_lines_is_delivered_exactly_and_quickly() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster);
    let host = cluster.spec(0);
    let node = cluster.hosts[0].home.join("node");
    fs::create_dir_all(&node).unwrap();
    let value = (0..30_000).fold(String::new(), |mut s, i| {
        let _ = writeln!(s, "line {i:04}");
        s
    });
    assert!(value.len() >= 300_000);
    // In the command text (an exported variable this long would be refused by exec).
    let command = format!(
        "printf '%s' {} > big.cmd; cat big.cmd",
        quorate::shell::quote(&value)
    );
    let started = Instant::now();
    let outcome = run_task(
        &conns,
        &host,
        &TaskSpec {
            cwd: Some(node.to_str().unwrap()),
            ..task("run1", "big-a1", &command)
        },
    )
    .await
    .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(
        outcome.exit,
        0,
        "{:?}",
        String::from_utf8_lossy(&outcome.stderr)
    );
    assert!(outcome.stdout == value.as_bytes(), "the output differs");
    assert!(fs::read(node.join("big.cmd")).unwrap() == value.as_bytes());
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_files_are_0600_and_the_command_keeps_its_umask() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster);
    let host = cluster.spec(0);
    let home = cluster.hosts[0].home.clone();
    let node = home.join("node");
    fs::create_dir_all(&node).unwrap();
    let rundir = home.join(".quorate/runs/run1");
    let cwd = node.to_str().unwrap();
    for (key, timeout, sudo) in [
        ("plain-a1", None, false),
        ("limit-a1", Some(Duration::from_secs(30)), false),
        ("sudo-a1", None, true),
    ] {
        // The input file exists only while the command runs: the command looks at it.
        let command = format!(
            "for f in {}/{key}.input.*; do [ -e \"$f\" ] && stat -c %a \"$f\"; done; \
             umask; touch {key}.created",
            rundir.display()
        );
        let outcome = run_task(
            &conns,
            &host,
            &TaskSpec {
                cwd: Some(cwd),
                timeout,
                sudo,
                ..task("run1", key, &command)
            },
        )
        .await
        .unwrap();
        if sudo && outcome.exit != 0 {
            // No usable sudo here: it failed at once, and said so.
            assert!(String::from_utf8_lossy(&outcome.stderr).contains("sudo"));
            continue;
        }
        let input_mode = if timeout.is_some() || sudo {
            "600\n"
        } else {
            ""
        };
        assert_eq!(
            String::from_utf8_lossy(&outcome.stdout),
            format!("{input_mode}0022\n"),
            "{key}: {:?}",
            String::from_utf8_lossy(&outcome.stderr)
        );
        assert_eq!(
            mode_of(&node.join(format!("{key}.created"))),
            0o644,
            "{key}"
        );
        for file in ["pid", "stdout", "stderr"] {
            assert_eq!(
                mode_of(&rundir.join(format!("{key}.{file}"))),
                0o600,
                "{key}.{file}"
            );
        }
    }
    assert_eq!(mode_of(&rundir), 0o700);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrub_empties_recorded_output_and_keeps_the_exit_record() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster);
    let host = cluster.spec(0);
    let home = cluster.hosts[0].home.clone();
    let node = home.join("node");
    fs::create_dir_all(&node).unwrap();
    let spec = TaskSpec {
        cwd: Some(node.to_str().unwrap()),
        ..task(
            "run1",
            "s-a1",
            "echo x >> runs; echo secret-out; echo secret-err >&2; exit 4",
        )
    };
    let outcome = run_task(&conns, &host, &spec).await.unwrap();
    assert_eq!(
        (outcome.exit, &outcome.stdout[..], &outcome.stderr[..]),
        (4, &b"secret-out\n"[..], &b"secret-err\n"[..])
    );
    scrub_output(&conns, &host, "run1", "s-a1").await.unwrap();
    let entry = home.join(".quorate/runs/run1/s-a1");
    for part in ["stdout", "stderr"] {
        let file = PathBuf::from(format!("{}.{part}", entry.display()));
        assert_eq!(fs::read(&file).unwrap(), b"", "{part} was not emptied");
    }
    let scrubbed = TaskOutcome {
        exit: 4,
        stdout: Vec::new(),
        stderr: Vec::new(),
        timed_out: false,
    };
    assert_eq!(
        probe(&conns, &host, "run1", "s-a1").await.unwrap(),
        JournalState::Finished(scrubbed.clone())
    );
    // Delivered again: the kept exit record answers; the command does not run twice.
    assert_eq!(run_task(&conns, &host, &spec).await.unwrap(), scrubbed);
    assert_eq!(fs::read_to_string(node.join("runs")).unwrap(), "x\n");
    // A task that never ran has nothing to scrub: the scrub succeeds and leaves no trace,
    // so a later delivery of that key still runs it.
    scrub_output(&conns, &host, "run1", "never-a1")
        .await
        .unwrap();
    assert_eq!(
        probe(&conns, &host, "run1", "never-a1").await.unwrap(),
        JournalState::NotStarted
    );
    // Bad ids never reach the host.
    assert!(scrub_output(&conns, &host, "run1", "../x").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_output_is_bounded_on_the_controller_and_the_stream_stays_in_step() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster);
    let host = cluster.spec(0);
    // 8 MiB without a newline, then a tail the controller keeps.
    let command = "head -c 8388608 /dev/zero | tr '\\0' x; printf END";
    let outcome = run_task(&conns, &host, &task("run1", "o-a1", command))
        .await
        .unwrap();
    assert_eq!(outcome.exit, 0);
    assert!(
        outcome.stdout.len() <= KEPT_OUTPUT + 100,
        "{}",
        outcome.stdout.len()
    );
    assert!(outcome.stdout.ends_with(b"xxEND"));
    let text = String::from_utf8_lossy(&outcome.stdout);
    let dropped = 8_388_608 + 3 - (KEPT_OUTPUT);
    assert!(
        text.contains(&format!(
            "[... {dropped} bytes dropped by the controller ...]"
        )),
        "no count of the dropped bytes"
    );
    // A probe (the wrapper run once, on a channel of its own) is bounded the same way.
    assert_eq!(
        probe(&conns, &host, "run1", "o-a1").await.unwrap(),
        JournalState::Finished(outcome)
    );
    let next = run_task(&conns, &host, &task("run1", "o-a2", "echo next"))
        .await
        .unwrap();
    assert_eq!(next.stdout, b"next\n");
}

/// Guards, checks and health commands run outside the journal, through the same bound:
/// a host that prints without end costs the controller at most the kept head and tail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_commands_endless_output_is_bounded_and_a_fetch_has_a_ceiling() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster);
    let host = cluster.spec(0);
    let out = conns
        .run(
            &host,
            "head -c 8388608 /dev/zero | tr '\\0' y; printf END; head -c 3000000 /dev/zero >&2",
            b"",
        )
        .await
        .unwrap();
    assert!(out.success());
    assert!(
        out.stdout.len() <= KEPT_OUTPUT + 100,
        "{}",
        out.stdout.len()
    );
    assert!(out.stdout.ends_with(b"yyEND"));
    assert!(
        out.stderr.len() <= KEPT_OUTPUT + 100,
        "{}",
        out.stderr.len()
    );
    // A fetched file must arrive whole, so it has a ceiling instead: a sparse file one
    // byte over it is refused with its size named, and the connection still works.
    let big = cluster.hosts[0].home.join("big");
    fs::File::create(&big)
        .unwrap()
        .set_len(MAX_FETCH as u64 + 1)
        .unwrap();
    let err = conns
        .download(&host, big.to_str().unwrap())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("is larger than 256 MiB, the most `fetch` takes"),
        "{err}"
    );
    fs::write(&big, b"small").unwrap();
    assert_eq!(
        conns.download(&host, big.to_str().unwrap()).await.unwrap(),
        b"small"
    );
}

// --- Random bytes through the frame ---------------------------------------------------

/// Pieces random text is made of: arbitrary characters (no NUL: no shell passes one on),
/// lines shaped like every marker and request the journal knows, and bulk.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\u{0}]{0,40}",
        Just("\n".to_owned()),
        Just("\n# quorate-end k-a1\n".to_owned()),
        Just(format!("\n# quorate-end {ZEROS}")),
        Just(format!("task prop k-a9 0 0 11 {ZEROS}\ntouch MARK\n")),
        Just("task prop k-a9 0 0\ntouch MARK\n# quorate-end k-a9\n".to_owned()),
        Just(format!("quorate-journal-stdout-end {ZEROS}\n")),
        Just(format!(
            "quorate-journal {ZEROS} finished exit=0 timed_out=0\n"
        )),
        Just("\x1fquorate-journal-end\n\x1fquorate-journal-stderr-end\n".to_owned()),
        Just("'\"$(touch MARK)`touch MARK`\\".to_owned()),
        // Past 4096 bytes the host reads the input with `head -c` instead of `read`.
        Just("padding line\n".repeat(320)),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..12).prop_map(|p| p.concat())
}

/// Sends `cases` random (command text, env value) pairs through one host's journal
/// server, each as its own task of run `run`: the command prints the first on stdout and
/// the env value on stderr; both come back exact, and nothing else ran.
fn random_frames(host: &HostSpec, conns: &Arc<Connections>, run: &str, workdir: &Path, cases: u32) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mark = workdir.join("MARK");
    let counter = std::cell::Cell::new(0u32);
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(out in text(), err in text())| {
        counter.set(counter.get() + 1);
        let key = format!("k{}-a1", counter.get());
        let command = format!("printf '%s' {}; printf '%s' \"$V\" >&2", quorate::shell::quote(&out));
        let env = [("V".to_owned(), err.clone())];
        let spec = TaskSpec {
            env: &env,
            cwd: Some(workdir.to_str().unwrap()),
            ..task(run, &key, &command)
        };
        let outcome = rt.block_on(run_task(conns, host, &spec)).unwrap();
        prop_assert_eq!(outcome.exit, 0);
        prop_assert_eq!(String::from_utf8_lossy(&outcome.stdout), out);
        prop_assert_eq!(String::from_utf8_lossy(&outcome.stderr), err);
        prop_assert!(!mark.exists(), "an injected command ran");
    });
}

/// The keys a run's journal holds a result for, on the host whose home is `home`.
fn journal_entries(home: &Path, run: &str) -> Vec<String> {
    let mut keys: Vec<String> = fs::read_dir(home.join(".quorate/runs").join(run))
        .unwrap()
        .flatten()
        .filter(|e| fs::read_to_string(e.path()).is_ok_and(|t| t.lines().count() == 2))
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".pid")
                .map(str::to_owned)
        })
        .collect();
    keys.sort_unstable();
    keys
}

/// Checks a run's journal holds exactly the keys `k1-a1`..`kN-a1`, then deletes it.
async fn only_the_sent_tasks_ran(
    conns: &Connections,
    host: &HostSpec,
    home: &Path,
    run: &str,
    n: u32,
) {
    let mut want: Vec<String> = (1..=n).map(|i| format!("k{i}-a1")).collect();
    want.sort_unstable();
    assert_eq!(journal_entries(home, run), want, "a forged request ran");
    remove_run(conns, host, run).await.unwrap();
}

#[test]
fn random_bytes_through_the_local_journal_server_arrive_exactly() {
    let dir = tempfile::tempdir().unwrap();
    // The local journal lives in this user's home: a run of its own, removed at the end.
    let home = PathBuf::from(std::env::var("HOME").expect("HOME"));
    let run = format!("prop-{}", std::process::id());
    let conns = Arc::new(Connections::new(SshSettings::default(), dir.path().join("c")).unwrap());
    let host = HostSpec {
        name: "local".into(),
        address: "127.0.0.1".into(),
        port: None,
        user: None,
        kind: TransportKind::Local,
    };
    random_frames(&host, &conns, &run, dir.path(), 96);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(only_the_sent_tasks_ran(&conns, &host, &home, &run, 96));
}

#[test]
fn random_bytes_through_an_sshd_journal_server_arrive_exactly() {
    let cluster = SshCluster::start(1);
    let conns = connections(&cluster);
    let node = cluster.hosts[0].home.join("node");
    fs::create_dir_all(&node).unwrap();
    let host = cluster.spec(0);
    random_frames(&host, &conns, "prop", &node, 24);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(only_the_sent_tasks_ran(
            &conns,
            &host,
            &cluster.hosts[0].home,
            "prop",
            24,
        ));
}
