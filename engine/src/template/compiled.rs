//! A template parsed once and rendered many times (once per host, per task).

use handlebars::template::{Template, TemplateElement};

use super::error::TemplateError;
use super::scan::Scan;
use super::variables::{self, VarRef};
use super::{check, rewrite};

/// A parsed, checked template.
///
/// Parsing checks the syntax and every helper name, and lists the variables the template
/// reads; rendering (see [`Renderer`](super::Renderer)) never parses again.
#[derive(Clone, Debug)]
pub struct CompiledTemplate {
    source: String,
    template: Template,
    /// The output, when the template has no expressions.
    literal: Option<String>,
    variables: Vec<VarRef>,
}

impl CompiledTemplate {
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut template =
            Template::compile(source).map_err(|e| TemplateError::from_parse(&e, source))?;
        let scan = Scan::new(source);
        check::check(&template, &scan)?;
        let variables = variables::collect(&template, &scan);
        let literal = literal_text(&template);
        rewrite::route_values(&mut template);
        Ok(Self {
            source: source.to_owned(),
            template,
            literal,
            variables,
        })
    }

    /// The text the template was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template has no `{{ }}` expressions (comments aside), so rendering
    /// it needs no context.
    pub fn is_literal(&self) -> bool {
        self.literal.is_some()
    }

    /// Every variable path the template reads, in source order (see [`VarRef`]).
    pub fn variables(&self) -> &[VarRef] {
        &self.variables
    }

    pub(super) fn template(&self) -> &Template {
        &self.template
    }

    /// The rendered text of a literal template (`\{{` escapes already resolved).
    pub(super) fn literal(&self) -> Option<&str> {
        self.literal.as_deref()
    }
}

fn literal_text(template: &Template) -> Option<String> {
    let mut text = String::new();
    for element in &template.elements {
        match element {
            TemplateElement::RawString(s) => text.push_str(s),
            TemplateElement::Comment(_) => {}
            _ => return None,
        }
    }
    Some(text)
}
