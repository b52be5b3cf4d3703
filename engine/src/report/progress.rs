//! Live progress: on a terminal an overall bar plus each host's current step
//! (indicatif); otherwise one plain line per task transition. Every value shown (step,
//! host, reason, message) is escaped as a single-line field; the bars' own colours are
//! quorate's and stay.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::exec::{state_name, ExecEvent, Observer};
use crate::source::escape;
use crate::store::TaskState;

/// Sends every event to several observers.
pub struct Fanout(pub Vec<Arc<dyn Observer>>);

impl Observer for Fanout {
    fn event(&self, event: &ExecEvent) {
        for o in &self.0 {
            o.event(event);
        }
    }
}

pub struct Progress {
    bars: Option<Bars>,
    plain: Mutex<()>,
}

struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    hosts: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Progress {
    /// Bars when stdout is a terminal (and `plain` is not asked for), lines otherwise.
    pub fn new(total: usize, plain: bool) -> Self {
        let color = std::env::var_os("NO_COLOR").is_none();
        let bars = (!plain && std::io::stdout().is_terminal()).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
            let template = if color {
                "{spinner:.green} [{elapsed_precise}] {bar:40.cyan/blue} {pos}/{len} tasks {msg}"
            } else {
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} tasks {msg}"
            };
            let overall = multi.add(ProgressBar::new(total as u64));
            overall.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Bars {
                multi,
                overall,
                hosts: Mutex::new(BTreeMap::new()),
            }
        });
        Self {
            bars,
            plain: Mutex::new(()),
        }
    }

    fn line(&self, text: &str) {
        let text = escape::neutralize(text);
        if let Some(b) = &self.bars {
            let _ = b.multi.println(text);
        } else {
            let _guard = self.plain.lock();
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
        }
    }
}

impl Observer for Progress {
    #[expect(clippy::too_many_lines, reason = "one arm per event")]
    fn event(&self, event: &ExecEvent) {
        match event {
            ExecEvent::RunStarted {
                run,
                runbook,
                cluster,
                tasks,
                resumed,
                limit,
            } => {
                let verb = if *resumed { "resuming" } else { "starting" };
                let mut text = format!(
                    "{verb} run {run}: {} on {}, {tasks} tasks",
                    escape::line(runbook),
                    escape::line(cluster)
                );
                if let Some((hosts, excluded)) = limit {
                    let _ = write!(
                        text,
                        " (--limit {}: {excluded} excluded)",
                        escape::line(&hosts.join(","))
                    );
                }
                self.line(&text);
            }
            ExecEvent::Task {
                step,
                host,
                state,
                attempt,
                exit,
                reason,
                rollback,
                ..
            } => {
                let (step, host) = (escape::line(step), escape::line(host));
                let reason = reason.as_deref().map(escape::line);
                if let Some(b) = &self.bars {
                    let mut hosts = b
                        .hosts
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let bar = hosts.entry(host.to_string()).or_insert_with(|| {
                        let bar = b.multi.add(ProgressBar::new_spinner());
                        bar.set_style(
                            ProgressStyle::with_template("  {prefix:>12} {msg}")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        );
                        bar.set_prefix(host.to_string());
                        bar
                    });
                    bar.set_message(format!("{step}: {}", state_name(*state)));
                    // The total counts the plan's tasks; `on_failure` tasks are extra.
                    if !rollback
                        && matches!(
                            state,
                            TaskState::Done | TaskState::Skipped | TaskState::Failed
                        )
                    {
                        b.overall.inc(1);
                    }
                    if *state == TaskState::Failed {
                        drop(hosts);
                        self.line(&format!(
                            "FAILED {step}@{host}: {}",
                            reason.as_deref().unwrap_or_default()
                        ));
                    }
                } else if *state != TaskState::Pending {
                    let mut text = format!("{host:>12}  {step}  {}", state_name(*state));
                    if *attempt > 1 {
                        let _ = write!(text, " (attempt {attempt})");
                    }
                    if let Some(code) = exit {
                        if *state != TaskState::Running {
                            let _ = write!(text, " exit {code}");
                        }
                    }
                    if let Some(r) = &reason {
                        if *state != TaskState::Running {
                            let _ = write!(text, ": {r}");
                        }
                    }
                    self.line(&text);
                }
            }
            ExecEvent::BatchGate {
                rolling,
                batch,
                batches,
                healthy,
                needed,
                members,
                live,
                ..
            } => {
                let rolling = escape::line(rolling);
                match live {
                    Some(l) => self.line(&format!(
                        "{rolling}: batch {batch} of {batches}: live membership n = {members}, f = {} ({}); {healthy} of {members} healthy, {needed} needed",
                        l.f,
                        escape::line(&l.members.join(", "))
                    )),
                    None => self.line(&format!("{rolling}: batch {batch} of {batches}: {healthy} of {members} members healthy, {needed} needed")),
                }
            }
            ExecEvent::Rollback {
                rolling,
                batch,
                batches,
                hosts,
                ..
            } => {
                self.line(&format!(
                    "{}: batch {batch} of {batches} failed: rolling back {} (on_failure)",
                    escape::line(rolling),
                    escape::line(&hosts.join(", "))
                ));
            }
            ExecEvent::Retry {
                step,
                host,
                attempt,
                delay_ms,
                reason,
                ..
            } => {
                self.line(&format!(
                    "{:>12}  {}  retry {attempt} in {delay_ms} ms: {}",
                    escape::line(host),
                    escape::line(step),
                    escape::line(reason)
                ));
            }
            ExecEvent::Settled {
                step,
                host,
                outcome,
                ..
            } => self.line(&format!(
                "{:>12}  {}  {}",
                escape::line(host),
                escape::line(step),
                escape::line(outcome)
            )),
            ExecEvent::Paused { reason, .. } => {
                self.line(&format!("paused: {}", escape::line(reason)));
            }
            ExecEvent::RunFinished {
                run,
                status,
                done,
                skipped,
                failed,
                rolled_back,
                rollbacks,
                rollbacks_failed,
            } => {
                if let Some(b) = &self.bars {
                    b.overall.finish_and_clear();
                    for bar in b
                        .hosts
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .values()
                    {
                        bar.finish_and_clear();
                    }
                }
                let mut text = format!(
                    "run {run} {}: {done} done, {skipped} skipped, {failed} failed",
                    format!("{status:?}").to_lowercase()
                );
                if *rollbacks > 0 {
                    let _ = write!(
                        text,
                        "; on_failure: {rollbacks} ran, {rollbacks_failed} failed, {rolled_back} tasks rolled back"
                    );
                }
                self.line(&text);
            }
        }
    }
}
