//! JSON Schema validation of runbooks and inventories against `schemas/`, with messages
//! that say what is wrong in the operator's words and point at line:column.

mod alternatives;
mod describe;
mod embedded;
mod explain;
mod keyword;
mod node;
mod params;
mod suggest;
mod validate;
mod violation;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_inventory;
#[cfg(test)]
mod tests_runbook;
#[cfg(test)]
mod tests_values;

pub use embedded::{output_schema_json, output_violations, schema_json, OutputKind, SchemaKind};
pub use validate::{validate, validate_secret, validate_value};
pub use violation::SchemaViolation;
