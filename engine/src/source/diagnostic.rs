//! A diagnostic (error or warning) and the one renderer every diagnostic goes through.

use std::fmt::Write as _;

use super::escape::neutralize;
use super::{display_pointer, Pos, SourceFile};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in the user's input, pointing at the place it was found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// The file's display name, when the problem is in a file.
    pub file: Option<String>,
    pub pos: Option<Pos>,
    /// How many characters to underline at `pos` (at least 1).
    #[serde(skip)]
    pub width: usize,
    /// The source line at `pos`, kept so rendering needs no file access.
    #[serde(skip)]
    pub line_text: Option<String>,
    /// The field's JSON pointer (`/steps/3/needs/0`), when the problem is about a field.
    pub pointer: Option<String>,
    /// A one-line suggestion of how to fix it.
    pub hint: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error that points at nothing in particular (e.g. a file that cannot be read).
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            file: None,
            pos: None,
            width: 1,
            line_text: None,
            pointer: None,
            hint: None,
            notes: Vec::new(),
        }
    }

    /// An error at `pos` in `file`, underlining `width` characters.
    pub fn at(file: &SourceFile, pos: Pos, width: usize, message: impl Into<String>) -> Self {
        let mut d = Self::error(message);
        d.file = Some(file.name.clone());
        d.pos = Some(pos);
        d.width = width.max(1);
        d.line_text = file.quoted_line(pos.line, pos.col);
        d
    }

    /// An error about a whole file, without a position.
    pub fn in_file(file: &str, message: impl Into<String>) -> Self {
        let mut d = Self::error(message);
        d.file = Some(file.to_owned());
        d
    }

    #[must_use]
    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    #[must_use]
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Replaces the value in the quoted source line, from the position on, with `***` (the
    /// value is a secret); the position stays.
    #[must_use]
    pub fn redact_value(mut self) -> Self {
        if let (Some(text), Some(pos)) = (&self.line_text, self.pos) {
            self.line_text = Some(super::redact::value_replaced(text, pos.col));
            self.width = super::redact::MASK.len();
        }
        self
    }

    /// Drops the quoted source line; the position stays.
    #[must_use]
    pub fn without_source_line(mut self) -> Self {
        self.line_text = None;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic the way a compiler does:
    ///
    /// ```text
    /// error: unknown step `strat` in `needs`
    ///   --> upgrade.yaml:14:13
    ///    |
    /// 14 |     needs: [strat]
    ///    |             ^^^^^
    ///    = field: steps[3].needs[0]
    ///    = hint: did you mean `start`?
    /// ```
    pub fn render(&self) -> String {
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{label}: {}", neutralize(&self.message));
        let gutter = self.pos.map_or(1, |p| p.line.to_string().len()).max(1);
        let pad = " ".repeat(gutter);
        match (&self.file, self.pos) {
            (Some(file), Some(pos)) => {
                let _ = writeln!(out, "{pad}--> {}:{pos}", neutralize(file));
                if let Some(text) = &self.line_text {
                    let (shown, col) = excerpt(text.trim_end(), pos.col);
                    let (shown, col) = shown_excerpt(&shown, col);
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{} | {shown}", pos.line);
                    let indent: String = shown
                        .chars()
                        .take(col.saturating_sub(1))
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    let room = shown
                        .chars()
                        .count()
                        .saturating_sub(col.saturating_sub(1))
                        .max(1);
                    let _ = writeln!(
                        out,
                        "{pad} | {indent}{}",
                        "^".repeat(self.width.clamp(1, room))
                    );
                }
            }
            (Some(file), None) => {
                let _ = writeln!(out, "{pad}--> {}", neutralize(file));
            }
            _ => {}
        }
        if let Some(pointer) = &self.pointer {
            let _ = writeln!(out, "{pad} = field: {}", display_pointer(pointer));
        }
        for note in &self.notes {
            let _ = writeln!(out, "{pad} = note: {}", neutralize(note));
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "{pad} = hint: {}", neutralize(hint));
        }
        out
    }
}

/// Longest source line shown whole; longer ones are cut around the column.
const MAX_EXCERPT: usize = 160;

/// The part of a long line around `col`, and `col` within that part.
fn excerpt(line: &str, col: usize) -> (String, usize) {
    let len = line.chars().count();
    if len <= MAX_EXCERPT {
        return (line.to_owned(), col);
    }
    let start = col
        .saturating_sub(MAX_EXCERPT / 2)
        .min(len.saturating_sub(MAX_EXCERPT));
    let body: String = line.chars().skip(start).take(MAX_EXCERPT).collect();
    let head = if start > 0 { "..." } else { "" };
    let tail = if start + MAX_EXCERPT < len { "..." } else { "" };
    (format!("{head}{body}{tail}"), col - start + head.len())
}

/// The excerpt with hidden characters made visible, and `col` moved to match.
fn shown_excerpt(excerpt: &str, col: usize) -> (String, usize) {
    let before: String = excerpt.chars().take(col.saturating_sub(1)).collect();
    let col = neutralize(&before).chars().count() + 1;
    (neutralize(excerpt).into_owned(), col)
}

/// Renders several diagnostics separated by blank lines, with a closing count.
pub fn render_all(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&d.render());
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        let plural = if errors == 1 { "" } else { "s" };
        let _ = writeln!(out, "error: {errors} problem{plural} found");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_position_source_line_carets_field_and_hint() {
        let file = SourceFile::new("upgrade.yaml", "steps:\n  - id: a\n    needs: [strat]\n");
        let d = Diagnostic::at(&file, Pos::new(3, 13), 5, "unknown step `strat` in `needs`")
            .with_pointer("/steps/0/needs/0")
            .with_hint("did you mean `start`?");
        assert_eq!(
            d.render(),
            "error: unknown step `strat` in `needs`\n --> upgrade.yaml:3:13\n  |\n3 |     needs: [strat]\n  |             ^^^^^\n  = field: steps[0].needs[0]\n  = hint: did you mean `start`?\n"
        );
    }

    #[test]
    fn quoted_source_lines_and_notes_show_hidden_characters() {
        let file = SourceFile::new("r.yaml", "run: \"a\u{202e}b\" \x1b[8m x\n");
        let d = Diagnostic::at(&file, Pos::new(1, 14), 1, "bad\x1b[2J").with_note("n\u{7}");
        assert_eq!(
            d.render(),
            "error: bad\\x1b[2J\n --> r.yaml:1:14\n  |\n1 | run: \"a\\u{202E}b\" \\x1b[8m x\n  |                        ^\n  = note: n\\x07\n"
        );
    }
}
