//! One schema violation, in words, and where it points.

use crate::model::Document;
use crate::source::Diagnostic;

/// A value breaking its schema: what is wrong, where, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaViolation {
    /// The JSON pointer of the offending node, relative to the validated value.
    pub pointer: String,
    /// One sentence, e.g. "unknown field `strat` in step".
    pub message: String,
    /// One line, e.g. "did you mean `start`?".
    pub hint: Option<String>,
    /// Point at the node's key rather than its value (unknown fields, bad names).
    pub at_key: bool,
}

impl SchemaViolation {
    /// Places the violation in `doc`, whose node at `base` is the value that was validated
    /// (`""` when it is the whole document).
    pub fn to_diagnostic(&self, doc: &Document, base: &str) -> Diagnostic {
        let pointer = format!("{base}{}", self.pointer);
        let diagnostic = if self.at_key {
            doc.error_at_key(&pointer, self.message.clone())
        } else {
            doc.error_at(&pointer, self.message.clone())
        };
        match &self.hint {
            Some(hint) => diagnostic.with_hint(hint.clone()),
            None => diagnostic,
        }
    }
}
