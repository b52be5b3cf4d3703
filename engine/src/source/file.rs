//! A loaded input file and a position inside it.

use std::fmt;
use std::sync::Arc;

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    pub fn new(line: usize, col: usize) -> Self {
        Self { line, col }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// The text of one input file and the name it is shown under in diagnostics.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as the user gave it (or `builtin:NAME` for embedded runbooks).
    pub name: String,
    pub text: String,
    /// Its values may be secrets (a `--params` file): diagnostics quote its lines with the
    /// values replaced by `***`.
    pub hides_values: bool,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<Self> {
        let mut text = text.into();
        // Editors on some systems start UTF-8 files with a byte-order mark; it is not content.
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        Arc::new(Self {
            name: name.into(),
            text,
            hides_values: false,
        })
    }

    /// A file whose values are never quoted in diagnostics (see [`SourceFile::hides_values`]).
    pub fn hiding_values(name: impl Into<String>, text: impl Into<String>) -> Arc<Self> {
        let mut file = Self::new(name, text);
        if let Some(f) = Arc::get_mut(&mut file) {
            f.hides_values = true;
        }
        file
    }

    /// The 1-based line `line` as a diagnostic pointing at column `col` may quote it.
    pub fn quoted_line(&self, line: usize, col: usize) -> Option<String> {
        let text = self.line_text(line)?;
        Some(if self.hides_values {
            super::redact::line_without_values(text, col)
        } else {
            text.to_owned()
        })
    }

    /// The text of the 1-based line `line`, without its line break.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        self.text
            .split('\n')
            .nth(line.checked_sub(1)?)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }
}
