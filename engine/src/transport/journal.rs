//! The remote task journal: every task runs through a small wrapper on its host that
//! records its pid, exit code and output, so that after a controller crash the host can
//! say whether a task finished (and how), still runs, or never started.

use std::fmt::Write as _;
use std::time::Duration;

use super::pipes::Output;
use super::quote::sh_quote;
use super::{Connections, HostSpec, TransportError};

/// The wrapper; its header documents the protocol.
const WRAPPER: &str = include_str!("wrapper.sh");

/// The wrapper without its comment lines and indentation: it travels with every task.
fn wrapper() -> &'static str {
    static STRIPPED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    STRIPPED.get_or_init(|| {
        WRAPPER
            .lines()
            .map(str::trim_start)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .fold(String::with_capacity(WRAPPER.len()), |mut s, l| {
                s.push_str(l);
                s.push('\n');
                s
            })
    })
}

/// Ends the recorded stdout in the wrapper's answer (see wrapper.sh).
const TRAILER: &[u8] = b"\x1fquorate-journal-end\n";

/// After the host-side timeout fires, the wrapper sends TERM, then KILL this much later.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// How long past a task's own deadline (and kill grace) the controller still waits for
/// the host to answer before it calls the outcome unknown.
const ANSWER_MARGIN: Duration = Duration::from_secs(30);

/// How often a re-delivered task that is still running on the host is polled.
const REDELIVERY_POLL: Duration = Duration::from_millis(500);

/// One attempt of one task on one host.
#[derive(Clone, Debug)]
pub struct TaskSpec<'a> {
    /// The run id: one journal directory per run on each host.
    pub run: &'a str,
    /// Unique within the run, e.g. `n42-a1` (node 42, attempt 1): a new attempt needs a
    /// new key, because a key that has a result replays it instead of running again.
    pub key: &'a str,
    /// The rendered shell command. It may hold secrets: it travels on stdin only.
    pub command: &'a str,
    /// Exported before the command runs; also stdin only.
    pub env: &'a [(String, String)],
    pub cwd: Option<&'a str>,
    /// Run the command under `sudo -n`.
    pub sudo: bool,
    /// Enforced on the host; rounded up to whole seconds.
    pub timeout: Option<Duration>,
}

/// How a task ended, as the host recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskOutcome {
    /// The command's exit code (128 + N when a signal N ended it).
    pub exit: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The host-side timeout fired and killed the command's process group.
    pub timed_out: bool,
}

/// What a host's journal says about one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalState {
    Finished(TaskOutcome),
    /// The wrapper (this pid on the host) is still running the command.
    Running {
        pid: u32,
    },
    /// No trace: the command never started (running it is safe).
    NotStarted,
    /// Started, no exit code, and the wrapper is gone: the host rebooted or the wrapper
    /// was killed. The command may have had any effect.
    Vanished,
}

/// Runs a task through the journal wrapper and returns its recorded outcome. A key that
/// already finished is not run again: its recorded outcome comes back. A key that is
/// still running (an earlier delivery) is waited for.
///
/// `Lost` means the outcome is unknown (the connection dropped, or no answer came within
/// the timeout plus a margin); [`probe`] then tells what happened.
pub async fn run_task(
    conns: &Connections,
    host: &HostSpec,
    task: &TaskSpec<'_>,
) -> Result<TaskOutcome, TransportError> {
    let secs = task.timeout.map_or(0, |t| {
        let whole = t.as_secs() + u64::from(t.subsec_nanos() > 0);
        whole.max(1)
    });
    // Checks the ids as a one-shot invocation would.
    invocation("task", task.run, task.key, secs, task.sudo)?;
    let input = task_input(task)?;
    let request = format!(
        "task {} {} {secs} {}\n{input}",
        task.run,
        task.key,
        u8::from(task.sudo)
    );
    let call = conns.serve(host, wrapper(), request.as_bytes());
    let out = if task.timeout.is_some() {
        let patience = Duration::from_secs(secs) + KILL_GRACE + ANSWER_MARGIN;
        tokio::time::timeout(patience, call)
            .await
            .map_err(|_| TransportError::Lost {
                host: host.name.clone(),
                message: format!(
                    "task {} sent no answer within {}s, its timeout plus {}s",
                    task.key,
                    patience.as_secs(),
                    (KILL_GRACE + ANSWER_MARGIN).as_secs()
                ),
            })??
    } else {
        call.await?
    };
    match parse(host, &out)? {
        JournalState::Finished(outcome) => Ok(outcome),
        JournalState::Running { .. } => {
            wait_task(conns, host, task.run, task.key, REDELIVERY_POLL).await
        }
        JournalState::Vanished => Err(vanished(host, task.run, task.key)),
        JournalState::NotStarted => Err(TransportError::Remote {
            host: host.name.clone(),
            message: format!("the task wrapper did not start task {}", task.key),
        }),
    }
}

/// Asks the host's journal about a task. Read-only.
pub async fn probe(
    conns: &Connections,
    host: &HostSpec,
    run: &str,
    key: &str,
) -> Result<JournalState, TransportError> {
    let out = conns
        .run(host, &invocation("probe", run, key, 0, false)?, b"")
        .await?;
    parse(host, &out)
}

/// Waits, polling the journal every `poll`, until a running task has finished, and
/// returns its recorded outcome. A task that never started or vanished is an error (the
/// caller decides whether to run it again, under a new key).
pub async fn wait_task(
    conns: &Connections,
    host: &HostSpec,
    run: &str,
    key: &str,
    poll: Duration,
) -> Result<TaskOutcome, TransportError> {
    loop {
        match probe(conns, host, run, key).await? {
            JournalState::Finished(outcome) => return Ok(outcome),
            JournalState::Running { .. } => tokio::time::sleep(poll).await,
            JournalState::Vanished => return Err(vanished(host, run, key)),
            JournalState::NotStarted => {
                return Err(TransportError::Remote {
                    host: host.name.clone(),
                    message: format!("task {key} of run {run} was never started on this host"),
                })
            }
        }
    }
}

/// Deletes the run's journal on the host (every task's record of it).
pub async fn remove_run(
    conns: &Connections,
    host: &HostSpec,
    run: &str,
) -> Result<(), TransportError> {
    let out = conns
        .run(host, &invocation("remove", run, "-", 0, false)?, b"")
        .await?;
    if out.success() && out.stdout.starts_with(b"quorate-journal removed") {
        Ok(())
    } else {
        Err(unexpected(host, &out))
    }
}

fn vanished(host: &HostSpec, run: &str, key: &str) -> TransportError {
    TransportError::Lost {
        host: host.name.clone(),
        message: format!(
            "task {key} of run {run} started but has no exit code and its wrapper is gone \
             (the host rebooted or the wrapper was killed)"
        ),
    }
}

/// The wrapper with its arguments: `sh -c` gives the script no positional parameters, so
/// a `set --` line in front supplies them. Nothing here is secret.
fn invocation(
    mode: &str,
    run: &str,
    key: &str,
    secs: u64,
    sudo: bool,
) -> Result<String, TransportError> {
    check_id("run id", run)?;
    if mode != "remove" {
        check_id("task key", key)?;
    }
    Ok(format!(
        "set -- {mode} {run} {key} {secs} {}\n{}",
        u8::from(sudo),
        wrapper()
    ))
}

/// Ids name directories on the host and appear unquoted in the command line.
fn check_id(what: &str, id: &str) -> Result<(), TransportError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(TransportError::Setup(format!(
            "invalid {what} `{id}`: use 1 to 128 of A-Z a-z 0-9 . _ -, not starting with `.`"
        )))
    }
}

/// What the wrapper reads on stdin: exports, `cd`, the command, and the end marker.
fn task_input(task: &TaskSpec<'_>) -> Result<String, TransportError> {
    let nul = |what: &str| {
        TransportError::Setup(format!(
            "task {}: the {what} holds a NUL byte, which no shell can pass on",
            task.key
        ))
    };
    let mut input = String::from("# quorate task input\n");
    for (name, value) in task.env {
        let valid_name = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_name {
            return Err(TransportError::Setup(format!(
                "task {}: `{name}` is not a valid environment variable name",
                task.key
            )));
        }
        if value.contains('\0') {
            return Err(nul("environment"));
        }
        let _ = writeln!(input, "export {name}={}", sh_quote(value));
    }
    if let Some(cwd) = task.cwd {
        if cwd.contains('\0') {
            return Err(nul("working directory"));
        }
        let _ = writeln!(input, "cd -- {} || exit 1", sh_quote(cwd));
    }
    if task.command.contains('\0') {
        return Err(nul("command"));
    }
    input.push_str(task.command);
    // A newline first: a command that ends in a comment or a backslash must not swallow
    // the marker.
    let _ = write!(input, "\n\n# quorate-end {}\n", task.key);
    Ok(input)
}

/// Reads the wrapper's answer (see wrapper.sh).
fn parse(host: &HostSpec, out: &Output) -> Result<JournalState, TransportError> {
    let text = &out.stdout;
    let Some(end) = text.iter().position(|&b| b == b'\n') else {
        return Err(unexpected(host, out));
    };
    let Ok(line) = std::str::from_utf8(&text[..end]) else {
        return Err(unexpected(host, out));
    };
    let body = &text[end + 1..];
    let mut words = line.split(' ');
    if words.next() != Some("quorate-journal") {
        return Err(unexpected(host, out));
    }
    let state = words.next().unwrap_or_default();
    let fields: Vec<(&str, &str)> = words.filter_map(|w| w.split_once('=')).collect();
    let field = |name: &str| -> Option<u64> {
        fields
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse().ok())
    };
    let state = match state {
        "not-started" => JournalState::NotStarted,
        "vanished" => JournalState::Vanished,
        "running" => JournalState::Running {
            pid: field("pid")
                .and_then(|p| u32::try_from(p).ok())
                .ok_or_else(|| unexpected(host, out))?,
        },
        "finished" => {
            let (Some(exit), Some(timed_out)) = (field("exit"), field("timed_out")) else {
                return Err(unexpected(host, out));
            };
            // No trailer means the answer was cut: the record is intact on the host, so
            // the task finished, but what we hold is not the whole of it.
            let Some(stdout) = body.strip_suffix(TRAILER) else {
                return Err(TransportError::Lost {
                    host: host.name.clone(),
                    message: format!(
                        "the task's recorded output arrived incomplete ({} bytes, no end marker)",
                        body.len()
                    ),
                });
            };
            JournalState::Finished(TaskOutcome {
                exit: i32::try_from(exit).map_err(|_| unexpected(host, out))?,
                stdout: stdout.to_vec(),
                stderr: out.stderr.clone(),
                timed_out: timed_out == 1,
            })
        }
        _ => return Err(unexpected(host, out)),
    };
    Ok(state)
}

fn unexpected(host: &HostSpec, out: &Output) -> TransportError {
    let why = out.stderr_text();
    let code = out.exit_text();
    TransportError::Remote {
        host: host.name.clone(),
        message: if why.is_empty() {
            format!("unexpected answer from the task journal wrapper ({code})")
        } else {
            format!("the task journal wrapper failed ({code}): {why}")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::TransportKind;

    fn host() -> HostSpec {
        HostSpec {
            name: "node0".into(),
            address: "127.0.0.1".into(),
            port: None,
            user: None,
            kind: TransportKind::Local,
        }
    }

    fn output(stdout: &[u8]) -> Output {
        Output {
            code: Some(0),
            stdout: stdout.to_vec(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn parses_a_finished_answer() {
        let mut out =
            output(b"quorate-journal finished exit=3 timed_out=1\nout\n\x1fquorate-journal-end\n");
        out.stderr = b"E\n".to_vec();
        let JournalState::Finished(o) = parse(&host(), &out).unwrap() else {
            panic!("not finished");
        };
        assert_eq!((o.exit, o.timed_out), (3, true));
        assert_eq!((&o.stdout[..], &o.stderr[..]), (&b"out\n"[..], &b"E\n"[..]));
    }

    #[test]
    fn a_cut_answer_is_lost_and_garbage_is_remote() {
        let cut = output(b"quorate-journal finished exit=0 timed_out=0\nabc");
        assert!(parse(&host(), &cut).unwrap_err().outcome_unknown());
        let garbage = output(b"hello\n");
        assert!(matches!(
            parse(&host(), &garbage),
            Err(TransportError::Remote { .. })
        ));
        assert_eq!(
            parse(&host(), &output(b"quorate-journal running pid=42\n")).unwrap(),
            JournalState::Running { pid: 42 }
        );
    }

    #[test]
    fn secrets_go_to_the_input_not_the_command_line() {
        let env = [("TOKEN".to_owned(), "s3cr3t 'x'".to_owned())];
        let task = TaskSpec {
            run: "r1",
            key: "n1-a1",
            command: "echo \"$TOKEN\" # pass=hunter2",
            env: &env,
            cwd: Some("/srv/my dir"),
            sudo: false,
            timeout: Some(Duration::from_millis(1500)),
        };
        let line = invocation("task", task.run, task.key, 2, task.sudo).unwrap();
        assert!(line.starts_with("set -- task r1 n1-a1 2 0\n"));
        assert!(!line.contains("s3cr3t") && !line.contains("hunter2"));
        let input = task_input(&task).unwrap();
        assert_eq!(
            input,
            "# quorate task input\nexport TOKEN='s3cr3t '\\''x'\\'''\n\
             cd -- '/srv/my dir' || exit 1\necho \"$TOKEN\" # pass=hunter2\n\n\
             # quorate-end n1-a1\n"
        );
    }

    #[test]
    fn the_wrapper_is_valid_sh_and_its_inner_script_survives_single_quoting() {
        for text in [WRAPPER, wrapper()] {
            let check = std::process::Command::new("sh")
                .args(["-n", "-c", text])
                .output()
                .unwrap();
            assert!(
                check.status.success(),
                "{}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
        let start = WRAPPER.find("\nq_limit='\n").expect("the limit script") + 11;
        let len = WRAPPER[start..].find("\n'\n").expect("its end");
        assert!(!WRAPPER[start..start + len].contains('\''));
    }

    #[test]
    fn ids_must_be_plain_path_components() {
        for bad in ["", ".", "..", "a/b", "a b", "$(x)", ".hidden"] {
            assert!(invocation("probe", bad, "k", 0, false).is_err(), "{bad:?}");
            assert!(invocation("probe", "r", bad, 0, false).is_err(), "{bad:?}");
        }
        assert!(invocation("remove", "r-1.2_x", "-", 0, false).is_ok());
    }
}
