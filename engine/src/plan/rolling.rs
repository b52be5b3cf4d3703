//! `rolling:` blocks: the block's steps per host, batch after batch, each batch released
//! by a gate (pause, then the cluster health check) and never more than f members down.

use std::collections::HashSet;

use serde_json::Map;

use super::ancestry::Ancestors;
use super::batches::{batch_size, make_batches};
use super::compile::{Compiler, ListCtx};
use super::fields::{Field, FieldKind, InventoryInfo, RenderContext, StaticInfo};
use super::runbook::{RollingBlock, Step, StepAction};
use super::step::TaskStep;
use super::targets::Targets;
use super::types::{
    BatchRef, FingerprintCommands, Gate, HostCommands, NodeKind, PlanStep, Rolling, Text,
};
use crate::source::Diagnostic;

impl Compiler<'_> {
    #[expect(
        clippy::too_many_lines,
        reason = "the block's phases read best in order"
    )]
    pub(super) fn compile_rolling(
        &mut self,
        step: &Step,
        block: &RollingBlock,
        cx: &ListCtx<'_>,
        deps: Vec<usize>,
        needs: Vec<String>,
    ) -> usize {
        let id = format!("{}{}", cx.prefix, step.id);
        let join = |c: &mut Self, needs: Vec<usize>| {
            c.push_node(needs, NodeKind::Join { step: id.clone() })
        };
        let doc = cx.doc;
        let pointer = step.pointer.as_str();
        let errors_before = self.errors.len();
        let (hosts, on) = match self.targets(step) {
            Some((Targets::Hosts(h), on)) => (h, on),
            // On the controller: reported with the runbook's checks.
            Some((Targets::Controller, _)) | None => return join(self, deps),
        };
        let host_list: Vec<Option<String>> = hosts.iter().cloned().map(Some).collect();
        for inner in block.steps.steps.iter().chain(&block.on_failure) {
            self.step_hosts
                .insert(format!("{}{}", cx.prefix, inner.id), host_list.clone());
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
        let zoned = match (&block.by_text, &block.by) {
            (None, _) => Some(hosts.iter().map(|h| (h.clone(), None)).collect()),
            (Some(_), Some(by)) => self.zones(by, &step.id, &hosts, cx),
            // `by` is wrong: reported with the runbook's checks.
            (Some(_), None) => None,
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
        let Some(order) = &block.steps.order else {
            return join(self, deps);
        };
        if !block.valid || self.errors.len() > errors_before {
            return join(self, deps);
        }
        let inner_cx = ListCtx {
            doc: cx.doc,
            scope: cx.scope,
            prefix: cx.prefix,
            default_on: None,
            parent: Some(&id),
        };
        let prepared: Vec<Option<&TaskStep>> = block
            .steps
            .steps
            .iter()
            .map(|inner| self.checked_task(inner, &inner_cx, &host_list))
            .collect();
        let failure: Vec<&TaskStep> = block
            .on_failure
            .iter()
            .filter_map(|f| self.checked_task(f, &inner_cx, &host_list))
            .collect();
        let (health, health_others) = self.health_commands();
        let membership = self.membership_commands();
        let r_index = self.rollings.len();
        self.rollings.push(Rolling {
            step: id.clone(),
            rule,
            size,
            by: block.by_text.clone(),
            pause: block.pause,
            batches: batches.clone(),
            health,
            health_others,
            membership,
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
        let mut step_nodes: Vec<Vec<usize>> = vec![Vec::new(); block.steps.steps.len()];
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
                let mut exits: Vec<Option<usize>> = vec![None; block.steps.steps.len()];
                for &i in &order.order {
                    let Some(p) = prepared[i] else { continue };
                    let needs: Vec<usize> = if order.deps[i].is_empty() {
                        vec![gate]
                    } else {
                        order.deps[i].iter().filter_map(|&j| exits[j]).collect()
                    };
                    let batch_ref = BatchRef {
                        rolling: r_index,
                        batch: k,
                    };
                    let inner_id = format!("{}{}", cx.prefix, block.steps.steps[i].id);
                    if let Some(task) =
                        self.make_task(p, &inner_id, &inner_cx, Some(host), Some(batch_ref))
                    {
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
        let failure_ids: Vec<String> = block
            .on_failure
            .iter()
            .map(|f| format!("{}{}", cx.prefix, f.id))
            .collect();
        for host in &hosts {
            for (p, fid) in failure.iter().zip(&failure_ids) {
                if let Some(task) = self.make_task(p, fid, &inner_cx, Some(host), None) {
                    self.rollings[r_index].on_failure.push(task);
                }
            }
        }
        self.steps[step_index].nodes = gates;
        for (i, inner) in block.steps.steps.iter().enumerate() {
            self.steps.push(PlanStep {
                id: format!("{}{}", cx.prefix, inner.id),
                action: inner.kind.key().to_owned(),
                description: inner.description.clone(),
                on: step.id.clone(),
                needs: order.deps[i]
                    .iter()
                    .map(|&d| format!("{}{}", cx.prefix, block.steps.steps[d].id))
                    .collect(),
                parent: Some(id.clone()),
                nodes: std::mem::take(&mut step_nodes[i]),
                rolling: None,
            });
        }
        exit
    }

    /// A step of the block that is a valid task step and passes the checks that need
    /// the inventory, run on `hosts`.
    fn checked_task<'s>(
        &mut self,
        step: &'s Step,
        cx: &ListCtx<'_>,
        hosts: &[Option<String>],
    ) -> Option<&'s TaskStep> {
        let StepAction::Task(task) = &step.action else {
            return None;
        };
        self.checked(step, task, cx, Some(hosts))
    }

    /// Each host's `by` value; `None` when one cannot be had (errors are recorded).
    fn zones(
        &mut self,
        field: &Field,
        step: &str,
        hosts: &[String],
        cx: &ListCtx<'_>,
    ) -> Option<Vec<(String, Option<String>)>> {
        let by_pointer = field.pointer.as_str();
        let info = InventoryInfo {
            inv: self.inv,
            var_names: &self.var_names,
            params: &self.scopes[cx.scope].params,
        };
        let errors = field.check_inventory(cx.doc, step, &info);
        if !errors.is_empty() {
            self.errors.extend(errors);
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

    /// The inventory's health command rendered for each member, and (with a
    /// `cluster.membership` command) for every other host of the inventory: a live answer
    /// may name a host that joined the cluster after the inventory was written (once per
    /// plan).
    fn health_commands(&mut self) -> (HostCommands, HostCommands) {
        if let Some(h) = &self.health {
            return h.clone();
        }
        let cluster = self.inv.cluster.as_ref();
        let source = cluster.and_then(|c| c.health.clone());
        let live = cluster.is_some_and(|c| c.membership.is_some());
        let members = self.cluster_commands(source.clone(), "health", Hosts::Members);
        let others = if live && !members.is_empty() {
            self.cluster_commands(source, "health", Hosts::Others)
        } else {
            Vec::new()
        };
        self.health = Some((members.clone(), others.clone()));
        (members, others)
    }

    /// The inventory's membership command rendered for each member, then for every other
    /// host (once per plan): the gate runs it before every batch, on the first healthy one,
    /// to recompute n and f from the live answer.
    fn membership_commands(&mut self) -> HostCommands {
        if let Some(m) = &self.membership {
            return m.clone();
        }
        let source = self.inv.cluster.as_ref().and_then(|c| c.membership.clone());
        let mut out = self.cluster_commands(source.clone(), "membership", Hosts::Members);
        if !out.is_empty() {
            out.extend(self.cluster_commands(source, "membership", Hosts::Others));
        }
        self.membership = Some(out.clone());
        out
    }

    /// The commands of the cluster fingerprint: `cluster.fingerprint` and, with it,
    /// `cluster.membership`, for each member; empty without `cluster.fingerprint`.
    pub(super) fn fingerprint_commands(&mut self) -> FingerprintCommands {
        let source = self
            .inv
            .cluster
            .as_ref()
            .and_then(|c| c.fingerprint.clone());
        if source.is_none() {
            return FingerprintCommands::default();
        }
        FingerprintCommands {
            version: self.cluster_commands(source, "fingerprint", Hosts::Members),
            membership: self.membership_commands(),
        }
    }

    /// A `cluster.<name>` command of the inventory rendered for each host of `which`; empty
    /// when the inventory has none or it does not compile. The members' errors are
    /// recorded; another host whose command cannot be rendered (a variable it lacks) is
    /// left out: the gate cannot count it, and it is no member of the plan.
    fn cluster_commands(
        &mut self,
        source: Option<String>,
        name: &'static str,
        which: Hosts,
    ) -> HostCommands {
        let mut out = Vec::new();
        let (Some(cluster), Some(source)) = (&self.inv.cluster, source) else {
            return out;
        };
        let step = match name {
            "health" => "cluster.health",
            "fingerprint" => "cluster.fingerprint",
            _ => "cluster.membership",
        };
        let hosts: Vec<String> = match which {
            Hosts::Members => cluster.members.clone(),
            Hosts::Others => self
                .inv
                .hosts
                .keys()
                .filter(|h| !cluster.members.contains(h))
                .cloned()
                .collect(),
        };
        let record = matches!(which, Hosts::Members);
        let doc = std::sync::Arc::clone(&self.inv.doc);
        let (declared, ids) = (indexmap::IndexMap::new(), HashSet::new());
        let info = StaticInfo {
            step,
            params: &declared,
            scope_ids: &ids,
            ancestors: Ancestors::NONE,
            on_host: true,
            captures: &ids,
        };
        let params = Map::new();
        let inventory = InventoryInfo {
            inv: self.inv,
            var_names: &self.var_names,
            params: &params,
        };
        let parsed = Field::parse(
            &source,
            format!("/cluster/{name}"),
            name,
            FieldKind::Command,
            &info,
            &doc,
        )
        .and_then(|f| {
            let errors = f.check_inventory(&doc, step, &inventory);
            if errors.is_empty() {
                Ok(f)
            } else {
                Err(errors)
            }
        });
        let field = match parsed {
            Ok(f) => f,
            Err(e) => {
                if record {
                    self.errors.extend(e);
                }
                return Vec::new();
            }
        };
        let empty = serde_json::Value::Object(Map::new());
        for m in &hosts {
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
                Err(e) if record => {
                    let d: Diagnostic = field.error(&doc, step, &e, Some(m));
                    self.errors.push(d);
                }
                Err(_) => {}
            }
        }
        out
    }
}

/// Which hosts a cluster command is rendered for.
#[derive(Clone, Copy)]
enum Hosts {
    /// `cluster.members`.
    Members,
    /// Every other host of the inventory, in inventory order.
    Others,
}
