//! Source text and positions, and the diagnostics that point into them.

mod diagnostic;
mod file;
mod pointer;

pub use diagnostic::{render_all, Diagnostic, Severity};
pub use file::{Pos, SourceFile};
pub use pointer::{display_pointer, pointer_push};
