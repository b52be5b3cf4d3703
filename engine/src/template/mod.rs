//! Template rendering: handlebars, strict, with POSIX shell quoting and fleet helpers.

mod check;
mod compiled;
mod context;
mod error;
mod helpers;
mod lines;
mod natural;
mod output;
mod quote;
mod renderer;
mod rewrite;
mod scan;
mod values;
mod variables;

pub use compiled::CompiledTemplate;
pub use context::TemplateContext;
pub use error::TemplateError;
pub use quote::{shell_quote, Quoting};
pub use renderer::Renderer;
pub use variables::VarRef;
