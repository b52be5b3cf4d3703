//! Secrets against hostile values, on real hosts (real `sshd` processes on 127.0.0.x, a
//! real sled store, the `quorate` binary as operators run it): a secret goes only where
//! the runbook put it, byte for byte; text shaped like the old placeholder stays text; a
//! template cannot reach a secret by a computed name; and what a command prints of a
//! secret (as it is, shell-quoted or base64-encoded) is masked everywhere it is kept or
//! shown.

mod support;

use std::path::PathBuf;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use support::run_id_in as run_id;
use support::sshd::SshCluster;
use support::{files_under, holds, Output, Quorate};

/// Hosts and a controller directory (store, runbook, inventory, HOME).
struct SecretLab {
    cluster: SshCluster,
    dir: tempfile::TempDir,
}

impl SecretLab {
    fn start(hosts: usize) -> Self {
        let cluster = SshCluster::start(hosts);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("inventory.yaml"),
            cluster.inventory_yaml(""),
        )
        .unwrap();
        for h in &cluster.hosts {
            std::fs::create_dir_all(h.home.join("node")).unwrap();
        }
        Self { cluster, dir }
    }

    fn node_file(&self, host: usize, name: &str) -> PathBuf {
        self.cluster.hosts[host].home.join("node").join(name)
    }

    fn host_bytes(&self, host: usize, name: &str) -> Vec<u8> {
        std::fs::read(self.node_file(host, name))
            .unwrap_or_else(|e| panic!("node{host}:{name}: {e}"))
    }

    /// `quorate GLOBAL... run RUNBOOK -i INVENTORY --plain` with the secret in the
    /// environment, as an operator gives it.
    fn run(&self, runbook: &str, secret: &str, global: &[&str]) -> Output {
        let path = self.dir.path().join("runbook.yaml");
        std::fs::write(&path, runbook).unwrap();
        Quorate::in_lab(self.dir.path())
            .env("QUORATE_PARAM_TOK", secret)
            .args(global)
            .arg("run")
            .arg(&path)
            .arg("-i")
            .arg(self.dir.path().join("inventory.yaml"))
            .arg("--plain")
            .run()
    }

    fn quorate(&self, args: &[&str]) -> String {
        Quorate::in_lab(self.dir.path()).args(args).run().success()
    }
}

/// The text of the placeholder secrets once travelled as: now only bytes.
const SHAPED: &str = "\u{1}secret:tok\u{1}";

#[test]
fn marker_shaped_text_stays_literal_and_the_secret_goes_only_where_it_was_put() {
    let lab = SecretLab::start(2);
    // It starts with \x01, like the old placeholder, and holds quotes and `$`.
    let secret = "\u{1}tok-S3cret 'q' $HOME";
    let runbook = r#"
runbook: relay
params:
  tok: { secret: true }
  shaped: { default: "\x01secret:tok\x01" }
on: node0
steps:
  - id: report
    run: printf '\001secret:tok\001'
    capture: true
  - id: own
    needs: [report]
    run: printf %s "$TOK" > {{host.vars.node_dir}}/own; printf %s "$MIX" > {{host.vars.node_dir}}/mix
    env:
      TOK: "{{params.tok}}"
      MIX: "{{params.tok}}|{{steps.report.stdout}}"
  - id: relay
    on: node1
    needs: [report]
    run: printf %s "$S" > {{host.vars.node_dir}}/captured; printf %s "$L" > {{host.vars.node_dir}}/literal; printf %s "$D" > {{host.vars.node_dir}}/default
    env:
      S: "{{steps.report.hosts.node0.stdout}}"
      L: "\x01secret:tok\x01"
      D: "{{params.shaped}}"
"#;
    let out = lab.run(runbook, secret, &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // Output, a literal and a default shaped like a placeholder arrive as those bytes.
    for file in ["captured", "literal", "default"] {
        assert_eq!(
            lab.host_bytes(1, file),
            SHAPED.as_bytes(),
            "node1 received in `{file}`"
        );
    }
    // node1 was never given the secret: none of its files hold it.
    for file in files_under(&lab.cluster.hosts[1].home) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !holds(&bytes, b"S3cret"),
            "{} holds the secret",
            file.display()
        );
    }
    // The host it was meant for got it byte for byte, also next to captured output.
    assert_eq!(lab.host_bytes(0, "own"), secret.as_bytes());
    assert_eq!(
        lab.host_bytes(0, "mix"),
        format!("{secret}|{SHAPED}").as_bytes()
    );
}

#[test]
fn a_secret_passed_to_an_included_runbook_arrives_with_its_text_around_it() {
    let lab = SecretLab::start(1);
    let secret = "inc-S3cret-'x'";
    std::fs::write(
        lab.dir.path().join("inner.yaml"),
        r#"
runbook: inner
params:
  key: { secret: true, schema: { type: string, minLength: 12 } }
  shaped: {}
on: node0
steps:
  - id: write
    run: printf %s "$KEY" > {{host.vars.node_dir}}/inner-key; printf %s "$SHAPED" > {{host.vars.node_dir}}/inner-shaped
    env: { KEY: "{{params.key}}", SHAPED: "{{params.shaped}}" }
"#,
    )
    .unwrap();
    let runbook = r#"
runbook: outer
params:
  tok: { secret: true }
on: node0
steps:
  - id: inner
    include: inner.yaml
    with:
      key: "Bearer {{params.tok}}"
      shaped: "\x01secret:tok\x01"
"#;
    let out = lab.run(runbook, secret, &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        lab.host_bytes(0, "inner-key"),
        format!("Bearer {secret}").as_bytes()
    );
    assert_eq!(lab.host_bytes(0, "inner-shaped"), SHAPED.as_bytes());
    // The included runbook's schema is checked against the value itself.
    let short = lab.run(runbook, "ab", &[]).failure(2);
    assert!(
        short.starts_with(
            "error: parameter `key` = (secret): the value must be at least 12 characters long\n"
        ),
        "{short}"
    );
    // A secret of the included runbook takes only a secret of the run, never text.
    let literal = runbook.replace("Bearer {{params.tok}}", "Bearer abcdefghijkl");
    let refused = lab.run(&literal, secret, &[]).failure(2);
    let expected = format!(
        "error: secret parameter `key` of {} is given no secret\n  --> {}:10:12\n",
        lab.dir.path().join("inner.yaml").display(),
        lab.dir.path().join("runbook.yaml").display()
    );
    assert!(refused.starts_with(&expected), "{refused}");
}

#[test]
fn a_secret_cannot_be_reached_by_a_computed_name() {
    // (fixture, message, line:column); `validate` and `plan` refuse each the same way.
    let whole_params =
        "`params` read as a whole could reach secret parameter `tok` in `run` of step `leak`";
    let whole_context = "`run` of step `leak` reads the whole template context";
    let cases = [
        ("lookup-params", whole_params, "8:24"),
        ("lookup-computed", whole_params, "8:24"),
        ("each-params", whole_params, "8:23"),
        ("each-root-params", whole_params, "8:38"),
        ("json-params", whole_params, "8:22"),
        ("with-params", whole_params, "8:23"),
        ("json-this", whole_context, "8:10"),
        ("lookup-root", whole_context, "8:10"),
        ("lookup-up", whole_context, "8:10"),
        (
            "env-lookup",
            "`params` read as a whole could reach secret parameter `tok` in `env` of step `leak`",
            "9:25",
        ),
        (
            "env-root",
            "`env` of step `leak` reads the whole template context",
            "9:15",
        ),
    ];
    for (name, message, at) in cases {
        let file = format!("tests/fixtures/hostile/secrets/{name}.yaml");
        let expected = format!("error: {message}\n --> {file}:{at}\n");
        let plan = Quorate::new()
            .args([
                "plan",
                &file,
                "-i",
                "tests/fixtures/invalid/support/bft4.yaml",
            ])
            .run()
            .failure(2);
        assert!(plan.starts_with(&expected), "plan {name}:\n{plan}");
        let validate = Quorate::new().args(["validate", &file]).run().failure(2);
        assert!(
            validate.starts_with(&expected),
            "validate {name}:\n{validate}"
        );
    }
    // A helper would change the secret's placeholder into text sent as it is.
    let file = "tests/fixtures/hostile/secrets/env-json-secret.yaml";
    let plan = Quorate::new()
        .args([
            "plan",
            file,
            "-i",
            "tests/fixtures/invalid/support/bft4.yaml",
        ])
        .run()
        .failure(2);
    assert!(
        plan.starts_with(&format!(
            "error: secret parameter `tok` was changed by a helper; an `env` value may hold it only as {{{{params.tok}}}} in `env` of step `leak`\n --> {file}:9:15\n"
        )),
        "{plan}"
    );
}

/// Prints the secret as it is, base64-encoded four ways and shell-quoted, then a line
/// that is not secret.
const PRINT_SCRIPT: &str = r#"printf '%s\n' "$TOK"
printf '%s' "$TOK" | base64
printf '%s' "$TOK" | base64 | tr '+/' '-_'
printf '%s' "$TOK" | base64 | tr -d '='
printf '%s' "$TOK" | base64 | tr '+/' '-_' | tr -d '='
printf "'%s'\n" "$(printf '%s' "$TOK" | sed "s/'/'\\\\''/g")"
echo visible-line
"#;

const PRINTS: &str = r#"
runbook: prints
params:
  tok: { secret: true }
on: node0
steps:
  - id: print
    run: sh {{host.vars.node_dir}}/print.sh
    capture: true
    env: { TOK: "{{params.tok}}" }
  - id: relay
    needs: [print]
    run: printf %s "$R" > {{host.vars.node_dir}}/relayed
    env: { R: "{{steps.print.stdout}}" }
  - id: fail
    needs: [relay]
    run: printf 'oops %s\n' "$TOK" >&2; exit 3
    env: { TOK: "{{params.tok}}" }
"#;

/// What `print.sh` prints once masked.
const MASKED_PRINT: &str = "***\n***\n***\n***\n***\n***\nvisible-line\n";

#[test]
fn a_printed_secret_leaves_no_trace_in_store_views_or_logs() {
    let lab = SecretLab::start(1);
    let secret = "t0k>>>en?'??x";
    let forms = [
        secret.to_owned(),
        STANDARD.encode(secret),
        STANDARD_NO_PAD.encode(secret),
        URL_SAFE.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        quorate::template::shell_quote(secret).into_owned(),
    ];
    // The forms differ, so each is looked for on its own.
    assert_ne!(forms[1], forms[3]);
    assert_ne!(forms[1], forms[2]);
    assert_ne!(forms[0], forms[5]);
    std::fs::write(lab.node_file(0, "print.sh"), PRINT_SCRIPT).unwrap();
    let leaks = |what: &str, text: &[u8]| {
        for form in &forms {
            assert!(
                !holds(text, form.as_bytes()),
                "{what} holds the secret as {form:?}:\n{}",
                String::from_utf8_lossy(text)
            );
        }
    };

    // Progress and `-v` logs.
    let plain = lab.run(PRINTS, secret, &["-v"]);
    assert_eq!(plain.code, 1, "{}{}", plain.stdout, plain.stderr);
    assert!(
        plain.stdout.contains("exit 3 (expected 0): oops ***"),
        "{}",
        plain.stdout
    );
    leaks("progress", plain.stdout.as_bytes());
    leaks("the -v log", plain.stderr.as_bytes());
    let first = run_id(&plain.stdout);
    // A later template read the output masked.
    assert_eq!(
        lab.host_bytes(0, "relayed"),
        MASKED_PRINT.trim_end().as_bytes()
    );
    let show: serde_json::Value =
        serde_json::from_str(&lab.quorate(&["show", &first, "--format", "json"])).unwrap();
    let print = show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["step"] == "print")
        .unwrap();
    assert_eq!(print["stdout"], MASKED_PRINT, "{show}");
    leaks("show --format json", show.to_string().as_bytes());
    leaks("show", lab.quorate(&["show", &first]).as_bytes());
    leaks("logs", lab.quorate(&["logs", &first]).as_bytes());
    let runs = lab.quorate(&["runs"]);
    assert!(runs.contains("oops ***"), "{runs}");
    leaks("runs", runs.as_bytes());

    // The JSON log of another run.
    lab.quorate(&["abandon", &first]);
    let json = lab.run(PRINTS, secret, &["--log-format", "json", "-v"]);
    assert_eq!(json.code, 1, "{}{}", json.stdout, json.stderr);
    assert!(json.stderr.contains("oops ***"), "{}", json.stderr);
    leaks("the JSON log", json.stderr.as_bytes());
    leaks("progress", json.stdout.as_bytes());

    // The store on disk: every sled file.
    let store = files_under(&lab.dir.path().join("state"));
    assert!(!store.is_empty());
    for file in store {
        leaks(&file.display().to_string(), &std::fs::read(&file).unwrap());
    }
}

/// The host's journal keeps a task's output for a controller that lost the connection;
/// once the outcome is committed, the copy of a secret-bearing task's output is emptied.
#[test]
fn the_host_journal_keeps_no_output_of_a_secret_bearing_task() {
    let lab = SecretLab::start(1);
    let secret = "t0k>>>en?'??x";
    std::fs::write(lab.node_file(0, "print.sh"), PRINT_SCRIPT).unwrap();
    let out = lab.run(PRINTS, secret, &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let journal = files_under(&lab.cluster.hosts[0].home.join(".quorate"));
    assert!(!journal.is_empty(), "the host keeps a journal");
    for file in journal {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !holds(&bytes, secret.as_bytes()) && !holds(&bytes, STANDARD.encode(secret).as_bytes()),
            "{} holds the secret",
            file.display()
        );
    }
}
