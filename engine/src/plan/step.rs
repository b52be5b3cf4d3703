//! A task step of the validated runbook (run, copy, fetch, wait, approve, sleep): its
//! action and options typed, every template field parsed and checked once.

use serde_json::Value;

use super::fields::{Field, FieldKind, StaticInfo};
use super::options::regex_errors;
use super::types::{Expect, Retries};
use crate::model::raw::{ActionKind, RawExit, RawRetries, RawStep, RawWhen};
use crate::model::{Document, Duration};
use crate::source::Diagnostic;

/// What a task step does, with its fields.
#[derive(Debug)]
pub enum TaskAction {
    Run {
        command: Field,
    },
    Copy {
        src: Field,
        dest: Field,
        mode: Option<String>,
    },
    Fetch {
        src: Field,
        dest: Field,
    },
    Wait {
        until: Field,
        every: Duration,
        timeout: Duration,
    },
    Approve {
        message: Field,
    },
    Sleep {
        duration: Duration,
    },
}

/// `when:` as written: a constant or a template.
#[derive(Debug)]
pub enum When {
    Always,
    Const(bool),
    Template(Field),
}

/// A task step whose every field passed the checks the runbook alone decides.
#[derive(Debug)]
pub struct TaskStep {
    pub action: TaskAction,
    pub when: When,
    pub creates: Option<Field>,
    pub removes: Option<Field>,
    pub unless: Option<Field>,
    pub only_if: Option<Field>,
    pub env: Vec<(String, Field)>,
    pub cwd: Option<Field>,
    pub expect: Option<Expect>,
    pub retries: Option<Retries>,
    pub timeout: Option<Duration>,
    pub sudo: bool,
    pub capture: bool,
    pub idempotent: bool,
}

impl TaskAction {
    /// The action's template fields.
    fn fields(&self) -> Vec<&Field> {
        match self {
            Self::Run { command: f }
            | Self::Wait { until: f, .. }
            | Self::Approve { message: f } => {
                vec![f]
            }
            Self::Copy { src, dest, .. } | Self::Fetch { src, dest } => vec![src, dest],
            Self::Sleep { .. } => Vec::new(),
        }
    }
}

impl TaskStep {
    /// The step's template fields, kept when the step is refused (they still get the
    /// checks that need the inventory).
    pub fn into_fields(self) -> Vec<Field> {
        self.fields().into_iter().cloned().collect()
    }

    /// Every template field of the step, the action's first.
    pub fn fields(&self) -> Vec<&Field> {
        let mut out = self.action.fields();
        if let When::Template(f) = &self.when {
            out.push(f);
        }
        out.extend(
            [&self.creates, &self.removes, &self.unless, &self.only_if]
                .into_iter()
                .flatten(),
        );
        out.extend(self.env.iter().map(|(_, f)| f));
        out.extend(&self.cwd);
        out
    }

    /// Parses and checks every field of `step` (at `pointer`). When one is wrong, the
    /// reasons are in `errors` and the fields that parsed are returned.
    #[expect(
        clippy::too_many_lines,
        reason = "one arm per field; splitting would only scatter them"
    )]
    pub fn build(
        step: &RawStep,
        pointer: &str,
        info: &StaticInfo<'_>,
        doc: &Document,
        errors: &mut Vec<Diagnostic>,
    ) -> Result<Self, Vec<Field>> {
        let before = errors.len();
        let mut field =
            |text: &String, sub: &str, name: &'static str, kind: FieldKind| -> Option<Field> {
                match Field::parse(text, format!("{pointer}/{sub}"), name, kind, info, doc) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        errors.extend(e);
                        None
                    }
                }
            };
        let action = match step.action() {
            ActionKind::Run => step
                .run
                .as_ref()
                .and_then(|r| field(r, "run", "run", FieldKind::Command))
                .map(|command| TaskAction::Run { command }),
            ActionKind::Copy => step.copy.as_ref().and_then(|c| {
                let src = field(&c.src, "copy/src", "copy.src", FieldKind::Plain);
                let dest = field(&c.dest, "copy/dest", "copy.dest", FieldKind::Plain);
                Some(TaskAction::Copy {
                    src: src?,
                    dest: dest?,
                    mode: c.mode.clone(),
                })
            }),
            ActionKind::Fetch => step.fetch.as_ref().and_then(|f| {
                let src = field(&f.src, "fetch/src", "fetch.src", FieldKind::Plain);
                let dest = field(&f.dest, "fetch/dest", "fetch.dest", FieldKind::Plain);
                Some(TaskAction::Fetch {
                    src: src?,
                    dest: dest?,
                })
            }),
            ActionKind::Wait => step.wait.as_ref().and_then(|w| {
                Some(TaskAction::Wait {
                    until: field(&w.until, "wait/until", "wait.until", FieldKind::Command)?,
                    every: w.every.unwrap_or(Duration::from_millis(5_000)),
                    timeout: w.timeout.unwrap_or(Duration::from_millis(600_000)),
                })
            }),
            ActionKind::Approve => step
                .approve
                .as_ref()
                .and_then(|a| field(a, "approve", "approve", FieldKind::Plain))
                .map(|message| TaskAction::Approve { message }),
            ActionKind::Sleep => Some(TaskAction::Sleep {
                duration: step.sleep.unwrap_or(Duration::from_millis(0)),
            }),
            ActionKind::Include | ActionKind::Rolling => None,
        };
        let when = match &step.when {
            Some(RawWhen::Bool(b)) => Some(When::Const(*b)),
            Some(RawWhen::Text(t)) => {
                field(t, "when", "when", FieldKind::Plain).map(When::Template)
            }
            None => Some(When::Always),
        };
        let creates = step
            .creates
            .as_ref()
            .and_then(|t| field(t, "creates", "creates", FieldKind::Plain));
        let removes = step
            .removes
            .as_ref()
            .and_then(|t| field(t, "removes", "removes", FieldKind::Plain));
        let unless = step
            .unless
            .as_ref()
            .and_then(|t| field(t, "unless", "unless", FieldKind::Command));
        let only_if = step
            .only_if
            .as_ref()
            .and_then(|t| field(t, "only_if", "only_if", FieldKind::Command));
        let cwd = step
            .cwd
            .as_ref()
            .and_then(|t| field(t, "cwd", "cwd", FieldKind::Plain));
        let mut env = Vec::new();
        for (name, value) in &step.env {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if let Some(f) = field(&text, &format!("env/{name}"), "env", FieldKind::Env) {
                env.push((name.clone(), f));
            }
        }
        let expect = step.expect.as_ref().map(|e| Expect {
            exit: match &e.exit {
                None => vec![0],
                Some(RawExit::One(c)) => vec![*c],
                Some(RawExit::Many(v)) => v.clone(),
            },
            stdout: e.stdout.clone(),
            stderr: e.stderr.clone(),
        });
        errors.extend(regex_errors(step, pointer, doc));
        let retries = step.retries.as_ref().map(|r| {
            let mut out = Retries::default();
            match r {
                RawRetries::Count(n) => out.count = *n,
                RawRetries::Full(p) => {
                    out.count = p.count.unwrap_or(out.count);
                    out.delay = p.delay.unwrap_or(out.delay);
                    out.backoff = p.backoff.unwrap_or(out.backoff);
                    out.max_delay = p.max_delay.unwrap_or(out.max_delay);
                }
            }
            out
        });
        if errors.len() > before {
            // The fields that parsed still get the checks that need the inventory, so
            // that one pass reports every problem.
            let mut parsed: Vec<Field> = action
                .map(|a| a.fields().into_iter().cloned().collect())
                .unwrap_or_default();
            if let Some(When::Template(f)) = when {
                parsed.push(f);
            }
            parsed.extend(
                [creates, removes, unless, only_if, cwd]
                    .into_iter()
                    .flatten(),
            );
            parsed.extend(env.into_iter().map(|(_, f)| f));
            return Err(parsed);
        }
        let (Some(action), Some(when)) = (action, when) else {
            return Err(Vec::new());
        };
        Ok(Self {
            action,
            when,
            creates,
            removes,
            unless,
            only_if,
            env,
            cwd,
            expect,
            retries,
            timeout: step.timeout,
            sudo: step.sudo.unwrap_or(false),
            capture: step.capture.unwrap_or(false),
            idempotent: step.idempotent.unwrap_or(false),
        })
    }
}
