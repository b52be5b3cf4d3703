//! Runbook + inventory + parameters -> plan. Starts from the validated runbook (see
//! `runbook.rs`, the checks `validate` also makes) and adds what needs the inventory: walks
//! the step lists (expanding includes and rolling blocks), resolves targets, builds the
//! task graph in declaration order, renders every template that can be rendered, and
//! reports every problem it finds, not just the first.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::fields::Field;
use super::limits::DEFAULT_MAX_TASKS;
use super::params::{resolve, ParamInput, Secrets};
use super::runbook::{own_default, Placement, Runbook, Step, StepAction, StepList, Target};
use super::step::TaskStep;
use super::targets::{self, Targets};
use super::types::{
    Connection, HostCommands, Node, NodeKind, Plan, PlanParam, PlanStep, Rolling, Scope,
    PLAN_FORMAT,
};
use crate::model::raw::RawRunbook;
use crate::model::{Document, Inventory};
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
    let (validated, problems) = Runbook::validate(runbook);
    let mut c = Compiler::new(inv, includes, opts);
    c.errors.extend(problems);
    c.secrets = resolved.secrets;
    c.scopes.push(Scope {
        prefix: String::new(),
        runbook: runbook.raw.runbook.clone(),
        params: resolved.values,
        secrets: resolved.secret_refs,
    });
    c.scope_params
        .push(Value::Object(c.scopes[0].params.clone()));
    c.include_stack.push(runbook.doc.source.name.clone());
    let default_on = own_default(runbook);
    let cx = ListCtx {
        doc: &runbook.doc,
        scope: 0,
        prefix: "",
        default_on: default_on.as_ref(),
        parent: None,
    };
    // With a duplicate id, `needs` and `steps.ID` cannot be told apart: nothing is planned.
    if !validated.duplicate_ids {
        c.compile_list(&validated.steps, &cx, &[]);
    }
    c.finish(runbook, resolved.display)
}

pub(super) struct ListCtx<'c> {
    pub(super) doc: &'c Arc<Document>,
    pub(super) scope: usize,
    pub(super) prefix: &'c str,
    /// The `on` of the list's steps that have none (what an include inherits).
    pub(super) default_on: Option<&'c Target>,
    pub(super) parent: Option<&'c str>,
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
    /// Included runbooks validated so far, by file and inherited `on`.
    pub(super) validated: HashMap<String, Arc<(Runbook, Vec<Diagnostic>)>>,
    /// The hosts of each step's tasks (`None`: the controller), by scoped id.
    pub(super) step_hosts: HashMap<String, Vec<Option<String>>>,
    pub(super) secrets: Secrets,
    pub(super) include_stack: Vec<String>,
    /// Include steps expanded so far, tasks made so far, and whether a limit stopped the
    /// compile (see `limits`).
    pub(super) includes_expanded: usize,
    pub(super) included_steps: usize,
    pub(super) tasks: usize,
    pub(super) stopped: bool,
    pub(super) task_limit_reported: bool,
    pub(super) var_names: HashSet<String>,
    pub(super) host_ctx: IndexMap<String, HostContext>,
    pub(super) global_vars: Value,
    pub(super) hosts_value: Value,
    pub(super) groups_value: Value,
    pub(super) cluster_value: Value,
    /// The health command for the members, and for the other hosts a live membership
    /// answer may name (rendered once per plan).
    pub(super) health: Option<(HostCommands, HostCommands)>,
    pub(super) membership: Option<HostCommands>,
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
            validated: HashMap::new(),
            step_hosts: HashMap::new(),
            secrets: Secrets::default(),
            include_stack: Vec::new(),
            includes_expanded: 0,
            included_steps: 0,
            tasks: 0,
            stopped: false,
            task_limit_reported: false,
            var_names,
            host_ctx,
            global_vars: Value::Object(inv.vars.clone()),
            hosts_value: Value::Object(hosts_map),
            groups_value,
            cluster_value,
            health: None,
            membership: None,
        }
    }

    fn finish(
        mut self,
        runbook: &LoadedRunbook,
        params: Vec<PlanParam>,
    ) -> Result<Compiled, Vec<Diagnostic>> {
        let fingerprint = self.fingerprint_commands();
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
        let connection = Connection::of_inventory(self.inv);
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
            four_eyes: self.inv.four_eyes,
            fingerprint,
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

    /// Compiles a list of sibling steps; returns the exit nodes of its leaves (the steps
    /// no sibling needs), which is what "the list is done" waits for.
    pub(super) fn compile_list(
        &mut self,
        list: &StepList,
        cx: &ListCtx<'_>,
        entry: &[usize],
    ) -> Vec<usize> {
        let Some(order) = &list.order else {
            return Vec::new();
        };
        let steps = &list.steps;
        let mut exits: Vec<Option<usize>> = vec![None; steps.len()];
        for &i in &order.order {
            if self.stopped() {
                break;
            }
            let step = &steps[i];
            let mut deps: Vec<usize> = order.deps[i].iter().filter_map(|&d| exits[d]).collect();
            if order.deps[i].is_empty() {
                deps.extend_from_slice(entry);
            }
            let needs: Vec<String> = order.deps[i]
                .iter()
                .map(|&d| format!("{}{}", cx.prefix, steps[d].id))
                .collect();
            exits[i] = Some(match &step.action {
                StepAction::Rolling(block) => self.compile_rolling(step, block, cx, deps, needs),
                StepAction::Include(include) => {
                    self.compile_include(step, include, cx, deps, needs)
                }
                StepAction::Task(task) => self.compile_simple(step, task, cx, deps, needs),
            });
            self.report_task_limit(&step.pointer, cx);
        }
        let needed: HashSet<usize> = order.deps.iter().flatten().copied().collect();
        (0..steps.len())
            .filter(|i| !needed.contains(i))
            .filter_map(|i| exits[i])
            .collect()
    }

    /// The hosts a step runs on, from where the runbook places it.
    pub(super) fn targets(&mut self, step: &Step) -> Option<(Targets, String)> {
        match &step.placement {
            Placement::Controller => {
                Some((Targets::Controller, crate::model::CONTROLLER.to_owned()))
            }
            Placement::Hosts(t) => match targets::resolve(&t.on, self.inv, &t.doc, &t.pointer) {
                Ok(resolved) => Some((resolved, targets::describe(&t.on))),
                Err(d) => {
                    self.errors.push(d);
                    None
                }
            },
            Placement::Block | Placement::Missing => None,
        }
    }

    fn compile_simple(
        &mut self,
        step: &Step,
        task: &Result<Box<TaskStep>, Vec<Field>>,
        cx: &ListCtx<'_>,
        deps: Vec<usize>,
        needs: Vec<String>,
    ) -> usize {
        let id = format!("{}{}", cx.prefix, step.id);
        let targets = self.targets(step);
        let on = targets
            .as_ref()
            .map_or_else(String::new, |(_, d)| d.clone());
        let hosts: Option<Vec<Option<String>>> = targets.map(|(t, _)| match t {
            Targets::Controller => vec![None],
            Targets::Hosts(h) => h.into_iter().map(Some).collect(),
        });
        if let Some(h) = &hosts {
            self.step_hosts.insert(id.clone(), h.clone());
        }
        let mut ids = Vec::new();
        let task = self.checked(step, task, cx, hosts.as_deref());
        if let (Some(hosts), Some(task)) = (hosts, task) {
            for host in hosts {
                if self.stopped() {
                    break;
                }
                if let Some(t) = self.make_task(task, &id, cx, host.as_deref(), None) {
                    ids.push(self.push_node(deps.clone(), NodeKind::Task(Box::new(t))));
                }
            }
        }
        let exit = if ids.len() == 1 {
            ids[0]
        } else {
            let needs_nodes = if ids.is_empty() { deps } else { ids.clone() };
            self.push_node(needs_nodes, NodeKind::Join { step: id.clone() })
        };
        self.steps.push(PlanStep {
            id,
            action: step.kind.key().to_owned(),
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

/// `when` results that mean "skip": empty, `false`, `0`, `no` (any case, trimmed).
pub fn is_false(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "" | "false" | "0" | "no"
    )
}
