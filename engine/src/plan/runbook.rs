//! The validated runbook, the phase between the file's serde shapes and the plan: ids
//! unique, `needs` known and acyclic, each step's action typed and its options checked,
//! every template field parsed and its paths checked against what the runbook decides.
//! `quorate validate` stops here; planning starts from it and adds only what needs the
//! inventory (hosts, groups, batches, rendering).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use super::ancestry::{Ancestry, Mark};
use super::compile::LoadedRunbook;
use super::fields::{Field, FieldKind, StaticInfo};
use super::options::option_errors;
use super::order::{order_list, ListOrder};
use super::step::TaskStep;
use crate::model::raw::{ActionKind, RawBatch, RawParam, RawRolling, RawStep, RawTarget};
use crate::model::{Document, Duration};
use crate::source::Diagnostic;

/// An `on:` and where it was written (an included runbook's default may come from the
/// including file).
#[derive(Clone, Debug)]
pub struct Target {
    pub on: RawTarget,
    pub pointer: String,
    pub doc: Arc<Document>,
}

/// Where a step's tasks run, as far as the runbook decides it.
#[derive(Debug)]
pub enum Placement {
    /// `approve`, `sleep` without `on`, or `on: controller`: one task, on the controller.
    Controller,
    /// The hosts of an `on:` (the step's or its list's), resolved when planning.
    Hosts(Target),
    /// A step of a rolling block: the block's hosts.
    Block,
    /// No `on:` anywhere (reported).
    Missing,
}

#[derive(Debug)]
pub struct Runbook {
    pub name: String,
    pub description: Option<String>,
    pub doc: Arc<Document>,
    /// The declared parameters, secret ones included.
    pub params: IndexMap<String, RawParam>,
    pub steps: StepList,
    /// Whether a step id is used twice (reported; nothing is planned then).
    pub duplicate_ids: bool,
}

/// Sibling steps and their order; `order` is `None` when a `needs` is wrong (reported).
#[derive(Debug)]
pub struct StepList {
    pub steps: Vec<Step>,
    pub order: Option<ListOrder>,
}

#[derive(Debug)]
pub struct Step {
    pub id: String,
    pub description: Option<String>,
    /// The step's JSON pointer in its file.
    pub pointer: String,
    pub kind: ActionKind,
    /// `on:` as the step writes it.
    pub on: Option<RawTarget>,
    pub placement: Placement,
    pub action: StepAction,
}

#[derive(Debug)]
pub enum StepAction {
    /// `Err`: an option or a field is wrong (reported), with the fields that parsed.
    Task(Result<Box<TaskStep>, Vec<Field>>),
    Include(IncludeStep),
    Rolling(Box<RollingBlock>),
}

#[derive(Debug)]
pub struct IncludeStep {
    pub name: String,
    pub with: Vec<WithValue>,
}

/// One `with:` entry: a template (`None` when it is wrong, reported) or a plain value.
#[derive(Debug)]
pub struct WithValue {
    pub key: String,
    pub pointer: String,
    pub value: Result<Option<Field>, Value>,
}

#[derive(Debug)]
pub struct RollingBlock {
    /// Whether the block's options and inner steps' shapes are right (reported if not).
    pub valid: bool,
    pub batch: Option<RawBatch>,
    /// `by:` as written, and parsed (`None` when wrong, reported).
    pub by_text: Option<String>,
    pub by: Option<Field>,
    pub pause: Option<Duration>,
    pub steps: StepList,
    pub on_failure: Vec<Step>,
}

/// What the walk over one runbook shares.
struct Walk<'r> {
    doc: &'r Arc<Document>,
    params: &'r IndexMap<String, RawParam>,
    ids: HashSet<String>,
    captures: HashSet<String>,
    /// Steps sure to have several tasks, and the `on` that says so.
    several: HashMap<String, String>,
    ancestry: Ancestry,
    errors: Vec<Diagnostic>,
}

impl Runbook {
    /// Validates a runbook file run on its own: its steps without `on` use the runbook's.
    /// Returns every problem found; the runbook is planned only when there is none.
    pub fn validate(rb: &LoadedRunbook) -> (Self, Vec<Diagnostic>) {
        Self::validate_with(rb, own_default(rb).as_ref())
    }

    /// [`Runbook::validate`] where steps without `on` use `default` (for an included
    /// runbook, which may inherit it from the including one).
    pub fn validate_with(rb: &LoadedRunbook, default: Option<&Target>) -> (Self, Vec<Diagnostic>) {
        let mut walk = Walk {
            doc: &rb.doc,
            params: &rb.raw.params,
            ids: HashSet::new(),
            captures: HashSet::new(),
            several: HashMap::new(),
            ancestry: Ancestry::default(),
            errors: Vec::new(),
        };
        let mut first_use = HashMap::new();
        walk.collect(&rb.raw.steps, "/steps", default, &mut first_use);
        let duplicate_ids = !walk.errors.is_empty();
        let steps = walk.list(&rb.raw.steps, "/steps", default, &HashMap::new(), None);
        let mut errors = walk.errors;
        errors.sort_by_key(|d| d.pos);
        let runbook = Self {
            name: rb.raw.runbook.clone(),
            description: rb.raw.description.clone(),
            doc: Arc::clone(&rb.doc),
            params: rb.raw.params.clone(),
            steps,
            duplicate_ids,
        };
        (runbook, errors)
    }
}

/// The runbook's own `on`, as the default of its steps.
pub fn own_default(rb: &LoadedRunbook) -> Option<Target> {
    rb.raw.on.as_ref().map(|t| Target {
        on: t.clone(),
        pointer: "/on".to_owned(),
        doc: Arc::clone(&rb.doc),
    })
}

/// Where a step runs, from its action, its `on` and its list's default.
fn placement(
    step: &RawStep,
    pointer: &str,
    doc: &Arc<Document>,
    default: Option<&Target>,
) -> Placement {
    let action = step.action();
    if action == ActionKind::Approve || (action == ActionKind::Sleep && step.on.is_none()) {
        return Placement::Controller;
    }
    let target = match (&step.on, default) {
        (Some(t), _) => Target {
            on: t.clone(),
            pointer: format!("{pointer}/on"),
            doc: Arc::clone(doc),
        },
        (None, Some(d)) => d.clone(),
        (None, None) => return Placement::Missing,
    };
    if target.on == RawTarget::One(crate::model::CONTROLLER.to_owned()) {
        Placement::Controller
    } else {
        Placement::Hosts(target)
    }
}

/// The `on` of a placement when it surely makes several tasks: a list of two or more
/// hosts or groups (the schema refuses a name listed twice). A step of a rolling block is
/// read only by the block's steps, on the same host.
fn surely_several(placement: &Placement) -> Option<String> {
    let Placement::Hosts(t) = placement else {
        return None;
    };
    matches!(&t.on, RawTarget::Many(names) if names.len() > 1)
        .then(|| super::targets::describe(&t.on))
}

impl Walk<'_> {
    /// Every step id (rolling blocks included): duplicates, captures, and which steps
    /// surely run on several hosts. `default`: the list's `on` (`None` in a block).
    fn collect(
        &mut self,
        steps: &[RawStep],
        pointer: &str,
        default: Option<&Target>,
        first_use: &mut HashMap<String, String>,
    ) {
        for (i, s) in steps.iter().enumerate() {
            let p = format!("{pointer}/{i}");
            let id_pointer = format!("{p}/id");
            if let Some(first) = first_use.get(&s.id) {
                let (pos, _) = self.doc.index.value_pos(first);
                self.errors.push(
                    self.doc
                        .error_at(&id_pointer, format!("duplicate step id `{}`", s.id))
                        .with_note(format!(
                            "first used at line {}, column {}",
                            pos.line, pos.col
                        ))
                        .with_hint("give each step its own id"),
                );
            } else {
                first_use.insert(s.id.clone(), id_pointer);
            }
            self.ids.insert(s.id.clone());
            if s.capture == Some(true) {
                self.captures.insert(s.id.clone());
            }
            if let Some(on) = surely_several(&placement(s, &p, self.doc, default)) {
                self.several.insert(s.id.clone(), on);
            }
            if let Some(r) = &s.rolling {
                for (list, key) in [(&r.steps, "steps"), (&r.on_failure, "on_failure")] {
                    let inner = format!("{p}/rolling/{key}");
                    self.collect(list, &inner, None, first_use);
                }
            }
        }
    }

    /// A list of sibling steps, validated. `elsewhere`: ids that live outside the list,
    /// for precise `needs` messages; `block`: the entry marks of a rolling block's steps.
    fn list(
        &mut self,
        steps: &[RawStep],
        pointer: &str,
        default: Option<&Target>,
        elsewhere: &HashMap<String, String>,
        block: Option<Mark>,
    ) -> StepList {
        let mut elsewhere = elsewhere.clone();
        for step in steps {
            if let Some(r) = &step.rolling {
                for inner in r.steps.iter().chain(&r.on_failure) {
                    elsewhere.insert(
                        inner.id.clone(),
                        format!("inside rolling block `{}`", step.id),
                    );
                }
            }
        }
        let order = match order_list(steps, pointer, self.doc, &elsewhere) {
            Ok(o) => o,
            Err(e) => {
                self.errors.extend(e);
                return StepList {
                    steps: Vec::new(),
                    order: None,
                };
            }
        };
        let entry = block.unwrap_or(Mark::NONE);
        let mut marks = vec![entry; steps.len()];
        for &i in &order.order {
            let mut parents = vec![entry];
            parents.extend(order.deps[i].iter().map(|&d| marks[d]));
            let ids = order.deps[i].iter().map(|&d| steps[d].id.clone()).collect();
            marks[i] = self.ancestry.add(ids, &parents);
        }
        let built = steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let p = format!("{pointer}/{i}");
                let place = if block.is_some() {
                    Placement::Block
                } else {
                    placement(s, &p, self.doc, default)
                };
                self.step(s, p, place, marks[i])
            })
            .collect();
        StepList {
            steps: built,
            order: Some(order),
        }
    }

    fn step(&mut self, s: &RawStep, pointer: String, placement: Placement, mark: Mark) -> Step {
        let options = option_errors(s, &pointer, self.doc);
        let options_ok = options.is_empty();
        self.errors.extend(options);
        // An include step needs no `on`: its runbook's steps may have their own.
        if matches!(placement, Placement::Missing) && s.action() != ActionKind::Include {
            self.errors.push(
                self.doc
                    .error_at(
                        &format!("{pointer}/id"),
                        format!("step `{}` has no target", s.id),
                    )
                    .with_hint(
                        "add `on:` to the step, or a default `on:` at the top of the runbook",
                    ),
            );
        }
        let kind = s.action();
        let inner = matches!(placement, Placement::Block);
        let action = match kind {
            // Refused inside a rolling block (see `rolling`).
            ActionKind::Include | ActionKind::Rolling if inner => StepAction::Task(Err(Vec::new())),
            ActionKind::Include => StepAction::Include(self.include(s, &pointer)),
            ActionKind::Rolling => StepAction::Rolling(Box::new(
                self.rolling(s, &pointer, &placement, mark, options_ok),
            )),
            _ if !options_ok => StepAction::Task(Err(Vec::new())),
            _ => StepAction::Task(self.task(s, &pointer, &placement, mark).map(Box::new)),
        };
        Step {
            id: s.id.clone(),
            description: s.description.clone(),
            pointer,
            kind,
            on: s.on.clone(),
            placement,
            action,
        }
    }

    fn info<'s>(&'s self, step: &'s str, mark: Mark, on_host: bool) -> StaticInfo<'s> {
        StaticInfo {
            step,
            params: self.params,
            scope_ids: &self.ids,
            ancestors: self.ancestry.at(mark),
            on_host,
            captures: &self.captures,
        }
    }

    fn task(
        &mut self,
        s: &RawStep,
        pointer: &str,
        placement: &Placement,
        mark: Mark,
    ) -> Result<TaskStep, Vec<Field>> {
        let on_controller = matches!(placement, Placement::Controller);
        let info = self.info(&s.id, mark, !on_controller);
        let mut errors = Vec::new();
        let task = match TaskStep::build(s, pointer, &info, self.doc, &mut errors) {
            Ok(t) => t,
            Err(parsed) => {
                self.errors.extend(errors);
                return Err(parsed);
            }
        };
        // A controller task reading one task's result of a step that surely has several
        // would read nothing: which host's is meant?
        if on_controller {
            for field in task.fields() {
                for (id, var) in field.own_results_read() {
                    if let Some(on) = self.several.get(id) {
                        errors.push(ambiguous_read(
                            field,
                            self.doc,
                            &s.id,
                            var,
                            id,
                            &format!("on {on}"),
                            "on the controller",
                        ));
                    }
                }
            }
        }
        let ok = errors.is_empty();
        self.errors.extend(errors);
        if ok {
            Ok(task)
        } else {
            Err(task.into_fields())
        }
    }

    fn include(&mut self, s: &RawStep, pointer: &str) -> IncludeStep {
        let mut with = Vec::new();
        // `with` values are rendered in the including runbook's context (no host), and
        // read no step.
        let no_steps = HashSet::new();
        for (key, value) in &s.with {
            let vp = format!("{pointer}/with/{key}");
            let value = match value {
                Value::String(text) => {
                    let info = StaticInfo {
                        scope_ids: &no_steps,
                        ..self.info(&s.id, Mark::NONE, false)
                    };
                    match Field::parse(text, vp.clone(), "with", FieldKind::Env, &info, self.doc) {
                        Ok(f) if f.is_deferred() => {
                            self.errors.push(
                                self.doc
                                    .error_at(&vp, "`with` values must be known when planning")
                                    .with_hint("pass parameters, variables or cluster facts, not `steps.*` or `run.*`"),
                            );
                            Ok(None)
                        }
                        Ok(f) => Ok(Some(f)),
                        Err(e) => {
                            self.errors.extend(e);
                            Ok(None)
                        }
                    }
                }
                other => Err(other.clone()),
            };
            with.push(WithValue {
                key: key.clone(),
                pointer: vp,
                value,
            });
        }
        IncludeStep {
            name: s.include.clone().unwrap_or_default(),
            with,
        }
    }

    fn rolling(
        &mut self,
        s: &RawStep,
        pointer: &str,
        placement: &Placement,
        mark: Mark,
        options_ok: bool,
    ) -> RollingBlock {
        let before = self.errors.len();
        let block = s.rolling.clone().unwrap_or_else(|| RawRolling {
            batch: None,
            by: None,
            pause: None,
            steps: Vec::new(),
            on_failure: Vec::new(),
        });
        if matches!(placement, Placement::Controller) {
            self.errors.push(
                self.doc
                    .error_at(
                        &format!("{pointer}/on"),
                        "a rolling block runs on hosts, not on the controller",
                    )
                    .with_hint("name the hosts or group to roll through"),
            );
        }
        self.inner_shapes(&block, pointer);
        let by = block.by.as_ref().and_then(|by| {
            let by_pointer = format!("{pointer}/rolling/by");
            let info = self.info(&s.id, Mark::NONE, true);
            match Field::parse(
                by,
                by_pointer.clone(),
                "rolling.by",
                FieldKind::Plain,
                &info,
                self.doc,
            ) {
                Ok(f) if f.is_deferred() => {
                    self.errors.push(
                        self.doc
                            .error_at(&by_pointer, "`by` must be known when planning")
                            .with_hint(
                                "group hosts by an inventory variable such as {{host.vars.zone}}",
                            ),
                    );
                    None
                }
                Ok(f) => Some(f),
                Err(e) => {
                    self.errors.extend(e);
                    None
                }
            }
        });
        let valid = options_ok && self.errors.len() == before;
        let inner_ids: HashSet<&str> = block
            .steps
            .iter()
            .chain(&block.on_failure)
            .map(|s| s.id.as_str())
            .collect();
        let elsewhere: HashMap<String, String> = self
            .ids
            .iter()
            .filter(|id| !inner_ids.contains(id.as_str()))
            .map(|id| (id.clone(), format!("outside rolling block `{}`", s.id)))
            .collect();
        let steps = self.list(
            &block.steps,
            &format!("{pointer}/rolling/steps"),
            None,
            &elsewhere,
            Some(mark),
        );
        let failure_mark = self
            .ancestry
            .add(block.steps.iter().map(|s| s.id.clone()).collect(), &[mark]);
        let on_failure = block
            .on_failure
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let p = format!("{pointer}/rolling/on_failure/{i}");
                self.step(f, p, Placement::Block, failure_mark)
            })
            .collect();
        RollingBlock {
            valid,
            batch: block.batch.clone(),
            by_text: block.by.clone(),
            by,
            pause: block.pause,
            steps,
            on_failure,
        }
    }
}

impl Walk<'_> {
    /// Steps a rolling block cannot hold: blocks, includes, steps with their own `on`.
    fn inner_shapes(&mut self, block: &RawRolling, pointer: &str) {
        for (list, key) in [(&block.steps, "steps"), (&block.on_failure, "on_failure")] {
            for (i, inner) in list.iter().enumerate() {
                let p = format!("{pointer}/rolling/{key}/{i}");
                let problem = match inner.action() {
                    ActionKind::Rolling => Some((
                        "/rolling",
                        "rolling blocks cannot be nested",
                        "run the inner procedure as its own rolling step after this one",
                    )),
                    ActionKind::Include => Some((
                        "/include",
                        "`include` cannot be used inside a rolling block",
                        "inline the steps, or include a runbook around the rolling block",
                    )),
                    _ if inner.on.is_some() => Some((
                        "/on",
                        "steps of a rolling block run on the block's hosts",
                        "remove `on`; set it on the rolling step instead",
                    )),
                    _ => None,
                };
                if let Some((field, message, hint)) = problem {
                    self.errors.push(
                        self.doc
                            .error_at_key(&format!("{p}{field}"), message)
                            .with_hint(hint),
                    );
                }
            }
        }
    }
}

/// `steps.ID.stdout` (or `.exit`) read where it cannot say which task's is meant.
pub(super) fn ambiguous_read(
    field: &Field,
    doc: &Document,
    reader: &str,
    var: &crate::template::VarRef,
    id: &str,
    where_id: &str,
    where_reader: &str,
) -> Diagnostic {
    let what = var.path.last().map_or("stdout", String::as_str);
    let place = if reader.contains('.') {
        format!("`{reader}`")
    } else {
        format!("`{}` of step `{reader}`", field.name)
    };
    field
        .at_var(
            doc,
            var,
            format!(
                "`{}` is ambiguous in {place}: step `{id}` runs {where_id}, step `{reader}` {where_reader}",
                var.dotted()
            ),
        )
        .with_hint(format!(
            "name the host, `steps.{id}.hosts.HOST.{what}`, or combine every host's with a fleet helper, e.g. `{{{{common_lines steps.{id}}}}}`"
        ))
}
