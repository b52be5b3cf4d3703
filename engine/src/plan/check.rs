//! The checks of a runbook that need no inventory, for `quorate validate`: unique ids,
//! known `needs`, no cycles, templates that parse and read known roots and steps.

use std::collections::{HashMap, HashSet};

use super::order::order_list;
use super::LoadedRunbook;
use crate::model::raw::RawStep;
use crate::model::Document;
use crate::source::Diagnostic;
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

fn check_list(
    steps: &[RawStep],
    pointer: &str,
    rb: &LoadedRunbook,
    ids: &HashSet<&str>,
    errors: &mut Vec<Diagnostic>,
) {
    if let Err(e) = order_list(steps, pointer, &rb.doc, &HashMap::new()) {
        errors.extend(e);
    }
    for (i, s) in steps.iter().enumerate() {
        let p = format!("{pointer}/{i}");
        for (field, text) in template_fields(s) {
            let fp = format!("{p}/{field}");
            match CompiledTemplate::parse(text) {
                Err(e) => errors.push(rb.doc.error_at(
                    &fp,
                    format!("{} in `{field}` of step `{}`", e.message, s.id),
                )),
                Ok(t) => {
                    for v in t.variables() {
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
                                    .with_hint("declare it under `params:`"),
                            );
                        } else if root == "steps"
                            && v.path.len() > 1
                            && !ids.contains(v.path[1].as_str())
                        {
                            errors.push(rb.doc.error_at(
                                &fp,
                                format!(
                                    "unknown step `{}` in `{field}` of step `{}`",
                                    v.path[1], s.id
                                ),
                            ));
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

fn template_fields<'s>(s: &'s RawStep) -> Vec<(String, &'s str)> {
    let mut out: Vec<(String, &str)> = Vec::new();
    let mut add = |k: &str, v: Option<&'s String>| {
        if let Some(v) = v {
            out.push((k.to_owned(), v.as_str()));
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
    out
}
