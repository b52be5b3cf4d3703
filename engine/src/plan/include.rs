//! `include:` steps: another runbook's steps inlined under the include step's id, with
//! its own parameters (from `with:`) and its own step namespace.

use std::sync::Arc;

use serde_json::Value;

use super::compile::{Compiler, ListCtx, LoadedRunbook};
use super::env_value::{EnvPart, EnvValue};
use super::fields::{InventoryInfo, RenderContext};
use super::includes::{inherited_on, resolve_include, validation_key};
use super::params::Secrets;
use super::params::{resolve, ParamInput, ParamOrigin};
use super::runbook::{IncludeStep, Runbook, Step, Target};
use super::targets;
use super::types::{NodeKind, PlanStep, Scope};
use crate::source::Diagnostic;

impl Compiler<'_> {
    #[expect(
        clippy::too_many_lines,
        reason = "with-values, parameters and the inner list, in order"
    )]
    pub(super) fn compile_include(
        &mut self,
        step: &Step,
        include: &IncludeStep,
        cx: &ListCtx<'_>,
        deps: Vec<usize>,
        needs: Vec<String>,
    ) -> usize {
        let id = format!("{}{}", cx.prefix, step.id);
        let pointer = step.pointer.as_str();
        let exit_for =
            |c: &mut Self, deps: Vec<usize>| c.push_node(deps, NodeKind::Join { step: id.clone() });
        if !self.admit_include(pointer, cx) {
            return exit_for(self, deps);
        }
        let stack = &self.include_stack;
        let loaded = match resolve_include(self.includes, &include.name, step, cx.doc, stack) {
            Ok(l) => l,
            Err(e) => {
                self.errors.extend(e);
                return exit_for(self, deps);
            }
        };
        let file = loaded.doc.source.name.clone();
        if !self.admit_included_steps(&loaded.raw.steps, pointer, cx) {
            return exit_for(self, deps);
        }
        let mut inputs = Vec::new();
        // `with` values that hold a secret: they are passed as parts, never as text.
        let mut passed_secrets: Vec<(String, String, Vec<EnvPart>)> = Vec::new();
        for with in &include.with {
            let (key, vp) = (&with.key, &with.pointer);
            let rendered = match &with.value {
                Err(plain) => plain.clone(),
                // Wrong: reported with the runbook's checks.
                Ok(None) => continue,
                Ok(Some(f)) => {
                    let info = InventoryInfo {
                        inv: self.inv,
                        var_names: &self.var_names,
                        params: &self.scopes[cx.scope].params,
                    };
                    let errors = f.check_inventory(cx.doc, &step.id, &info);
                    if !errors.is_empty() {
                        self.errors.extend(errors);
                        continue;
                    }
                    // In the including runbook's context, without a host.
                    let ctx = RenderContext {
                        params: &self.scope_params[cx.scope],
                        vars: &self.global_vars,
                        host: None,
                        hosts: &self.hosts_value,
                        groups: &self.groups_value,
                        cluster: &self.cluster_value,
                    };
                    match f.render_env(&self.renderer, &ctx, &self.scopes[cx.scope].secrets) {
                        Ok(EnvValue::Plain(t)) => Value::String(t),
                        Ok(EnvValue::Parts { parts }) => {
                            // Its schema is checked against the value when the secrets
                            // are given; planning without them checks nothing, as for
                            // the runbook's own secrets.
                            let filled = fill(&parts, &self.secrets);
                            passed_secrets.push((key.clone(), vp.clone(), parts));
                            match filled {
                                Some(text) => Value::String(text),
                                None => continue,
                            }
                        }
                        // Refused with the runbook's checks.
                        Ok(EnvValue::Deferred { .. }) => continue,
                        Err(e) => {
                            self.errors.push(f.error(cx.doc, &step.id, &e, None));
                            continue;
                        }
                    }
                }
            };
            inputs.push(ParamInput {
                name: key.clone(),
                value: rendered,
                origin: ParamOrigin::File {
                    doc: Arc::clone(cx.doc),
                    pointer: vp.clone(),
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
        // An included runbook's secret can only be one of the run's: the including
        // runbook's secrets are all the run has (and all `resume` asks for again).
        for name in resolved.secret_refs.keys() {
            if !passed_secrets.iter().any(|(n, _, _)| n == name) {
                let at = if include.with.iter().any(|w| w.key == *name) {
                    format!("{pointer}/with/{name}")
                } else {
                    format!("{pointer}/include")
                };
                self.errors.push(
                    cx.doc
                        .error_at(
                            &at,
                            format!("secret parameter `{name}` of {file} is given no secret"),
                        )
                        .with_hint(format!(
                            "pass one of this runbook's secrets: `with: {{ {name}: \"{{{{params.NAME}}}}\" }}`"
                        )),
                );
            }
        }
        // A secret passed on keeps pointing at the including runbook's secret.
        for (name, pointer, parts) in passed_secrets {
            if loaded.raw.params.get(&name).is_some_and(|p| p.secret) {
                resolved.secret_refs.insert(name, parts);
            } else {
                self.errors.push(
                    cx.doc
                        .error_at(
                            &pointer,
                            format!(
                                "a secret is passed to parameter `{name}`, which is not secret"
                            ),
                        )
                        .with_hint(format!("declare `{name}` with `secret: true` in {file}")),
                );
            }
        }
        let scope = self.scopes.len();
        let prefix = format!("{id}/");
        self.scopes.push(Scope {
            prefix: prefix.clone(),
            runbook: loaded.raw.runbook.clone(),
            params: resolved.values,
            secrets: resolved.secret_refs,
        });
        self.scope_params
            .push(Value::Object(self.scopes[scope].params.clone()));
        let default_on = inherited_on(step, cx.doc, &loaded, cx.default_on);
        let validated = self.validate_included(&loaded, default_on.as_ref());
        self.errors.extend(validated.1.iter().cloned());
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
            parent: Some(&id),
        };
        let leaves = if validated.0.duplicate_ids {
            Vec::new()
        } else {
            self.compile_list(&validated.0.steps, &inner, &deps)
        };
        self.include_stack.pop();
        let exit = exit_for(self, if leaves.is_empty() { deps } else { leaves });
        self.steps[step_index].nodes.push(exit);
        exit
    }
}

impl Compiler<'_> {
    /// An included runbook validated with the `on` its steps inherit, once per file and
    /// `on` however often it is included.
    fn validate_included(
        &mut self,
        loaded: &LoadedRunbook,
        default_on: Option<&Target>,
    ) -> Arc<(Runbook, Vec<Diagnostic>)> {
        let key = validation_key(loaded, default_on);
        Arc::clone(
            self.validated
                .entry(key)
                .or_insert_with(|| Arc::new(Runbook::validate_with(loaded, default_on))),
        )
    }
}

/// The text of `parts` with the secrets in place, when every one of them has a value.
fn fill(parts: &[EnvPart], secrets: &Secrets) -> Option<String> {
    let mut text = String::new();
    for p in parts {
        match p {
            EnvPart::Text(t) => text.push_str(t),
            EnvPart::Secret { secret } => text.push_str(secrets.get(secret)?),
        }
    }
    Some(text)
}
