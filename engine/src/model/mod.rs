//! The runbook and inventory models: YAML loading, the raw serde shapes, and the
//! validated types the compiler works on.

pub mod load;

pub use load::{load, Document, NodePos, PointerIndex};
