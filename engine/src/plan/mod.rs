//! Runbook + inventory + parameters -> plan: the task graph, rolling batches, quorum
//! math, rendered commands; the plan's text, JSON and graph renderings; the saved plan
//! of `plan --out` and the difference between two plans.

mod ancestry;
mod batches;
mod compile;
mod connection;
pub mod diff;
mod env_value;
mod fields;
pub mod graph;
mod hidden;
mod include;
mod includes;
mod input;
mod limits;
mod options;
mod order;
mod params;
mod rolling;
mod runbook;
pub mod saved;
mod step;
mod targets;
mod task;
pub mod text;
mod types;

pub use compile::{compile, is_false, CompileOptions, Compiled, IncludeResolver, LoadedRunbook};
pub use env_value::{show_parts, AlteredSecret, EnvPart, EnvValue, SecretTokens};
pub use hidden::hidden_text;
pub use includes::check_includes;
pub use input::{kind_of, parse_inventory, parse_runbook, parse_runbook_doc};
pub use limits::{DEFAULT_MAX_TASKS, MAX_INCLUDED_STEPS, MAX_INCLUDES, MAX_INCLUDE_DEPTH};
pub use params::{ParamInput, ParamOrigin, Secrets};
pub use runbook::Runbook;
pub use types::*;

#[cfg(test)]
mod tests;
