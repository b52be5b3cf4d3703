//! Running plans on real hosts: real `sshd` processes on 127.0.0.x, a real sled store,
//! the `quorate` binary as operators run it. Every test checks what a user cares about:
//! files on the hosts, task states in the store, exit codes.

#[path = "support/engine_lab.rs"]
mod lab;
mod support;

use support::read_transitions;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lab::{run_id, task, Lab};
use serde_json::Value;

const FLOW: &str = r#"
runbook: flow
params:
  out: { schema: { type: string } }
on: all
steps:
  - id: prepare
    run: echo {{host.name}}-v1 > {{host.vars.node_dir}}/version
  - id: version
    run: cat {{host.vars.node_dir}}/version
    capture: true
  - id: checkpoints
    run: printf '10\n20\n30\n'; [ {{host.name}} = node0 ] || echo 40
    capture: true
  - id: summary
    on: controller
    needs: [version, checkpoints]
    run: echo newest={{max (common_lines steps.checkpoints)}} node1={{steps.version.hosts.node1.stdout}} > {{params.out}}
  - id: per-host
    needs: [version]
    run: echo "mine={{steps.version.stdout}}" > {{host.vars.node_dir}}/seen
"#;

fn outputs_flow(hosts: usize) {
    let lab = Lab::new(hosts, "");
    let rb = lab.runbook(FLOW);
    let out_file = lab.path("summary.txt");
    let out = lab.run(&rb, &["-p", &format!("out={}", out_file.display())]);
    let stdout = out.success();
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "newest=30 node1=node1-v1\n"
    );
    for i in 0..hosts {
        assert_eq!(lab.read(i, "seen"), format!("mine=node{i}-v1\n"));
    }
    let show = lab.show(&run_id(&stdout));
    assert_eq!(show["run"]["status"], "done");
    assert_eq!(show["tasks"].as_array().unwrap().len(), 4 * hosts + 1);
    assert!(
        show["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["state"] == "done"),
        "{show}"
    );
}

#[test]
fn outputs_and_captures_flow_between_steps_on_4_hosts() {
    outputs_flow(4);
}

#[test]
fn outputs_and_captures_flow_between_steps_on_8_hosts() {
    outputs_flow(8);
}

#[test]
fn guards_skip_retries_recover_and_failures_name_host_step_exit_and_stderr() {
    let lab = Lab::new(4, "");
    let rb = lab.runbook(
        r#"
runbook: guards
on: all
steps:
  - id: once
    run: echo x >> {{host.vars.node_dir}}/count && touch {{host.vars.node_dir}}/once.done
    creates: "{{host.vars.node_dir}}/once.done"
  - id: flaky
    run: n=$(cat {{host.vars.node_dir}}/tries 2>/dev/null || echo 0); n=$((n+1)); echo $n > {{host.vars.node_dir}}/tries; [ $n -ge 3 ]
    retries: { count: 3, delay: 100ms }
  - id: marked
    run: echo ran > {{host.vars.node_dir}}/marked
    unless: test {{host.name}} = node2
"#,
    );
    let first = lab.run(&rb, &[]).success();
    for i in 0..4 {
        assert_eq!(
            lab.read(i, "tries"),
            "3\n",
            "flaky failed twice then passed on node{i}"
        );
    }
    let second = lab.run(&rb, &[]).success();
    for i in 0..4 {
        assert_eq!(
            lab.read(i, "count"),
            "x\n",
            "the guarded effect ran once on node{i}"
        );
    }
    assert_eq!(lab.read(2, "marked"), "", "`unless` skipped node2");
    assert_eq!(lab.read(1, "marked"), "ran\n");
    let show = lab.show(&run_id(&first));
    assert_eq!(task(&show, "flaky", "node3")["attempts"], 3);
    assert_eq!(task(&show, "marked", "node2")["state"], "skipped");
    let show = lab.show(&run_id(&second));
    assert_eq!(task(&show, "once", "node0")["state"], "skipped");
    assert_eq!(
        task(&show, "once", "node0")["reason"].as_str().unwrap(),
        format!("`creates`: {}/once.done exists", lab.node_dir(0).display())
    );

    let rb = lab.runbook("runbook: boom\non: node1\nsteps:\n  - id: explode\n    run: echo partial; echo 'disk full' >&2; exit 3\n");
    let out = lab.run(&rb, &[]);
    let err = out.failure(1);
    assert!(
        err.contains("explode on node1: exit 3 (expected 0): disk full"),
        "{err}"
    );
}

#[test]
fn a_timeout_kills_the_remote_command() {
    let lab = Lab::new(1, "");
    let rb = lab.runbook(
        "runbook: slow\non: node0\nsteps:\n  - id: hang\n    run: sleep 300 & echo $! > {{host.vars.node_dir}}/pid; wait\n    timeout: 2s\n",
    );
    let start = Instant::now();
    let err = lab.run(&rb, &[]).failure(1);
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
    assert!(err.contains("hang on node0: timed out after 2s"), "{err}");
    let pid: u32 = lab.read(0, "pid").trim().parse().unwrap();
    assert!(
        !support::sshd::alive(pid),
        "sleep {pid} still runs on the host after the timeout"
    );
}

/// The files a run leaves in each host's node directory, for comparing final states.
fn host_state(lab: &Lab, hosts: usize) -> Vec<Vec<(String, String)>> {
    (0..hosts)
        .map(|i| {
            let mut files: Vec<(String, String)> = std::fs::read_dir(lab.node_dir(i))
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read_to_string(e.path()).unwrap_or_default(),
                    )
                })
                .collect();
            files.sort();
            files
        })
        .collect()
}

/// Waits until the journal test's command has started on node0 (it touches `started`):
/// a fixed delay would race the connection set-up on a loaded machine.
fn wait_for_start(lab: &Lab) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !lab.node_dir(0).join("started").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the command never started on node0"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn reset_nodes(lab: &Lab, hosts: usize) {
    for i in 0..hosts {
        let _ = std::fs::remove_dir_all(lab.node_dir(i));
        std::fs::create_dir_all(lab.node_dir(i)).unwrap();
    }
}

const ROLLING: &str = r#"
runbook: crashy
on: all
steps:
  - id: roll
    rolling:
      batch: 1
      steps:
        - id: bump
          run: echo bump >> {{host.vars.node_dir}}/effects && touch {{host.vars.node_dir}}/bump.done
          creates: "{{host.vars.node_dir}}/bump.done"
        - id: write-version
          run: sleep 0.2 && echo v2 > {{host.vars.node_dir}}/version
          idempotent: true
        - id: swap
          run: echo swap >> {{host.vars.node_dir}}/effects && touch {{host.vars.node_dir}}/swap.done
          creates: "{{host.vars.node_dir}}/swap.done"
  - id: final
    run: cat {{host.vars.node_dir}}/version
    capture: true
"#;

#[test]
fn killed_at_20_points_and_resumed_the_hosts_end_as_after_an_uninterrupted_run() {
    let lab = Lab::new(4, "");
    let rb = lab.runbook(ROLLING);
    lab.run(&rb, &[]).success();
    let reference = host_state(&lab, 4);
    for i in 0..4 {
        assert_eq!(lab.read(i, "effects"), "bump\nswap\n");
    }
    // 4 hosts x 4 tasks, each running then done (or skipped): 32 transitions.
    for point in 0..20 {
        reset_nodes(&lab, 4);
        let kill_after = 1 + point * 31 / 19;
        let (mut child, mut err) = lab.spawn_run(&rb);
        let seen = read_transitions(&mut err, kill_after);
        child.kill().unwrap();
        child.wait().unwrap();
        let run = seen[0]["run"].as_str().unwrap().to_owned();
        let out = lab.quorate().args(["resume", &run, "--plain"]).run();
        assert_eq!(
            out.code, 0,
            "resume after kill point {point} ({kill_after} transitions):\n{}\n{}",
            out.stdout, out.stderr
        );
        assert_eq!(host_state(&lab, 4), reference, "kill point {point}");
    }
}

#[test]
fn resume_settles_an_interrupted_guardless_task_from_the_host_journal() {
    let lab = Lab::new(2, "");
    // `append` has no guard: only the journal can tell whether it ran.
    let rb = lab.runbook(
        "runbook: journal\non: node0\nsteps:\n  - id: append\n    run: touch {{host.vars.node_dir}}/started; sleep 2; echo once >> {{host.vars.node_dir}}/log\n  - id: after\n    run: echo after >> {{host.vars.node_dir}}/log\n",
    );
    // Still running when the controller dies: resume waits for it, does not run it again.
    let (mut child, mut err) = lab.spawn_run(&rb);
    let seen = read_transitions(&mut err, 1);
    assert_eq!(seen[0]["state"], "running");
    // Once the command runs on the host (it sleeps 2 s there), kill the controller.
    wait_for_start(&lab);
    child.kill().unwrap();
    child.wait().unwrap();
    let run = seen[0]["run"].as_str().unwrap().to_owned();
    let out = lab
        .quorate()
        .args(["resume", &run, "--plain"])
        .run()
        .success();
    assert!(out.contains("was still running: waited for it"), "{out}");
    assert_eq!(lab.read(0, "log"), "once\nafter\n");

    // Finished while the controller was away: its result is taken, it does not run again.
    reset_nodes(&lab, 2);
    let (mut child, mut err) = lab.spawn_run(&rb);
    let seen = read_transitions(&mut err, 1);
    wait_for_start(&lab);
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let run = seen[0]["run"].as_str().unwrap().to_owned();
    let out = lab
        .quorate()
        .args(["resume", &run, "--plain"])
        .run()
        .success();
    assert!(
        out.contains("finished while the controller was away"),
        "{out}"
    );
    assert_eq!(lab.read(0, "log"), "once\nafter\n");
}

#[test]
fn every_acknowledged_transition_survives_sigkill() {
    let lab = Lab::new(4, "");
    let rb = lab.runbook(ROLLING);
    let (mut child, mut err) = lab.spawn_run(&rb);
    let seen = read_transitions(&mut err, 17);
    child.kill().unwrap();
    child.wait().unwrap();
    let run = seen[0]["run"].as_str().unwrap();
    let show = lab.show(run);
    let events = show["events"].as_array().unwrap();
    for t in &seen {
        let seq = t["seq"].as_u64().unwrap();
        let stored = events.iter().find(|e| e["seq"].as_u64() == Some(seq));
        assert!(
            stored.is_some(),
            "acknowledged transition {t} is missing from the store"
        );
        assert!(stored.unwrap()["message"]
            .as_str()
            .unwrap()
            .starts_with(t["state"].as_str().unwrap()));
    }
}

#[test]
fn a_host_that_goes_away_mid_run_fails_the_run_by_name_and_resume_completes_after_it_returns() {
    let mut lab = Lab::new(3, "");
    let rb = lab.runbook(
        "runbook: fault\non: all\nsteps:\n  - id: first\n    run: echo 1 >> {{host.vars.node_dir}}/steps\n  - id: pause\n    run: sleep 1\n  - id: second\n    run: echo 2 >> {{host.vars.node_dir}}/steps\n",
    );
    let (mut child, mut err) = lab.spawn_run(&rb);
    // Wait until every host runs `pause`, then take node1's sshd (and its sessions) away.
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|t: &&Value| t["step"] == "pause" && t["state"] == "running")
        .count()
        < 3
    {
        let more = read_transitions(&mut err, 1);
        assert!(!more.is_empty(), "the run ended early: {seen:?}");
        seen.extend(more);
    }
    lab.cluster.stop(1);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(
        rest.contains("node1"),
        "the failure names the host:\n{rest}"
    );
    assert_eq!(lab.read(1, "steps"), "1\n");
    lab.cluster.restart(1);
    let run = seen[0]["run"].as_str().unwrap();
    lab.quorate()
        .args(["resume", run, "--plain"])
        .run()
        .success();
    for i in 0..3 {
        assert_eq!(
            lab.read(i, "steps"),
            "1\n2\n",
            "node{i}: every step once, in order"
        );
    }
}

#[test]
fn an_unfinished_run_locks_its_cluster() {
    let lab = Lab::new(1, "");
    let rb = lab.runbook("runbook: gated\non: node0\nsteps:\n  - id: ask\n    approve: go?\n  - id: act\n    run: echo acted > {{host.vars.node_dir}}/acted\n");
    let out = lab.run(&rb, &[]);
    let stdout = out.stdout.clone();
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let run = run_id(&stdout);
    let err = lab.run(&rb, &[]).failure(4);
    assert!(
        err.contains(&format!(
            "cluster `sshd-test` is locked by unfinished run {run}"
        )),
        "{err}"
    );
    lab.quorate().args(["approve", &run]).run().success();
    lab.quorate()
        .args(["resume", &run, "--plain"])
        .run()
        .success();
    assert_eq!(lab.read(0, "acted"), "acted\n");
    // Finished: the cluster is free again, and resuming says there is nothing to do.
    let out = lab.quorate().args(["resume", &run]).run().success();
    assert!(out.contains("already done"), "{out}");
    assert_eq!(lab.run(&rb, &[]).code, 3);
}

const MEMBERS: &str = "groups:\n  members: [node0, node1, node2, node3]\ncluster:\n  consensus: bft\n  members: members\n  health: test ! -f {{host.vars.node_dir}}/sick\n";

#[test]
fn the_health_gate_holds_a_batch_that_would_lose_quorum_and_names_the_count() {
    let lab = Lab::new(4, MEMBERS);
    let rb = lab.runbook(
        "runbook: gated-roll\non: members\nsteps:\n  - id: roll\n    rolling:\n      steps:\n        - id: restart\n          run: echo rolled >> {{host.vars.node_dir}}/rolled\n",
    );
    std::fs::write(lab.node_dir(3).join("sick"), "").unwrap();
    let out = lab.run(&rb, &["--health-timeout", "2s"]);
    let stdout = out.stdout.clone();
    let err = out.failure(1);
    assert!(
        err.contains("batch 1 of `roll` would leave 2 healthy members, fewer than the 3 needed (3 of 4 healthy now; unhealthy: node3)"),
        "{err}"
    );
    assert!(
        (0..4).all(|i| lab.read(i, "rolled").is_empty()),
        "no member went down"
    );
    std::fs::remove_file(lab.node_dir(3).join("sick")).unwrap();
    lab.quorate()
        .args(["resume", &run_id(&stdout), "--plain"])
        .run()
        .success();
    assert!((0..4).all(|i| lab.read(i, "rolled") == "rolled\n"));
}

#[test]
fn on_failure_runs_on_the_failed_batch_only() {
    let lab = Lab::new(4, "");
    let rb = lab.runbook(
        "
runbook: rollback
on: all
steps:
  - id: roll
    rolling:
      batch: 2
      steps:
        - id: swap
          run: echo new > {{host.vars.node_dir}}/bin
        - id: check
          run: test ! -f {{host.vars.node_dir}}/broken
      on_failure:
        - id: rollback
          run: echo old > {{host.vars.node_dir}}/bin
",
    );
    std::fs::write(lab.node_dir(1).join("broken"), "").unwrap();
    let out = lab.run(&rb, &[]);
    let stdout = out.stdout.clone();
    let err = out.failure(1);
    assert!(err.contains("check on node1: exit 1 (expected 0)"), "{err}");
    assert_eq!(
        lab.read(0, "bin"),
        "old\n",
        "node0 was in the failed batch: rolled back"
    );
    assert_eq!(lab.read(1, "bin"), "old\n", "node1 failed: rolled back");
    assert_eq!(lab.read(2, "bin"), "", "node2's batch never started");
    assert_eq!(lab.read(3, "bin"), "");
    // The rollback undid the whole batch, so a resume does the whole batch again.
    std::fs::remove_file(lab.node_dir(1).join("broken")).unwrap();
    lab.quorate()
        .args(["resume", &run_id(&stdout), "--plain"])
        .run()
        .success();
    assert!((0..4).all(|i| lab.read(i, "bin") == "new\n"));
}

#[test]
fn ctrl_c_finishes_running_tasks_then_pauses_resumably_and_the_store_names_its_holder() {
    let lab = Lab::new(1, "");
    let rb = lab.runbook(
        "runbook: long\non: node0\nsteps:\n  - id: first\n    run: sleep 3; echo a >> {{host.vars.node_dir}}/log\n  - id: second\n    run: echo b >> {{host.vars.node_dir}}/log\n",
    );
    let (mut child, mut err) = lab.spawn_run(&rb);
    let seen = read_transitions(&mut err, 1);
    // While the run holds the store, a command that writes gets a clear message naming it
    // (reads are answered by the running controller).
    let busy = lab
        .quorate()
        .args(["abandon", seen[0]["run"].as_str().unwrap()])
        .run();
    assert_eq!(busy.code, 4, "{}{}", busy.stdout, busy.stderr);
    assert!(
        busy.stderr.contains("in use by") && busy.stderr.contains("pid"),
        "{}",
        busy.stderr
    );
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "interrupted runs exit 3 (resumable)"
    );
    assert_eq!(
        lab.read(0, "log"),
        "a\n",
        "the running task finished; nothing new started"
    );
    let run = seen[0]["run"].as_str().unwrap();
    assert_eq!(lab.show(run)["run"]["status"], "paused");
    lab.quorate()
        .args(["resume", run, "--plain"])
        .run()
        .success();
    assert_eq!(lab.read(0, "log"), "a\nb\n");
}

#[test]
fn copy_fetch_wait_env_and_cwd() {
    let lab = Lab::new(2, "");
    let src = lab.path("app.cfg");
    std::fs::write(&src, "answer = 42\n").unwrap();
    let fetched = lab.path("fetched");
    let rb = lab.runbook(
        r#"
runbook: files
params:
  src: { schema: { type: string } }
  out: { schema: { type: string } }
on: all
steps:
  - id: push
    copy: { src: "{{params.src}}", dest: "{{host.vars.node_dir}}/app.cfg", mode: "0640" }
  - id: ready
    wait: { until: "test -f {{host.vars.node_dir}}/app.cfg", every: 100ms, timeout: 5s }
  - id: pull
    fetch: { src: "{{host.vars.node_dir}}/app.cfg", dest: "{{params.out}}/{{host.name}}.cfg" }
  - id: where
    run: pwd > out.txt; echo "$GREETING" >> out.txt
    cwd: "{{host.vars.node_dir}}"
    env: { GREETING: "hello {{host.name}}" }
"#,
    );
    let params = [
        format!("src={}", src.display()),
        format!("out={}", fetched.display()),
    ];
    let args = ["-p", params[0].as_str(), "-p", params[1].as_str()];
    let first = lab.run(&rb, &args).success();
    for i in 0..2 {
        assert_eq!(lab.read(i, "app.cfg"), "answer = 42\n");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(lab.node_dir(i).join("app.cfg"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o640);
        assert_eq!(
            std::fs::read_to_string(fetched.join(format!("node{i}.cfg"))).unwrap(),
            "answer = 42\n"
        );
        assert_eq!(
            lab.read(i, "out.txt"),
            format!("{}\nhello node{i}\n", lab.node_dir(i).display())
        );
    }
    assert_eq!(
        task(&lab.show(&run_id(&first)), "push", "node0")["state"],
        "done"
    );
    let second = lab.run(&rb, &args).success();
    let show = lab.show(&run_id(&second));
    assert_eq!(
        task(&show, "push", "node0")["state"],
        "skipped",
        "equal content is not copied again"
    );
    assert_eq!(task(&show, "pull", "node1")["state"], "skipped");
}

#[test]
fn secrets_reach_the_command_and_nothing_else() {
    let lab = Lab::new(1, "");
    let secret = "s3cr3t-Value-9f27";
    let rb = lab.runbook(
        "runbook: secret\nparams:\n  token: { secret: true }\non: node0\nsteps:\n  - id: use\n    run: printf %s \"$TOKEN\" > {{host.vars.node_dir}}/token; echo done\n    env: { TOKEN: \"{{params.token}}\" }\n",
    );
    let out = lab
        .quorate()
        .env("QUORATE_PARAM_TOKEN", secret)
        .args(["-v", "run"])
        .arg(&rb)
        .arg("-i")
        .arg(lab.path("inventory.yaml"))
        .arg("--plain")
        .run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(lab.read(0, "token"), secret, "the command got the secret");
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "the secret was printed"
    );
    let run = run_id(&out.stdout);
    assert!(!lab.show(&run).to_string().contains(secret));
    let logs = lab.quorate().args(["logs", &run]).run().success();
    assert!(!logs.contains(secret));
    // Neither the store on the controller nor the journal on the host keep it.
    for dir in [
        lab.path("state"),
        lab.cluster.hosts[0].home.join(".quorate"),
    ] {
        for file in walk(&dir) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the secret",
                file.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn resume_runs_the_recorded_plan_and_shows_what_changed_since() {
    let lab = Lab::new(1, "");
    let rb = lab.runbook("runbook: frozen\non: node0\nsteps:\n  - id: ask\n    approve: go?\n  - id: act\n    run: echo planned > {{host.vars.node_dir}}/result\n");
    let out = lab.run(&rb, &[]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let run = run_id(&out.stdout);
    std::fs::write(&rb, "runbook: frozen\non: node0\nsteps:\n  - id: ask\n    approve: go?\n  - id: act\n    run: echo edited > {{host.vars.node_dir}}/result\n").unwrap();
    lab.quorate().args(["approve", &run]).run().success();
    let out = lab
        .quorate()
        .args(["resume", &run, "--plain"])
        .run()
        .success();
    assert!(out.contains("note: the runbook, inventory or parameters changed since this run started; resuming the plan as recorded"), "{out}");
    assert!(
        out.contains("-   node0  $ echo planned > ") && out.contains("+   node0  $ echo edited > "),
        "{out}"
    );
    assert_eq!(lab.read(0, "result"), "planned\n", "the recorded plan ran");
}

#[test]
fn proxyjump_from_the_ssh_config_just_works() {
    let lab = Lab::new(2, "");
    let (jump, target) = (&lab.cluster.hosts[0], &lab.cluster.hosts[1]);
    // node1 is reachable only "through" node0, as a bastion setup would have it.
    let config = lab.path("jump_config");
    let base = std::fs::read_to_string(&lab.cluster.ssh_config).unwrap();
    std::fs::write(
        &config,
        format!("Host behind-bastion\n  HostName {}\n  Port {}\n  User root\n  ProxyJump root@{}:{}\n\n{base}", target.address, target.port, jump.address, jump.port),
    )
    .unwrap();
    let inventory = format!(
        "name: jumped\nhosts:\n  inner:\n    address: behind-bastion\n    vars: {{ node_dir: {} }}\nssh:\n  config: {}\n",
        lab.node_dir(1).display(),
        config.display()
    );
    std::fs::write(lab.path("inventory.yaml"), inventory).unwrap();
    let before = lab.cluster.accepted_connections(0);
    let rb = lab.runbook("runbook: jump\non: inner\nsteps:\n  - id: hello\n    run: echo through > {{host.vars.node_dir}}/hello\n");
    lab.run(&rb, &[]).success();
    assert_eq!(lab.read(1, "hello"), "through\n");
    assert!(
        lab.cluster.accepted_connections(0) > before,
        "the connection went through the bastion node0"
    );
}

#[test]
fn a_batch_that_fails_again_after_resume_is_rolled_back_again() {
    let lab = Lab::new(2, "");
    let rb = lab.runbook(
        "runbook: twice\non: all\nsteps:\n  - id: roll\n    rolling:\n      batch: 2\n      steps:\n        - id: fail\n          run: exit 1\n      on_failure:\n        - id: undo\n          run: echo undo >> {{host.vars.node_dir}}/undo\n",
    );
    let out = lab.run(&rb, &[]);
    let run = run_id(&out.stdout);
    assert_eq!(out.code, 1);
    for _ in 0..2 {
        assert_eq!(
            lab.quorate().args(["resume", &run, "--plain"]).run().code,
            1
        );
    }
    for i in 0..2 {
        assert_eq!(
            lab.read(i, "undo"),
            "undo\nundo\nundo\n",
            "node{i} rolled back on each of the 3 failures"
        );
    }
}
