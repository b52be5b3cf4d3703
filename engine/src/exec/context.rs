//! Rendering, when a task starts, the fields that read other tasks' results (`steps.*`)
//! or the run id; and putting secret values into `env`, the one place they may go.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use crate::plan::{Plan, Secrets, Task, Text};
use crate::template::{CompiledTemplate, Quoting, Renderer};

/// The output and exit code of every finished task, by step and host.
#[derive(Default, Debug)]
pub struct Results {
    by_step: HashMap<String, IndexMap<String, (String, i32)>>,
}

/// The key of a controller task in [`Results`] and in `steps.ID.hosts`.
pub const CONTROLLER: &str = "controller";

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
    renderer
        .render(&template, quoting, &context)
        .map_err(|e| e.message)
}

/// Replaces secret markers in an `env` value with the secrets' values.
pub fn fill_secrets(text: &str, secrets: &Secrets) -> Result<String, String> {
    if !text.contains('\u{1}') {
        return Ok(text.to_owned());
    }
    let mut out = String::new();
    for (i, part) in text.split('\u{1}').enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
        } else {
            let name = part.strip_prefix("secret:").unwrap_or(part);
            let value = secrets.get(name).ok_or_else(|| {
                format!(
                    "secret parameter `{name}` has no value: set {}",
                    crate::plan::ParamInput::env_var(name)
                )
            })?;
            out.push_str(value);
        }
    }
    Ok(out)
}
