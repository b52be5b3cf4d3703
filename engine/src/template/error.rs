//! The one error type of parsing and rendering: a clean sentence and where it happened.
//!
//! handlebars' own errors print a debug dump of the template and name the parser's
//! grammar rules; a runbook author needs one sentence that points at the problem.

use handlebars::{RenderError, RenderErrorReason, TemplateErrorReason};

use super::scan::{Scan, TagKind};

/// A template that cannot be parsed or rendered.
///
/// `line` and `col` are 1-based and point inside the template text (columns count
/// characters); the caller maps them to the file the template came from.
#[derive(thiserror::Error, Clone, Debug, PartialEq, Eq)]
#[error("{message}")]
pub struct TemplateError {
    /// One sentence, e.g. ``unknown variable `params.foo` ``.
    pub message: String,
    pub line: Option<usize>,
    pub col: Option<usize>,
    /// A suggestion, e.g. ``did you mean `max`?``.
    pub hint: Option<String>,
}

impl TemplateError {
    pub(super) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            line: None,
            col: None,
            hint: None,
        }
    }

    #[must_use]
    pub(super) fn at(mut self, (line, col): (usize, usize)) -> Self {
        self.line = Some(line);
        self.col = Some(col);
        self
    }

    #[must_use]
    pub(super) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Explains why handlebars could not parse `source`.
    pub(super) fn from_parse(err: &handlebars::TemplateError, source: &str) -> Self {
        let scan = Scan::new(source);
        if let Some(at) = scan.unclosed {
            return Self::new("unclosed `{{`")
                .at(scan.line_col(at))
                .with_hint(r"close it with `}}`, or write `\{{` for a literal `{{`");
        }
        if let Some(error) = block_structure(&scan) {
            return error;
        }
        let error = match err.reason() {
            TemplateErrorReason::MismatchingClosedHelper(open, close) => Self::new(format!(
                "`{{{{/{close}}}}}` does not close `{{{{#{open}}}}}`"
            )),
            TemplateErrorReason::InvalidParam(param) => {
                Self::new(format!("invalid argument `{param}`"))
            }
            _ => {
                // Name the tag the parser stopped in, rather than its grammar rules.
                let at = err.pos().map(|(line, col)| scan.offset(line, col));
                let tag = at.and_then(|at| {
                    scan.tags
                        .iter()
                        .find(|t| t.span.start <= at && at < t.span.end)
                });
                match tag {
                    Some(tag) => {
                        let error = Self::new(format!(
                            "invalid expression `{}`",
                            scan.text(tag.span.clone())
                        ))
                        .at(scan.line_col(tag.span.start));
                        return if tag.kind == TagKind::Open {
                            error.with_hint("blocks are `#if`, `#unless`, `#each` and `#with`")
                        } else {
                            error
                        };
                    }
                    None => Self::new("invalid template syntax"),
                }
            }
        };
        match err.pos() {
            Some(pos) => error.at(pos),
            None => error,
        }
    }

    /// Explains why rendering `source` failed.
    pub(super) fn from_render(err: &RenderError, source: &str) -> Self {
        let (message, word) = match err.reason() {
            RenderErrorReason::MissingVariable(Some(path)) => {
                (format!("unknown variable `{path}`"), Some(path.as_str()))
            }
            RenderErrorReason::MissingVariable(None) => {
                ("a value the template looks up is missing".to_owned(), None)
            }
            RenderErrorReason::HelperNotFound(name) => {
                (format!("unknown helper `{name}`"), Some(name.as_str()))
            }
            RenderErrorReason::ParamNotFoundForIndex(name, index) => (
                format!("`{name}` needs at least {} argument(s)", index + 1),
                Some(*name),
            ),
            RenderErrorReason::InvalidJsonIndex(segment) => (
                format!("`{segment}` is not a list index (a list is indexed by number)"),
                None,
            ),
            RenderErrorReason::Other(message) => (message.clone(), None),
            other => (other.to_string(), None),
        };
        let error = Self::new(message);
        let Some(pos) = err.line_no.zip(err.column_no) else {
            return error;
        };
        // handlebars knows where the failing element starts; point at the word inside it
        // (the variable or helper named in the message, else the element's first word).
        let scan = Scan::new(source);
        let from = scan.offset(pos.0, pos.1);
        let at = match word {
            Some(w) => scan.find_word(w, from),
            None => scan.next_word(from),
        };
        match at {
            Some(i) => error.at(scan.line_col(scan.word_start(i))),
            None => error.at(pos),
        }
    }
}

/// Finds a block that is never closed, closed by the wrong tag, or an `{{else}}` outside
/// any block.
fn block_structure(scan: &Scan<'_>) -> Option<TemplateError> {
    let mut open: Vec<(&str, usize)> = Vec::new();
    for tag in &scan.tags {
        let name = tag.name.clone().map_or("", |n| scan.text(n));
        let at = scan.line_col(tag.span.start);
        match tag.kind {
            TagKind::Open => open.push((name, tag.span.start)),
            TagKind::Else if open.is_empty() => {
                return Some(TemplateError::new("`{{else}}` outside a block").at(at));
            }
            TagKind::Close => match open.pop() {
                None => {
                    return Some(
                        TemplateError::new(format!("`{{{{/{name}}}}}` closes no open block"))
                            .at(at),
                    );
                }
                Some((opened, _)) if opened != name => {
                    return Some(
                        TemplateError::new(format!(
                            "`{{{{/{name}}}}}` does not close `{{{{#{opened}}}}}`"
                        ))
                        .at(at),
                    );
                }
                Some(_) => {}
            },
            TagKind::Else | TagKind::Other => {}
        }
    }
    open.pop().map(|(name, start)| {
        TemplateError::new(format!("`{{{{#{name}}}}}` is never closed"))
            .at(scan.line_col(start))
            .with_hint(format!("close it with `{{{{/{name}}}}}`"))
    })
}
