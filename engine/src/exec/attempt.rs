//! One attempt of one task: `when`, guards, the action, `expect`. It returns what
//! happened; recording it is the dispatcher's job.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use super::context::{fill_secrets, render, render_env, Results};
use super::mask::SecretMask;
use crate::plan::{is_false, Action, Expect, Plan, Secrets, Task, Text};
use crate::template::{shell_quote, Quoting, Renderer};
use crate::transport::journal::{probe, run_task, wait_task, JournalState, TaskOutcome, TaskSpec};
use crate::transport::{Connections, Download, HostSpec, TransportError, Upload};

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done {
        exit: Option<i32>,
        stdout: String,
        stderr: String,
    },
    Skipped {
        reason: String,
    },
    Failed {
        exit: Option<i32>,
        stdout: String,
        stderr: String,
        reason: String,
        connect: bool,
    },
    /// An approval gate not yet approved.
    AwaitingApproval {
        message: String,
    },
}

impl Outcome {
    /// A failure before (or instead of) running anything: no exit code, no output.
    pub fn refused(reason: String) -> Self {
        Self::Failed {
            exit: None,
            stdout: String::new(),
            stderr: String::new(),
            reason,
            connect: false,
        }
    }
}

/// Everything an attempt needs, borrowed from the dispatcher.
pub struct Attempt<'a> {
    pub plan: &'a Plan,
    pub task: &'a Task,
    pub node: usize,
    #[expect(
        clippy::struct_field_names,
        reason = "the attempt number of an attempt"
    )]
    pub attempt: u32,
    pub run_id: &'a str,
    pub host: HostSpec,
    pub conns: &'a Connections,
    pub results: &'a Results,
    pub secrets: &'a Secrets,
    /// Masks the secrets in what the host prints, before anything else reads it.
    pub mask: &'a SecretMask,
    pub renderer: &'a Renderer,
    pub approved: bool,
}

/// The journal key of a task attempt on its host.
pub fn journal_key(node: usize, attempt: u32) -> String {
    format!("n{node}-a{attempt}")
}

impl Attempt<'_> {
    pub(super) fn text(&self, t: &Text, quoting: Quoting) -> Result<String, String> {
        render(
            t,
            quoting,
            self.task,
            self.plan,
            self.results,
            self.run_id,
            self.renderer,
        )
    }

    pub async fn run(&self) -> Outcome {
        let outcome = match self.run_inner().await {
            Ok(o) => o,
            Err(e) => e,
        };
        self.mask.attempt(outcome)
    }

    #[expect(clippy::too_many_lines, reason = "one arm per action")]
    async fn run_inner(&self) -> Result<Outcome, Outcome> {
        let fail = Outcome::refused;
        if let Some(when) = &self.task.when {
            let value = self.text(when, Quoting::Plain).map_err(fail)?;
            if is_false(&value) {
                return Ok(Outcome::Skipped {
                    reason: format!("`when` is {:?}", value.trim()),
                });
            }
        }
        if let Some(reason) = self.guards().await? {
            return Ok(Outcome::Skipped { reason });
        }
        match &self.task.action {
            Action::Run { command } => {
                let command = self.text(command, Quoting::Shell).map_err(fail)?;
                let outcome = self.mask.outcome(self.journaled(&command).await?);
                Ok(check_expect(
                    self.task.expect.as_ref(),
                    &outcome,
                    self.task.timeout,
                ))
            }
            Action::Copy { src, dest, mode } => {
                let src = self.text(src, Quoting::Plain).map_err(fail)?;
                let dest = self.text(dest, Quoting::Plain).map_err(fail)?;
                let data = tokio::fs::read(&src)
                    .await
                    .map_err(|e| fail(format!("cannot read {src} on the controller: {e}")))?;
                let mode = mode.as_deref().and_then(|m| u32::from_str_radix(m, 8).ok());
                match self
                    .conns
                    .upload(&self.host, &data, &dest, mode)
                    .await
                    .map_err(|e| transport_failure(&e))?
                {
                    Upload::Skipped => Ok(Outcome::Skipped {
                        reason: format!("{dest} already has this content"),
                    }),
                    Upload::Written => Ok(done(format!("copied {} bytes to {dest}", data.len()))),
                }
            }
            Action::Fetch { src, dest } => {
                let src = self.text(src, Quoting::Plain).map_err(fail)?;
                let dest = self.text(dest, Quoting::Plain).map_err(fail)?;
                match self
                    .conns
                    .download_to(&self.host, &src, Path::new(&dest))
                    .await
                    .map_err(|e| transport_failure(&e))?
                {
                    Download::Same => Ok(Outcome::Skipped {
                        reason: format!("{dest} already has this content"),
                    }),
                    Download::Written { bytes } => {
                        Ok(done(format!("fetched {bytes} bytes to {dest}")))
                    }
                }
            }
            Action::Wait {
                until,
                every,
                timeout,
            } => {
                let until = self.text(until, Quoting::Shell).map_err(fail)?;
                let start = Instant::now();
                loop {
                    let out = self.shell(&until).await?;
                    if out.0 == Some(0) {
                        return Ok(Outcome::Done {
                            exit: Some(0),
                            stdout: out.1,
                            stderr: out.2,
                        });
                    }
                    if start.elapsed() >= timeout.as_duration() {
                        return Ok(Outcome::Failed {
                            exit: out.0,
                            stdout: out.1,
                            stderr: out.2,
                            reason: format!("not ready after {timeout}: `{until}` kept failing"),
                            connect: false,
                        });
                    }
                    tokio::time::sleep(every.as_duration()).await;
                }
            }
            Action::Approve { message } => {
                let message = self.text(message, Quoting::Plain).map_err(fail)?;
                if self.approved {
                    Ok(done(format!("approved: {message}")))
                } else {
                    Ok(Outcome::AwaitingApproval { message })
                }
            }
            Action::Sleep { duration } => {
                tokio::time::sleep(duration.as_duration()).await;
                Ok(done(format!("slept {duration}")))
            }
        }
    }

    /// Evaluates the guards (read-only by contract); `Some(reason)` means skip.
    pub(super) async fn guards(&self) -> Result<Option<String>, Outcome> {
        let g = &self.task.guards;
        let fail = Outcome::refused;
        if let Some(path) = &g.creates {
            let path = self.text(path, Quoting::Plain).map_err(fail)?;
            if self
                .shell(&format!("test -e {}", shell_quote(&path)))
                .await?
                .0
                == Some(0)
            {
                return Ok(Some(format!("`creates`: {path} exists")));
            }
        }
        if let Some(path) = &g.removes {
            let path = self.text(path, Quoting::Plain).map_err(fail)?;
            if self
                .shell(&format!("test -e {}", shell_quote(&path)))
                .await?
                .0
                != Some(0)
            {
                return Ok(Some(format!("`removes`: {path} does not exist")));
            }
        }
        if let Some(cmd) = &g.unless {
            let cmd = self.text(cmd, Quoting::Shell).map_err(fail)?;
            if self.shell(&cmd).await?.0 == Some(0) {
                return Ok(Some("`unless` succeeded".to_owned()));
            }
        }
        if let Some(cmd) = &g.only_if {
            let cmd = self.text(cmd, Quoting::Shell).map_err(fail)?;
            if self.shell(&cmd).await?.0 != Some(0) {
                return Ok(Some("`only_if` failed".to_owned()));
            }
        }
        Ok(None)
    }

    /// A read-only command (guards, `wait`), run directly rather than through the journal.
    async fn shell(&self, command: &str) -> Result<(Option<i32>, String, String), Outcome> {
        let env = self.env().map_err(|reason| Outcome::Failed {
            exit: None,
            stdout: String::new(),
            stderr: String::new(),
            reason,
            connect: false,
        })?;
        let mut script = String::new();
        for (k, v) in &env {
            let _ = writeln!(script, "export {k}={}", shell_quote(v));
        }
        if let Some(cwd) = &self.task.cwd {
            let cwd = self.text(cwd, Quoting::Plain).unwrap_or_default();
            let _ = writeln!(script, "cd {} || exit 125", shell_quote(&cwd));
        }
        script.push_str(command);
        script.push('\n');
        let runner = if self.task.sudo {
            "sudo -n sh -s"
        } else {
            "sh -s"
        };
        let out = self
            .conns
            .run(&self.host, runner, script.as_bytes())
            .await
            .map_err(|e| transport_failure(&e))?;
        Ok((
            out.code,
            lossy(&self.mask.mask_bytes(&out.stdout)),
            lossy(&self.mask.mask_bytes(&out.stderr)),
        ))
    }

    fn env(&self) -> Result<Vec<(String, String)>, String> {
        self.task
            .env
            .iter()
            .map(|(k, v)| {
                let parts = render_env(
                    v,
                    self.task,
                    self.plan,
                    self.results,
                    self.run_id,
                    self.renderer,
                )?;
                Ok((k.clone(), fill_secrets(&parts, self.secrets)?))
            })
            .collect()
    }

    /// Runs the command through the host's task journal. If the connection drops, the
    /// journal, not a guess, says whether it ran: finished results are taken, a running
    /// command is waited for, and only a command that never started is sent again.
    async fn journaled(&self, command: &str) -> Result<TaskOutcome, Outcome> {
        let env = self.env().map_err(|reason| Outcome::Failed {
            exit: None,
            stdout: String::new(),
            stderr: String::new(),
            reason,
            connect: false,
        })?;
        let cwd = match &self.task.cwd {
            Some(c) => Some(
                self.text(c, Quoting::Plain)
                    .map_err(|reason| Outcome::Failed {
                        exit: None,
                        stdout: String::new(),
                        stderr: String::new(),
                        reason,
                        connect: false,
                    })?,
            ),
            None => None,
        };
        let key = journal_key(self.node, self.attempt);
        let spec = TaskSpec {
            run: self.run_id,
            key: &key,
            command,
            env: &env,
            cwd: cwd.as_deref(),
            sudo: self.task.sudo,
            timeout: self.task.timeout.map(crate::model::Duration::as_duration),
        };
        match run_task(self.conns, &self.host, &spec).await {
            Ok(o) => Ok(o),
            Err(TransportError::Lost { .. }) => self.settle(&key).await,
            Err(e) => Err(transport_failure(&e)),
        }
    }

    async fn settle(&self, key: &str) -> Result<TaskOutcome, Outcome> {
        match probe(self.conns, &self.host, self.run_id, key)
            .await
            .map_err(|e| transport_failure(&e))?
        {
            JournalState::Finished(o) => Ok(o),
            JournalState::Running { .. } => wait_task(
                self.conns,
                &self.host,
                self.run_id,
                key,
                Duration::from_millis(500),
            )
            .await
            .map_err(|e| transport_failure(&e)),
            JournalState::NotStarted => Err(Outcome::Failed {
                exit: None,
                stdout: String::new(),
                stderr: String::new(),
                reason: format!(
                    "the connection to {} dropped before the command started",
                    self.host.name
                ),
                connect: true,
            }),
            JournalState::Vanished => Err(Outcome::Failed {
                exit: None,
                stdout: String::new(),
                stderr: String::new(),
                reason: format!(
                    "the command on {} stopped without recording an exit code",
                    self.host.name
                ),
                connect: false,
            }),
        }
    }
}

fn done(note: String) -> Outcome {
    Outcome::Done {
        exit: None,
        stdout: note,
        stderr: String::new(),
    }
}

pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn transport_failure(e: &TransportError) -> Outcome {
    let connect = matches!(e, TransportError::Connect { .. });
    Outcome::Failed {
        exit: None,
        stdout: String::new(),
        stderr: String::new(),
        reason: e.to_string(),
        connect,
    }
}

/// Judges a finished command by the step's `expect` (exit 0 when none is given).
pub fn check_expect(
    expect: Option<&Expect>,
    o: &TaskOutcome,
    timeout: Option<crate::model::Duration>,
) -> Outcome {
    let (stdout, stderr) = (lossy(&o.stdout), lossy(&o.stderr));
    if o.timed_out {
        let after = timeout.map(|t| format!(" after {t}")).unwrap_or_default();
        return Outcome::Failed {
            exit: Some(o.exit),
            stdout,
            stderr,
            reason: format!("timed out{after}; the command was killed"),
            connect: false,
        };
    }
    let codes = expect.map_or(&[0][..], |e| e.exit.as_slice());
    if !codes.iter().any(|&c| i64::from(o.exit) == c) {
        let wanted: Vec<String> = codes.iter().map(ToString::to_string).collect();
        let reason = format!(
            "exit {} (expected {}){}",
            o.exit,
            wanted.join(" or "),
            tail(&stderr)
        );
        return Outcome::Failed {
            exit: Some(o.exit),
            stdout,
            stderr,
            reason,
            connect: false,
        };
    }
    if let Some(e) = expect {
        let mismatch = [
            ("stdout", &e.stdout, &stdout),
            ("stderr", &e.stderr, &stderr),
        ]
        .into_iter()
        .find_map(|(name, re, text)| {
            let re = re.as_ref()?;
            let matched = regex::Regex::new(re).is_ok_and(|r| r.is_match(text));
            (!matched).then(|| format!("{name} does not match /{re}/{}", tail(text)))
        });
        if let Some(reason) = mismatch {
            return Outcome::Failed {
                exit: Some(o.exit),
                stdout,
                stderr,
                reason,
                connect: false,
            };
        }
    }
    Outcome::Done {
        exit: Some(o.exit),
        stdout,
        stderr,
    }
}

/// The last lines of an output, for failure messages.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(5);
    format!(": {}", lines[start..].join(" | "))
}
