//! The file-format schemas, embedded from `schemas/` and compiled once per process: the
//! input formats (runbook, inventory) and the JSON that read commands print.

use std::sync::OnceLock;

use jsonschema::{Draft, ValidationError, Validator};
use serde_json::Value;

/// Which file format a document is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaKind {
    Runbook,
    Inventory,
}

impl SchemaKind {
    /// What a document of this kind is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Runbook => "runbook",
            Self::Inventory => "inventory",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::Runbook => include_str!("../../../schemas/runbook.schema.json"),
            Self::Inventory => include_str!("../../../schemas/inventory.schema.json"),
        }
    }
}

/// The schema of `kind` as JSON, parsed on first use.
pub fn schema_json(kind: SchemaKind) -> &'static Value {
    static RUNBOOK: OnceLock<Value> = OnceLock::new();
    static INVENTORY: OnceLock<Value> = OnceLock::new();
    let cell = match kind {
        SchemaKind::Runbook => &RUNBOOK,
        SchemaKind::Inventory => &INVENTORY,
    };
    // The schemas ship inside the binary and a test parses both, so a failure here is a
    // build defect, not a user error.
    cell.get_or_init(|| serde_json::from_str(kind.text()).expect("embedded schema is JSON"))
}

/// The compiled validator of `kind`, built on first use.
pub(crate) fn validator(kind: SchemaKind) -> &'static Validator {
    static RUNBOOK: OnceLock<Validator> = OnceLock::new();
    static INVENTORY: OnceLock<Validator> = OnceLock::new();
    let cell = match kind {
        SchemaKind::Runbook => &RUNBOOK,
        SchemaKind::Inventory => &INVENTORY,
    };
    cell.get_or_init(|| compile(schema_json(kind)).expect("embedded schema compiles"))
}

/// A JSON shape the command line prints, described by a schema under `schemas/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputKind {
    /// `quorate runs --format json`.
    Runs,
    /// One line of `quorate logs --format json`.
    Logs,
    /// A saved plan, `quorate plan ... --out FILE`.
    SavedPlan,
}

impl OutputKind {
    fn text(self) -> &'static str {
        match self {
            Self::Runs => include_str!("../../../schemas/runs.schema.json"),
            Self::Logs => include_str!("../../../schemas/logs.schema.json"),
            Self::SavedPlan => include_str!("../../../schemas/saved-plan.schema.json"),
        }
    }
}

/// The schema of an output shape as JSON, parsed on first use.
pub fn output_schema_json(kind: OutputKind) -> &'static Value {
    static RUNS: OnceLock<Value> = OnceLock::new();
    static LOGS: OnceLock<Value> = OnceLock::new();
    static SAVED_PLAN: OnceLock<Value> = OnceLock::new();
    let cell = match kind {
        OutputKind::Runs => &RUNS,
        OutputKind::Logs => &LOGS,
        OutputKind::SavedPlan => &SAVED_PLAN,
    };
    cell.get_or_init(|| serde_json::from_str(kind.text()).expect("embedded schema is JSON"))
}

/// How `value` breaks the schema of `kind`: one line per violation (JSON pointer and
/// message); empty when it conforms.
pub fn output_violations(kind: OutputKind, value: &Value) -> Vec<String> {
    static RUNS: OnceLock<Validator> = OnceLock::new();
    static LOGS: OnceLock<Validator> = OnceLock::new();
    static SAVED_PLAN: OnceLock<Validator> = OnceLock::new();
    let cell = match kind {
        OutputKind::Runs => &RUNS,
        OutputKind::Logs => &LOGS,
        OutputKind::SavedPlan => &SAVED_PLAN,
    };
    let validator =
        cell.get_or_init(|| compile(output_schema_json(kind)).expect("embedded schema compiles"));
    validator
        .iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Compiles a schema as draft 2020-12, whatever its `$schema` says, so that parameter
/// schemas in runbooks mean one thing. Remote `$ref`s fail: the crate is built without its
/// HTTP and file resolvers, so a schema can only refer inside itself.
pub(crate) fn compile(schema: &Value) -> Result<Validator, ValidationError<'static>> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(schema)
}
