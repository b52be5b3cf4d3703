//! Secrets stay out of everything quorate prints: a secret parameter's value, from a
//! `--params` file, the environment or the runbook's own `default`, never appears on
//! standard output or standard error of `validate`, `plan`, `run`, `describe` or `list`,
//! however it breaks its schema. The fixtures under `tests/fixtures/redaction/` carry the
//! canary `CANARY`; the messages are snapshots (`tests/snapshots/redaction__NAME.snap`).

mod support;

use std::process::Command;

use support::{root, Output, Quorate};

/// Every secret value in the fixtures contains this.
const CANARY: &str = "CANARY";

const SECRET_PARAMS: &str = "tests/fixtures/invalid/support/secret-params.yaml";
const INVENTORY: &str = "tests/fixtures/invalid/support/bft4.yaml";

/// Asserts the exit code and that the canary is on neither stream; returns stderr.
fn refused_without_canary(out: &Output, code: i32) -> String {
    assert_eq!(
        out.code, code,
        "exit code\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains(CANARY),
            "a secret value is on {stream}:\n{text}"
        );
    }
    out.stderr.clone()
}

fn params(file: &str) -> String {
    format!("tests/fixtures/redaction/{file}")
}

#[test]
fn plan_with_a_params_file_shows_no_secret_value() {
    let out = Quorate::new()
        .args(["plan", SECRET_PARAMS, "-i", INVENTORY, "--params"])
        .arg(params("params.yaml"))
        .run();
    insta::assert_snapshot!(refused_without_canary(&out, 2));
}

#[test]
fn run_refused_on_input_shows_no_secret_value() {
    let lab = tempfile::tempdir().expect("temporary directory");
    for file in ["params.yaml", "params-duplicate.yaml", "params-syntax.yaml"] {
        let out = Quorate::in_lab(lab.path())
            .args(["run", SECRET_PARAMS, "-i", INVENTORY, "--params"])
            .arg(params(file))
            .run();
        let stderr = refused_without_canary(&out, 2);
        let name = format!("run_{}", file.trim_end_matches(".yaml").replace('-', "_"));
        insta::assert_snapshot!(name, stderr);
    }
}

#[test]
fn secrets_from_the_environment_are_not_shown() {
    let mut quorate = Quorate::new().args(["plan", SECRET_PARAMS, "-i", INVENTORY]);
    for (var, value) in [
        ("QUORATE_PARAM_S_PATTERN", "CANARY-env-pattern"),
        ("QUORATE_PARAM_S_ENUM", "CANARY-env-enum"),
        ("QUORATE_PARAM_S_TYPE", "CANARY-env-type"),
        ("QUORATE_PARAM_S_ITEMS", "[CANARY-env-item]"),
        ("QUORATE_PARAM_S_MIN_LENGTH", "CANARY"),
        ("QUORATE_PARAM_S_MAX_LENGTH", "CANARY-env-long"),
        ("QUORATE_PARAM_S_CONST", "CANARY-env-const"),
        ("QUORATE_PARAM_S_CLOSED", "{CANARY-env-key: 1}"),
        ("QUORATE_PARAM_S_MAXIMUM", "42"),
        ("QUORATE_PARAM_S_UNIQUE", "[CANARY-twice, CANARY-twice]"),
        ("QUORATE_PARAM_S_ONE_OF", "CANARY-env-one-of"),
        ("QUORATE_PARAM_S_ANY_OF", "CANARY-env-any-of"),
        ("QUORATE_PARAM_S_NOT", "CANARY-env-not"),
        ("QUORATE_PARAM_S_MULTIPLE", "9"),
        ("QUORATE_PARAM_S_REQUIRED", "{CANARY-env-key: 1}"),
    ] {
        quorate = quorate.env(var, value);
    }
    insta::assert_snapshot!(refused_without_canary(&quorate.run(), 2));
}

#[test]
fn a_parameter_variable_that_is_not_utf8_is_named() {
    use std::os::unix::ffi::OsStrExt as _;
    let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .current_dir(root())
        .args(["plan", SECRET_PARAMS, "-i", INVENTORY])
        .env(
            "QUORATE_PARAM_S_PATTERN",
            std::ffi::OsStr::from_bytes(b"CANARY\xff"),
        )
        .output()
        .expect("run quorate");
    let out = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    insta::assert_snapshot!(refused_without_canary(&out, 2));
}

#[test]
fn validate_masks_a_secret_default_that_breaks_its_schema() {
    let out = Quorate::new()
        .args([
            "validate",
            "tests/fixtures/redaction/secret-default-breaks-schema.yaml",
        ])
        .run();
    insta::assert_snapshot!(refused_without_canary(&out, 2));
}

#[test]
fn describe_does_not_show_a_secret_default() {
    let out = Quorate::new()
        .args(["describe", "tests/fixtures/redaction/secret-default.yaml"])
        .run();
    refused_without_canary(&out, 0);
    assert!(
        out.stdout
            .contains("token  {\"type\":\"string\"}  (default ***, secret: set $QUORATE_PARAM_TOKEN to override)"),
        "{}",
        out.stdout
    );
}

#[test]
fn list_does_not_show_secrets() {
    let out = Quorate::new()
        .args(["list", "--runbooks", "tests/fixtures/redaction/catalog"])
        .run();
    refused_without_canary(&out, 0);
    assert!(out.stdout.contains("secret-default "), "{}", out.stdout);
}
