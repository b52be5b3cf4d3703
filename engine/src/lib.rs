//! quorate: declarative, resumable, quorum-aware runbooks for replicated clusters.
//!
//! The crate is a compiler followed by an executor. Compilation is pure: it reads the
//! runbook, inventory and parameters it is given and never touches a host.
//!
//! - [`source`]: files, positions and diagnostics.
//! - [`shell`]: POSIX sh quoting, shared by templates and the transport (depends on nothing).
//! - [`digest`]: sha256 as hex, shared by the transport, runs and saved plans (depends on nothing).
//! - [`model`]: YAML loading and the runbook / inventory types.
//! - [`schema`]: the JSON Schemas that define the file formats.
//! - [`template`]: handlebars rendering with shell quoting and fleet helpers.
//! - [`plan`]: runbook + inventory -> plan (task graph, batches, quorum math).
//! - [`store`]: the durable run store.
//! - [`transport`]: SSH and local command execution, the remote task journal.
//! - [`exec`]: running a plan: scheduling, attempts, retries, events.
//! - [`catalog`]: built-in runbooks and user runbook directories.
//! - [`cli`]: the `quorate` command line.

pub mod catalog;
pub mod cli;
pub mod digest;
pub mod exec;
pub mod model;
pub mod plan;
pub mod report;
pub mod schema;
pub mod shell;
pub mod source;
pub mod store;
pub mod template;
pub mod transport;
