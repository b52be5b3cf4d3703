//! Rendering, when a task starts, the fields that read other tasks' results (`steps.*`)
//! or the run id; and putting secret values into `env`, the one place they may go.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use crate::plan::{EnvPart, EnvValue, Plan, SecretTokens, Secrets, Task, Text};
use crate::template::{CompiledTemplate, Quoting, Renderer};

/// The output and exit code of every finished task, by step and host.
#[derive(Default, Debug, Clone)]
pub struct Results {
    by_step: HashMap<String, IndexMap<String, (String, i32)>>,
}

/// The key of a controller task in [`Results`] and in `steps.ID.hosts`.
pub use crate::plan::CONTROLLER;

impl Results {
    /// Output is kept without its trailing newlines, as shell command substitution does:
    /// `{{steps.version.stdout}}` is `1.2.3`, not `1.2.3\n`.
    pub fn record(&mut self, step: &str, host: Option<&str>, stdout: &str, exit: i32) {
        let stdout = stdout.trim_end_matches(['\n', '\r']);
        self.by_step.entry(step.to_owned()).or_default().insert(
            host.unwrap_or(CONTROLLER).to_owned(),
            (stdout.to_owned(), exit),
        );
    }

    /// `steps.ID` as templates see it, for the task's host: `stdout` and `exit` of the same
    /// host (or of the step's only task), and `hosts.NAME.{stdout, exit}` for every host.
    fn step_value(&self, step: &str, host: Option<&str>) -> Value {
        let Some(per_host) = self.by_step.get(step) else {
            return json!({ "stdout": "", "exit": null, "hosts": {} });
        };
        let hosts: Map<String, Value> = per_host
            .iter()
            .map(|(h, (out, exit))| (h.clone(), json!({ "stdout": out, "exit": exit })))
            .collect();
        let own = host.and_then(|h| per_host.get(h)).or_else(|| {
            (per_host.len() == 1)
                .then(|| per_host.values().next())
                .flatten()
        });
        let (stdout, exit) = own.map_or((Value::from(""), Value::Null), |(o, e)| {
            (Value::from(o.as_str()), Value::from(*e))
        });
        json!({ "stdout": stdout, "exit": exit, "hosts": hosts })
    }
}

/// Renders a deferred field now; a ready field is returned as it is.
pub fn render(
    text: &Text,
    quoting: Quoting,
    task: &Task,
    plan: &Plan,
    results: &Results,
    run_id: &str,
    renderer: &Renderer,
) -> Result<String, String> {
    let source = match text {
        Text::Ready(s) => return Ok(s.clone()),
        Text::Deferred { deferred } => deferred,
    };
    let template = CompiledTemplate::parse(source).map_err(|e| e.message)?;
    let context = deferred_context(&template, task, plan, results, run_id);
    renderer
        .render(&template, quoting, &context)
        .map_err(|e| e.message)
}

/// An `env` value as parts: a deferred one is rendered now, each secret it names becoming
/// a secret part; whatever else it holds (other tasks' output included) stays text.
pub fn render_env(
    value: &EnvValue,
    task: &Task,
    plan: &Plan,
    results: &Results,
    run_id: &str,
    renderer: &Renderer,
) -> Result<Vec<EnvPart>, String> {
    let source = match value {
        EnvValue::Plain(t) => return Ok(vec![EnvPart::Text(t.clone())]),
        EnvValue::Parts { parts } => return Ok(parts.clone()),
        EnvValue::Deferred { deferred } => deferred,
    };
    let template = CompiledTemplate::parse(source).map_err(|e| e.message)?;
    let mut context = deferred_context(&template, task, plan, results, run_id);
    let scope = &plan.scopes[task.scope];
    let tokens = SecretTokens::new(&scope.secrets, &context, source);
    context["params"] = Value::Object(tokens.params(&scope.params));
    let text = renderer
        .render(&template, Quoting::Plain, &context)
        .map_err(|e| e.message)?;
    tokens.split(&text).map_err(|e| e.to_string())
}

/// What a deferred template renders against; secret parameters are not in it.
fn deferred_context(
    template: &CompiledTemplate,
    task: &Task,
    plan: &Plan,
    results: &Results,
    run_id: &str,
) -> Value {
    let scope = &plan.scopes[task.scope];
    let host_value = task
        .host
        .as_deref()
        .and_then(|h| plan.context["hosts"].get(h))
        .cloned();
    let vars = host_value
        .as_ref()
        .map_or_else(|| plan.context["vars"].clone(), |h| h["vars"].clone());
    let mut steps = Map::new();
    for var in template.variables() {
        if var.path.first().map(String::as_str) == Some("steps") {
            if let Some(id) = var.path.get(1) {
                let full = format!("{}{id}", scope.prefix);
                steps.insert(id.clone(), results.step_value(&full, task.host.as_deref()));
            }
        }
    }
    let mut context = json!({
        "params": scope.params,
        "vars": vars,
        "hosts": plan.context["hosts"],
        "groups": plan.context["groups"],
        "cluster": plan.context["cluster"],
        "run": { "id": run_id },
        "steps": steps,
    });
    if let Some(h) = host_value {
        context["host"] = h;
    }
    context
}

/// The value of an `env` value's parts, with the run's secrets in place.
pub fn fill_secrets(parts: &[EnvPart], secrets: &Secrets) -> Result<String, String> {
    let mut out = String::new();
    for part in parts {
        match part {
            EnvPart::Text(t) => out.push_str(t),
            EnvPart::Secret { secret } => out.push_str(secrets.get(secret).ok_or_else(|| {
                format!(
                    "secret parameter `{secret}` has no value: set {}",
                    crate::plan::ParamInput::env_var(secret)
                )
            })?),
        }
    }
    Ok(out)
}
