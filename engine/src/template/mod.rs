//! Template rendering: handlebars, strict, with POSIX shell quoting and fleet helpers.
//!
//! A template is parsed once ([`CompiledTemplate::parse`]: syntax, helper names and
//! argument counts checked, variables listed) and rendered per host with a shared
//! [`Renderer`]. With [`Quoting::Shell`] every `{{x}}`, helper output included, becomes
//! one inert sh word; `{{{x}}}` inserts raw text. A list or mapping in `{{x}}` is an
//! error; a list from `lines` / `common_lines` renders as its lines joined by newlines.
//! `default` is the one helper that accepts a missing variable. Host names holding dots
//! are written as a segment literal, `steps.ID.hosts.[db1.example.com].stdout`, or read
//! with `lookup`.

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
