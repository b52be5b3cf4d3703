//! Runbook + inventory + parameters -> plan. Walks the step lists (expanding includes and
//! rolling blocks), builds the task graph in declaration order, renders every template
//! that can be rendered, and reports every problem it finds, not just the first.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::ancestry::{Ancestry, Mark};
use super::env_value::EnvValue;
use super::fields::{Field, FieldKind, RenderContext, StaticInfo};
use super::limits::DEFAULT_MAX_TASKS;
use super::order::order_list;
use super::params::{resolve, ParamInput, Secrets};
use super::targets::{self, Targets};
use super::types::{
    Action, BatchRef, Connection, Expect, Guards, HostAddress, Node, NodeKind, Plan, PlanParam,
    PlanStep, Retries, Rolling, Scope, Task, Text, PLAN_FORMAT,
};
use crate::model::raw::{
    ActionKind, HostKeyPolicy, RawExit, RawRetries, RawRunbook, RawStep, RawTarget, RawWhen,
    Transport,
};
use crate::model::{Document, Duration, Inventory};
use crate::source::{Diagnostic, SourceFile};
use crate::template::Renderer;

/// A runbook file that passed its schema.
#[derive(Debug)]
pub struct LoadedRunbook {
    pub raw: RawRunbook,
    pub doc: Arc<Document>,
}

/// Finds the runbook an `include:` names: a path relative to the including file, or a
/// runbook name.
pub trait IncludeResolver {
    fn resolve(&self, name: &str, from: &SourceFile)
        -> Result<Arc<LoadedRunbook>, Vec<Diagnostic>>;
}

#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Let a rolling batch take more than f members down.
    pub allow_quorum_loss: bool,
    /// Every secret must have a value (set when the plan is about to run).
    pub require_secrets: bool,
    /// The most tasks the plan may have (see [`DEFAULT_MAX_TASKS`]).
    pub max_tasks: usize,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            allow_quorum_loss: false,
            require_secrets: false,
            max_tasks: DEFAULT_MAX_TASKS,
        }
    }
}

#[derive(Debug)]
pub struct Compiled {
    pub plan: Plan,
    pub secrets: Secrets,
    pub warnings: Vec<Diagnostic>,
}

pub fn compile(
    runbook: &LoadedRunbook,
    inv: &Inventory,
    params: &[ParamInput],
    includes: &dyn IncludeResolver,
    opts: &CompileOptions,
) -> Result<Compiled, Vec<Diagnostic>> {
    let resolved = resolve(
        &runbook.raw.params,
        params,
        &runbook.doc,
        opts.require_secrets,
    )?;
    let mut c = Compiler::new(inv, includes, opts);
    c.secrets = resolved.secrets;
    c.scopes.push(Scope {
        prefix: String::new(),
        runbook: runbook.raw.runbook.clone(),
        params: resolved.values,
        secrets: resolved.secret_refs,
    });
    c.scope_params
        .push(Value::Object(c.scopes[0].params.clone()));
    c.scope_captures.push(captured_steps(&runbook.raw.steps));
    c.include_stack.push(runbook.doc.source.name.clone());
    let scope_ids = c.collect_ids(&runbook.raw.steps, "/steps", &runbook.doc);
    let default_on = runbook.raw.on.as_ref().map(|t| DefaultOn {
        target: t.clone(),
        pointer: "/on".to_owned(),
        doc: Arc::clone(&runbook.doc),
    });
    let cx = ListCtx {
        doc: &runbook.doc,
        scope: 0,
        prefix: "",
        default_on: default_on.as_ref(),
        scope_ids: &scope_ids,
        parent: None,
    };
    if c.errors.is_empty() {
        c.compile_list(&runbook.raw.steps, "/steps", &cx, &[], Mark::NONE);
    }
    c.finish(runbook, resolved.display)
}

/// The `on` that steps of a list use when they have none, and where it was written.
pub(super) struct DefaultOn {
    pub target: RawTarget,
    pub pointer: String,
    pub doc: Arc<Document>,
}

pub(super) struct ListCtx<'c> {
    pub(super) doc: &'c Arc<Document>,
    pub(super) scope: usize,
    pub(super) prefix: &'c str,
    pub(super) default_on: Option<&'c DefaultOn>,
    pub(super) scope_ids: &'c HashSet<String>,
    pub(super) parent: Option<&'c str>,
}

/// A step's fields, parsed and checked, ready to become one task per host.
pub(super) struct Prepared {
    pub(super) id: String,
    pub(super) scope: usize,
    pub(super) doc: Arc<Document>,
    pub(super) action: ActionKind,
    pub(super) command: Option<Field>,
    pub(super) src: Option<Field>,
    pub(super) dest: Option<Field>,
    pub(super) mode: Option<String>,
    pub(super) every: Duration,
    pub(super) wait_timeout: Duration,
    pub(super) sleep: Duration,
    pub(super) when_bool: Option<bool>,
    pub(super) when: Option<Field>,
    pub(super) creates: Option<Field>,
    pub(super) removes: Option<Field>,
    pub(super) unless: Option<Field>,
    pub(super) only_if: Option<Field>,
    pub(super) env: Vec<(String, Field)>,
    pub(super) cwd: Option<Field>,
    pub(super) expect: Option<Expect>,
    pub(super) retries: Option<Retries>,
    pub(super) timeout: Option<Duration>,
    pub(super) sudo: bool,
    pub(super) capture: bool,
    pub(super) idempotent: bool,
}

pub(super) struct HostContext {
    pub(super) host: Value,
    pub(super) vars: Value,
}

pub(super) struct Compiler<'a> {
    pub(super) inv: &'a Inventory,
    pub(super) includes: &'a dyn IncludeResolver,
    pub(super) opts: &'a CompileOptions,
    pub(super) renderer: Renderer,
    pub(super) errors: Vec<Diagnostic>,
    pub(super) warnings: Vec<Diagnostic>,
    /// Render failures, grouped so one mistake shows once with the hosts it hit.
    pub(super) render_errors: IndexMap<(String, String), (Diagnostic, Vec<String>)>,
    pub(super) nodes: Vec<Node>,
    pub(super) steps: Vec<PlanStep>,
    pub(super) rollings: Vec<Rolling>,
    pub(super) scopes: Vec<Scope>,
    pub(super) scope_params: Vec<Value>,
    /// Per scope, the steps whose output is captured (readable as `steps.ID.stdout`).
    pub(super) scope_captures: Vec<HashSet<String>>,
    pub(super) secrets: Secrets,
    pub(super) include_stack: Vec<String>,
    /// Include steps expanded so far, tasks made so far, and whether a limit stopped the
    /// compile (see `limits`).
    pub(super) includes_expanded: usize,
    pub(super) included_steps: usize,
    pub(super) tasks: usize,
    pub(super) stopped: bool,
    pub(super) task_limit_reported: bool,
    /// What each step needs, directly or not (see [`Ancestry`]).
    pub(super) ancestry: Ancestry,
    pub(super) var_names: HashSet<String>,
    pub(super) host_ctx: IndexMap<String, HostContext>,
    pub(super) global_vars: Value,
    pub(super) hosts_value: Value,
    pub(super) groups_value: Value,
    pub(super) cluster_value: Value,
    pub(super) health: Option<Vec<(String, Text)>>,
}

/// Which options each action accepts (besides id, description and needs).
fn allowed_options(action: ActionKind) -> &'static [&'static str] {
    match action {
        ActionKind::Run => &[
            "when",
            "creates",
            "removes",
            "unless",
            "only_if",
            "expect",
            "retries",
            "timeout",
            "env",
            "cwd",
            "sudo",
            "capture",
            "idempotent",
            "on",
        ],
        ActionKind::Copy | ActionKind::Fetch => &[
            "when", "creates", "removes", "unless", "only_if", "retries", "on",
        ],
        ActionKind::Wait => &["when", "unless", "only_if", "env", "cwd", "sudo", "on"],
        ActionKind::Approve => &["when"],
        ActionKind::Sleep => &["when", "on"],
        ActionKind::Include => &["on", "with"],
        ActionKind::Rolling => &["on"],
    }
}

impl<'a> Compiler<'a> {
    fn new(
        inv: &'a Inventory,
        includes: &'a dyn IncludeResolver,
        opts: &'a CompileOptions,
    ) -> Self {
        let mut var_names: HashSet<String> = inv.vars.keys().cloned().collect();
        let mut host_ctx = IndexMap::new();
        let mut hosts_map = Map::new();
        for (name, h) in &inv.hosts {
            var_names.extend(h.vars.keys().cloned());
            let vars = Value::Object(h.vars.clone());
            let host = json!({ "name": name, "address": h.address, "vars": vars });
            hosts_map.insert(name.clone(), host.clone());
            host_ctx.insert(name.clone(), HostContext { host, vars });
        }
        let groups_value = Value::Object(
            inv.groups
                .iter()
                .map(|(g, m)| (g.clone(), json!(m)))
                .collect(),
        );
        let cluster_value = inv.cluster.as_ref().map_or(Value::Null, |c| {
            json!({ "consensus": c.quorum.consensus_name(), "n": c.quorum.n, "f": c.quorum.f, "members": c.members })
        });
        Self {
            inv,
            includes,
            opts,
            renderer: Renderer::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            render_errors: IndexMap::new(),
            nodes: Vec::new(),
            steps: Vec::new(),
            rollings: Vec::new(),
            scopes: Vec::new(),
            scope_params: Vec::new(),
            scope_captures: Vec::new(),
            secrets: Secrets::default(),
            include_stack: Vec::new(),
            includes_expanded: 0,
            included_steps: 0,
            tasks: 0,
            stopped: false,
            task_limit_reported: false,
            ancestry: Ancestry::default(),
            var_names,
            host_ctx,
            global_vars: Value::Object(inv.vars.clone()),
            hosts_value: Value::Object(hosts_map),
            groups_value,
            cluster_value,
            health: None,
        }
    }

    fn finish(
        mut self,
        runbook: &LoadedRunbook,
        params: Vec<PlanParam>,
    ) -> Result<Compiled, Vec<Diagnostic>> {
        for (_, (d, hosts)) in std::mem::take(&mut self.render_errors) {
            let d = if hosts.is_empty() {
                d
            } else {
                let shown: Vec<&str> = hosts.iter().take(5).map(String::as_str).collect();
                let more = hosts.len().saturating_sub(5);
                let tail = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                d.with_note(format!(
                    "on host{} {}{tail}",
                    if hosts.len() == 1 { "" } else { "s" },
                    shown.join(", ")
                ))
            };
            self.errors.push(d);
        }
        if !self.errors.is_empty() {
            let mut errors = self.errors;
            errors.sort_by(|a, b| (&a.file, a.pos).cmp(&(&b.file, b.pos)));
            errors.dedup();
            return Err(errors);
        }
        let cluster = self.inv.cluster.as_ref();
        let connection = Connection {
            hosts: self
                .inv
                .hosts
                .values()
                .map(|h| HostAddress {
                    name: h.name.clone(),
                    address: h.address.clone(),
                    port: h.port,
                    user: h.user.clone(),
                    local: h.transport == Transport::Local,
                })
                .collect(),
            ssh_config: self
                .inv
                .ssh
                .config
                .as_ref()
                .map(|c| ssh_config_path(&self.inv.doc.source.name, c)),
            accept_new_host_keys: self.inv.ssh.host_keys == HostKeyPolicy::AcceptNew,
        };
        let plan = Plan {
            format: PLAN_FORMAT,
            runbook: runbook.raw.runbook.clone(),
            cluster: self.inv.name.clone(),
            quorum: cluster.map(|c| c.quorum),
            members: cluster.map(|c| c.members.clone()).unwrap_or_default(),
            params,
            scopes: self.scopes,
            steps: self.steps,
            nodes: self.nodes,
            rollings: self.rollings,
            context: json!({
                "vars": self.global_vars,
                "hosts": self.hosts_value,
                "groups": self.groups_value,
                "cluster": self.cluster_value,
            }),
            connection,
            limit: None,
        };
        Ok(Compiled {
            plan,
            secrets: self.secrets,
            warnings: self.warnings,
        })
    }

    pub(super) fn push_node(&mut self, needs: Vec<usize>, kind: NodeKind) -> usize {
        self.count_node(&kind);
        let id = self.nodes.len();
        self.nodes.push(Node { id, needs, kind });
        id
    }

    /// Every step id of a scope (rolling blocks included); duplicates are errors.
    pub(super) fn collect_ids(
        &mut self,
        steps: &[RawStep],
        pointer: &str,
        doc: &Document,
    ) -> HashSet<String> {
        let mut seen: HashMap<String, String> = HashMap::new();
        self.collect_into(steps, pointer, doc, &mut seen);
        seen.into_keys().collect()
    }

    fn collect_into(
        &mut self,
        steps: &[RawStep],
        pointer: &str,
        doc: &Document,
        seen: &mut HashMap<String, String>,
    ) {
        for (i, step) in steps.iter().enumerate() {
            let p = format!("{pointer}/{i}");
            let id_pointer = format!("{p}/id");
            if let Some(first) = seen.get(&step.id) {
                let (pos, _) = doc.index.value_pos(first);
                self.errors.push(
                    doc.error_at(&id_pointer, format!("duplicate step id `{}`", step.id))
                        .with_note(format!(
                            "first used at line {}, column {}",
                            pos.line, pos.col
                        ))
                        .with_hint("give each step its own id"),
                );
            } else {
                seen.insert(step.id.clone(), id_pointer);
            }
            if let Some(r) = &step.rolling {
                self.collect_into(&r.steps, &format!("{p}/rolling/steps"), doc, seen);
                self.collect_into(&r.on_failure, &format!("{p}/rolling/on_failure"), doc, seen);
            }
        }
    }

    /// Compiles a list of sibling steps; returns the exit nodes of its leaves (the steps
    /// no sibling needs), which is what "the list is done" waits for.
    pub(super) fn compile_list(
        &mut self,
        steps: &[RawStep],
        list_pointer: &str,
        cx: &ListCtx<'_>,
        entry: &[usize],
        entry_ancestors: Mark,
    ) -> Vec<usize> {
        let mut elsewhere = HashMap::new();
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
        let order = match order_list(steps, list_pointer, cx.doc, &elsewhere) {
            Ok(o) => o,
            Err(e) => {
                self.errors.extend(e);
                return Vec::new();
            }
        };
        let mut exits: Vec<Option<usize>> = vec![None; steps.len()];
        let mut ancestors: Vec<Mark> = vec![Mark::NONE; steps.len()];
        for &i in &order.order {
            if self.stopped() {
                break;
            }
            let step = &steps[i];
            let pointer = format!("{list_pointer}/{i}");
            let mut deps = Vec::new();
            let mut parents = vec![entry_ancestors];
            let mut ids = Vec::new();
            for &d in &order.deps[i] {
                ids.push(steps[d].id.clone());
                parents.push(ancestors[d]);
                deps.extend(exits[d]);
            }
            let anc = self.ancestry.add(ids, &parents);
            if order.deps[i].is_empty() {
                deps.extend_from_slice(entry);
            }
            let needs: Vec<String> = order.deps[i]
                .iter()
                .map(|&d| format!("{}{}", cx.prefix, steps[d].id))
                .collect();
            exits[i] = Some(match step.action() {
                ActionKind::Rolling => self.compile_rolling(step, &pointer, cx, deps, anc, needs),
                ActionKind::Include => self.compile_include(step, &pointer, cx, deps, needs),
                _ => self.compile_simple(step, &pointer, cx, deps, anc, needs),
            });
            self.report_task_limit(&pointer, cx);
            ancestors[i] = anc;
        }
        let needed: HashSet<usize> = order.deps.iter().flatten().copied().collect();
        (0..steps.len())
            .filter(|i| !needed.contains(i))
            .filter_map(|i| exits[i])
            .collect()
    }

    pub(super) fn check_options(&mut self, step: &RawStep, pointer: &str, doc: &Document) -> bool {
        let errors = option_errors(step, pointer, doc);
        let ok = errors.is_empty();
        self.errors.extend(errors);
        ok
    }

    pub(super) fn static_info<'s>(
        &'s self,
        step: &'s str,
        scope: usize,
        scope_ids: &'s HashSet<String>,
        ancestors: Mark,
        on_host: bool,
    ) -> StaticInfo<'s> {
        StaticInfo {
            step,
            params: &self.scopes[scope].params,
            secrets: &self.scopes[scope].secrets,
            var_names: &self.var_names,
            inv: self.inv,
            scope_ids,
            ancestors: self.ancestry.at(ancestors),
            on_host,
            captures: &self.scope_captures[scope],
        }
    }

    /// Parses and checks every template field of a step once.
    #[expect(
        clippy::too_many_lines,
        reason = "one arm per field; splitting would only scatter them"
    )]
    pub(super) fn prepare(
        &mut self,
        step: &RawStep,
        pointer: &str,
        cx: &ListCtx<'_>,
        ancestors: Mark,
        on_host: bool,
    ) -> Option<Prepared> {
        if !self.check_options(step, pointer, cx.doc) {
            return None;
        }
        let info = self.static_info(&step.id, cx.scope, cx.scope_ids, ancestors, on_host);
        let mut errors = Vec::new();
        let mut field = |text: Option<&String>,
                         sub: &str,
                         name: &'static str,
                         kind: FieldKind|
         -> Option<Field> {
            let text = text?;
            match Field::prepare(text, format!("{pointer}/{sub}"), name, kind, &info, cx.doc) {
                Ok(f) => Some(f),
                Err(e) => {
                    errors.extend(e);
                    None
                }
            }
        };
        let (mut command, mut src, mut dest, mut mode) = (None, None, None, None);
        let mut every = Duration::from_millis(5_000);
        let mut wait_timeout = Duration::from_millis(600_000);
        match step.action() {
            ActionKind::Run => command = field(step.run.as_ref(), "run", "run", FieldKind::Command),
            ActionKind::Copy => {
                let c = step.copy.as_ref()?;
                src = field(Some(&c.src), "copy/src", "copy.src", FieldKind::Plain);
                dest = field(Some(&c.dest), "copy/dest", "copy.dest", FieldKind::Plain);
                mode.clone_from(&c.mode);
            }
            ActionKind::Fetch => {
                let f = step.fetch.as_ref()?;
                src = field(Some(&f.src), "fetch/src", "fetch.src", FieldKind::Plain);
                dest = field(Some(&f.dest), "fetch/dest", "fetch.dest", FieldKind::Plain);
            }
            ActionKind::Wait => {
                let w = step.wait.as_ref()?;
                command = field(
                    Some(&w.until),
                    "wait/until",
                    "wait.until",
                    FieldKind::Command,
                );
                every = w.every.unwrap_or(every);
                wait_timeout = w.timeout.unwrap_or(wait_timeout);
            }
            ActionKind::Approve => {
                command = field(
                    step.approve.as_ref(),
                    "approve",
                    "approve",
                    FieldKind::Plain,
                );
            }
            ActionKind::Sleep | ActionKind::Include | ActionKind::Rolling => {}
        }
        let (when_bool, when) = match &step.when {
            Some(RawWhen::Bool(b)) => (Some(*b), None),
            Some(RawWhen::Text(t)) => (None, field(Some(t), "when", "when", FieldKind::Plain)),
            None => (None, None),
        };
        let creates = field(
            step.creates.as_ref(),
            "creates",
            "creates",
            FieldKind::Plain,
        );
        let removes = field(
            step.removes.as_ref(),
            "removes",
            "removes",
            FieldKind::Plain,
        );
        let unless = field(step.unless.as_ref(), "unless", "unless", FieldKind::Command);
        let only_if = field(
            step.only_if.as_ref(),
            "only_if",
            "only_if",
            FieldKind::Command,
        );
        let cwd = field(step.cwd.as_ref(), "cwd", "cwd", FieldKind::Plain);
        let mut env = Vec::new();
        for (name, value) in &step.env {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let sub = format!("env/{name}");
            if let Some(f) = field(Some(&text), &sub, "env", FieldKind::Env) {
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
        errors.extend(regex_errors(step, pointer, cx.doc));
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
        if !errors.is_empty() {
            self.errors.extend(errors);
            return None;
        }
        Some(Prepared {
            id: format!("{}{}", cx.prefix, step.id),
            scope: cx.scope,
            doc: Arc::clone(cx.doc),
            action: step.action(),
            command,
            src,
            dest,
            mode,
            every,
            wait_timeout,
            sleep: step.sleep.unwrap_or(Duration::from_millis(0)),
            when_bool,
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

    /// Renders a prepared step for one host (`None`: the controller).
    pub(super) fn make_task(
        &mut self,
        p: &Prepared,
        host: Option<&str>,
        batch: Option<BatchRef>,
    ) -> Option<Task> {
        let hc = host.and_then(|h| self.host_ctx.get(h));
        let ctx = RenderContext {
            params: &self.scope_params[p.scope],
            vars: hc.map_or(&self.global_vars, |h| &h.vars),
            host: hc.map(|h| &h.host),
            hosts: &self.hosts_value,
            groups: &self.groups_value,
            cluster: &self.cluster_value,
        };
        let mut failed: Vec<(String, Diagnostic)> = Vec::new();
        let mut render = |f: Option<&Field>| -> Option<Text> {
            let f = f?;
            match f.render(&self.renderer, &ctx) {
                Ok(t) => Some(t),
                Err(e) => {
                    failed.push((f.pointer.clone(), f.error(&p.doc, &p.id, &e, None)));
                    None
                }
            }
        };
        let command = render(p.command.as_ref());
        let src = render(p.src.as_ref());
        let dest = render(p.dest.as_ref());
        let when = render(p.when.as_ref());
        let guards = Guards {
            creates: render(p.creates.as_ref()),
            removes: render(p.removes.as_ref()),
            unless: render(p.unless.as_ref()),
            only_if: render(p.only_if.as_ref()),
        };
        let cwd = render(p.cwd.as_ref());
        let env: Vec<(String, EnvValue)> = p
            .env
            .iter()
            .filter_map(|(name, f)| match f.render_env(&self.renderer, &ctx) {
                Ok(v) => Some((name.clone(), v)),
                Err(e) => {
                    failed.push((f.pointer.clone(), f.error(&p.doc, &p.id, &e, None)));
                    None
                }
            })
            .collect();
        if !failed.is_empty() {
            for (pointer, d) in failed {
                let entry = self
                    .render_errors
                    .entry((pointer, d.message.clone()))
                    .or_insert_with(|| (d, Vec::new()));
                if let Some(h) = host {
                    entry.1.push(h.to_owned());
                }
            }
            return None;
        }
        let (skip, when) = match (p.when_bool, when) {
            (Some(b), _) => (!b, None),
            (None, Some(Text::Ready(t))) => (is_false(&t), None),
            (None, deferred) => (false, deferred),
        };
        let action = match p.action {
            ActionKind::Run => Action::Run { command: command? },
            ActionKind::Copy => Action::Copy {
                src: src?,
                dest: dest?,
                mode: p.mode.clone(),
            },
            ActionKind::Fetch => Action::Fetch {
                src: src?,
                dest: dest?,
            },
            ActionKind::Wait => Action::Wait {
                until: command?,
                every: p.every,
                timeout: p.wait_timeout,
            },
            ActionKind::Approve => Action::Approve { message: command? },
            ActionKind::Sleep => Action::Sleep { duration: p.sleep },
            ActionKind::Include | ActionKind::Rolling => return None,
        };
        Some(Task {
            step: p.id.clone(),
            host: host.map(str::to_owned),
            scope: p.scope,
            action,
            skip,
            when,
            guards,
            expect: p.expect.clone(),
            retries: p.retries.clone(),
            timeout: p.timeout,
            env,
            cwd,
            sudo: p.sudo,
            capture: p.capture,
            idempotent: p.idempotent,
            batch,
        })
    }

    /// The hosts a step runs on, from its `on` or the list's default.
    pub(super) fn targets(
        &mut self,
        step: &RawStep,
        pointer: &str,
        cx: &ListCtx<'_>,
    ) -> Option<(Targets, String)> {
        let action = step.action();
        if action == ActionKind::Approve || (action == ActionKind::Sleep && step.on.is_none()) {
            return Some((Targets::Controller, "controller".to_owned()));
        }
        let (target, target_pointer, doc) = match (&step.on, cx.default_on) {
            (Some(t), _) => (t, format!("{pointer}/on"), cx.doc),
            (None, Some(d)) => (&d.target, d.pointer.clone(), &d.doc),
            (None, None) => {
                self.errors.push(
                    cx.doc
                        .error_at(
                            &format!("{pointer}/id"),
                            format!("step `{}` has no target", step.id),
                        )
                        .with_hint(
                            "add `on:` to the step, or a default `on:` at the top of the runbook",
                        ),
                );
                return None;
            }
        };
        match targets::resolve(target, self.inv, doc, &target_pointer) {
            Ok(t) => Some((t, targets::describe(target))),
            Err(d) => {
                self.errors.push(d);
                None
            }
        }
    }

    fn compile_simple(
        &mut self,
        step: &RawStep,
        pointer: &str,
        cx: &ListCtx<'_>,
        deps: Vec<usize>,
        ancestors: Mark,
        needs: Vec<String>,
    ) -> usize {
        let targets = self.targets(step, pointer, cx);
        let on_host = !matches!(targets, Some((Targets::Controller, _)) | None);
        let prepared = self.prepare(step, pointer, cx, ancestors, on_host);
        let mut ids = Vec::new();
        let on = targets
            .as_ref()
            .map_or_else(String::new, |(_, d)| d.clone());
        if let (Some((targets, _)), Some(p)) = (targets, prepared) {
            let hosts: Vec<Option<String>> = match targets {
                Targets::Controller => vec![None],
                Targets::Hosts(h) => h.into_iter().map(Some).collect(),
            };
            for host in hosts {
                if self.stopped() {
                    break;
                }
                if let Some(task) = self.make_task(&p, host.as_deref(), None) {
                    ids.push(self.push_node(deps.clone(), NodeKind::Task(Box::new(task))));
                }
            }
        }
        let id = format!("{}{}", cx.prefix, step.id);
        let exit = if ids.len() == 1 {
            ids[0]
        } else {
            let needs_nodes = if ids.is_empty() { deps } else { ids.clone() };
            self.push_node(needs_nodes, NodeKind::Join { step: id.clone() })
        };
        self.steps.push(PlanStep {
            id,
            action: step.action().key().to_owned(),
            description: step.description.clone(),
            on,
            needs,
            parent: cx.parent.map(str::to_owned),
            nodes: ids,
            rolling: None,
        });
        exit
    }
}

/// The inventory's `ssh.config`, relative to the inventory file, as an absolute path.
fn ssh_config_path(inventory_file: &str, config: &str) -> String {
    let base = std::path::Path::new(inventory_file)
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    let joined = base.join(config);
    std::path::absolute(&joined)
        .unwrap_or(joined)
        .display()
        .to_string()
}

/// Options a step sets that its action does not take.
pub(super) fn option_errors(step: &RawStep, pointer: &str, doc: &Document) -> Vec<Diagnostic> {
    let action = step.action();
    let allowed = allowed_options(action);
    let all = [
        ActionKind::Run,
        ActionKind::Copy,
        ActionKind::Fetch,
        ActionKind::Wait,
        ActionKind::Approve,
        ActionKind::Sleep,
        ActionKind::Include,
        ActionKind::Rolling,
    ];
    let mut errors = Vec::new();
    for option in step.options_set() {
        if allowed.contains(&option) {
            continue;
        }
        let applies: Vec<&str> = all
            .iter()
            .filter(|a| allowed_options(**a).contains(&option))
            .map(|a| a.key())
            .collect();
        let hint = if applies.is_empty() {
            "remove it".to_owned()
        } else {
            format!(
                "remove it; `{option}` applies to {} steps",
                applies.join(", ")
            )
        };
        let article = if matches!(action, ActionKind::Approve | ActionKind::Include) {
            "an"
        } else {
            "a"
        };
        errors.push(
            doc.error_at_key(
                &format!("{pointer}/{option}"),
                format!(
                    "`{option}` does not apply to {article} `{}` step",
                    action.key()
                ),
            )
            .with_hint(hint),
        );
    }
    errors
}

/// `expect.stdout` / `expect.stderr` patterns that are not valid regular expressions.
pub(super) fn regex_errors(step: &RawStep, pointer: &str, doc: &Document) -> Vec<Diagnostic> {
    let Some(e) = &step.expect else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    for (key, re) in [("stdout", &e.stdout), ("stderr", &e.stderr)] {
        if let Some(Err(err)) = re.as_ref().map(|re| regex::Regex::new(re)) {
            let first = err
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_owned();
            errors.push(
                doc.error_at(&format!("{pointer}/expect/{key}"), format!("`expect.{key}` is not a valid regular expression: {first}"))
                    .with_hint("regular expressions follow Rust's regex syntax; escape special characters with \\"),
            );
        }
    }
    errors
}

/// Ids of the steps (rolling blocks included) that set `capture: true`.
pub(super) fn captured_steps(steps: &[RawStep]) -> HashSet<String> {
    let mut out = HashSet::new();
    for s in steps {
        if s.capture == Some(true) {
            out.insert(s.id.clone());
        }
        if let Some(r) = &s.rolling {
            out.extend(captured_steps(&r.steps));
            out.extend(captured_steps(&r.on_failure));
        }
    }
    out
}

/// `when` results that mean "skip": empty, `false`, `0`, `no` (any case, trimmed).
pub fn is_false(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "" | "false" | "0" | "no"
    )
}
