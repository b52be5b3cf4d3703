//! A value inserted with `{{v}}` into a command reaches `/bin/sh` as one inert word: not
//! split, not expanded, not executed, whatever it contains.
//!
//! Each case renders `printf '%s\n' {{v}}` with shell quoting, runs it with `/bin/sh -c`
//! in a temporary directory holding files a glob could match (and `HOME` pointing there,
//! so a `~` expansion would show), and expects exactly the value and a newline.

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use quorate::template::{CompiledTemplate, Quoting, Renderer};
use serde_json::json;
use tempfile::TempDir;

fn render(template: &str, quoting: Quoting, value: &str) -> String {
    let template = CompiledTemplate::parse(template).expect("template parses");
    Renderer::new()
        .render(&template, quoting, &json!({ "v": value }))
        .expect("template renders")
}

/// A directory where unquoted globs would match something.
fn workdir() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    for name in ["a", "b", "ab"] {
        std::fs::write(dir.path().join(name), "").expect("file");
    }
    dir
}

/// Runs `command` with `/bin/sh -c` in `dir`; returns its stdout.
fn sh(command: &str, dir: &Path) -> String {
    let output = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .expect("run /bin/sh");
    assert!(
        output.status.success(),
        "`{command}` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// Renders `printf '%s\n' {{v}}` for `value` and checks the shell printed it back.
fn assert_inert(value: &str, dir: &Path) {
    let command = render(r"printf '%s\n' {{v}}", Quoting::Shell, value);
    assert_eq!(
        sh(&command, dir),
        format!("{value}\n"),
        "value {value:?} rendered as {command:?}"
    );
}

fn nasty_values(dir: &Path) -> Vec<String> {
    let mark = |name: &str| dir.join(name).display().to_string();
    vec![
        "hello world".into(),
        "  leading and trailing  ".into(),
        "it's".into(),
        r#"say "hi""#.into(),
        format!("$(touch {})", mark("subst")),
        format!("`touch {}`", mark("backtick")),
        format!("x; touch {}", mark("semicolon")),
        format!("x && touch {}", mark("and")),
        format!("x | tee {}", mark("pipe")),
        format!("x > {}", mark("redirect")),
        "line one\nline two".into(),
        "trailing newline\n".into(),
        "\n".into(),
        ";".into(),
        "&&".into(),
        "|".into(),
        ">".into(),
        "<".into(),
        "&".into(),
        "*".into(),
        "?".into(),
        "[a]".into(),
        "a*".into(),
        "~".into(),
        "~/x".into(),
        "-n".into(),
        "-e".into(),
        "--help".into(),
        String::new(),
        " ".into(),
        "ünïcødé ✓ 日本語 🚀".into(),
        "tab\there".into(),
        "'".into(),
        "''".into(),
        "\\".into(),
        "\\n".into(),
        "$HOME".into(),
        "${HOME}".into(),
        "$((1+1))".into(),
        "!".into(),
        "!!".into(),
        "#not a comment".into(),
        "%s %d".into(),
        "a=b".into(),
        "{a,b}".into(),
        "(sub)".into(),
        r#"a'b"c$d`e\f"#.into(),
        "'; rm -rf / #".into(),
    ]
}

#[test]
fn nasty_values_are_one_inert_word() {
    let dir = workdir();
    for value in nasty_values(dir.path()) {
        assert_inert(&value, dir.path());
    }
    for name in ["subst", "backtick", "semicolon", "and", "pipe", "redirect"] {
        assert!(
            !dir.path().join(name).exists(),
            "a quoted value ran a command that created `{name}`"
        );
    }
}

#[test]
fn helper_output_is_quoted_too() {
    let dir = workdir();
    for value in nasty_values(dir.path()) {
        let command = render(r"printf '%s\n' {{json v}}", Quoting::Shell, &value);
        let expected = format!("{}\n", serde_json::to_string(&value).expect("json"));
        assert_eq!(sh(&command, dir.path()), expected, "json of {value:?}");

        let command = render(
            r#"printf '%s\n' {{default v "unused"}}"#,
            Quoting::Shell,
            &value,
        );
        let expected = if value.is_empty() { "unused" } else { &value };
        assert_eq!(
            sh(&command, dir.path()),
            format!("{expected}\n"),
            "default of {value:?}"
        );
    }
}

#[test]
fn triple_stash_inserts_raw_text() {
    let dir = workdir();
    let command = render(r"printf '%s\n' {{{v}}}", Quoting::Shell, "a b");
    assert_eq!(command, r"printf '%s\n' a b");
    assert_eq!(sh(&command, dir.path()), "a\nb\n");
}

#[test]
fn plain_quoting_inserts_values_as_they_are() {
    assert_eq!(
        render("{{v}}/bin", Quoting::Plain, "/opt/my app"),
        "/opt/my app/bin"
    );
    assert_eq!(
        render("{{v}}/bin", Quoting::Shell, "/opt/my app"),
        "'/opt/my app'/bin"
    );
}

/// Characters a shell treats specially, mixed into arbitrary text so the property test
/// finds them often.
fn shell_char() -> impl Strategy<Value = char> {
    prop_oneof![
        any::<char>().prop_filter("no NUL", |c| *c != '\0'),
        prop::sample::select(
            "'\"`$\\ \t\n;&|<>*?[]~!#(){}=%-"
                .chars()
                .collect::<Vec<_>>()
        ),
    ]
}

proptest! {
    #[test]
    fn any_text_is_one_inert_word(chars in prop::collection::vec(shell_char(), 0..40)) {
        let value: String = chars.into_iter().collect();
        let dir = workdir();
        let command = render(r"printf '%s\n' {{v}}", Quoting::Shell, &value);
        prop_assert_eq!(sh(&command, dir.path()), format!("{value}\n"), "rendered {:?}", command);
    }
}
