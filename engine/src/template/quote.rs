//! How a template inserts values into a field: shell-quoted in commands, as they are
//! elsewhere. The quoting itself is [`crate::shell::quote`].

/// How `{{x}}` inserts a value.
///
/// Commands (`run`, `unless`, `only_if`, `wait.until`, `cluster.health`, ...) use
/// [`Quoting::Shell`]; fields that are not commands (`when`, paths, messages) use
/// [`Quoting::Plain`]. In both modes `{{{x}}}` inserts the text as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quoting {
    /// Every `{{x}}` (helper output included) becomes one inert POSIX sh word.
    Shell,
    /// Every `{{x}}` is inserted as it is.
    Plain,
}

/// Quotes `s` as a single POSIX sh word (see [`crate::shell::quote`]).
pub use crate::shell::quote as shell_quote;
