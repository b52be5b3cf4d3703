//! The two handlebars registries (shell-quoting and plain) and rendering with them.

use std::io;

use handlebars::{no_escape, Context, Handlebars, Output, RenderContext, Renderable};
use serde_json::Value;

use super::compiled::CompiledTemplate;
use super::error::TemplateError;
use super::helpers;
use super::quote::{shell_quote, Quoting};

/// Renders compiled templates. Built once and shared (it is `Send + Sync`).
///
/// Both registries are strict (an unknown variable is an error), have no `log` helper
/// (it would copy values, secrets included, into logs) and no script helpers. Two
/// registries rather than one with escaping toggled, because handlebars re-enables
/// escaping after every `{{{ }}}`.
#[derive(Debug)]
pub struct Renderer {
    shell: Handlebars<'static>,
    plain: Handlebars<'static>,
}

/// A render context built once and used for several templates: rendering with
/// [`Renderer::render_in`] does not copy it, where [`Renderer::render`] copies its
/// `&Value` every time.
#[derive(Clone, Debug)]
pub struct TemplateContext(Context);

impl TemplateContext {
    pub fn new(value: Value) -> Self {
        Self(Context::from(value))
    }

    pub fn value(&self) -> &Value {
        self.0.data()
    }
}

impl From<Value> for TemplateContext {
    fn from(value: Value) -> Self {
        Self::new(value)
    }
}

impl Renderer {
    pub fn new() -> Self {
        Self {
            shell: registry(Quoting::Shell),
            plain: registry(Quoting::Plain),
        }
    }

    /// Renders `template` against `context`.
    pub fn render(
        &self,
        template: &CompiledTemplate,
        quoting: Quoting,
        context: &Value,
    ) -> Result<String, TemplateError> {
        if let Some(text) = template.literal() {
            return Ok(text.to_owned());
        }
        self.render_in(template, quoting, &TemplateContext::new(context.clone()))
    }

    /// Renders `template` against a context built once for many templates.
    pub fn render_in(
        &self,
        template: &CompiledTemplate,
        quoting: Quoting,
        context: &TemplateContext,
    ) -> Result<String, TemplateError> {
        if let Some(text) = template.literal() {
            return Ok(text.to_owned());
        }
        let registry = match quoting {
            Quoting::Shell => &self.shell,
            Quoting::Plain => &self.plain,
        };
        let mut rc = RenderContext::new(None);
        let mut out = Text(String::with_capacity(template.source().len() + 64));
        template
            .template()
            .render(registry, &context.0, &mut rc, &mut out)
            .map_err(|e| TemplateError::from_render(&e, template.source()))?;
        Ok(out.0)
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

fn registry(quoting: Quoting) -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    match quoting {
        Quoting::Shell => registry.register_escape_fn(|s| shell_quote(s).into_owned()),
        Quoting::Plain => registry.register_escape_fn(no_escape),
    }
    helpers::register(&mut registry);
    registry
}

/// Rendered text.
struct Text(String);

impl Output for Text {
    fn write(&mut self, seg: &str) -> io::Result<()> {
        self.0.push_str(seg);
        Ok(())
    }
}
