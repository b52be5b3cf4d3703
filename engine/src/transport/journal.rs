//! The remote task journal: every task runs through a small wrapper on its host that
//! records its pid, exit code and output, so that after a controller crash the host can
//! say whether a task finished (and how), still runs, or never started.

use std::fmt::Write as _;
use std::time::Duration;

use super::answer::{Answer, Nonce};
use super::{Connections, HostSpec, TransportError};
use crate::shell;

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
    let nonce = fresh_nonce()?;
    let request = task_request(task, secs, &nonce)?;
    let call = conns.serve(host, wrapper(), request.as_bytes(), &nonce);
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
    let answer = once(conns, host, "probe", run, key).await?;
    parse(host, &answer)
}

/// Empties the recorded stdout and stderr of a finished task on its host, keeping its exit
/// record (a later [`probe`] replays the exit code with empty output): for output that
/// may hold secrets, once its result is recorded elsewhere. A task that has not finished
/// is an error and keeps its output.
pub async fn scrub_output(
    conns: &Connections,
    host: &HostSpec,
    run: &str,
    key: &str,
) -> Result<(), TransportError> {
    check_ids("scrub", run, key)?;
    let nonce = fresh_nonce()?;
    let request = format!("scrub {run} {key} 0 0 0 {}\n", nonce.as_str());
    let answer = conns
        .serve(host, wrapper(), request.as_bytes(), &nonce)
        .await?;
    expect_line(host, &answer, "scrubbed")
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

/// Deletes the run's journal on the host (every task's record of it). It goes through the
/// host's journal server, which a run that ends still has open (no new channel or shell
/// per host); `quorate gc` starts one. Removing is idempotent, so a server whose channel
/// broke is replaced and asked once more.
pub async fn remove_run(
    conns: &Connections,
    host: &HostSpec,
    run: &str,
) -> Result<(), TransportError> {
    check_ids("remove", run, "-")?;
    let remove = || async {
        let nonce = fresh_nonce()?;
        let request = format!("remove {run} - 0 0 0 {}\n", nonce.as_str());
        conns
            .serve(host, wrapper(), request.as_bytes(), &nonce)
            .await
    };
    let answer = match remove().await {
        // `serve` dropped the broken server: the next call starts a new one.
        Err(TransportError::Lost { .. }) => remove().await?,
        other => other?,
    };
    expect_line(host, &answer, "removed")
}

/// An answer that must be the single line `STATE`.
fn expect_line(host: &HostSpec, answer: &Answer, state: &str) -> Result<(), TransportError> {
    if answer.line == state {
        return Ok(());
    }
    Err(match answer.line.strip_prefix("error ") {
        Some(message) => failed(host, message),
        None => unexpected(host, &answer.line),
    })
}

fn fresh_nonce() -> Result<Nonce, TransportError> {
    Nonce::fresh().map_err(|e| TransportError::Setup(format!("cannot draw a nonce: {e}")))
}

/// Runs the wrapper once, outside the journal server, for a request without input.
async fn once(
    conns: &Connections,
    host: &HostSpec,
    mode: &str,
    run: &str,
    key: &str,
) -> Result<Answer, TransportError> {
    let nonce = fresh_nonce()?;
    conns
        .run_once(host, &invocation(mode, run, key, &nonce)?, &nonce)
        .await
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
fn invocation(mode: &str, run: &str, key: &str, nonce: &Nonce) -> Result<String, TransportError> {
    check_ids(mode, run, key)?;
    Ok(format!(
        "set -- {mode} {run} {key} 0 0 0 {}\n{}",
        nonce.as_str(),
        wrapper()
    ))
}

fn check_ids(mode: &str, run: &str, key: &str) -> Result<(), TransportError> {
    check_id("run id", run)?;
    if mode != "remove" {
        check_id("task key", key)?;
    }
    Ok(())
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

/// A task's request: its line, then exactly LEN bytes of input ending with the end line
/// (see wrapper.sh). Only the input holds secrets.
fn task_request(task: &TaskSpec<'_>, secs: u64, nonce: &Nonce) -> Result<String, TransportError> {
    check_ids("task", task.run, task.key)?;
    let mut input = task_input(task)?;
    input.push_str(&nonce.input_end());
    Ok(format!(
        "task {} {} {secs} {} {} {}\n{input}",
        task.run,
        task.key,
        u8::from(task.sudo),
        input.len(),
        nonce.as_str()
    ))
}

/// The task input: exports, `cd` and the command (the end line follows it).
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
        let _ = writeln!(input, "export {name}={}", shell::quote(value));
    }
    if let Some(cwd) = task.cwd {
        if cwd.contains('\0') {
            return Err(nul("working directory"));
        }
        let _ = writeln!(input, "cd -- {} || exit 1", shell::quote(cwd));
    }
    if task.command.contains('\0') {
        return Err(nul("command"));
    }
    input.push_str(task.command);
    // A newline after the command: the end line must stay a line of its own, whatever the
    // command ends with (a comment, a backslash).
    input.push('\n');
    Ok(input)
}

/// Reads the wrapper's answer (see wrapper.sh).
fn parse(host: &HostSpec, answer: &Answer) -> Result<JournalState, TransportError> {
    let line = answer.line.as_str();
    if let Some(message) = line.strip_prefix("error ") {
        return Err(failed(host, message));
    }
    let mut words = line.split(' ');
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
                .ok_or_else(|| unexpected(host, line))?,
        },
        "finished" => {
            let (Some(exit), Some(timed_out)) = (field("exit"), field("timed_out")) else {
                return Err(unexpected(host, line));
            };
            JournalState::Finished(TaskOutcome {
                exit: i32::try_from(exit).map_err(|_| unexpected(host, line))?,
                stdout: answer.stdout.clone(),
                stderr: answer.stderr.clone(),
                timed_out: timed_out == 1,
            })
        }
        _ => return Err(unexpected(host, line)),
    };
    Ok(state)
}

fn failed(host: &HostSpec, message: &str) -> TransportError {
    TransportError::Remote {
        host: host.name.clone(),
        message: format!("the task journal wrapper failed: {message}"),
    }
}

fn unexpected(host: &HostSpec, line: &str) -> TransportError {
    TransportError::Remote {
        host: host.name.clone(),
        message: format!(
            "unexpected answer from the task journal wrapper: {:?}",
            line.chars().take(200).collect::<String>()
        ),
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

    fn answer(line: &str) -> Answer {
        Answer {
            line: line.to_owned(),
            ..Answer::default()
        }
    }

    #[test]
    fn parses_a_finished_answer() {
        let mut a = answer("finished exit=3 timed_out=1");
        (a.stdout, a.stderr) = (b"out\n".to_vec(), b"E\n".to_vec());
        let JournalState::Finished(o) = parse(&host(), &a).unwrap() else {
            panic!("not finished");
        };
        assert_eq!((o.exit, o.timed_out), (3, true));
        assert_eq!((&o.stdout[..], &o.stderr[..]), (&b"out\n"[..], &b"E\n"[..]));
    }

    #[test]
    fn complaints_and_garbage_are_remote_errors() {
        let err = parse(&host(), &answer("error invalid task key: x")).unwrap_err();
        let TransportError::Remote { message, .. } = err else {
            panic!("not remote: {err:?}");
        };
        assert_eq!(
            message,
            "the task journal wrapper failed: invalid task key: x"
        );
        for garbage in ["hello", "finished exit=x timed_out=0", "running"] {
            assert!(matches!(
                parse(&host(), &answer(garbage)),
                Err(TransportError::Remote { .. })
            ));
        }
        assert_eq!(
            parse(&host(), &answer("running pid=42")).unwrap(),
            JournalState::Running { pid: 42 }
        );
    }

    #[test]
    fn secrets_go_to_the_input_not_the_request_line() {
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
        let nonce = Nonce::fresh().unwrap();
        let request = task_request(&task, 2, &nonce).unwrap();
        let (line, input) = request.split_once('\n').unwrap();
        let want = format!(
            "# quorate task input\nexport TOKEN='s3cr3t '\\''x'\\'''\n\
             cd -- '/srv/my dir' || exit 1\necho \"$TOKEN\" # pass=hunter2\n\
             # quorate-end {}\n",
            nonce.as_str()
        );
        assert_eq!(input, want);
        assert_eq!(
            line,
            format!("task r1 n1-a1 2 0 {} {}", want.len(), nonce.as_str())
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
        let nonce = Nonce::fresh().unwrap();
        for bad in ["", ".", "..", "a/b", "a b", "$(x)", ".hidden"] {
            assert!(invocation("probe", bad, "k", &nonce).is_err(), "{bad:?}");
            assert!(invocation("probe", "r", bad, &nonce).is_err(), "{bad:?}");
        }
        assert!(invocation("remove", "r-1.2_x", "-", &nonce).is_ok());
    }
}
