//! Bad input, as operators write it: every file under `tests/fixtures/invalid/` (but
//! `support/`) holds one mistake and says on its first line how it is run:
//!
//! ```text
//! # quorate: plan {file} -i tests/fixtures/invalid/support/bft4.yaml -p version=1.0.0
//! ```
//!
//! `{file}` is the file's path from the repository root. quorate must refuse each one with
//! exit code 2 and a message that points at the mistake; the messages are snapshots
//! (`tests/snapshots/bad_input__NAME.snap`). Garbage must be refused the same way, never
//! with a panic.

mod support;

use std::path::{Path, PathBuf};

use support::{root, Output, Quorate};

/// Where the corpus lives, from the repository root.
const CORPUS: &str = "tests/fixtures/invalid";

/// Fewer files than this means fixtures went missing.
const MIN_FILES: usize = 45;

/// The first line of every fixture starts with this, then the arguments.
const HEADER: &str = "# quorate: ";

/// Secret values in fixture command lines contain this; no message may repeat it.
const SECRET_MARKER: &str = "hunter2";

/// Fixtures that quorate accepts today although they are wrong. Each is checked to be
/// still accepted, so that the day it is refused the entry must go (and the new
/// snapshot be reviewed) instead of the fixture silently never being snapshotted.
const ACCEPTED_TODAY: &[&str] = &[];

/// Fixtures run with `plan` whose mistake needs no inventory to be seen, yet `validate`
/// passes them today. Checked the same way as `ACCEPTED_TODAY`.
const VALIDATE_MISSES: &[&str] = &["include-with-wrong-type"];

/// One fixture: its name (path under the corpus, without `.yaml`), path and arguments.
struct Case {
    name: String,
    path: String,
    args: Vec<String>,
}

impl Case {
    fn read(path: &Path) -> Self {
        let rel = path
            .strip_prefix(root())
            .expect("fixture under the repository root")
            .to_str()
            .expect("UTF-8 path")
            .replace('\\', "/");
        let name = rel
            .strip_prefix(&format!("{CORPUS}/"))
            .and_then(|n| n.strip_suffix(".yaml"))
            .unwrap_or_else(|| panic!("{rel}: fixtures are .yaml files"))
            .replace('/', "-");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let first = text.lines().next().unwrap_or_default();
        let command = first
            .strip_prefix(HEADER)
            .unwrap_or_else(|| panic!("{rel}: the first line must be `{HEADER}ARGS`"));
        assert!(
            command.contains("{file}"),
            "{rel}: the command line does not mention {{file}}"
        );
        assert!(
            !command.contains(['"', '\'']),
            "{rel}: arguments are split on whitespace; quotes are not supported"
        );
        let args = command
            .split_whitespace()
            .map(|a| a.replace("{file}", &rel))
            .collect();
        Self {
            name,
            path: rel,
            args,
        }
    }

    fn command_line(&self) -> String {
        format!("quorate {}", self.args.join(" "))
    }

    fn run(&self) -> Output {
        Quorate::new().args(&self.args).run()
    }
}

/// Every `.yaml` file under `dir`, recursively, but `support/`.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "support") {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// The corpus, sorted by path.
fn corpus() -> Vec<Case> {
    let mut paths = Vec::new();
    collect(&root().join(CORPUS), &mut paths);
    paths.sort();
    paths.iter().map(|p| Case::read(p)).collect()
}

/// What is wrong with one run's outcome, if anything (exit code, panic, silence, leak).
fn outcome_problem(case: &Case, out: &Output) -> Option<String> {
    let problem = if out.stderr.contains("panicked") {
        "panicked"
    } else if out.code != 2 {
        "did not exit with code 2"
    } else if out.stderr.trim().is_empty() {
        "printed no message"
    } else if out.stderr.contains(SECRET_MARKER) {
        "printed a secret"
    } else {
        return None;
    };
    Some(format!(
        "{}: {problem}\n  $ {}\n  exit code {}\n  stdout:\n{}\n  stderr:\n{}",
        case.path,
        case.command_line(),
        out.code,
        out.stdout,
        out.stderr
    ))
}

/// Each fixture is refused (exit 2, a message, no panic, no secret) and its message is the
/// snapshot; the fixtures in `ACCEPTED_TODAY` are checked to be still accepted instead.
#[test]
fn every_bad_input_is_refused_with_a_message() {
    let cases = corpus();
    assert!(
        cases.len() >= MIN_FILES,
        "the corpus has {} files, expected at least {MIN_FILES}",
        cases.len()
    );
    for name in ACCEPTED_TODAY.iter().chain(VALIDATE_MISSES) {
        assert!(
            cases.iter().any(|c| c.name == *name),
            "`{name}` is listed but there is no such fixture"
        );
    }

    // Every outcome first, so one run reports every fixture that goes wrong.
    let mut problems = Vec::new();
    let mut refused = Vec::new();
    for case in &cases {
        let out = case.run();
        if ACCEPTED_TODAY.contains(&case.name.as_str()) {
            if out.code != 0 || out.stderr.contains("panicked") {
                problems.push(format!(
                    "{}: no longer accepted (exit code {}): remove it from ACCEPTED_TODAY and \
                     review its snapshot\n{}",
                    case.path, out.code, out.stderr
                ));
            }
            continue;
        }
        match outcome_problem(case, &out) {
            Some(problem) => problems.push(problem),
            None => refused.push((case, out.stderr)),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));

    for (case, stderr) in refused {
        insta::with_settings!({
            description => case.command_line(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(case.name.as_str(), stderr);
        });
    }
}

/// `validate` still passes the fixtures in `VALIDATE_MISSES`; one it refuses must leave the
/// list (and its fixture be run with `validate`).
#[test]
fn listed_validate_misses_are_still_missed() {
    let cases = corpus();
    let mut problems = Vec::new();
    for name in VALIDATE_MISSES {
        let case = cases
            .iter()
            .find(|c| c.name == *name)
            .unwrap_or_else(|| panic!("`{name}` is listed but there is no such fixture"));
        let out = Quorate::new().args(["validate", &case.path]).run();
        if out.stderr.contains("panicked") || out.code != 0 {
            problems.push(format!(
                "{}: `quorate validate` exits {} now: remove it from VALIDATE_MISSES and run \
                 the fixture with `validate`\n{}",
                case.path, out.code, out.stderr
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// A small deterministic generator (xorshift), so garbage is the same on every run.
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next().to_le_bytes()[0]).collect()
    }

    /// Text made of YAML's indicator characters, so the parser has something to chew on.
    fn yamlish(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"{}[]:-,&*!|>'\"%@`#?~ \n\tab0";
        (0..len)
            .map(|_| {
                let i = usize::try_from(self.next() % ALPHABET.len() as u64).expect("index");
                char::from(ALPHABET[i])
            })
            .collect()
    }
}

/// Random bytes, YAML punctuation soup, deep nesting, a 1 MiB line, an empty file, only a
/// comment: `validate` refuses each with exit 2 and a message, never a panic.
#[test]
fn garbage_is_refused_without_a_panic() {
    const DEPTH: usize = 10_000;
    const MEBIBYTE: usize = 1 << 20;
    let mut g = Garbage(0x9E37_79B9_7F4A_7C15);
    let prefix = "runbook: garbage\nsteps: ";
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("random-bytes.yaml", g.bytes(64 * 1024)),
        ("random-yaml.yaml", g.yamlish(64 * 1024).into_bytes()),
        (
            "runbook-random-yaml.yaml",
            format!("{prefix}{}", g.yamlish(64 * 1024)).into_bytes(),
        ),
        (
            "nested-flow-lists.yaml",
            format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH)).into_bytes(),
        ),
        (
            "runbook-nested-flow-lists.yaml",
            format!("{prefix}{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH)).into_bytes(),
        ),
        (
            "runbook-nested-unclosed-lists.yaml",
            format!("{prefix}{}", "[".repeat(DEPTH)).into_bytes(),
        ),
        (
            "runbook-nested-block-lists.yaml",
            format!(
                "runbook: garbage\nsteps:\n{}",
                (0..2_000).fold(String::new(), |mut s, i| {
                    s.push_str(&"  ".repeat(i));
                    s.push_str("- \n");
                    s
                })
            )
            .into_bytes(),
        ),
        (
            "runbook-nested-mappings.yaml",
            format!("{prefix}{}{}", "{a: ".repeat(DEPTH), "}".repeat(DEPTH)).into_bytes(),
        ),
        (
            "long-line.yaml",
            format!("runbook: {}\nsteps: []\n", "A".repeat(MEBIBYTE)).into_bytes(),
        ),
        (
            "long-command.yaml",
            format!(
                "runbook: long\non: all\nsteps:\n  - id: a\n    run: {}\n    timout: 3s\n",
                "x".repeat(MEBIBYTE)
            )
            .into_bytes(),
        ),
        ("empty.yaml", Vec::new()),
        ("comment.yaml", b"# only a comment\n".to_vec()),
        ("nul.yaml", b"runbook: a\0b\nsteps: []\n".to_vec()),
        ("bom.yaml", b"\xEF\xBB\xBF\xEF\xBB\xBFrunbook: x\n".to_vec()),
    ];
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut problems = Vec::new();
    for (name, content) in &files {
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write garbage");
        let out = Quorate::new()
            .args([std::ffi::OsStr::new("validate"), path.as_os_str()])
            .run();
        if out.stderr.contains("panicked") || out.code != 2 || out.stderr.trim().is_empty() {
            let stderr: String = out.stderr.chars().take(2_000).collect();
            problems.push(format!("{name}: exit code {}\n{stderr}", out.code));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
