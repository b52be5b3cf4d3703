//! Parse-time checks of what handlebars would only reject while rendering (or never):
//! unknown helpers, helpers used as blocks or blocks used inline, partials, decorators.
//!
//! The helper set is fixed, so these are mistakes in the template, reported once at plan
//! time with a position rather than once per host at run time.

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};

use super::error::TemplateError;
use super::helpers::{arity_error, helper_names, is_block_helper, is_helper};
use super::scan::Scan;

/// Checks every helper use in `template` (parsed from the text `scan` scanned).
pub(super) fn check(template: &Template, scan: &Scan<'_>) -> Result<(), TemplateError> {
    Check { scan, cursor: 0 }.template(template)
}

struct Check<'s, 'a> {
    scan: &'s Scan<'a>,
    /// Byte offset of the element being checked.
    cursor: usize,
}

impl Check<'_, '_> {
    fn template(&mut self, template: &Template) -> Result<(), TemplateError> {
        for (i, element) in template.elements.iter().enumerate() {
            if let Some(mapping) = template.mapping.get(i) {
                self.cursor = self.scan.offset(mapping.0, mapping.1);
            }
            match element {
                TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                    self.expression(h)?;
                }
                TemplateElement::HelperBlock(h) => {
                    self.call(h, true)?;
                    if let Some(body) = &h.template {
                        self.template(body)?;
                    }
                    if let Some(inverse) = &h.inverse {
                        self.template(inverse)?;
                    }
                }
                TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => {
                    return Err(self.error("partials (`{{> name}}`) are not supported"));
                }
                TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
                    return Err(self.error("decorators (`{{* name}}`) are not supported"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn expression(&mut self, h: &HelperTemplate) -> Result<(), TemplateError> {
        let name_only = h.params.is_empty() && h.hash.is_empty();
        match &h.name {
            // `{{path}}`: a variable, unless it names a helper.
            Parameter::Path(_) if name_only => match h.name.as_name() {
                Some(name) if is_helper(name) => self.call(h, false),
                _ => Ok(()),
            },
            Parameter::Subexpression(_) => Err(self
                .error("an expression cannot start with `(`")
                .with_hint("write `{{helper arguments}}` without the parentheses")),
            _ => self.call(h, false),
        }
    }

    /// Checks a helper call: its name, whether it is used as a block, its subexpressions.
    fn call(&mut self, h: &HelperTemplate, block: bool) -> Result<(), TemplateError> {
        let name = h.name.as_name().unwrap_or_default();
        if name == "log" {
            return Err(self
                .error_at(name, "the `log` helper is not available")
                .with_hint("it would write values, secrets included, to logs"));
        }
        if !is_helper(name) {
            let error = if block {
                self.error_at(name, format!("unknown block helper `{name}`"))
                    .with_hint("blocks are `#if`, `#unless`, `#each` and `#with`")
            } else {
                let error = self.error_at(name, format!("unknown helper `{name}`"));
                match closest_helper(name) {
                    Some(close) => error.with_hint(format!("did you mean `{close}`?")),
                    None => error,
                }
            };
            return Err(error);
        }
        if block && !is_block_helper(name) {
            return Err(self
                .error_at(name, format!("`{name}` is not a block helper"))
                .with_hint(format!(
                    "write `{{{{{name} ...}}}}` without `#` and `{{{{/{name}}}}}`"
                )));
        }
        if !block && is_block_helper(name) {
            return Err(self
                .error_at(name, format!("`{name}` is a block helper"))
                .with_hint(format!("write `{{{{#{name} ...}}}}...{{{{/{name}}}}}`")));
        }
        if let Some(message) = arity_error(name, h.params.len()) {
            return Err(self.error_at(name, message));
        }
        for param in h.params.iter().chain(h.hash.values()) {
            if let Parameter::Subexpression(sub) = param {
                if let TemplateElement::Expression(inner) = sub.as_element() {
                    self.subexpression(inner)?;
                }
            }
        }
        Ok(())
    }

    fn subexpression(&mut self, h: &HelperTemplate) -> Result<(), TemplateError> {
        if let Parameter::Path(_) = &h.name {
            if h.params.is_empty() && h.hash.is_empty() {
                let name = h.name.as_name().unwrap_or_default();
                if !is_helper(name) {
                    return Err(self
                        .error_at(name, format!("`({name})` calls no helper"))
                        .with_hint(format!("write `{name}` without the parentheses")));
                }
            }
        }
        self.call(h, false)
    }

    fn error(&self, message: impl Into<String>) -> TemplateError {
        TemplateError::new(message).at(self.scan.line_col(self.cursor))
    }

    /// An error pointing at the word `word` in the current element.
    fn error_at(&self, word: &str, message: impl Into<String>) -> TemplateError {
        let at = self
            .scan
            .find_word(word, self.cursor)
            .map_or(self.cursor, |i| self.scan.word_start(i));
        TemplateError::new(message).at(self.scan.line_col(at))
    }
}

/// The known helper most like `name`, if one is close enough to be a typo.
fn closest_helper(name: &str) -> Option<&'static str> {
    helper_names()
        .map(|h| (strsim::levenshtein(name, h), h))
        .filter(|&(distance, h)| distance <= 2 && distance < h.len().min(name.len()).max(2))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, h)| h)
}
