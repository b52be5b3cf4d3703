//! `rolling:` blocks: the block's steps per host, batch after batch, each batch released
//! by a gate (pause, then the cluster health check) and never more than f members down.

use std::collections::{HashMap, HashSet};

use serde_json::Map;

use super::ancestry::{Ancestors, Mark};
use super::batches::{batch_size, make_batches};
use super::compile::{Compiler, ListCtx};
use super::fields::{Field, FieldKind, RenderContext, StaticInfo};
use super::order::order_list;
use super::targets::Targets;
use super::types::{BatchRef, Gate, NodeKind, PlanStep, Rolling, Text};
use crate::model::raw::{ActionKind, RawStep};
use crate::source::Diagnostic;

impl Compiler<'_> {
    #[expect(
        clippy::too_many_lines,
        reason = "the block's phases read best in order"
    )]
    pub(super) fn compile_rolling(
        &mut self,
        step: &RawStep,
        pointer: &str,
        cx: &ListCtx<'_>,
        deps: Vec<usize>,
        ancestors: Mark,
        needs: Vec<String>,
    ) -> usize {
        let id = format!("{}{}", cx.prefix, step.id);
        let join = |c: &mut Self, needs: Vec<usize>| {
            c.push_node(needs, NodeKind::Join { step: id.clone() })
        };
        let Some(block) = step.rolling.as_ref() else {
            return join(self, deps);
        };
        let doc = cx.doc;
        let errors_before = self.errors.len();
        self.check_options(step, pointer, doc);
        let (hosts, on) = match self.targets(step, pointer, cx) {
            Some((Targets::Hosts(h), on)) => (h, on),
            Some((Targets::Controller, _)) => {
                self.errors.push(
                    doc.error_at(
                        &format!("{pointer}/on"),
                        "a rolling block runs on hosts, not on the controller",
                    )
                    .with_hint("name the hosts or group to roll through"),
                );
                return join(self, deps);
            }
            None => return join(self, deps),
        };
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
                        doc.error_at_key(&format!("{p}{field}"), message)
                            .with_hint(hint),
                    );
                }
            }
        }
        let quorum = self.inv.cluster.as_ref().map(|c| c.quorum);
        let members: Vec<String> = self
            .inv
            .cluster
            .as_ref()
            .map(|c| c.members.clone())
            .unwrap_or_default();
        let allow = self.opts.allow_quorum_loss;
        let batch_pointer = if block.batch.is_some() {
            format!("{pointer}/rolling/batch")
        } else {
            format!("{pointer}/rolling")
        };
        let (size, rule) =
            match batch_size(block.batch.as_ref(), hosts.len(), quorum.as_ref(), allow) {
                Ok(r) => r,
                Err(e) => {
                    self.errors
                        .push(doc.error_at(&batch_pointer, e.message).with_hint(e.hint));
                    return join(self, deps);
                }
            };
        let zoned = match &block.by {
            None => Some(hosts.iter().map(|h| (h.clone(), None)).collect()),
            Some(by) => self.zones(by, &format!("{pointer}/rolling/by"), &step.id, &hosts, cx),
        };
        let Some(zoned) = zoned else {
            return join(self, deps);
        };
        let batches = make_batches(&zoned, size, &members);
        if let Some(q) = quorum {
            for (k, b) in batches.iter().enumerate() {
                if b.members <= q.f {
                    continue;
                }
                let down: Vec<&str> = b
                    .hosts
                    .iter()
                    .filter(|h| members.contains(h))
                    .map(String::as_str)
                    .collect();
                let message = format!(
                    "batch {} of rolling block `{id}` takes {} members down ({}), but a {} cluster of {} tolerates {}",
                    k + 1,
                    b.members,
                    down.join(", "),
                    q.consensus_name(),
                    q.n,
                    q.f
                );
                if allow {
                    self.warnings.push(
                        doc.error_at(&batch_pointer, format!("{message}: quorum will be lost"))
                            .warning(),
                    );
                } else {
                    self.errors.push(
                        doc.error_at(&batch_pointer, message)
                            .with_hint("use `batch: fault-tolerance` or a smaller batch; --allow-quorum-loss forces it"),
                    );
                }
            }
        }
        let inner_ids: HashSet<&str> = block
            .steps
            .iter()
            .chain(&block.on_failure)
            .map(|s| s.id.as_str())
            .collect();
        let elsewhere: HashMap<String, String> = cx
            .scope_ids
            .iter()
            .filter(|s| !inner_ids.contains(s.as_str()))
            .map(|s| (s.clone(), format!("outside rolling block `{}`", step.id)))
            .collect();
        let steps_pointer = format!("{pointer}/rolling/steps");
        let order = match order_list(&block.steps, &steps_pointer, doc, &elsewhere) {
            Ok(o) => o,
            Err(e) => {
                self.errors.extend(e);
                return join(self, deps);
            }
        };
        if self.errors.len() > errors_before {
            return join(self, deps);
        }
        let inner_cx = ListCtx {
            doc: cx.doc,
            scope: cx.scope,
            prefix: cx.prefix,
            default_on: None,
            scope_ids: cx.scope_ids,
            parent: Some(&id),
        };
        let mut inner_anc: Vec<Mark> = vec![ancestors; block.steps.len()];
        let mut prepared = Vec::with_capacity(block.steps.len());
        for &i in &order.order {
            let mut parents = vec![ancestors];
            parents.extend(order.deps[i].iter().map(|&d| inner_anc[d]));
            let ids = order.deps[i]
                .iter()
                .map(|&d| block.steps[d].id.clone())
                .collect();
            inner_anc[i] = self.ancestry.add(ids, &parents);
        }
        for (i, inner) in block.steps.iter().enumerate() {
            prepared.push(self.prepare(
                inner,
                &format!("{steps_pointer}/{i}"),
                &inner_cx,
                inner_anc[i],
                true,
            ));
        }
        let failure_anc = self.ancestry.add(
            block.steps.iter().map(|s| s.id.clone()).collect(),
            &[ancestors],
        );
        let failure: Vec<_> = block
            .on_failure
            .iter()
            .enumerate()
            .map(|(i, s)| {
                self.prepare(
                    s,
                    &format!("{pointer}/rolling/on_failure/{i}"),
                    &inner_cx,
                    failure_anc,
                    true,
                )
            })
            .collect();
        let health = self.health_commands();
        let r_index = self.rollings.len();
        self.rollings.push(Rolling {
            step: id.clone(),
            rule,
            size,
            by: block.by.clone(),
            pause: block.pause,
            batches: batches.clone(),
            health,
            on_failure: Vec::new(),
            quorum_loss_allowed: allow,
        });
        let step_index = self.steps.len();
        self.steps.push(PlanStep {
            id: id.clone(),
            action: "rolling".to_owned(),
            description: step.description.clone(),
            on,
            needs,
            parent: cx.parent.map(str::to_owned),
            nodes: Vec::new(),
            rolling: Some(r_index),
        });
        let mut step_nodes: Vec<Vec<usize>> = vec![Vec::new(); block.steps.len()];
        let mut gates = Vec::new();
        let mut previous = deps;
        for (k, batch) in batches.iter().enumerate() {
            let gate = self.push_node(
                previous,
                NodeKind::Gate(Gate {
                    rolling: r_index,
                    batch: k,
                    pause: if k > 0 { block.pause } else { None },
                }),
            );
            gates.push(gate);
            let mut this_batch = Vec::new();
            for host in &batch.hosts {
                let mut exits: Vec<Option<usize>> = vec![None; block.steps.len()];
                for &i in &order.order {
                    let Some(p) = &prepared[i] else { continue };
                    let needs: Vec<usize> = if order.deps[i].is_empty() {
                        vec![gate]
                    } else {
                        order.deps[i].iter().filter_map(|&j| exits[j]).collect()
                    };
                    let batch_ref = BatchRef {
                        rolling: r_index,
                        batch: k,
                    };
                    if let Some(task) = self.make_task(p, Some(host), Some(batch_ref)) {
                        let node = self.push_node(needs, NodeKind::Task(Box::new(task)));
                        exits[i] = Some(node);
                        step_nodes[i].push(node);
                        this_batch.push(node);
                    }
                }
            }
            previous = if this_batch.is_empty() {
                vec![gate]
            } else {
                this_batch
            };
        }
        let exit = join(self, previous);
        for host in &hosts {
            for p in failure.iter().flatten() {
                if let Some(task) = self.make_task(p, Some(host), None) {
                    self.rollings[r_index].on_failure.push(task);
                }
            }
        }
        self.steps[step_index].nodes = gates;
        for (i, inner) in block.steps.iter().enumerate() {
            self.steps.push(PlanStep {
                id: format!("{}{}", cx.prefix, inner.id),
                action: inner.action().key().to_owned(),
                description: inner.description.clone(),
                on: step.id.clone(),
                needs: order.deps[i]
                    .iter()
                    .map(|&d| format!("{}{}", cx.prefix, block.steps[d].id))
                    .collect(),
                parent: Some(id.clone()),
                nodes: std::mem::take(&mut step_nodes[i]),
                rolling: None,
            });
        }
        exit
    }

    /// Each host's `by` value; `None` when one cannot be had (errors are recorded).
    fn zones(
        &mut self,
        by: &str,
        by_pointer: &str,
        step: &str,
        hosts: &[String],
        cx: &ListCtx<'_>,
    ) -> Option<Vec<(String, Option<String>)>> {
        let info = self.static_info(step, cx.scope, cx.scope_ids, Mark::NONE, true);
        let field = match Field::prepare(
            by,
            by_pointer.to_owned(),
            "rolling.by",
            FieldKind::Plain,
            &info,
            cx.doc,
        ) {
            Ok(f) => f,
            Err(e) => {
                self.errors.extend(e);
                return None;
            }
        };
        if field.is_deferred() {
            self.errors.push(
                cx.doc
                    .error_at(by_pointer, "`by` must be known when planning")
                    .with_hint("group hosts by an inventory variable such as {{host.vars.zone}}"),
            );
            return None;
        }
        let mut out = Vec::with_capacity(hosts.len());
        let mut blank = Vec::new();
        for host in hosts {
            let hc = &self.host_ctx[host];
            let ctx = RenderContext {
                params: &self.scope_params[cx.scope],
                vars: &hc.vars,
                host: Some(&hc.host),
                hosts: &self.hosts_value,
                groups: &self.groups_value,
                cluster: &self.cluster_value,
            };
            match field.render(&self.renderer, &ctx) {
                Ok(Text::Ready(zone)) if zone.trim().is_empty() => blank.push(host.as_str()),
                Ok(t) => out.push((host.clone(), Some(t.as_str().to_owned()))),
                Err(e) => {
                    self.errors.push(field.error(cx.doc, step, &e, Some(host)));
                    return None;
                }
            }
        }
        if !blank.is_empty() {
            self.errors.push(
                cx.doc
                    .error_at(
                        by_pointer,
                        format!(
                            "the batch rule `by` cannot be met: it is empty for {}",
                            blank.join(", ")
                        ),
                    )
                    .with_hint("give every host of the block a value (e.g. a `zone` variable)"),
            );
            return None;
        }
        Some(out)
    }

    /// The inventory's health command rendered for each member (once per plan).
    fn health_commands(&mut self) -> Vec<(String, Text)> {
        if let Some(h) = &self.health {
            return h.clone();
        }
        let mut out = Vec::new();
        let Some(cluster) = &self.inv.cluster else {
            return out;
        };
        let Some(source) = cluster.health.clone() else {
            return out;
        };
        let members = cluster.members.clone();
        let doc = std::sync::Arc::clone(&self.inv.doc);
        let (params, ids) = (Map::new(), HashSet::new());
        let secrets = indexmap::IndexMap::new();
        let info = StaticInfo {
            step: "cluster.health",
            params: &params,
            secrets: &secrets,
            var_names: &self.var_names,
            inv: self.inv,
            scope_ids: &ids,
            ancestors: Ancestors::NONE,
            on_host: true,
            captures: &ids,
        };
        let field = match Field::prepare(
            &source,
            "/cluster/health".to_owned(),
            "health",
            FieldKind::Command,
            &info,
            &doc,
        ) {
            Ok(f) => f,
            Err(e) => {
                self.errors.extend(e);
                self.health = Some(Vec::new());
                return Vec::new();
            }
        };
        let empty = serde_json::Value::Object(Map::new());
        for m in &members {
            let hc = &self.host_ctx[m];
            let ctx = RenderContext {
                params: &empty,
                vars: &hc.vars,
                host: Some(&hc.host),
                hosts: &self.hosts_value,
                groups: &self.groups_value,
                cluster: &self.cluster_value,
            };
            match field.render(&self.renderer, &ctx) {
                Ok(t) => out.push((m.clone(), t)),
                Err(e) => {
                    let d: Diagnostic = field.error(&doc, "cluster.health", &e, Some(m));
                    self.errors.push(d);
                }
            }
        }
        self.health = Some(out.clone());
        out
    }
}
