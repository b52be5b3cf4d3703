//! Checking documents and values against schemas, reporting every violation.

use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::embedded::{compile, schema_json, validator, SchemaKind};
use super::explain::Explainer;
use super::node::SchemaTree;
use super::params;
use super::violation::SchemaViolation;
use crate::model::Document;
use crate::source::{display_pointer, pointer_push, Diagnostic};

/// Checks a runbook or inventory against its schema. Returns every violation, in source
/// order, each once; empty when the document is valid. For runbooks this includes the
/// parameter schemas written in the file and their `default`s.
pub fn validate(kind: SchemaKind, doc: &Document) -> Vec<Diagnostic> {
    let schema = schema_json(kind);
    let mut violations = explain_all(
        validator(kind),
        schema,
        &doc.value,
        &format!("the {}", kind.noun()),
        false,
    );
    if kind == SchemaKind::Runbook {
        params::check(&doc.value, &mut violations);
    }
    let secret_defaults = secret_default_pointers(kind, &doc.value);
    let mut diagnostics: Vec<Diagnostic> = violations
        .iter()
        .map(|v| {
            let d = v.to_diagnostic(doc, "");
            let at_secret = secret_defaults
                .iter()
                .any(|p| v.pointer == *p || v.pointer.starts_with(&format!("{p}/")));
            if at_secret {
                d.redact_value()
            } else {
                d
            }
        })
        .collect();
    diagnostics.sort_by(|a, b| (a.pos, &a.message).cmp(&(b.pos, &b.message)));
    diagnostics.dedup_by(|a, b| a.pos == b.pos && a.message == b.message);
    diagnostics
}

/// The pointers of the `default`s of a runbook's secret parameters: diagnostics there do
/// not quote the value.
fn secret_default_pointers(kind: SchemaKind, runbook: &Value) -> Vec<String> {
    let params = runbook.get("params").and_then(Value::as_object);
    if kind != SchemaKind::Runbook {
        return Vec::new();
    }
    params
        .into_iter()
        .flatten()
        .filter(|(_, p)| p.get("secret").and_then(Value::as_bool) == Some(true))
        .map(|(name, _)| pointer_push(&pointer_push("/params", name), "default"))
        .collect()
}

/// Checks a value against a schema written by a user (a runbook parameter's `schema`).
/// `Err` says why the schema itself is not a valid 2020-12 schema.
pub fn validate_value(schema: &Value, value: &Value) -> Result<Vec<SchemaViolation>, String> {
    check_value(schema, value, false)
}

/// [`validate_value`] for a secret: messages never contain the value or hints derived
/// from it.
pub fn validate_secret(schema: &Value, value: &Value) -> Result<Vec<SchemaViolation>, String> {
    check_value(schema, value, true)
}

fn check_value(
    schema: &Value,
    value: &Value,
    masked: bool,
) -> Result<Vec<SchemaViolation>, String> {
    let validator = compile(schema).map_err(|e| {
        let problem = schema_problem(&e);
        let at = if problem.pointer.is_empty() {
            String::new()
        } else {
            format!(" at `{}`", display_pointer(&problem.pointer))
        };
        match problem.hint {
            Some(hint) => format!("invalid schema{at}: {}; {hint}", problem.message),
            None => format!("invalid schema{at}: {}", problem.message),
        }
    })?;
    Ok(explain_all(&validator, schema, value, "the value", masked))
}

/// Every violation of `value` against a compiled `schema`.
pub(crate) fn explain_all(
    validator: &Validator,
    schema: &Value,
    value: &Value,
    root: &str,
    masked: bool,
) -> Vec<SchemaViolation> {
    let explainer = Explainer {
        tree: SchemaTree::new(Some(schema)),
        root: root.to_owned(),
        masked,
    };
    let mut out = Vec::new();
    for error in validator.iter_errors(value) {
        explainer.explain(&error, &mut out);
    }
    out
}

/// Why a schema does not compile, as a violation whose pointer is inside the schema.
/// The error comes from the meta-schema, which is not at hand, so the wording is the
/// generic one.
pub(crate) fn schema_problem(error: &ValidationError<'_>) -> SchemaViolation {
    let explainer = Explainer {
        tree: SchemaTree::new(None),
        root: "the schema".to_owned(),
        masked: false,
    };
    let mut out = Vec::new();
    explainer.explain(error, &mut out);
    out.into_iter().next().unwrap_or_else(|| SchemaViolation {
        pointer: error.instance_path().as_str().to_owned(),
        message: error.to_string(),
        hint: None,
        at_key: false,
    })
}
