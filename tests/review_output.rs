//! What an operator reviews cannot be steered by the text under review: control
//! characters, bidi overrides and invisible characters in runbook fields and host output
//! are shown escaped in every human output (plan, validate, progress, the approval prompt,
//! show, logs, the text log), with warnings naming step and field, while the JSON plan,
//! `show --format json` and the JSON log keep the exact bytes.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::run_id_in as run_id;
use support::sshd::SshCluster;
use support::{fixture, Output, Quorate};

const ESC: char = '\u{1b}';

/// No byte that a terminal would act on, and no bidi or invisible character.
fn assert_inert(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
        })
        .collect();
    assert!(bad.is_empty(), "{what} holds {bad:?}:\n{text}");
}

fn plan(format: &str) -> Output {
    Quorate::new()
        .args(["plan"])
        .arg(fixture("hostile/review/concealed.yaml"))
        .arg("-i")
        .arg(fixture("hostile/review/inventory.yaml"))
        .args(["--format", format])
        .run()
}

/// The plan as the reviewer reads it: every hidden character written out, nothing else
/// changed (the `\` of `\e\\` in step `link` is a literal backslash and stays single).
const PLAN_TEXT: &str = r"plan: concealed on cluster review
tasks: 4 on 1 host and the controller

1. uptime: run on node0
   Shows the uptime\u{202E};gnihton seod
   node0  $ uptime\x1b[8m; touch /tmp/x\x1b[0m
          env MODE=fast\x1b[2K\x1b[1Gslow

2. cursor: run on node0, after uptime
   node0  $ echo ok\x0d\x1b[1A\x1b[2Krm -rf /srv

3. link: run on node0, after cursor
   node0  $ echo \x1b]8;;http://evil.example/\x1b\docs\x1b]8;;\x1b\

4. ask: approve on controller, after link
   controller  approve: Proceed?\x1b[8m and drop the database\x1b[0m \u{2066}ok\u{2069}
";

/// The first line of each warning: step, field, first hidden character; then its place.
const WARNINGS: [(&str, &str); 6] = [
    (
        "warning: the value of `description` contains 2 hidden characters, the first \\x1b (U+001B) at character 14",
        "concealed.yaml:3:14",
    ),
    (
        "warning: the value of `description` of step `uptime` contains a hidden character, \\u{202E} (U+202E) at character 17",
        "concealed.yaml:7:18",
    ),
    (
        "warning: the value of `run` of step `uptime` contains 2 hidden characters, the first \\x1b (U+001B) at character 7",
        "concealed.yaml:8:10",
    ),
    (
        "warning: the value of `env.MODE` of step `uptime` contains 2 hidden characters, the first \\x1b (U+001B) at character 5",
        "concealed.yaml:10:13",
    ),
    (
        "warning: the value of `run` of step `cursor` contains 3 hidden characters, the first \\x0d (U+000D) at character 8",
        "concealed.yaml:12:10",
    ),
    (
        "warning: the value of `approve` of step `ask` contains 4 hidden characters, the first \\x1b (U+001B) at character 9",
        "concealed.yaml:16:14",
    ),
];

fn assert_warnings(stderr: &str) {
    assert_inert("the warnings", stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    for (first, place) in WARNINGS {
        let at = lines
            .iter()
            .position(|l| *l == first)
            .unwrap_or_else(|| panic!("no warning `{first}` in:\n{stderr}"));
        assert!(
            lines[at + 1].ends_with(place),
            "`{first}` points at {}, not {place}",
            lines[at + 1]
        );
    }
    assert!(stderr.contains("= field: steps[2].run"), "{stderr}");
}

#[test]
fn plan_text_shows_hidden_characters_escaped_and_warns() {
    let out = plan("text");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, PLAN_TEXT);
    assert_warnings(&out.stderr);
}

#[test]
fn validate_warns_by_step_field_and_position_and_passes() {
    let out = Quorate::new()
        .arg("validate")
        .arg(fixture("hostile/review/concealed.yaml"))
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("ok: "), "{}", out.stdout);
    assert_warnings(&out.stderr);
    // The quoted source line is the file's own text: YAML escapes, nothing hidden.
    assert!(
        out.stderr
            .contains("8 |     run: \"uptime\\e[8m; touch /tmp/x\\e[0m\"\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn json_plan_keeps_the_exact_text() {
    let out = plan("json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    // serde_json writes control characters as \u escapes; the bidi characters stay as
    // they are, which JSON allows.
    assert!(!out.stdout.contains(ESC), "{}", out.stdout);
    assert!(
        out.stdout.contains("uptime\\u001b[8m; touch"),
        "{}",
        out.stdout
    );
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let nodes = plan["nodes"].as_array().unwrap();
    let node = |step: &str| nodes.iter().find(|n| n["step"] == step).unwrap();
    assert_eq!(
        node("uptime")["action"]["run"]["command"],
        "uptime\u{1b}[8m; touch /tmp/x\u{1b}[0m"
    );
    assert_eq!(node("uptime")["env"][0][1], "fast\u{1b}[2K\u{1b}[1Gslow");
    assert_eq!(
        node("cursor")["action"]["run"]["command"],
        "echo ok\r\u{1b}[1A\u{1b}[2Krm -rf /srv"
    );
    assert_eq!(
        node("link")["action"]["run"]["command"],
        "echo \u{1b}]8;;http://evil.example/\u{1b}\\docs\u{1b}]8;;\u{1b}\\"
    );
    assert_eq!(
        node("ask")["action"]["approve"]["message"],
        "Proceed?\u{1b}[8m and drop the database\u{1b}[0m \u{2066}ok\u{2069}"
    );
    assert_eq!(
        plan["steps"][0]["description"],
        "Shows the uptime\u{202e};gnihton seod"
    );
}

#[test]
fn describe_and_list_show_descriptions_escaped() {
    let describe = Quorate::new()
        .arg("describe")
        .arg(fixture("hostile/review/concealed.yaml"))
        .run()
        .success();
    assert_inert("describe", &describe);
    assert!(
        describe.contains("\nRoutine check\\x1b[8m. It also wipes the disk\\x1b[0m\n"),
        "{describe}"
    );
    assert!(
        describe.contains("\n  uptime (run)  Shows the uptime\\u{202E};gnihton seod\n"),
        "{describe}"
    );
    let list = Quorate::new()
        .arg("list")
        .arg("--runbooks")
        .arg(fixture("hostile/review"))
        .run()
        .success();
    assert_inert("list", &list);
    assert!(
        list.lines()
            .any(|l| l.starts_with("concealed ") && l.ends_with("  Routine check\\x1b[8m")),
        "{list}"
    );
}

#[test]
fn parameter_values_are_shown_escaped_with_a_warning() {
    let out = Quorate::new()
        .arg("plan")
        .arg(fixture("hostile/review/param.yaml"))
        .arg("-i")
        .arg(fixture("hostile/review/inventory.yaml"))
        .arg("-p")
        .arg("version=3.6\u{1b}[8m; rm -rf /\u{1b}[0m")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_inert("the plan", &out.stdout);
    assert_inert("the warnings", &out.stderr);
    assert!(
        out.stderr.starts_with("warning: the value of parameter `version` contains a hidden character, \\x1b (U+001B), given with -p\n"),
        "{}",
        out.stderr
    );
    // The parameter as JSON text, the command as the shell will read it.
    assert!(
        out.stdout
            .contains("\n  version = \"3.6\\u001b[8m; rm -rf /\\u001b[0m\"  [-p]\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("\n   node0  $ install-release '3.6\\x1b[8m; rm -rf /\\x1b[0m'\n"),
        "{}",
        out.stdout
    );
}

/// One real host (sshd on 127.0.0.x) and a controller directory.
struct Lab {
    cluster: SshCluster,
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Self {
        let cluster = SshCluster::start(1);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("inventory.yaml"),
            cluster.inventory_yaml(""),
        )
        .unwrap();
        Self { cluster, dir }
    }

    fn runbook(&self, text: &str) -> PathBuf {
        let p = self.dir.path().join("runbook.yaml");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn quorate(&self) -> Quorate {
        Quorate::in_lab(self.dir.path())
    }

    fn run(&self, runbook: &Path, log_format: &str) -> Output {
        self.quorate()
            .args(["--log-format", log_format, "run"])
            .arg(runbook)
            .arg("-i")
            .arg(self.dir.path().join("inventory.yaml"))
            .arg("--plain")
            .run()
    }
}

/// Host output with a concealed span, a carriage return and a right-to-left override.
const TALK: &str = "runbook: talk\non: node0\nsteps:\n  - id: talk\n    run: printf 'up\\033[8m hidden\\033[0m\\r\\342\\200\\256evil\\n'\n  - id: ask\n    approve: \"Proceed?\\e[8m and drop the database\\e[0m\"\n  - id: after\n    run: echo after\n";

#[test]
fn host_output_and_the_approval_prompt_are_shown_escaped_and_stored_exactly() {
    let lab = Lab::new();
    let out = lab.run(&lab.runbook(TALK), "text");
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let run = run_id(&out.stdout);
    assert_inert("the run's output", &out.stdout);
    assert_inert("the run's log and warnings", &out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "\nrun {run} awaits approval: Proceed?\\x1b[8m and drop the database\\x1b[0m\n"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("warning: the value of `approve` of step `ask` contains 2 hidden characters"),
        "{}",
        out.stderr
    );

    let logs = lab.quorate().args(["logs", &run]).run().success();
    assert_eq!(
        logs,
        "==> talk on node0 (done) <==\nup\\x1b[8m hidden\\x1b[0m\\x0d\\u{202E}evil\n"
    );

    let show = lab.quorate().args(["show", &run]).run().success();
    assert_inert("show", &show);
    assert!(
        show.starts_with(&format!(
            "run {run}: talk on sshd-test, paused (awaiting approval: Proceed?\\x1b[8m and drop the database\\x1b[0m)\n"
        )),
        "{show}"
    );
    let runs = lab.quorate().args(["runs"]).run().success();
    assert_inert("runs", &runs);
    assert!(
        runs.contains("awaiting approval: Proceed?\\x1b[8m and drop the database\\x1b[0m\n"),
        "{runs}"
    );

    // The store has the bytes the host printed.
    let json = lab
        .quorate()
        .args(["show", &run, "--format", "json"])
        .run()
        .success();
    let show: Value = serde_json::from_str(&json).unwrap();
    let talk = show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["step"] == "talk")
        .unwrap();
    assert_eq!(
        talk["stdout"],
        "up\u{1b}[8m hidden\u{1b}[0m\r\u{202e}evil\n"
    );
    assert_eq!(
        show["run"]["paused"],
        "awaiting approval: Proceed?\u{1b}[8m and drop the database\u{1b}[0m"
    );
    let _ = &lab.cluster;
}

/// A command that fails with hostile output on stderr (it becomes the failure reason).
const FAIL: &str = "runbook: fail\non: node0\nsteps:\n  - id: fail\n    run: printf 'bad\\033[2J\\342\\200\\256x\\n' >&2; exit 1\n";

/// The reason as quorate shows it, and as the store and the JSON log keep it.
const SHOWN_REASON: &str = "exit 1 (expected 0): bad\\x1b[2J\\u{202E}x";
const EXACT_REASON: &str = "exit 1 (expected 0): bad\u{1b}[2J\u{202e}x";

#[test]
fn failure_reasons_are_escaped_in_progress_notes_and_text_log_and_exact_in_json_log() {
    let lab = Lab::new();
    let rb = lab.runbook(FAIL);
    let out = lab
        .quorate()
        .args(["-v", "--log-format", "text", "run"])
        .arg(&rb)
        .arg("-i")
        .arg(lab.dir.path().join("inventory.yaml"))
        .arg("--plain")
        .run();
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let run = run_id(&out.stdout);
    assert_inert("progress", &out.stdout);
    assert_inert("the text log and the error", &out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "       node0  fail  failed exit 1: {SHOWN_REASON}\n"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains(&format!("  = note: fail on node0: {SHOWN_REASON}\n")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("reason={SHOWN_REASON} ")),
        "the text log: {}",
        out.stderr
    );
    let show = lab.quorate().args(["show", &run]).run().success();
    assert!(
        show.contains("  failed           1") && show.contains(&format!("  {SHOWN_REASON}\n")),
        "{show}"
    );

    // The JSON log keeps the bytes (as JSON escapes), and so does the store.
    lab.quorate().args(["abandon", &run]).run().success();
    let out = lab.run(&rb, "json");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(!out.stderr.contains(ESC), "{}", out.stderr);
    let failed: Vec<Value> = out
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["state"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{}", out.stderr);
    assert_eq!(failed[0]["reason"], EXACT_REASON);
    let json = lab
        .quorate()
        .args(["show", &run_id(&out.stdout), "--format", "json"])
        .run()
        .success();
    let show: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(show["tasks"][0]["reason"], EXACT_REASON);
    assert_eq!(show["tasks"][0]["stderr"], "bad\u{1b}[2J\u{202e}x\n");
    let _ = &lab.cluster;
}

/// Output that imitates the lines `logs` frames blocks with.
const FORGE: &str = "runbook: forge\non: node0\nsteps:\n  - id: talk\n    run: |\n      printf 'real\\n==> other on node9 (done) <==\\ninjected\\n--- stderr ---\\n-- finished: done\\n'; echo oops >&2\n  - id: quiet\n    run: echo second\n";

#[test]
fn host_output_cannot_pass_for_another_tasks_block_in_logs() {
    let lab = Lab::new();
    let out = lab.run(&lab.runbook(FORGE), "text");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let run = run_id(&out.stdout);
    let logs = lab.quorate().args(["logs", &run]).run().success();
    assert_eq!(
        logs,
        "==> talk on node0 (done) <==\nreal\n\\x3d=> other on node9 (done) <==\ninjected\n\
         \\x2d-- stderr ---\n\\x2d- finished: done\n--- stderr ---\noops\n\
         ==> quiet on node0 (done) <==\nsecond\n"
    );
    // Every frame line is quorate's: two blocks, one stderr separator.
    assert_eq!(logs.lines().filter(|l| l.starts_with("==>")).count(), 2);
    assert_eq!(logs.lines().filter(|l| l.starts_with("--")).count(), 1);
    // The store keeps what the host printed.
    let json = lab
        .quorate()
        .args(["show", &run, "--format", "json"])
        .run()
        .success();
    let show: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        show["tasks"][0]["stdout"],
        "real\n==> other on node9 (done) <==\ninjected\n--- stderr ---\n-- finished: done\n"
    );
}
