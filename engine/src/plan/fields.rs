//! Template fields of steps: parsed and checked once per step, rendered once per task.
//!
//! The checks go beyond handlebars' strict mode, which misses `{{#if nope}}`: every
//! variable path is checked against what the context can hold, secrets are refused where
//! they would be printed, and `steps.ID` is allowed only for steps the step needs. They
//! come in two passes: [`Field::parse`] checks what the runbook alone decides (both
//! `validate` and `plan` run it), [`Field::check_inventory`] what needs the inventory and
//! the parameters' values (only `plan`).

use std::collections::HashSet;

use serde_json::{Map, Value};

use indexmap::IndexMap;

use super::ancestry::Ancestors;
use super::env_value::{EnvPart, EnvValue, SecretTokens};
use super::types::Text;
use crate::model::raw::RawParam;
use crate::model::{Document, Inventory};
use crate::source::{did_you_mean, Diagnostic, Pos};
use crate::template::{CompiledTemplate, Quoting, Renderer, TemplateError, VarRef};

/// How a field's text is used, which decides quoting and whether secrets may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A shell command: `{{x}}` is shell-quoted.
    Command,
    /// A path or message: inserted as is; never holds a secret.
    Plain,
    /// An `env` value: inserted as is; the one place a secret may go (it travels on stdin).
    Env,
}

/// What a step's templates may refer to that the runbook alone decides.
pub struct StaticInfo<'a> {
    pub step: &'a str,
    /// The scope's declared parameters, secret ones included.
    pub params: &'a IndexMap<String, RawParam>,
    /// Step ids of the template's scope.
    pub scope_ids: &'a HashSet<String>,
    /// Steps (of the scope) this step needs, directly or not.
    pub ancestors: Ancestors<'a>,
    pub on_host: bool,
    /// Steps of the scope with `capture: true`: only their output can be read.
    pub captures: &'a HashSet<String>,
}

/// What the rest of a template's paths are checked against when planning.
pub struct InventoryInfo<'a> {
    pub inv: &'a Inventory,
    /// Every variable name some host or the global `vars` defines.
    pub var_names: &'a HashSet<String>,
    /// The scope's parameter values (secrets are not among them).
    pub params: &'a Map<String, Value>,
}

/// A parsed template field whose paths passed the checks of [`StaticInfo`].
#[derive(Clone, Debug)]
pub struct Field {
    template: CompiledTemplate,
    pub pointer: String,
    pub name: &'static str,
    quoting: Quoting,
    deferred: bool,
    roots: Roots,
}

#[derive(Default, Clone, Copy, Debug)]
struct Roots {
    params: bool,
    vars: bool,
    host: bool,
    hosts: bool,
    groups: bool,
    cluster: bool,
}

/// The values a task's templates render against.
pub struct RenderContext<'a> {
    pub params: &'a Value,
    pub vars: &'a Value,
    pub host: Option<&'a Value>,
    pub hosts: &'a Value,
    pub groups: &'a Value,
    pub cluster: &'a Value,
}

impl Field {
    /// Parses `source` and checks each path against what the runbook decides.
    pub fn parse(
        source: &str,
        pointer: String,
        name: &'static str,
        kind: FieldKind,
        info: &StaticInfo<'_>,
        doc: &Document,
    ) -> Result<Self, Vec<Diagnostic>> {
        let template = CompiledTemplate::parse(source)
            .map_err(|e| vec![template_error(doc, &pointer, name, info.step, &e, None)])?;
        let mut field = Self {
            template,
            pointer,
            name,
            quoting: if kind == FieldKind::Command {
                Quoting::Shell
            } else {
                Quoting::Plain
            },
            deferred: false,
            roots: Roots::default(),
        };
        if field.template.reads_whole_context() {
            // `{{this}}` or `{{json .}}` would print every value, secrets included, and
            // cannot be checked: the template must name what it reads.
            let (pos, width) = doc.index.value_pos(&field.pointer);
            return Err(vec![Diagnostic::at(
                &doc.source,
                pos,
                width,
                format!(
                    "`{}` of step `{}` reads the whole template context",
                    field.name, info.step
                ),
            )
            .with_pointer(field.pointer.clone())
            .with_hint("name the variables it needs, e.g. {{params.version}}")]);
        }
        let mut errors = Vec::new();
        for var in field.template.variables() {
            match check_path(&var.path, kind, info) {
                Ok(Use::Deferred) => field.deferred = true,
                Ok(Use::Root(root)) => field.roots.mark(root),
                Err(e) => errors.push(field.path_error(doc, info.step, var, e)),
            }
        }
        if errors.is_empty() {
            Ok(field)
        } else {
            Err(errors)
        }
    }

    /// The checks of each path that need the inventory and the parameters' values.
    pub fn check_inventory(
        &self,
        doc: &Document,
        step: &str,
        info: &InventoryInfo<'_>,
    ) -> Vec<Diagnostic> {
        self.template
            .variables()
            .iter()
            .filter_map(|var| {
                check_inventory_path(&var.path, var.optional, info)
                    .err()
                    .map(|e| self.path_error(doc, step, var, e))
            })
            .collect()
    }

    /// `steps.ID.stdout` and `steps.ID.exit` this field reads: the value of one task,
    /// which is ambiguous when step ID has several and none on the reader's host.
    pub fn own_results_read(&self) -> impl Iterator<Item = (&str, &VarRef)> {
        self.template.variables().iter().filter_map(|v| {
            let p = &v.path;
            (p.len() == 3 && p[0] == "steps" && matches!(p[2].as_str(), "stdout" | "exit"))
                .then(|| (p[1].as_str(), v))
        })
    }

    /// A diagnostic at `var` in this field.
    pub fn at_var(&self, doc: &Document, var: &VarRef, message: impl Into<String>) -> Diagnostic {
        let (pos, width) = pos_in_field(
            doc,
            &self.pointer,
            var.line,
            var.col,
            var.dotted().chars().count(),
        );
        Diagnostic::at(&doc.source, pos, width, message).with_pointer(self.pointer.clone())
    }

    fn path_error(
        &self,
        doc: &Document,
        step: &str,
        var: &VarRef,
        (message, hint): PathError,
    ) -> Diagnostic {
        let d = self.at_var(
            doc,
            var,
            // A message that names the step already says where it is.
            if message.starts_with("step `") || message.contains(": step `") {
                message
            } else if step.contains('.') {
                format!("{message} in `{step}`")
            } else {
                format!("{message} in `{}` of step `{step}`", self.name)
            },
        );
        match hint {
            Some(h) => d.with_hint(h),
            None => d,
        }
    }

    /// Whether the field reads variables that exist only when the run does.
    pub fn is_deferred(&self) -> bool {
        self.deferred
    }

    pub fn render(
        &self,
        renderer: &Renderer,
        ctx: &RenderContext<'_>,
    ) -> Result<Text, TemplateError> {
        if self.deferred {
            return Ok(Text::Deferred {
                deferred: self.template.source().to_owned(),
            });
        }
        let context = self.context(ctx);
        renderer
            .render(&self.template, self.quoting, &context)
            .map(Text::Ready)
    }

    /// Renders an `env` field: literal text and the secrets it names, as typed parts.
    /// `secrets`: the scope's secret parameters.
    pub fn render_env(
        &self,
        renderer: &Renderer,
        ctx: &RenderContext<'_>,
        secrets: &IndexMap<String, Vec<EnvPart>>,
    ) -> Result<EnvValue, TemplateError> {
        if self.deferred {
            return Ok(EnvValue::Deferred {
                deferred: self.template.source().to_owned(),
            });
        }
        let mut context = self.context(ctx);
        let tokens = SecretTokens::new(secrets, &context, self.template.source());
        if self.roots.params {
            let params = ctx.params.as_object().cloned().unwrap_or_default();
            context["params"] = Value::Object(tokens.params(&params));
        }
        let text = renderer.render(&self.template, self.quoting, &context)?;
        tokens
            .split(&text)
            .map(EnvValue::from_parts)
            .map_err(|e| TemplateError {
                message: e.to_string(),
                line: None,
                col: None,
                hint: None,
            })
    }

    /// The part of the context the template reads.
    fn context(&self, ctx: &RenderContext<'_>) -> Value {
        let mut map = Map::new();
        let roots = self.roots;
        if roots.params {
            map.insert("params".into(), ctx.params.clone());
        }
        if roots.vars {
            map.insert("vars".into(), ctx.vars.clone());
        }
        if roots.host {
            if let Some(h) = ctx.host {
                map.insert("host".into(), h.clone());
            }
        }
        if roots.hosts {
            map.insert("hosts".into(), ctx.hosts.clone());
        }
        if roots.groups {
            map.insert("groups".into(), ctx.groups.clone());
        }
        if roots.cluster {
            map.insert("cluster".into(), ctx.cluster.clone());
        }
        Value::Object(map)
    }

    /// A diagnostic for a render failure of this field.
    pub fn error(
        &self,
        doc: &Document,
        step: &str,
        e: &TemplateError,
        host: Option<&str>,
    ) -> Diagnostic {
        template_error(doc, &self.pointer, self.name, step, e, host)
    }
}

impl Roots {
    fn mark(&mut self, root: &str) {
        match root {
            "params" => self.params = true,
            "vars" => self.vars = true,
            "host" => self.host = true,
            "hosts" => self.hosts = true,
            "groups" => self.groups = true,
            _ => self.cluster = true,
        }
    }
}

enum Use<'p> {
    Root(&'p str),
    Deferred,
}

type PathError = (String, Option<String>);

const ROOTS: &str = "params, vars, host, hosts, groups, cluster, run, steps";

#[expect(clippy::too_many_lines, reason = "one arm per template root")]
/// What the runbook alone decides about `path`: its root, the parameters declared, the
/// steps needed and captured, and which segments each root has.
fn check_path<'p>(
    path: &'p [String],
    kind: FieldKind,
    info: &StaticInfo<'_>,
) -> Result<Use<'p>, PathError> {
    let shown = path.join(".");
    let unknown = |hint: Option<String>| Err((format!("unknown variable `{shown}`"), hint));
    let Some(root) = path.first() else {
        return unknown(None);
    };
    let second = path.get(1).map(String::as_str);
    let host_segment = |segment: Option<&str>| match segment {
        None | Some("name" | "address" | "vars") => Ok(()),
        Some(_) => Err((
            format!("unknown variable `{shown}`"),
            Some("a host has `name`, `address` and `vars`".to_owned()),
        )),
    };
    match root.as_str() {
        "params" => {
            let Some(name) = second else {
                return match info.params.iter().find(|(_, p)| p.secret) {
                    Some((secret, _)) => Err(whole_params(secret)),
                    None => Ok(Use::Root("params")),
                };
            };
            match info.params.get(name) {
                Some(p) if p.secret => {
                    if kind == FieldKind::Env {
                        if path.len() > 2 {
                            return unknown(Some(
                                "a secret is text: read it as a whole".to_owned(),
                            ));
                        }
                        return Ok(Use::Root("params"));
                    }
                    let hint = if kind == FieldKind::Command {
                        format!(
                            "pass it through `env:` (e.g. env: {{ {upper}: \"{{{{params.{name}}}}}\" }}) and use \"${upper}\"",
                            upper = name.to_ascii_uppercase()
                        )
                    } else {
                        "secrets may reach commands only through `env:`; never messages, paths or conditions".to_owned()
                    };
                    Err((
                        format!("secret parameter `{name}` used where it would be printed"),
                        Some(hint),
                    ))
                }
                Some(_) => Ok(Use::Root("params")),
                None => {
                    let names: Vec<&str> = info.params.keys().map(String::as_str).collect();
                    unknown(Some(suggest_path(
                        "params",
                        name,
                        &names,
                        "declare it under `params:`",
                    )))
                }
            }
        }
        "vars" => Ok(Use::Root("vars")),
        "host" => {
            if !info.on_host {
                return Err((
                    format!(
                        "`{shown}` is not available: step `{}` runs on the controller",
                        info.step
                    ),
                    Some("use `hosts.NAME...` to read a particular host".to_owned()),
                ));
            }
            host_segment(second)?;
            Ok(Use::Root("host"))
        }
        "hosts" => {
            host_segment(path.get(2).map(String::as_str)).map_err(|(message, hint)| {
                let dotted = path
                    .get(1..)
                    .and_then(|rest| dotted_host_hint("hosts", rest, &["name", "address", "vars"]));
                (message, dotted.or(hint))
            })?;
            Ok(Use::Root("hosts"))
        }
        "groups" => Ok(Use::Root("groups")),
        "cluster" => match second {
            None | Some("n" | "f" | "members" | "consensus") => Ok(Use::Root("cluster")),
            Some(_) => unknown(Some(
                "the cluster has `n`, `f`, `members` and `consensus`".to_owned(),
            )),
        },
        "run" => match second {
            None | Some("id") => Ok(Use::Deferred),
            Some(_) => unknown(Some("the run has `id`".to_owned())),
        },
        "steps" => {
            let Some(id) = second else {
                return unknown(Some("name a step: `steps.ID.stdout`".to_owned()));
            };
            if !info.scope_ids.contains(id) {
                let names: Vec<&str> = info.scope_ids.iter().map(String::as_str).collect();
                return Err((
                    format!("unknown step `{id}`"),
                    Some(suggest_path(
                        "steps",
                        id,
                        &names,
                        "steps are named by their `id`",
                    )),
                ));
            }
            if !info.ancestors.contains(id) {
                return Err((
                    format!(
                        "step `{}` reads `steps.{id}` but does not need it",
                        info.step
                    ),
                    Some(format!(
                        "add `{id}` to the `needs` of `{}`, so its result exists first",
                        info.step
                    )),
                ));
            }
            let reads_stdout = path.get(2).map(String::as_str) == Some("stdout")
                || path.get(4).map(String::as_str) == Some("stdout");
            if reads_stdout && !info.captures.contains(id) {
                return Err((
                    format!(
                        "step `{}` reads the output of `{id}`, which does not capture it",
                        info.step
                    ),
                    Some(format!("add `capture: true` to step `{id}`")),
                ));
            }
            match path.get(2).map(String::as_str) {
                None | Some("stdout" | "exit") => Ok(Use::Deferred),
                Some("hosts") => match path.get(4).map(String::as_str) {
                    None | Some("stdout" | "exit") => Ok(Use::Deferred),
                    Some(_) => unknown(Some(
                        dotted_host_hint(
                            &format!("steps.{id}.hosts"),
                            &path[3..],
                            &["stdout", "exit"],
                        )
                        .unwrap_or_else(|| "a step result has `stdout` and `exit`".to_owned()),
                    )),
                },
                Some(_) => unknown(Some(
                    "a step result has `stdout`, `exit` and `hosts`".to_owned(),
                )),
            }
        }
        _ => unknown(Some(
            match did_you_mean(root, &ROOTS.split(", ").collect::<Vec<_>>()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("templates can read {ROOTS}"),
            },
        )),
    }
}

/// What the inventory and the parameters' values decide about a path that passed
/// [`check_path`]: hosts, groups and variables that exist, the cluster, parameter fields.
/// `optional`: the path is read only through `default`, so a variable that no host
/// defines is fine (the default applies).
fn check_inventory_path(
    path: &[String],
    optional: bool,
    info: &InventoryInfo<'_>,
) -> Result<(), PathError> {
    let shown = path.join(".");
    let unknown = |hint: Option<String>| Err((format!("unknown variable `{shown}`"), hint));
    let segment = |i: usize| path.get(i).map(String::as_str);
    // `rest` is the path from the host name on: a dotted host name written without
    // brackets gets the bracketed form as its hint.
    let known_host = |name: &str, prefix: &str, rest: &[String], otherwise: &str| {
        if info.inv.hosts.contains_key(name) {
            return Ok(());
        }
        let names: Vec<&str> = info.inv.hosts.keys().map(String::as_str).collect();
        Err(bracket_hint(prefix, rest, &names).unwrap_or_else(|| suggest(name, &names, otherwise)))
    };
    match segment(0).unwrap_or_default() {
        "params" => {
            let Some(name) = segment(1) else {
                return Ok(());
            };
            match info.params.get(name) {
                Some(value) if path.len() > 2 && resolve(value, &path[2..]).is_none() => {
                    unknown(None)
                }
                // A secret is not among the values: [`check_path`] decided about it.
                _ => Ok(()),
            }
        }
        "vars" => check_var_name(segment(1), optional, info, &shown),
        "host" if segment(1) == Some("vars") => check_var_name(segment(2), optional, info, &shown),
        "hosts" => {
            let Some(name) = segment(1) else {
                return Ok(());
            };
            known_host(name, "hosts", &path[1..], "define it in the inventory")
                .or_else(|h| unknown(Some(h)))?;
            if segment(2) == Some("vars") {
                check_var_name(segment(3), optional, info, &shown)?;
            }
            Ok(())
        }
        "groups" => match segment(1) {
            Some(name) if !info.inv.groups.contains_key(name) => {
                let names: Vec<&str> = info.inv.groups.keys().map(String::as_str).collect();
                unknown(Some(suggest(name, &names, "define it under `groups:`")))
            }
            _ => Ok(()),
        },
        "cluster" if info.inv.cluster.is_none() => Err((
            format!("`{shown}` is not available: the inventory has no `cluster`"),
            Some("describe the cluster's consensus and members under `cluster:`".to_owned()),
        )),
        "steps" => match (segment(1), segment(2), segment(3)) {
            (Some(id), Some("hosts"), Some(host)) => {
                let prefix = format!("steps.{id}.hosts");
                known_host(host, &prefix, &path[3..], "name a host of the inventory").map_err(
                    |hint| {
                        (
                            format!("unknown host `{host}` in `steps.{id}.hosts`"),
                            Some(hint),
                        )
                    },
                )
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// `params` read as a whole (`lookup params ...`, `#each params`, `json params`): it
/// could reach a secret by a name no check sees.
pub(super) fn whole_params(secret: &str) -> PathError {
    (
        format!("`params` read as a whole could reach secret parameter `{secret}`"),
        Some(
            "read parameters by name, e.g. {{params.version}}; a secret only as {{params.NAME}} in `env:`"
                .to_owned(),
        ),
    )
}

fn check_var_name(
    name: Option<&str>,
    optional: bool,
    info: &InventoryInfo<'_>,
    shown: &str,
) -> Result<(), PathError> {
    let Some(name) = name else { return Ok(()) };
    if optional {
        return Ok(());
    }
    if info.var_names.contains(name) {
        return Ok(());
    }
    let names: Vec<&str> = info.var_names.iter().map(String::as_str).collect();
    Err((
        format!("unknown variable `{shown}`"),
        Some(suggest(
            name,
            &names,
            "no host and no global `vars` define it",
        )),
    ))
}

/// [`suggest`] for the name after `root.` in a template path, shown with its root.
fn suggest_path(root: &str, name: &str, candidates: &[&str], otherwise: &str) -> String {
    match did_you_mean(name, candidates) {
        Some(s) => format!("did you mean `{root}.{s}`?"),
        None => otherwise.to_owned(),
    }
}

fn suggest(name: &str, candidates: &[&str], otherwise: &str) -> String {
    match did_you_mean(name, candidates) {
        Some(s) => format!("did you mean `{s}`?"),
        None => otherwise.to_owned(),
    }
}

/// Without an inventory: `steps.ID.hosts.node-1.dc1.stdout` (or `hosts.node-1.dc1.vars.x`)
/// most likely names host `node-1.dc1`, a dotted name that must be one `[...]` segment:
/// `rest` is the path from the host name on, `ends` the words that may follow a host.
fn dotted_host_hint(prefix: &str, rest: &[String], ends: &[&str]) -> Option<String> {
    let k = rest
        .iter()
        .position(|seg| ends.contains(&seg.as_str()))
        .filter(|&k| k > 1)?;
    Some(format!(
        "a host name with dots is one segment in brackets: `{prefix}.[{}].{}`",
        rest[..k].join("."),
        rest[k..].join(".")
    ))
}

/// The hint for a dotted host name written without brackets (`hosts.node-1.dc1.vars.x`
/// reads host `node-1`): the same path with the host name as one `[...]` segment.
fn bracket_hint(prefix: &str, rest: &[String], hosts: &[&str]) -> Option<String> {
    let written = rest.join(".");
    let host = hosts
        .iter()
        .filter(|h| h.contains('.'))
        .find(|h| written == **h || written.starts_with(&format!("{h}.")))?;
    Some(format!(
        "a host name with dots is one segment in brackets: `{prefix}.[{host}]{}`",
        &written[host.len()..]
    ))
}

fn resolve<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

pub(super) fn template_error(
    doc: &Document,
    pointer: &str,
    name: &str,
    step: &str,
    e: &TemplateError,
    host: Option<&str>,
) -> Diagnostic {
    let (pos, width) = match (e.line, e.col) {
        (Some(line), Some(col)) => pos_in_field(doc, pointer, line, col, 1),
        _ => doc.index.value_pos(pointer),
    };
    let on = host.map(|h| format!(" on host `{h}`")).unwrap_or_default();
    // The inventory's health command is not a step: name it by its field.
    let place = if step.contains('.') {
        format!("`{step}`")
    } else {
        format!("`{name}` of step `{step}`")
    };
    let d = Diagnostic::at(
        &doc.source,
        pos,
        width,
        format!("{} in {place}{on}", e.message),
    )
    .with_pointer(pointer);
    match &e.hint {
        Some(h) => d.with_hint(h.clone()),
        None => d,
    }
}

/// Maps a position inside a template to the file: the template starts at the field's
/// value (after its opening quote), or on the next line for a block scalar (`|`, `>`).
pub(super) fn pos_in_field(
    doc: &Document,
    pointer: &str,
    line: usize,
    col: usize,
    width: usize,
) -> (Pos, usize) {
    let (start, _) = doc.index.value_pos(pointer);
    let first = doc
        .source
        .line_text(start.line)
        .and_then(|l| l.chars().nth(start.col.saturating_sub(1)));
    match first {
        Some('|' | '>') => {
            let target = start.line + line;
            let indent = doc
                .source
                .line_text(target)
                .map_or(0, |l| l.chars().take_while(|c| *c == ' ').count());
            (Pos::new(target, indent + col), width)
        }
        Some(q @ ('"' | '\'')) if line == 1 => {
            let _ = q;
            (Pos::new(start.line, start.col + col), width)
        }
        _ if line == 1 => (Pos::new(start.line, start.col + col - 1), width),
        _ => (Pos::new(start.line + line - 1, col), width),
    }
}
