//! The parameter schemas a runbook declares: each must be a valid schema, and a parameter's
//! `default` must satisfy it. Both are mistakes in the runbook file, so they are reported
//! with its other schema violations, at their place in the file.

use serde_json::Value;

use super::embedded::compile;
use super::validate::{explain_all, schema_problem};
use super::violation::SchemaViolation;
use crate::source::pointer_push;

/// Adds the problems of the runbook's parameter schemas and defaults to `out`.
pub(crate) fn check(runbook: &Value, out: &mut Vec<SchemaViolation>) {
    let Some(params) = runbook.get("params").and_then(Value::as_object) else {
        return;
    };
    for (name, param) in params {
        // A schema that is not a mapping is already a violation of the runbook schema.
        let Some(schema) = param.get("schema").filter(|s| s.is_object()) else {
            continue;
        };
        let at = pointer_push("/params", name);
        let validator = match compile(schema) {
            Ok(validator) => validator,
            Err(error) => {
                let mut problem = schema_problem(&error);
                problem.pointer = format!("{}{}", pointer_push(&at, "schema"), problem.pointer);
                problem.message =
                    format!("invalid schema for parameter `{name}`: {}", problem.message);
                out.push(problem);
                continue;
            }
        };
        let Some(default) = param.get("default") else {
            continue;
        };
        let secret = param.get("secret").and_then(Value::as_bool) == Some(true);
        let base = pointer_push(&at, "default");
        let root = format!("the default of `{name}`");
        for mut violation in explain_all(&validator, schema, default, &root, secret) {
            violation.pointer = format!("{base}{}", violation.pointer);
            out.push(violation);
        }
    }
}
