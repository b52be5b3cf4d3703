//! A validated task step made into tasks: the checks of its fields that need the
//! inventory, then one rendered task per host.

use super::compile::{Compiler, ListCtx};
use super::env_value::EnvValue;
use super::fields::{Field, InventoryInfo, RenderContext};
use super::runbook::{ambiguous_read, Step};
use super::step::{TaskAction, TaskStep, When};
use super::types::{Action, BatchRef, Guards, Task, Text};
use crate::source::Diagnostic;

impl Compiler<'_> {
    /// The checks of `task`'s fields that need the inventory and the parameters' values,
    /// and that each `steps.ID.stdout` it reads names one task on each of `hosts` (the
    /// hosts of its tasks; `None`: the controller). Whether all passed.
    fn check_task(
        &mut self,
        step: &Step,
        task: &TaskStep,
        cx: &ListCtx<'_>,
        hosts: &[Option<String>],
    ) -> bool {
        let before = self.errors.len();
        let info = InventoryInfo {
            inv: self.inv,
            var_names: &self.var_names,
            params: &self.scopes[cx.scope].params,
        };
        let mut errors: Vec<Diagnostic> = Vec::new();
        for field in task.fields() {
            errors.extend(field.check_inventory(cx.doc, &step.id, &info));
            for (id, var) in field.own_results_read() {
                let Some(theirs) = self.step_hosts.get(&format!("{}{id}", cx.prefix)) else {
                    continue;
                };
                if theirs.len() < 2 {
                    continue;
                }
                let Some(reader) = hosts.iter().find(|h| !theirs.contains(h)) else {
                    continue;
                };
                let where_reader = match reader {
                    None => "on the controller".to_owned(),
                    Some(h) => format!("also on `{h}`, where `{id}` has no task"),
                };
                errors.push(ambiguous_read(
                    field,
                    cx.doc,
                    &step.id,
                    var,
                    id,
                    &format!("on {} hosts", theirs.len()),
                    &where_reader,
                ));
            }
        }
        self.errors.extend(errors);
        self.errors.len() == before
    }

    /// The task step if it is valid and passes the checks that need the inventory on
    /// `hosts` (`None`: its targets are wrong, reported); a refused step's fields that
    /// parsed get those checks too, so that one pass reports every problem.
    pub(super) fn checked<'s>(
        &mut self,
        step: &Step,
        task: &'s Result<Box<TaskStep>, Vec<Field>>,
        cx: &ListCtx<'_>,
        hosts: Option<&[Option<String>]>,
    ) -> Option<&'s TaskStep> {
        match task {
            Ok(t) => {
                let ok = self.check_task(step, t, cx, hosts.unwrap_or_default());
                (ok && hosts.is_some()).then_some(&**t)
            }
            Err(parsed) => {
                let info = InventoryInfo {
                    inv: self.inv,
                    var_names: &self.var_names,
                    params: &self.scopes[cx.scope].params,
                };
                let errors: Vec<Diagnostic> = parsed
                    .iter()
                    .flat_map(|f| f.check_inventory(cx.doc, &step.id, &info))
                    .collect();
                self.errors.extend(errors);
                None
            }
        }
    }

    /// Renders a task step for one host (`None`: the controller).
    #[expect(
        clippy::too_many_lines,
        reason = "each field rendered in turn, failures grouped by field"
    )]
    pub(super) fn make_task(
        &mut self,
        t: &TaskStep,
        id: &str,
        cx: &ListCtx<'_>,
        host: Option<&str>,
        batch: Option<BatchRef>,
    ) -> Option<Task> {
        let hc = host.and_then(|h| self.host_ctx.get(h));
        let ctx = RenderContext {
            params: &self.scope_params[cx.scope],
            vars: hc.map_or(&self.global_vars, |h| &h.vars),
            host: hc.map(|h| &h.host),
            hosts: &self.hosts_value,
            groups: &self.groups_value,
            cluster: &self.cluster_value,
        };
        let secrets = &self.scopes[cx.scope].secrets;
        let mut failed: Vec<(String, Diagnostic)> = Vec::new();
        let mut render = |f: &Field| -> Option<Text> {
            match f.render(&self.renderer, &ctx) {
                Ok(t) => Some(t),
                Err(e) => {
                    failed.push((f.pointer.clone(), f.error(cx.doc, id, &e, None)));
                    None
                }
            }
        };
        let action = match &t.action {
            TaskAction::Run { command } => render(command).map(|command| Action::Run { command }),
            TaskAction::Copy { src, dest, mode } => match (render(src), render(dest)) {
                (Some(src), Some(dest)) => Some(Action::Copy {
                    src,
                    dest,
                    mode: mode.clone(),
                }),
                _ => None,
            },
            TaskAction::Fetch { src, dest } => match (render(src), render(dest)) {
                (Some(src), Some(dest)) => Some(Action::Fetch { src, dest }),
                _ => None,
            },
            TaskAction::Wait {
                until,
                every,
                timeout,
            } => render(until).map(|until| Action::Wait {
                until,
                every: *every,
                timeout: *timeout,
            }),
            TaskAction::Approve { message } => {
                render(message).map(|message| Action::Approve { message })
            }
            TaskAction::Sleep { duration } => Some(Action::Sleep {
                duration: *duration,
            }),
        };
        let when = match &t.when {
            When::Template(f) => render(f),
            When::Always | When::Const(_) => None,
        };
        let guards = Guards {
            creates: t.creates.as_ref().and_then(&mut render),
            removes: t.removes.as_ref().and_then(&mut render),
            unless: t.unless.as_ref().and_then(&mut render),
            only_if: t.only_if.as_ref().and_then(&mut render),
        };
        let cwd = t.cwd.as_ref().and_then(&mut render);
        let env: Vec<(String, EnvValue)> = t
            .env
            .iter()
            .filter_map(
                |(name, f)| match f.render_env(&self.renderer, &ctx, secrets) {
                    Ok(v) => Some((name.clone(), v)),
                    Err(e) => {
                        failed.push((f.pointer.clone(), f.error(cx.doc, id, &e, None)));
                        None
                    }
                },
            )
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
        let (skip, when) = match (&t.when, when) {
            (When::Const(b), _) => (!b, None),
            (_, Some(Text::Ready(text))) => (super::compile::is_false(&text), None),
            (_, deferred) => (false, deferred),
        };
        Some(Task {
            step: id.to_owned(),
            host: host.map(str::to_owned),
            scope: cx.scope,
            action: action?,
            skip,
            when,
            guards,
            expect: t.expect.clone(),
            retries: t.retries.clone(),
            timeout: t.timeout,
            env,
            cwd,
            sudo: t.sudo,
            capture: t.capture,
            idempotent: t.idempotent,
            batch,
        })
    }
}
