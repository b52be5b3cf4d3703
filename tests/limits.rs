//! Hostile input that would exhaust time, memory or stack: each must end in a clear error
//! (exit code 2) in bounded time, never a crash or a hang. Big inputs are generated here.
//! Every `quorate` started here is waited for a bounded time and killed by pid if late.

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::root;

/// A loose bound for one command, in a debug build on a busy machine.
/// A hang or a blow-up, not a slow debug build on a loaded machine: the figures to quote
/// come from `cargo bench --bench limits_bench` (release).
const BOUND: Duration = Duration::from_secs(30);

/// What one bounded `quorate` run did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts exit code 2 (bad input, not a crash) and returns stderr.
    fn refused(self) -> String {
        assert_eq!(
            self.code, 2,
            "expected exit 2\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self.stderr
    }
}

/// Runs `quorate ARGS` in `dir`, killing it (by pid) if it runs past [`BOUND`].
fn quorate(dir: &Path, args: &[&str]) -> Run {
    // Outside `dir`, which may be the repository itself.
    let outputs = tempfile::tempdir().expect("temp dir");
    let out = outputs.path().join("quorate.out");
    let err = outputs.path().join("quorate.err");
    let mut child = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(args)
        .current_dir(dir)
        .env_remove("QUORATE_RUNBOOKS")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        // Files, not pipes: a long error list cannot block the child on a full pipe.
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("start quorate");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > BOUND {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            panic!("quorate {args:?} still ran after {BOUND:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let code = status.code().unwrap_or(-1);
    assert!(
        ![134, 139, -1].contains(&code),
        "quorate {args:?} crashed: {status}"
    );
    Run {
        code,
        stdout: std::fs::read_to_string(out).expect("stdout"),
        stderr: std::fs::read_to_string(err).expect("stderr"),
    }
}

/// A scratch directory holding a one-host inventory `inv.yaml`.
fn lab() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "inv.yaml",
        "name: one\nhosts:\n  h1: { address: 127.0.0.1 }\n",
    );
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, text).expect("write");
    path
}

/// A runbook of one step `a` whose `run` is `command` (line 5, from column 11).
fn one_step(command: &str) -> String {
    format!("runbook: hostile\non: all\nsteps:\n  - id: a\n    run: \"{command}\"\n")
}

/// A runbook of `n` sequential steps `s0`, `s1`, ... running `echo`, each with the
/// options `extra` (e.g. `", needs: [x]"`), on lines 4 to `n + 3`.
fn steps(n: usize, extra: &str) -> String {
    let mut runbook = String::from("runbook: many\non: all\nsteps:\n");
    for i in 0..n {
        let _ = writeln!(runbook, "  - {{ id: s{i}, run: echo{extra} }}");
    }
    runbook
}

/// Asserts that `stderr` holds each of `lines` as a whole line.
fn assert_lines(stderr: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            stderr.lines().any(|l| l == *line),
            "missing line {line:?} in:\n{stderr}"
        );
    }
}

#[test]
fn subexpressions_nested_5000_deep_are_refused_by_validate_and_plan() {
    let dir = lab();
    let nested = format!(
        "echo {{{{json {}true{}}}}}",
        "(not ".repeat(5_000),
        ")".repeat(5_000)
    );
    write(dir.path(), "deep.yaml", &one_step(&nested));
    for args in [
        &["validate", "deep.yaml"][..],
        &["plan", "deep.yaml", "-i", "inv.yaml"],
    ] {
        let err = quorate(dir.path(), args).refused();
        assert_lines(
            &err,
            &[
                "error: subexpressions are nested more than 32 deep in `run` of step `a`",
                "error: 1 problem found",
            ],
        );
        if args[0] == "plan" {
            // The 33rd `(`: after `echo {{json ` and 32 times `(not `.
            assert_lines(
                &err,
                &[
                    " --> deep.yaml:5:183",
                    "  = hint: split the expression, e.g. `(not (not x))` is `x` (the limit is 32)",
                ],
            );
        }
    }
}

#[test]
fn blocks_nested_5000_deep_are_refused_by_plan() {
    let dir = lab();
    let blocks = format!(
        "{}x{}",
        "{{#if true}}".repeat(5_000),
        "{{/if}}".repeat(5_000)
    );
    write(dir.path(), "deep.yaml", &one_step(&blocks));
    let chain = format!(
        "{{{{#if false}}}}x{}{{{{/if}}}}",
        "{{else if false}}x".repeat(5_000)
    );
    write(dir.path(), "chain.yaml", &one_step(&chain));
    for (file, at) in [
        ("deep.yaml", 11 + 12 * 32),
        ("chain.yaml", 11 + 14 + 18 * 31),
    ] {
        let err = quorate(dir.path(), &["plan", file, "-i", "inv.yaml"]).refused();
        assert_lines(
            &err,
            &[
                "error: blocks are nested more than 32 deep in `run` of step `a`",
                &format!(" --> {file}:5:{at}"),
                "  = hint: use `{{else if}}` chains or split the step instead of nesting blocks (the limit is 32)",
            ],
        );
    }
}

#[test]
fn eight_thousand_sequential_steps_plan() {
    let dir = lab();
    // The last step reads the first one's output: it needs it, through 7,998 others.
    let mut runbook = steps(8_000, "").replace(
        "  - { id: s0, run: echo }",
        "  - { id: s0, run: echo, capture: true }",
    );
    runbook.push_str("  - id: last\n    run: \"echo {{steps.s0.stdout}}\"\n");
    write(dir.path(), "long.yaml", &runbook);
    let run = quorate(dir.path(), &["plan", "long.yaml", "-i", "inv.yaml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("tasks: 8001 on 1 host"),
        "{}",
        &run.stdout[..run.stdout.len().min(400)]
    );
    assert!(run.stdout.contains("last"), "the last step is planned");
}

#[test]
fn eight_thousand_unknown_needs_are_reported_in_bounded_time() {
    let dir = lab();
    write(dir.path(), "long.yaml", &steps(8_000, ", needs: [zzz]"));
    let err = quorate(dir.path(), &["validate", "long.yaml"]).refused();
    assert_lines(
        &err,
        &[
            "error: unknown step `zzz` in `needs`",
            "  = hint: steps here: s0, s1, s2, s3, s4, s5, s6, s7, s8, s9 and 7990 more",
            "error: 8000 problems found",
        ],
    );
}

#[test]
fn a_step_needing_a_step_it_does_not_reach_is_still_found() {
    let dir = lab();
    write(
        dir.path(),
        "fork.yaml",
        "runbook: fork\non: all\nsteps:\n  - { id: a, run: echo, capture: true }\n  - { id: b, run: echo, needs: [] }\n  - { id: c, run: \"echo {{steps.a.stdout}}\", needs: [b] }\n",
    );
    let err = quorate(dir.path(), &["plan", "fork.yaml", "-i", "inv.yaml"]).refused();
    assert_lines(
        &err,
        &[
            "error: step `c` reads `steps.a` but does not need it",
            " --> fork.yaml:6:27",
        ],
    );
}

#[test]
fn two_hundred_thousand_expressions_in_one_field_are_refused() {
    let dir = lab();
    write(
        dir.path(),
        "wide.yaml",
        &one_step(&"{{host.name}}".repeat(200_000)),
    );
    let message = "error: more than 1000 `{{ }}` expressions in one template in `run` of step `a`";
    let err = quorate(dir.path(), &["validate", "wide.yaml"]).refused();
    assert_lines(&err, &[message, "error: 1 problem found"]);
    let err = quorate(dir.path(), &["plan", "wide.yaml", "-i", "inv.yaml"]).refused();
    assert_lines(
        &err,
        &[
            message,
            // The 1,001st tag, after 1,000 of 13 characters.
            " --> wide.yaml:5:13011",
            "  = hint: split the step, or loop with `{{#each}}` instead of repeating",
        ],
    );
}

#[test]
fn a_template_longer_than_64_kib_is_refused() {
    let dir = lab();
    write(dir.path(), "long.yaml", &one_step(&"x".repeat(70_000)));
    let err = quorate(dir.path(), &["plan", "long.yaml", "-i", "inv.yaml"]).refused();
    assert_lines(
        &err,
        &[
            "error: the template is 69 KiB; the limit is 64 KiB in `run` of step `a`",
            "  = hint: put long scripts in a file on the host and run that",
        ],
    );
}

/// Sixteen files, each including the next twice: 32,768 tasks if nothing stopped it.
#[test]
fn an_include_bomb_is_refused() {
    let dir = lab();
    for k in 0..16 {
        let body = if k < 15 {
            let next = format!("b{}.yaml", k + 1);
            format!("runbook: b{k}\non: all\nsteps:\n  - {{ id: x, include: {next} }}\n  - {{ id: y, include: {next} }}\n")
        } else {
            "runbook: b15\non: all\nsteps:\n  - { id: x, run: echo }\n".to_owned()
        };
        write(dir.path(), &format!("b{k}.yaml"), &body);
    }
    let err = quorate(dir.path(), &["plan", "b0.yaml", "-i", "inv.yaml"]).refused();
    assert_lines(
        &err,
        &[
            "error: more than 1000 includes expanded in one plan",
            "  = note: each include of a runbook that includes others expands them all again",
            "  = hint: include fewer runbooks, or fewer times",
            "error: 1 problem found",
        ],
    );
}

/// One include step after another, each inlining the same 1,000 steps again.
#[test]
fn includes_adding_more_than_10000_steps_are_refused() {
    let dir = lab();
    write(dir.path(), "big.yaml", &steps(1_000, ""));
    let mut runbook = String::from("runbook: wide\non: all\nsteps:\n");
    for i in 0..20 {
        let _ = writeln!(runbook, "  - {{ id: i{i}, include: big.yaml }}");
    }
    write(dir.path(), "wide.yaml", &runbook);
    let err = quorate(dir.path(), &["plan", "wide.yaml", "-i", "inv.yaml"]).refused();
    assert_lines(
        &err,
        &[
            "error: includes add more than 10000 steps to one plan",
            // The 11th include: ten add exactly 10,000.
            "  --> wide.yaml:14:25",
            "   = note: each time a runbook is included, its steps count again",
            "error: 1 problem found",
        ],
    );
}

#[test]
fn includes_nested_deeper_than_16_are_refused() {
    let dir = lab();
    for k in 0..20 {
        write(
            dir.path(),
            &format!("c{k}.yaml"),
            &format!(
                "runbook: c{k}\non: all\nsteps:\n  - {{ id: x, include: c{}.yaml }}\n",
                k + 1
            ),
        );
    }
    let err = quorate(dir.path(), &["plan", "c0.yaml", "-i", "inv.yaml"]).refused();
    assert_lines(
        &err,
        &[
            "error: includes are nested more than 16 deep",
            " --> c16.yaml:4:23",
            "error: 1 problem found",
        ],
    );
}

#[test]
fn the_task_limit_is_configurable() {
    let dir = lab();
    write(dir.path(), "many.yaml", &steps(8, ""));
    let err = quorate(
        dir.path(),
        &["plan", "many.yaml", "-i", "inv.yaml", "--max-tasks", "5"],
    )
    .refused();
    assert_lines(
        &err,
        &[
            "error: the plan has more than 5 tasks (steps times hosts)",
            " --> many.yaml:9:11",
            "  = hint: split the runbook, or raise the limit with `--max-tasks` (now 5)",
            "error: 1 problem found",
        ],
    );
    let ok = quorate(
        dir.path(),
        &["plan", "many.yaml", "-i", "inv.yaml", "--max-tasks", "8"],
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}

#[test]
fn dev_zero_is_refused_wherever_a_file_is_read() {
    let dir = lab();
    write(
        dir.path(),
        "ok.yaml",
        "runbook: ok\non: all\nsteps:\n  - { id: a, run: echo }\n",
    );
    write(
        dir.path(),
        "inc.yaml",
        "runbook: inc\non: all\nsteps:\n  - { id: a, include: /dev/zero }\n",
    );
    let device = "error: cannot read /dev/zero: it is a device, not a regular file";
    let hint = "  = hint: input files must be regular files";
    for args in [
        &["validate", "/dev/zero"][..],
        &["plan", "/dev/zero", "-i", "inv.yaml"],
        &["plan", "ok.yaml", "-i", "/dev/zero"],
        &["plan", "ok.yaml", "-i", "inv.yaml", "--params", "/dev/zero"],
        &[
            "plan",
            "inc.yaml",
            "-i",
            "inv.yaml",
            "--allow-include-outside",
        ],
    ] {
        let err = quorate(dir.path(), args).refused();
        assert_lines(&err, &[device, hint]);
    }
    // Without the flag, /dev/zero is not even opened: it is outside the runbook's tree.
    let err = quorate(dir.path(), &["plan", "inc.yaml", "-i", "inv.yaml"]).refused();
    assert_lines(
        &err,
        &["error: `/dev/zero` is outside the runbook's directory"],
    );
}

#[test]
fn a_fifo_does_not_hang() {
    let dir = lab();
    let fifo = dir.path().join("fifo.yaml");
    nix::unistd::mkfifo(
        &fifo,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .expect("mkfifo");
    write(
        dir.path(),
        "ok.yaml",
        "runbook: ok\non: all\nsteps:\n  - { id: a, run: echo }\n",
    );
    let refused = "error: cannot read fifo.yaml: it is a FIFO, not a regular file";
    for args in [
        &["plan", "fifo.yaml", "-i", "inv.yaml"][..],
        &["plan", "ok.yaml", "-i", "fifo.yaml"],
        &["validate", "fifo.yaml"],
    ] {
        assert_lines(&quorate(dir.path(), args).refused(), &[refused]);
    }
    // A `--runbooks` directory holding the FIFO: listed as a problem, no hang.
    let run = quorate(dir.path(), &["list", "--runbooks", "."]);
    assert!(
        run.stderr
            .contains("cannot read ./fifo.yaml: it is a FIFO, not a regular file"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_input_file_over_4_mib_is_refused() {
    let dir = lab();
    let mut big = one_step("echo");
    big.push_str(&"# padding\n".repeat(500_000));
    write(dir.path(), "big.yaml", &big);
    let err = quorate(dir.path(), &["plan", "big.yaml", "-i", "inv.yaml"]).refused();
    assert_lines(
        &err,
        &["error: cannot read big.yaml: it is larger than 4 MiB, the limit for an input file"],
    );
}

#[test]
fn an_include_outside_the_runbooks_tree_is_refused_and_never_echoed() {
    let dir = lab();
    // A file outside the runbook's directory, with something secret in it.
    write(
        dir.path(),
        "shadow",
        "root:$6$hunter2hash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    );
    write(dir.path(), "broken", "password: [hunter2\nmore: x\n");
    write(
        dir.path(),
        "book/main.yaml",
        "runbook: main\non: all\nsteps:\n  - id: a\n    include: ../shadow\n",
    );
    write(
        dir.path(),
        "book/broken.yaml",
        "runbook: main\non: all\nsteps:\n  - id: a\n    include: ../broken\n",
    );
    let err = quorate(dir.path(), &["plan", "book/main.yaml", "-i", "inv.yaml"]).refused();
    assert_lines(
        &err,
        &[
            "error: `../shadow` is outside the runbook's directory",
            " --> book/main.yaml:5:14",
            "  = hint: move the file next to the runbook, add its directory with `--runbooks`, or pass `--allow-include-outside`",
        ],
    );
    let allowed = [
        "plan",
        "book/main.yaml",
        "-i",
        "inv.yaml",
        "--allow-include-outside",
    ];
    let err = quorate(dir.path(), &allowed).refused();
    assert_lines(
        &err,
        &[
            "error: shadow is not a runbook: it has no top-level `runbook:` name",
            "  = note: the file's content is not shown, since it is not a runbook",
        ],
    );
    assert!(!err.contains("hunter2"), "{err}");
    let allowed = [
        "plan",
        "book/broken.yaml",
        "-i",
        "inv.yaml",
        "--allow-include-outside",
    ];
    let err = quorate(dir.path(), &allowed).refused();
    assert!(err.contains("error: not a runbook: invalid YAML"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    // A symbolic link inside the tree that points out of it is outside too.
    std::os::unix::fs::symlink(dir.path().join("shadow"), dir.path().join("book/link.yaml"))
        .expect("symlink");
    write(
        dir.path(),
        "book/via-link.yaml",
        "runbook: main\non: all\nsteps:\n  - id: a\n    include: link.yaml\n",
    );
    let err = quorate(
        dir.path(),
        &["plan", "book/via-link.yaml", "-i", "inv.yaml"],
    )
    .refused();
    assert_lines(
        &err,
        &["error: `link.yaml` is outside the runbook's directory"],
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn includes_inside_the_tree_still_work() {
    // The repository's own include fixtures resolve `../` inside the runbook's tree.
    let dir = root().join("tests/fixtures/invalid");
    let run = quorate(
        &root(),
        &[
            "plan",
            dir.join("include-cycle.yaml").to_str().expect("utf-8"),
            "-i",
            "tests/fixtures/invalid/support/bft4.yaml",
        ],
    );
    assert!(run.stderr.contains("include cycle:"), "{}", run.stderr);
}
