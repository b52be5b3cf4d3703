//! Source text and positions, and the diagnostics that point into them.

mod diagnostic;
pub mod escape;
mod file;
mod pointer;
mod redact;
mod suggest;

pub use diagnostic::{render_all, Diagnostic, Severity};
pub use file::{Pos, SourceFile};
pub use pointer::{display_pointer, pointer_push};
pub use suggest::did_you_mean;
