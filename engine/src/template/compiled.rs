//! A template parsed once and rendered many times (once per host, per task).

use handlebars::template::{Template, TemplateElement};

use serde_json::Value;

use super::context;
use super::error::TemplateError;
use super::scan::{Nesting, Scan, MAX_NESTING};
use super::variables::{self, VarRef};
use super::{check, rewrite};

/// The longest template text accepted, in bytes. handlebars finds the line and column of
/// each element by counting from the start of the text, so parsing takes time in the
/// square of the text's length; 64 KiB keeps it under a few milliseconds.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// The most `{{ }}` tags (expressions, blocks, `else`, closing tags) in one template, for
/// the same reason.
pub const MAX_TEMPLATE_TAGS: usize = 1_000;

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
    /// Whether rendering may read the context's root itself, not only `variables`.
    whole_context: bool,
}

impl CompiledTemplate {
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        // The limits first, before handlebars sees the text: its parser recurses once per
        // nesting level and takes time in the square of the length.
        let scan = Scan::new(source);
        if let Some((at, nesting)) = scan.too_deep {
            return Err(too_deep(nesting).at(scan.line_col(at)));
        }
        if let Some(tag) = scan.tags.get(MAX_TEMPLATE_TAGS) {
            return Err(TemplateError::new(format!(
                "more than {MAX_TEMPLATE_TAGS} `{{{{ }}}}` expressions in one template"
            ))
            .at(scan.line_col(tag.span.start))
            .with_hint("split the step, or loop with `{{#each}}` instead of repeating"));
        }
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::new(format!(
                "the template is {} KiB; the limit is {} KiB",
                source.len().div_ceil(1024),
                MAX_TEMPLATE_BYTES / 1024
            ))
            .at((1, 1))
            .with_hint("put long scripts in a file on the host and run that"));
        }
        let mut template =
            Template::compile(source).map_err(|e| TemplateError::from_parse(&e, source))?;
        check::check(&template, &scan)?;
        let reads = variables::collect(&template, &scan);
        let literal = literal_text(&template);
        rewrite::route_values(&mut template);
        Ok(Self {
            source: source.to_owned(),
            template,
            literal,
            variables: reads.variables,
            whole_context: reads.whole_context,
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

    /// Whether the template reads the context's root itself (`{{json this}}` outside
    /// blocks, `{{json ../this}}` in one), so it may read any variable (every step, every secret), not
    /// only those in [`variables`](Self::variables).
    pub fn reads_whole_context(&self) -> bool {
        self.whole_context
    }

    pub(super) fn template(&self) -> &Template {
        &self.template
    }

    /// The part of `context` this template can read (see [`context::pruned`]).
    pub(super) fn needed(&self, context: &Value) -> Value {
        if self.whole_context {
            return context.clone();
        }
        let paths: Vec<&[String]> = self.variables.iter().map(|v| v.path.as_slice()).collect();
        context::pruned(context, &paths)
    }

    /// The rendered text of a literal template (`\{{` escapes already resolved).
    pub(super) fn literal(&self) -> Option<&str> {
        self.literal.as_deref()
    }
}

fn too_deep(nesting: Nesting) -> TemplateError {
    let (what, hint) = match nesting {
        Nesting::Block => (
            "blocks",
            "use `{{else if}}` chains or split the step instead of nesting blocks",
        ),
        Nesting::Subexpression => (
            "subexpressions",
            "split the expression, e.g. `(not (not x))` is `x`",
        ),
    };
    TemplateError::new(format!("{what} are nested more than {MAX_NESTING} deep"))
        .with_hint(format!("{hint} (the limit is {MAX_NESTING})"))
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any text parses or is refused with a message, and what parses renders or is
        /// refused with a message; nothing panics, and errors point inside the text.
        #[test]
        fn parse_and_render_never_panic(
            chars in prop::collection::vec(
                prop_oneof![
                    any::<char>(),
                    prop::sample::select("{{}}#/^!~&>*()[]\"'. =a1\\|@-\n".chars().collect::<Vec<_>>()),
                ],
                0..48,
            )
        ) {
            let source: String = chars.into_iter().collect();
            let context = serde_json::json!({"a": "x", "1": [1, 2], "@": {"a": null}});
            let result = CompiledTemplate::parse(&source).and_then(|t| {
                super::super::Renderer::new().render(&t, super::super::Quoting::Shell, &context)
            });
            if let Err(e) = result {
                prop_assert!(!e.message.is_empty());
                if let (Some(line), Some(col)) = (e.line, e.col) {
                    prop_assert!(line >= 1 && line <= source.lines().count().max(1) + 1);
                    prop_assert!(col >= 1);
                }
            }
        }
    }

    /// The error parsing `source` gives, as `(message, line, col, hint)`.
    fn error(source: &str) -> (String, usize, usize, Option<String>) {
        let e = CompiledTemplate::parse(source).unwrap_err();
        (e.message, e.line.unwrap(), e.col.unwrap(), e.hint)
    }

    fn message_at(source: &str) -> (String, usize, usize) {
        let (message, line, col, _) = error(source);
        (message, line, col)
    }

    #[test]
    fn parse_keeps_the_source_and_knows_literals() {
        let template = CompiledTemplate::parse("echo {{x}}").unwrap();
        assert_eq!(template.source(), "echo {{x}}");
        assert!(!template.is_literal());
        assert!(CompiledTemplate::parse("cp -p bin bin.bak")
            .unwrap()
            .is_literal());
        assert!(CompiledTemplate::parse("").unwrap().is_literal());
        assert!(CompiledTemplate::parse(r"awk '\{{print}}'")
            .unwrap()
            .is_literal());
    }

    #[test]
    fn reading_the_root_itself_is_flagged() {
        for source in ["{{json this}}", "{{#each hosts}}{{json ../this}}{{/each}}"] {
            assert!(
                CompiledTemplate::parse(source)
                    .unwrap()
                    .reads_whole_context(),
                "{source}"
            );
        }
        for source in [
            "{{json params}}",
            "{{#each hosts}}{{json this}}{{/each}}",
            "{{#with host}}{{json this}}{{/with}}",
        ] {
            assert!(
                !CompiledTemplate::parse(source)
                    .unwrap()
                    .reads_whole_context(),
                "{source}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_before_handlebars_sees_it() {
        let blocks = format!(
            "x\n{}{}",
            "{{#if a}}".repeat(5_000),
            "{{/if}}".repeat(5_000)
        );
        assert_eq!(
            error(&blocks),
            (
                "blocks are nested more than 32 deep".to_owned(),
                2,
                9 * 32 + 1,
                Some("use `{{else if}}` chains or split the step instead of nesting blocks (the limit is 32)".to_owned())
            )
        );
        let not = format!("{{{{{}a{}}}}}", "(not ".repeat(5_000), ")".repeat(5_000));
        assert_eq!(
            message_at(&not),
            (
                "subexpressions are nested more than 32 deep".to_owned(),
                1,
                5 * 32 + 3
            )
        );
        let at_limit = format!("{{{{json {}a{}}}}}", "(not ".repeat(32), ")".repeat(32));
        let parsed = CompiledTemplate::parse(&at_limit).map(|t| {
            super::super::Renderer::new().render(
                &t,
                super::super::Quoting::Shell,
                &serde_json::json!({"a": true}),
            )
        });
        assert_eq!(parsed.unwrap().unwrap(), "true");
    }

    #[test]
    fn long_templates_are_refused() {
        assert_eq!(
            error(&format!("x\n{}", "{{a}}".repeat(200_000))),
            (
                "more than 1000 `{{ }}` expressions in one template".to_owned(),
                2,
                5_001,
                Some("split the step, or loop with `{{#each}}` instead of repeating".to_owned())
            )
        );
        assert!(CompiledTemplate::parse(&"{{a}}".repeat(MAX_TEMPLATE_TAGS)).is_ok());
        assert_eq!(
            message_at(&"x".repeat(MAX_TEMPLATE_BYTES + 1)),
            (
                "the template is 65 KiB; the limit is 64 KiB".to_owned(),
                1,
                1
            )
        );
        assert!(CompiledTemplate::parse(&"x".repeat(MAX_TEMPLATE_BYTES)).is_ok());
    }

    #[test]
    fn unclosed_expression() {
        assert_eq!(
            error("echo ok\necho {{host.name"),
            (
                "unclosed `{{`".to_owned(),
                2,
                6,
                Some(r"close it with `}}`, or write `\{{` for a literal `{{`".to_owned())
            )
        );
        assert_eq!(
            message_at(r#"a {{eq x "}}"#),
            ("unclosed `{{`".to_owned(), 1, 3)
        );
    }

    #[test]
    fn block_structure_errors() {
        assert_eq!(
            error("x\n{{#if a}}y"),
            (
                "`{{#if}}` is never closed".to_owned(),
                2,
                1,
                Some("close it with `{{/if}}`".to_owned())
            )
        );
        assert_eq!(
            message_at("{{#if a}}y{{/each}}"),
            ("`{{/each}}` does not close `{{#if}}`".to_owned(), 1, 11)
        );
        assert_eq!(
            message_at("a {{/if}}"),
            ("`{{/if}}` closes no open block".to_owned(), 1, 3)
        );
        assert_eq!(
            message_at("a {{else}} b"),
            ("`{{else}}` outside a block".to_owned(), 1, 3)
        );
    }

    #[test]
    fn invalid_expressions_are_quoted() {
        assert_eq!(
            message_at("run {{}} now"),
            ("invalid expression `{{}}`".to_owned(), 1, 5)
        );
        assert_eq!(
            message_at("{{x}} {{max a b=}}"),
            ("invalid expression `{{max a b=}}`".to_owned(), 1, 7)
        );
        assert_eq!(
            message_at("{{a.[b}}"),
            ("invalid expression `{{a.[b}}`".to_owned(), 1, 1)
        );
    }

    #[test]
    fn unknown_helpers_are_named_with_a_suggestion() {
        assert_eq!(
            error("echo {{mx (common_lines steps.a)}}"),
            (
                "unknown helper `mx`".to_owned(),
                1,
                8,
                Some("did you mean `max`?".to_owned())
            )
        );
        assert_eq!(
            error("{{max (comon_lines steps.a)}}"),
            (
                "unknown helper `comon_lines`".to_owned(),
                1,
                8,
                Some("did you mean `common_lines`?".to_owned())
            )
        );
        assert_eq!(error("{{frobnicate x}}").3, None);
        assert_eq!(
            error("{{#flag}}x{{/flag}}"),
            (
                "unknown block helper `flag`".to_owned(),
                1,
                4,
                Some("blocks are `#if`, `#unless`, `#each` and `#with`".to_owned())
            )
        );
        assert_eq!(
            error("{{#params.flag}}x{{/params.flag}}"),
            (
                "invalid expression `{{#params.flag}}`".to_owned(),
                1,
                1,
                Some("blocks are `#if`, `#unless`, `#each` and `#with`".to_owned())
            )
        );
    }

    #[test]
    fn log_is_refused() {
        assert_eq!(
            error("{{log params.token}}"),
            (
                "the `log` helper is not available".to_owned(),
                1,
                3,
                Some("it would write values, secrets included, to logs".to_owned())
            )
        );
    }

    #[test]
    fn helpers_and_blocks_are_used_as_what_they_are() {
        assert_eq!(
            message_at("{{#lines x}}{{/lines}}"),
            ("`lines` is not a block helper".to_owned(), 1, 4)
        );
        assert_eq!(
            message_at("{{each x}}"),
            ("`each` is a block helper".to_owned(), 1, 3)
        );
        assert_eq!(
            message_at("{{max (steps.x)}}"),
            ("`(steps.x)` calls no helper".to_owned(), 1, 8)
        );
        assert_eq!(
            message_at("{{(lines x)}}"),
            ("an expression cannot start with `(`".to_owned(), 1, 1)
        );
    }

    #[test]
    fn argument_counts_are_checked_when_parsing() {
        assert_eq!(
            message_at("{{eq a}}"),
            ("`eq` takes 2 arguments, got 1".to_owned(), 1, 3)
        );
        assert_eq!(
            message_at("{{#each}}x{{/each}}"),
            ("`each` takes 1 argument, got 0".to_owned(), 1, 4)
        );
        assert_eq!(
            message_at("{{max}}"),
            ("`max` takes at least 1 argument, got 0".to_owned(), 1, 3)
        );
        assert_eq!(
            message_at("{{json (lines a b)}}"),
            ("`lines` takes 1 argument, got 2".to_owned(), 1, 9)
        );
    }

    #[test]
    fn partials_and_decorators_are_refused() {
        assert_eq!(
            message_at("x {{> other}}"),
            ("partials (`{{> name}}`) are not supported".to_owned(), 1, 3)
        );
        assert_eq!(
            message_at(r#"{{*inline "p"}}"#),
            (
                "decorators (`{{* name}}`) are not supported".to_owned(),
                1,
                1
            )
        );
    }
}
