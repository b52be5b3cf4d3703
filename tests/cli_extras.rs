//! The command line's extras: shell completion scripts, manual pages, and log lines
//! without colour codes when they go to a file or a pipe.

mod support;

use std::process::Command;

use support::Quorate;

const SUBCOMMANDS: [&str; 20] = [
    "validate",
    "plan",
    "graph",
    "list",
    "describe",
    "run",
    "apply",
    "diff",
    "resume",
    "runs",
    "show",
    "logs",
    "report",
    "approve",
    "abandon",
    "demo",
    "gc",
    "store",
    "completions",
    "man",
];

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `script` in bash and returns its stdout, asserting it succeeded.
fn bash(script: &str) -> String {
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script])
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_bash_completion_script_parses_and_completes_subcommands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("quorate.bash");
    let text = Quorate::new().args(["completions", "bash"]).run().success();
    std::fs::write(&script, &text).unwrap();
    let path = script.display();
    bash(&format!("bash -n {path}"));
    // What bash offers after `quorate g<TAB>` and `quorate gc --d<TAB>`.
    let complete = |words: &str| {
        bash(&format!(
            "source {path}\ncomplete -p quorate\nCOMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))\n\
             COMP_LINE=\"{words}\"; COMP_POINT=${{#COMP_LINE}}\n\
             _quorate quorate \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        ))
    };
    let offered = complete("quorate g");
    let mut lines = offered.lines();
    assert_eq!(
        lines.next(),
        Some("complete -o bashdefault -o default -o nosort -F _quorate quorate")
    );
    let mut words: Vec<&str> = lines.collect();
    words.sort_unstable();
    assert_eq!(words, ["gc", "graph"]);
    let offered = complete("quorate gc --d");
    assert_eq!(offered.lines().skip(1).collect::<Vec<_>>(), ["--dry-run"]);
}

#[test]
fn zsh_and_fish_scripts_name_every_subcommand() {
    for shell in ["zsh", "fish"] {
        let text = Quorate::new().args(["completions", shell]).run().success();
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "{shell} completion lacks `{sub}`");
        }
        if has(shell) {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("script");
            std::fs::write(&file, &text).unwrap();
            let status = Command::new(shell).arg("-n").arg(&file).status().unwrap();
            assert!(status.success(), "{shell} -n refused its completion script");
        }
    }
    let err = Quorate::new()
        .args(["completions", "tcsh"])
        .run()
        .failure(2);
    assert!(err.contains("invalid value 'tcsh'"), "{err}");
}

#[test]
fn the_man_page_has_its_sections_and_every_subcommand() {
    let page = Quorate::new().args(["man"]).run().success();
    assert!(page.contains("\n.TH quorate 1 "), "{page}");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH OPTIONS",
        ".SH SUBCOMMANDS",
    ] {
        assert!(page.contains(section), "no `{section}` in:\n{page}");
    }
    assert!(
        page.contains("quorate \\- Declarative, resumable"),
        "{page}"
    );
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("quorate\\-{}(1)", sub.replace('-', "\\-"))),
            "the page does not list `{sub}`"
        );
    }
    if has("groff") {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("quorate.1");
        std::fs::write(&file, &page).unwrap();
        let out = Command::new("groff")
            // No overstriking: plain text to search.
            .args(["-man", "-Tutf8", "-ww", "-P-bou"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "groff warned");
        let text = String::from_utf8_lossy(&out.stdout);
        for heading in ["NAME", "SYNOPSIS", "SUBCOMMANDS"] {
            assert!(text.contains(&format!("\n{heading}\n")), "{text}");
        }
        assert!(text.contains("quorate-gc(1)"), "{text}");
    }
}

#[test]
fn man_out_writes_one_page_per_subcommand_that_man_renders() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man/man1");
    Quorate::new()
        .args(["man", "--out"])
        .arg(&out_dir)
        .run()
        .success();
    let mut pages: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = SUBCOMMANDS
        .iter()
        .map(|s| format!("quorate-{s}.1"))
        .chain(["quorate.1".to_owned(), "quorate-store-migrate.1".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(pages, expected);
    let gc = std::fs::read_to_string(out_dir.join("quorate-gc.1")).unwrap();
    assert!(gc.contains(".TH quorate-gc 1"), "{gc}");
    assert!(gc.contains("\\-\\-dry\\-run"), "{gc}");
    if has("man") {
        let out = Command::new("man")
            .arg("-l")
            .arg(out_dir.join("quorate-gc.1"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("quorate gc [--dry-run]"), "{text}");
        assert!(text.contains("-i, --inventory <FILE>"), "{text}");
    }
}

/// A controller directory with a one-task runbook on a `transport: local` host.
fn local_lab() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("inventory.yaml"),
        "name: local\nhosts:\n  here: { transport: local }\n",
    )
    .unwrap();
    let rb = dir.path().join("rb.yaml");
    std::fs::write(
        &rb,
        "runbook: hello\non: here\nsteps:\n  - id: hi\n    run: echo hi\n",
    )
    .unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let args = vec![
        "--state".to_owned(),
        path("state"),
        "-vv".to_owned(),
        "run".to_owned(),
        path("rb.yaml"),
        "-i".to_owned(),
        path("inventory.yaml"),
        "--plain".to_owned(),
    ];
    (dir, args)
}

#[test]
fn log_lines_on_a_pipe_or_file_carry_no_colour_codes() {
    let (dir, args) = local_lab();
    let log = dir.path().join("stderr.log");
    // Neither NO_COLOR nor a terminal: stderr goes to a file, as `2>log` would send it.
    let status = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(&args)
        .env("HOME", dir.path())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read(&log).unwrap();
    let shown = String::from_utf8_lossy(&text);
    assert!(
        shown.contains(" INFO ") && shown.contains("task hi@here done"),
        "the log has lines:\n{shown}"
    );
    assert!(!text.contains(&0x1b), "ESC in the log:\n{shown:?}");
}

#[test]
fn on_a_terminal_log_lines_are_coloured_unless_no_color_is_set() {
    if !has("script") {
        eprintln!("skipped: no `script` to give quorate a terminal");
        return;
    }
    let (dir, args) = local_lab();
    let line = std::iter::once(env!("CARGO_BIN_EXE_quorate").to_owned())
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ");
    // `script` runs the command on a pseudo-terminal and copies what it wrote.
    let on_terminal = |no_color: Option<&str>| {
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .env("HOME", dir.path())
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains("task hi@here done"), "{text}");
        text
    };
    assert!(
        on_terminal(None).contains("\u{1b}["),
        "no colour on a terminal"
    );
    assert!(
        !on_terminal(Some("1")).contains('\u{1b}'),
        "colour despite NO_COLOR"
    );
}
