//! The checks of a runbook that need no inventory, for `quorate validate`: unique ids,
//! known `needs`, no cycles, templates that parse and read known roots and steps.

use std::collections::{HashMap, HashSet};

use super::compile::{option_errors, regex_errors};
use super::fields::{pos_in_field, whole_params};
use super::order::order_list;
use super::LoadedRunbook;
use crate::model::raw::RawStep;
use crate::model::Document;
use crate::source::{did_you_mean, Diagnostic};
use crate::template::CompiledTemplate;

const ROOTS: [&str; 8] = [
    "params", "vars", "host", "hosts", "groups", "cluster", "run", "steps",
];

pub fn check_runbook(rb: &LoadedRunbook) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, String> = HashMap::new();
    collect(&rb.raw.steps, "/steps", &rb.doc, &mut seen, &mut errors);
    let ids: HashSet<&str> = seen.keys().copied().collect();
    check_list(&rb.raw.steps, "/steps", rb, &ids, &mut errors);
    errors.sort_by_key(|d| d.pos);
    errors
}

fn collect<'r>(
    steps: &'r [RawStep],
    pointer: &str,
    doc: &Document,
    seen: &mut HashMap<&'r str, String>,
    errors: &mut Vec<Diagnostic>,
) {
    for (i, s) in steps.iter().enumerate() {
        let p = format!("{pointer}/{i}");
        if let Some(first) = seen.get(s.id.as_str()) {
            let (pos, _) = doc.index.value_pos(first);
            errors.push(
                doc.error_at(&format!("{p}/id"), format!("duplicate step id `{}`", s.id))
                    .with_note(format!(
                        "first used at line {}, column {}",
                        pos.line, pos.col
                    ))
                    .with_hint("give each step its own id"),
            );
        } else {
            seen.insert(&s.id, format!("{p}/id"));
        }
        if let Some(r) = &s.rolling {
            collect(&r.steps, &format!("{p}/rolling/steps"), doc, seen, errors);
            collect(
                &r.on_failure,
                &format!("{p}/rolling/on_failure"),
                doc,
                seen,
                errors,
            );
        }
    }
}

#[expect(clippy::too_many_lines, reason = "one pass over each step's fields")]
fn check_list(
    steps: &[RawStep],
    pointer: &str,
    rb: &LoadedRunbook,
    ids: &HashSet<&str>,
    errors: &mut Vec<Diagnostic>,
) {
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
    if let Err(e) = order_list(steps, pointer, &rb.doc, &elsewhere) {
        errors.extend(e);
    }
    for (i, s) in steps.iter().enumerate() {
        let p = format!("{pointer}/{i}");
        errors.extend(option_errors(s, &p, &rb.doc));
        errors.extend(regex_errors(s, &p, &rb.doc));
        let secret_names: Vec<&str> = rb
            .raw
            .params
            .iter()
            .filter(|(_, p)| p.secret)
            .map(|(n, _)| n.as_str())
            .collect();
        for (field, text) in template_fields(s) {
            let fp = format!("{p}/{field}");
            // `env/NAME`: the one place a secret may be read.
            let env = field.starts_with("env/");
            let field = if env { "env" } else { field.as_str() };
            match CompiledTemplate::parse(&text) {
                Err(e) => errors.push(rb.doc.error_at(
                    &fp,
                    format!("{} in `{field}` of step `{}`", e.message, s.id),
                )),
                Ok(t) => {
                    if t.reads_whole_context() {
                        errors.push(
                            rb.doc
                                .error_at(
                                    &fp,
                                    format!(
                                        "`{field}` of step `{}` reads the whole template context",
                                        s.id
                                    ),
                                )
                                .with_hint("name the variables it needs, e.g. {{params.version}}"),
                        );
                    }
                    for v in t.variables() {
                        let (pos, width) =
                            pos_in_field(&rb.doc, &fp, v.line, v.col, v.dotted().chars().count());
                        let at = |message: String| {
                            Diagnostic::at(&rb.doc.source, pos, width, message)
                                .with_pointer(fp.clone())
                        };
                        let root = v.path.first().map_or("", String::as_str);
                        if !ROOTS.contains(&root) {
                            errors.push(
                                rb.doc
                                    .error_at(
                                        &fp,
                                        format!(
                                            "unknown variable `{}` in `{field}` of step `{}`",
                                            v.path.join("."),
                                            s.id
                                        ),
                                    )
                                    .with_hint(format!("templates can read {}", ROOTS.join(", "))),
                            );
                        } else if root == "params"
                            && v.path.len() > 1
                            && !rb.raw.params.contains_key(&v.path[1])
                        {
                            let names: Vec<&str> =
                                rb.raw.params.keys().map(String::as_str).collect();
                            let hint = did_you_mean(&v.path[1], &names).map_or_else(
                                || "declare it under `params:`".to_owned(),
                                |n| format!("did you mean `params.{n}`?"),
                            );
                            errors.push(
                                rb.doc
                                    .error_at(
                                        &fp,
                                        format!(
                                            "unknown variable `{}` in `{field}` of step `{}`",
                                            v.path.join("."),
                                            s.id
                                        ),
                                    )
                                    .with_hint(hint),
                            );
                        } else if root == "params" && v.path.len() == 1 && !secret_names.is_empty()
                        {
                            let (message, hint) = whole_params(secret_names[0]);
                            let d = at(format!("{message} in `{field}` of step `{}`", s.id));
                            errors.push(match hint {
                                Some(h) => d.with_hint(h),
                                None => d,
                            });
                        } else if root == "params"
                            && !env
                            && v.path.len() > 1
                            && rb.raw.params.get(&v.path[1]).is_some_and(|p| p.secret)
                        {
                            errors.push(
                                at(format!("secret parameter `{}` used where it would be printed, in `{field}` of step `{}`", v.path[1], s.id))
                                    .with_hint("secrets may reach commands only through `env:`"),
                            );
                        } else if root == "steps"
                            && v.path.len() > 1
                            && !ids.contains(v.path[1].as_str())
                        {
                            let known: Vec<&str> = ids.iter().copied().collect();
                            let d = rb.doc.error_at(
                                &fp,
                                format!(
                                    "unknown step `{}` in `{field}` of step `{}`",
                                    v.path[1], s.id
                                ),
                            );
                            errors.push(match did_you_mean(&v.path[1], &known) {
                                Some(n) => d.with_hint(format!("did you mean `steps.{n}`?")),
                                None => d.with_hint("steps are named by their `id`"),
                            });
                        }
                    }
                }
            }
        }
        if let Some(r) = &s.rolling {
            check_list(&r.steps, &format!("{p}/rolling/steps"), rb, ids, errors);
        }
    }
}

fn template_fields(s: &RawStep) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |k: &str, v: Option<&String>| {
        if let Some(v) = v {
            out.push((k.to_owned(), v.clone()));
        }
    };
    add("run", s.run.as_ref());
    add("approve", s.approve.as_ref());
    add("creates", s.creates.as_ref());
    add("removes", s.removes.as_ref());
    add("unless", s.unless.as_ref());
    add("only_if", s.only_if.as_ref());
    add("cwd", s.cwd.as_ref());
    if let Some(c) = &s.copy {
        add("copy/src", Some(&c.src));
        add("copy/dest", Some(&c.dest));
    }
    if let Some(f) = &s.fetch {
        add("fetch/src", Some(&f.src));
        add("fetch/dest", Some(&f.dest));
    }
    if let Some(w) = &s.wait {
        add("wait/until", Some(&w.until));
    }
    if let Some(crate::model::raw::RawWhen::Text(t)) = &s.when {
        add("when", Some(t));
    }
    for (name, value) in &s.env {
        let text = match value {
            serde_json::Value::String(t) => t.clone(),
            other => other.to_string(),
        };
        out.push((crate::source::pointer_push("env", name), text));
    }
    out
}
