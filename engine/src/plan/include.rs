//! `include:` steps: another runbook's steps inlined under the include step's id, with
//! its own parameters (from `with:`) and its own step namespace.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use super::ancestry::Mark;
use super::compile::{Compiler, DefaultOn, ListCtx};
use super::fields::{Field, FieldKind, RenderContext};
use super::params::{resolve, ParamInput, ParamOrigin};
use super::targets;
use super::types::{NodeKind, PlanStep, Scope, Text};
use crate::model::raw::RawStep;

impl Compiler<'_> {
    #[expect(
        clippy::too_many_lines,
        reason = "with-values, parameters and the inner list, in order"
    )]
    pub(super) fn compile_include(
        &mut self,
        step: &RawStep,
        pointer: &str,
        cx: &ListCtx<'_>,
        deps: Vec<usize>,
        needs: Vec<String>,
    ) -> usize {
        let id = format!("{}{}", cx.prefix, step.id);
        let exit_for =
            |c: &mut Self, deps: Vec<usize>| c.push_node(deps, NodeKind::Join { step: id.clone() });
        if !self.admit_include(pointer, cx) {
            return exit_for(self, deps);
        }
        let name = step.include.as_deref().unwrap_or_default();
        let loaded = match self.includes.resolve(name, &cx.doc.source) {
            Ok(l) => l,
            Err(e) => {
                self.errors.extend(e.into_iter().map(|d| {
                    if d.pos.is_some() {
                        d
                    } else {
                        let mut placed = cx.doc.error_at(&format!("{pointer}/include"), d.message);
                        placed.hint = d.hint;
                        placed.notes = d.notes;
                        placed
                    }
                }));
                return exit_for(self, deps);
            }
        };
        let file = loaded.doc.source.name.clone();
        if let Some(at) = self.include_stack.iter().position(|f| *f == file) {
            let mut chain: Vec<&str> = self.include_stack[at..]
                .iter()
                .map(String::as_str)
                .collect();
            chain.push(&file);
            self.errors.push(
                cx.doc
                    .error_at(
                        &format!("{pointer}/include"),
                        format!("include cycle: {}", chain.join(" -> ")),
                    )
                    .with_hint("a runbook cannot include itself, directly or through others"),
            );
            return exit_for(self, deps);
        }
        if !self.admit_included_steps(&loaded.raw.steps, pointer, cx) {
            return exit_for(self, deps);
        }
        // `with` values are rendered in the including runbook's context (no host).
        let scope_ids = HashSet::new();
        let mut inputs = Vec::new();
        for (key, value) in &step.with {
            let vp = format!("{pointer}/with/{key}");
            let rendered = match value {
                Value::String(s) => {
                    let info = self.static_info(&step.id, cx.scope, &scope_ids, Mark::NONE, false);
                    match Field::prepare(s, vp.clone(), "with", FieldKind::Env, &info, cx.doc) {
                        Ok(f) => {
                            let ctx = RenderContext {
                                params: &self.scope_params[cx.scope],
                                vars: &self.global_vars,
                                host: None,
                                hosts: &self.hosts_value,
                                groups: &self.groups_value,
                                cluster: &self.cluster_value,
                            };
                            match f.render(&self.renderer, &ctx) {
                                Ok(Text::Ready(t)) => Value::String(t),
                                Ok(Text::Deferred { .. }) => {
                                    self.errors.push(
                                        cx.doc
                                            .error_at(&vp, "`with` values must be known when planning")
                                            .with_hint("pass parameters, variables or cluster facts, not `steps.*` or `run.*`"),
                                    );
                                    continue;
                                }
                                Err(e) => {
                                    self.errors.push(f.error(cx.doc, &step.id, &e, None));
                                    continue;
                                }
                            }
                        }
                        Err(e) => {
                            self.errors.extend(e);
                            continue;
                        }
                    }
                }
                other => other.clone(),
            };
            inputs.push(ParamInput {
                name: key.clone(),
                value: rendered,
                origin: ParamOrigin::File {
                    doc: Arc::clone(cx.doc),
                    pointer: vp,
                },
            });
        }
        let mut resolved = match resolve(
            &loaded.raw.params,
            &inputs,
            &loaded.doc,
            self.opts.require_secrets,
        ) {
            Ok(r) => r,
            Err(e) => {
                self.errors.extend(e);
                return exit_for(self, deps);
            }
        };
        // A secret passed on keeps pointing at the including runbook's secret.
        for input in &inputs {
            let Some(text) = input.value.as_str() else {
                continue;
            };
            if !text.contains('\u{1}') {
                continue;
            }
            let secret = loaded.raw.params.get(&input.name).is_some_and(|p| p.secret);
            if secret {
                resolved
                    .values
                    .insert(input.name.clone(), input.value.clone());
            } else if let ParamOrigin::File { pointer, .. } = &input.origin {
                self.errors.push(
                    cx.doc
                        .error_at(
                            pointer,
                            format!(
                                "a secret is passed to parameter `{}`, which is not secret",
                                input.name
                            ),
                        )
                        .with_hint(format!(
                            "declare `{}` with `secret: true` in {file}",
                            input.name
                        )),
                );
            }
        }
        let scope = self.scopes.len();
        let prefix = format!("{id}/");
        self.scopes.push(Scope {
            prefix: prefix.clone(),
            runbook: loaded.raw.runbook.clone(),
            params: resolved.values,
        });
        self.scope_params
            .push(Value::Object(self.scopes[scope].params.clone()));
        self.scope_captures
            .push(super::compile::captured_steps(&loaded.raw.steps));
        let inner_ids = self.collect_ids(&loaded.raw.steps, "/steps", &loaded.doc);
        // An `on` inherited from the include step points into the including file.
        let default_on = step
            .on
            .as_ref()
            .map(|t| DefaultOn {
                target: t.clone(),
                pointer: format!("{pointer}/on"),
                doc: Arc::clone(cx.doc),
            })
            .or_else(|| {
                loaded.raw.on.as_ref().map(|t| DefaultOn {
                    target: t.clone(),
                    pointer: "/on".to_owned(),
                    doc: Arc::clone(&loaded.doc),
                })
            })
            // Last, the including runbook's default: an included procedure runs where
            // the including one does unless it says otherwise.
            .or_else(|| {
                cx.default_on.map(|d| DefaultOn {
                    target: d.target.clone(),
                    pointer: d.pointer.clone(),
                    doc: Arc::clone(&d.doc),
                })
            });
        let step_index = self.steps.len();
        self.steps.push(PlanStep {
            id: id.clone(),
            action: "include".to_owned(),
            description: step
                .description
                .clone()
                .or_else(|| loaded.raw.description.clone()),
            on: step.on.as_ref().map_or_else(String::new, targets::describe),
            needs,
            parent: cx.parent.map(str::to_owned),
            nodes: Vec::new(),
            rolling: None,
        });
        self.include_stack.push(file);
        let inner = ListCtx {
            doc: &loaded.doc,
            scope,
            prefix: &prefix,
            default_on: default_on.as_ref(),
            scope_ids: &inner_ids,
            parent: Some(&id),
        };
        let leaves = self.compile_list(&loaded.raw.steps, "/steps", &inner, &deps, Mark::NONE);
        self.include_stack.pop();
        let exit = exit_for(self, if leaves.is_empty() { deps } else { leaves });
        self.steps[step_index].nodes.push(exit);
        exit
    }
}
