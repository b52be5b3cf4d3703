//! `quorate logs --follow`: prints task output as tasks finish, and the run's state changes,
//! until the run ends, pauses or fails; then exits with the code `quorate run` would have.
//!
//! It polls: the run's status first, then the events after the last one printed, so a
//! final status read is always followed by every event up to it. Between polls it holds
//! no store: the store stays free for the controller (and, when the controller is gone,
//! for `resume`).

use std::collections::HashMap;
use std::time::Duration;

use super::args::{Cli, LogsArgs};
use super::exit::{DONE, FAILED, PAUSED};
use super::log_output::LogPrinter;
use super::store_failure::report_store_failure;
use super::warn;
use crate::exec::status_name;
use crate::source::Diagnostic;
use crate::store::{open_reader, Reader, RunRecord, RunStatus, StoreError, TaskState};

/// How often a follower asks for news: the controller reports a finished task within
/// 200 ms, so this keeps a follower about as current as the progress display.
const POLL: Duration = Duration::from_millis(200);

/// Follows run `id`, starting with `reader`; returns the exit code.
pub fn follow(cli: &Cli, args: &LogsArgs, reader: Reader, id: &str) -> u8 {
    let printer = LogPrinter { run: id, args };
    let mut follower = Follower {
        printer,
        reader: Some(reader),
        seq: 0,
        printed: HashMap::new(),
        started: false,
    };
    loop {
        match follower.poll(cli, id) {
            Ok(Some(code)) => return code,
            Ok(None) => std::thread::sleep(POLL),
            Err(StoreError::Live(_)) if follower.reader.is_some() => {
                // The controller went away between two reads, most likely because its
                // drive ended: read again, from the store it released.
                follower.reader = None;
            }
            Err(error) => return report_store_failure(&cli.state, &error),
        }
    }
}

struct Follower<'a> {
    printer: LogPrinter<'a>,
    reader: Option<Reader>,
    /// The last event printed.
    seq: u64,
    /// Which attempt's end of each task has been printed: `(attempts, ended_ms)`.
    printed: HashMap<usize, (u32, Option<u64>)>,
    started: bool,
}

impl Follower<'_> {
    /// One poll; `Some(exit code)` once the run is no longer running.
    fn poll(&mut self, cli: &Cli, id: &str) -> Result<Option<u8>, StoreError> {
        if self.reader.is_none() {
            self.reader = Some(open_reader(&cli.state, &cli.etcd_options())?);
        }
        let reader =
            self.reader.as_ref().map(Reader::as_reader).ok_or_else(|| {
                StoreError::Live("the store could not be opened again".to_owned())
            })?;
        let run = reader
            .run(id)?
            .ok_or_else(|| StoreError::NoRun(id.to_owned()))?;
        if !self.started {
            // What already happened: the kept output of every task that has some, then
            // the events from here on.
            self.seq = reader.events(id)?.last().map_or(0, |e| e.seq);
            for t in reader.tasks(id)? {
                if is_end(t.state) {
                    self.printed.insert(t.node, (t.attempts, t.ended_ms));
                }
                self.printer.task(&t);
            }
            self.started = true;
        }
        for event in reader.events_after(id, self.seq)? {
            self.seq = event.seq;
            let task = match event.node {
                Some(node) if event.kind == "task" => reader.task(id, node)?,
                _ => None,
            };
            self.printer.event(&event, task.as_ref());
            if let Some(t) = task.filter(|t| is_end(t.state)) {
                let end = (t.attempts, t.ended_ms);
                if self.printed.insert(t.node, end) != Some(end) {
                    self.printer.task(&t);
                }
            }
        }
        if run.status == RunStatus::Running {
            if reader.driven_elsewhere(id)? {
                return Ok(None);
            }
            self.printer.end(&run);
            return Ok(Some(undriven(&run)));
        }
        self.printer.end(&run);
        Ok(Some(exit_code(run.status)))
    }
}

fn is_end(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::Done | TaskState::Failed | TaskState::Skipped
    )
}

/// The exit code of a run that stopped: as `quorate run` exits (0 done, 1 failed, 3
/// paused); an abandoned run did not reach its end: 1.
pub fn exit_code(status: RunStatus) -> u8 {
    match status {
        RunStatus::Done => DONE,
        RunStatus::Paused => PAUSED,
        RunStatus::Running | RunStatus::Failed | RunStatus::Abandoned => FAILED,
    }
}

/// A run recorded as running that no controller drives: its controller stopped without
/// recording the end (killed, or its machine went down).
fn undriven(run: &RunRecord) -> u8 {
    warn(&[Diagnostic::error(format!(
        "run {} is recorded as {} but no controller drives it: {} stopped before recording \
         its end",
        run.id,
        status_name(run.status),
        crate::source::escape::line(&run.controller)
    ))
    .with_hint(format!("continue it with `quorate resume {}`", run.id))]);
    FAILED
}
