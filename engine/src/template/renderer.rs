//! The two handlebars registries (shell-quoting and plain) and rendering with them.

use std::io;

use handlebars::{no_escape, Handlebars, Output, RenderContext, Renderable};
use serde_json::Value;

use super::compiled::CompiledTemplate;
use super::context::TemplateContext;
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

impl Renderer {
    pub fn new() -> Self {
        Self {
            shell: registry(Quoting::Shell),
            plain: registry(Quoting::Plain),
        }
    }

    /// Renders `template` against `context`.
    ///
    /// Copies the parts of `context` the template reads (handlebars owns the data it
    /// renders); to render many templates against one large context without copying,
    /// build a [`TemplateContext`] once and use [`Renderer::render_in`].
    pub fn render(
        &self,
        template: &CompiledTemplate,
        quoting: Quoting,
        context: &Value,
    ) -> Result<String, TemplateError> {
        if let Some(text) = template.literal() {
            return Ok(text.to_owned());
        }
        let needed = TemplateContext::new(template.needed(context));
        self.render_in(template, quoting, &needed)
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
            .render(registry, context.handlebars(), &mut rc, &mut out)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn context() -> Value {
        json!({
            "params": {"version": "2.10.0", "empty": "", "nothing": null, "flag": true},
            "host": {"name": "node0", "vars": {"node_dir": "/data/node 0"}},
            "hosts": ["node0", "node1"],
            "steps": {"list-checkpoints": {
                "stdout": "checkpoint-99\ncheckpoint-100\n",
                "exit": 0,
                "hosts": {
                    "node0": {"stdout": "checkpoint-99\ncheckpoint-100\n", "exit": 0},
                    "node.1": {"stdout": "checkpoint-101\ncheckpoint-100\ncheckpoint-99\n", "exit": 0},
                },
            }},
        })
    }

    fn render(source: &str, quoting: Quoting) -> Result<String, TemplateError> {
        let template = CompiledTemplate::parse(source)?;
        Renderer::new().render(&template, quoting, &context())
    }

    fn shell(source: &str) -> String {
        render(source, Quoting::Shell).unwrap()
    }

    fn plain(source: &str) -> String {
        render(source, Quoting::Plain).unwrap()
    }

    fn error(source: &str) -> (String, Option<usize>, Option<usize>) {
        let e = render(source, Quoting::Shell).unwrap_err();
        (e.message, e.line, e.col)
    }

    #[test]
    fn shell_quoting_applies_to_variables_not_to_triple_stash() {
        assert_eq!(
            shell("{{host.vars.node_dir}}/start.sh"),
            "'/data/node 0'/start.sh"
        );
        assert_eq!(
            shell("{{{host.vars.node_dir}}}/start.sh"),
            "/data/node 0/start.sh"
        );
        assert_eq!(shell("cd {{host.name}}"), "cd node0");
        assert_eq!(
            plain("{{host.vars.node_dir}}/start.sh"),
            "/data/node 0/start.sh"
        );
    }

    #[test]
    fn scalars_render_as_their_text() {
        assert_eq!(
            shell("{{steps.list-checkpoints.exit}} {{params.flag}}"),
            "0 true"
        );
        assert_eq!(shell("x{{params.empty}}x {{params.nothing}}"), "x''x ''");
        assert_eq!(plain("x{{params.empty}}x{{params.nothing}}"), "xx");
    }

    #[test]
    fn lists_and_mappings_are_refused() {
        assert_eq!(
            error("echo {{hosts}}"),
            (
                "`hosts` is a list; insert it with `json`, `lines` or `#each`".to_owned(),
                Some(1),
                Some(8)
            )
        );
        assert_eq!(
            error("{{host}}").0,
            "`host` is a mapping; insert one of its fields, or all of it with `json`"
        );
        assert_eq!(
            error("{{default params.nothing hosts}}").0,
            "the result of `default` is a list; insert it with `json`, `lines` or `#each`"
        );
    }

    #[test]
    fn unknown_variables_are_errors_at_their_position() {
        assert_eq!(
            error("echo ok\n  run {{params.foo}}"),
            ("unknown variable `params.foo`".to_owned(), Some(2), Some(9))
        );
        assert_eq!(
            error("{{#each hosts}}{{nope}}{{/each}}"),
            ("unknown variable `nope`".to_owned(), Some(1), Some(18))
        );
        assert_eq!(
            error("{{max params.nope}}"),
            (
                "unknown variable `params.nope`".to_owned(),
                Some(1),
                Some(7)
            )
        );
    }

    #[test]
    fn if_on_an_unknown_variable_is_not_caught_by_strict_mode() {
        // Why the compiler checks `variables()` against the context.
        assert_eq!(shell("{{#if params.nope}}x{{/if}}"), "");
    }

    #[test]
    fn lines_renders_joined_and_iterates() {
        assert_eq!(
            shell("{{lines steps.list-checkpoints}}"),
            "'checkpoint-99\ncheckpoint-100'"
        );
        assert_eq!(
            plain("{{lines steps.list-checkpoints.stdout}}"),
            "checkpoint-99\ncheckpoint-100"
        );
        assert_eq!(
            shell("{{#each (lines steps.list-checkpoints)}}rm {{this}}; {{/each}}"),
            "rm checkpoint-99; rm checkpoint-100; "
        );
    }

    #[test]
    fn common_lines_finds_what_every_host_printed() {
        assert_eq!(
            shell("{{#each (common_lines steps.list-checkpoints)}}{{@index}}:{{this}} {{/each}}"),
            "0:checkpoint-99 1:checkpoint-100 "
        );
        assert_eq!(
            shell("{{max (common_lines steps.list-checkpoints)}}"),
            "checkpoint-100"
        );
    }

    #[test]
    fn max_and_min_compare_naturally_and_refuse_empty_input() {
        assert_eq!(shell(r#"{{max "2.9.0" params.version "2.1.0"}}"#), "2.10.0");
        assert_eq!(shell(r#"{{min "2.9.0" params.version}}"#), "2.9.0");
        assert_eq!(
            error(r#"x {{max (lines "")}}"#),
            ("`max` of an empty list".to_owned(), Some(1), Some(5))
        );
    }

    #[test]
    fn eq_compares_exit_codes_with_text() {
        assert_eq!(
            shell(r#"{{#if (eq steps.list-checkpoints.exit "0")}}ok{{else}}bad{{/if}}"#),
            "ok"
        );
        assert_eq!(shell("{{eq 1 2}} {{eq host.name 'node0'}}"), "false true");
    }

    #[test]
    fn default_reads_optional_values_under_strict_mode() {
        assert_eq!(shell(r#"{{default params.missing "a b"}}"#), "'a b'");
        assert_eq!(shell(r#"{{default params.empty "e"}}"#), "e");
        assert_eq!(shell(r#"{{default params.version "x"}}"#), "2.10.0");
        assert_eq!(shell("{{default params.nothing.deeper 3}}"), "3");
        assert_eq!(
            error("{{default params.missing params.also_missing}}").0,
            "unknown variable `params.also_missing`"
        );
    }

    #[test]
    fn json_is_quoted_unless_triple_stashed() {
        assert_eq!(shell("{{json hosts}}"), r#"'["node0","node1"]'"#);
        assert_eq!(shell("{{{json hosts}}}"), r#"["node0","node1"]"#);
        assert_eq!(plain("{{json params.version}}"), r#""2.10.0""#);
    }

    #[test]
    fn host_names_with_dots_are_reachable() {
        assert_eq!(shell("{{steps.list-checkpoints.hosts.[node.1].exit}}"), "0");
        assert_eq!(
            shell(r#"{{lookup (lookup steps.list-checkpoints.hosts "node.1") "exit"}}"#),
            "0"
        );
        assert_eq!(error("{{lookup hosts 5}}").0, "`lookup`: there is no `5`");
    }

    #[test]
    fn helpers_refuse_named_arguments() {
        assert_eq!(
            error("{{max hosts by=1}}").0,
            "`max` takes no named arguments"
        );
    }

    #[test]
    fn literal_templates_need_no_context() {
        let template = CompiledTemplate::parse(r"echo \{{x}} {{! note }}").unwrap();
        assert!(template.is_literal());
        let text = Renderer::new().render(&template, Quoting::Shell, &Value::Null);
        assert_eq!(text.unwrap(), "echo {{x}} ");
    }

    #[test]
    fn rendering_copies_only_what_the_template_reads_with_the_same_result() {
        // `render` prunes the context to the template's variables; `render_in` uses it
        // whole. Both must agree, errors included, for every way a template reads.
        let renderer = Renderer::new();
        let full = TemplateContext::new(context());
        for source in [
            "{{host.name}} {{host.vars.node_dir}}",
            "{{json this}}",
            "{{json @root.host}}",
            "{{#each hosts}}{{this}} {{@root.params.version}} {{../host.name}};{{/each}}",
            "{{#each hosts}}{{#each ../hosts}}{{../../params.version}}{{/each}}{{/each}}",
            "{{#each hosts}}{{json @root}}{{/each}}",
            "{{#each hosts}}{{json ../this}}{{/each}}",
            "{{#with host}}{{vars.node_dir}} {{name}}{{/with}}",
            "{{#with host as |h|}}{{h.name}}{{/with}}",
            "{{#each steps.list-checkpoints.hosts}}{{@key}}={{exit}};{{/each}}",
            "{{lookup steps.list-checkpoints.hosts host.name}}",
            "{{json (lookup steps.list-checkpoints.hosts host.name)}}",
            "{{#if params.nope}}x{{else}}{{json params}}{{/if}}",
            "{{params.nope}}",
            "{{default params.missing host.vars}}",
            "{{len hosts}} {{hosts.1}}",
        ] {
            let template = CompiledTemplate::parse(source).unwrap();
            for quoting in [Quoting::Shell, Quoting::Plain] {
                assert_eq!(
                    renderer.render(&template, quoting, full.value()),
                    renderer.render_in(&template, quoting, &full),
                    "{source}"
                );
            }
        }
    }

    #[test]
    fn log_helper_is_not_registered() {
        // The parser already refuses `{{log}}`; the registries must not have it either.
        let template = handlebars::Template::compile("{{log host.name}}").unwrap();
        let renderer = Renderer::new();
        let context = TemplateContext::new(context());
        for registry in [&renderer.shell, &renderer.plain] {
            let mut rc = RenderContext::new(None);
            let mut out = Text(String::new());
            let error = template
                .render(registry, context.handlebars(), &mut rc, &mut out)
                .unwrap_err();
            assert!(
                matches!(error.reason(), handlebars::RenderErrorReason::HelperNotFound(name) if name == "log"),
                "{error}"
            );
            assert!(registry.strict_mode());
        }
    }

    #[test]
    fn renderer_and_templates_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Renderer>();
        shared::<CompiledTemplate>();
        shared::<TemplateContext>();
    }
}
