//! The runbook and inventory models: YAML loading, the serde shapes of both files,
//! durations, and the validated inventory the compiler works on.

pub mod duration;
pub mod inventory;
pub mod load;
pub mod raw;
pub mod read;

/// How the controller is named where a host name would stand: in `on:`, in task names
/// (`STEP@controller`), in `steps.ID.hosts`, in progress and in `show`. Reserved: no
/// host or group may take it.
pub const CONTROLLER: &str = "controller";

pub use duration::Span as Duration;
pub use inventory::{Host, Inventory, Quorum};
pub use load::{load, parse_value_text, Document, NodePos, PointerIndex};
pub use read::{read_input, MAX_INPUT_BYTES};
