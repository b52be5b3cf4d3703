//! Which variables a template reads, found by walking its parsed form.
//!
//! Strict mode catches `{{nope}}` only when it is rendered, and never `{{#if nope}}`; the
//! compiler checks this list against the context instead, finds the `steps.ID` a
//! template depends on, and spots secrets.

use handlebars::template::{BlockParam, HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{Path, PathSeg};

use super::helpers::is_helper;
use super::scan::Scan;

/// A variable path a template reads, and where.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VarRef {
    /// The path's segments, e.g. `["steps", "list-checkpoints", "hosts", "node0"]`.
    pub path: Vec<String>,
    /// 1-based line inside the template text where the reference starts.
    pub line: usize,
    /// 1-based column (in characters) inside the template text.
    pub col: usize,
    /// Read only through `default`, which accepts a missing value: the path must be one
    /// the context may hold, but need not hold.
    pub optional: bool,
}

impl VarRef {
    /// The path as a template would write it: `steps.x.hosts.[node.1].stdout`.
    pub fn dotted(&self) -> String {
        let segments: Vec<String> = self
            .path
            .iter()
            .map(|s| {
                if s.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                {
                    s.clone()
                } else {
                    format!("[{s}]")
                }
            })
            .collect();
        segments.join(".")
    }
}

/// What a template reads from the root of its context.
pub(super) struct Reads {
    /// Sorted by position.
    pub variables: Vec<VarRef>,
    /// Whether it reads the root itself (`{{json this}}`), not only the paths in
    /// `variables`.
    pub whole_context: bool,
}

/// Collects the variables of `template` (parsed from the text `scan` scanned).
///
/// Paths inside `#each` / `#with` bodies are relative to the block's item and cannot be
/// checked statically, so they are left out, except `@root.x` and `../x` paths that climb
/// back to the root context. `this`, `@index`-style locals, block params and literals
/// are not variables.
///
/// Every read of the root context goes through a listed path or sets `whole_context`:
/// relative paths in a block read under the block's own (listed) argument.
pub(super) fn collect(template: &Template, scan: &Scan<'_>) -> Reads {
    let mut walk = Walk {
        scan,
        claimed: vec![false; scan.word_count()],
        cursor: 0,
        depth: 0,
        block_params: Vec::new(),
        found: Vec::new(),
        whole_context: false,
    };
    walk.template(template);
    let mut variables = walk.found;
    variables.sort_by_key(|v| (v.line, v.col));
    Reads {
        variables,
        whole_context: walk.whole_context,
    }
}

struct Walk<'s, 'a> {
    scan: &'s Scan<'a>,
    /// Words already matched to a reference, so a path written twice gets both positions.
    claimed: Vec<bool>,
    /// Byte offset of the element being walked; references are looked up from here.
    cursor: usize,
    /// How many `#each` / `#with` blocks enclose the element.
    depth: usize,
    /// Names bound by `as |x|` in enclosing blocks.
    block_params: Vec<String>,
    found: Vec<VarRef>,
    whole_context: bool,
}

impl Walk<'_, '_> {
    fn template(&mut self, template: &Template) {
        for (i, element) in template.elements.iter().enumerate() {
            // `else if` nodes carry no position; they keep the last one, which is
            // before them, and the word lookup moves forward from there.
            if let Some(mapping) = template.mapping.get(i) {
                self.cursor = self.scan.offset(mapping.0, mapping.1);
            }
            match element {
                TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                    self.expression(h);
                }
                TemplateElement::HelperBlock(h) => self.block(h),
                _ => {}
            }
        }
    }

    fn expression(&mut self, h: &HelperTemplate) {
        let name_only = h.params.is_empty() && h.hash.is_empty();
        match &h.name {
            Parameter::Path(path) if name_only && !is_helper(raw(path)) => {
                self.path(path, false);
            }
            _ => self.arguments(h),
        }
    }

    fn block(&mut self, h: &HelperTemplate) {
        self.arguments(h);
        let scoped = matches!(h.name.as_name(), Some("each" | "with"));
        if let Some(body) = &h.template {
            let bound = self.block_params.len();
            if scoped {
                self.depth += 1;
            }
            match &h.block_param {
                Some(BlockParam::Single(p)) => self.bind(p),
                Some(BlockParam::Pair((p, q))) => {
                    self.bind(p);
                    self.bind(q);
                }
                _ => {}
            }
            self.template(body);
            self.block_params.truncate(bound);
            if scoped {
                self.depth -= 1;
            }
        }
        // `{{else}}` renders in the enclosing context.
        if let Some(inverse) = &h.inverse {
            self.template(inverse);
        }
    }

    fn bind(&mut self, param: &Parameter) {
        if let Some(name) = param.as_name() {
            self.block_params.push(name.to_owned());
        }
    }

    fn arguments(&mut self, h: &HelperTemplate) {
        let is_default = h.name.as_name() == Some("default");
        for (i, param) in h.params.iter().enumerate() {
            self.parameter(param, is_default && i == 0);
        }
        // Hash order is not source order; the word lookup does not depend on it.
        for param in h.hash.values() {
            self.parameter(param, false);
        }
    }

    fn parameter(&mut self, param: &Parameter, optional: bool) {
        match param {
            Parameter::Path(path) => self.path(path, optional),
            Parameter::Subexpression(sub) => {
                if let TemplateElement::Expression(h) = sub.as_element() {
                    self.arguments(h);
                }
            }
            _ => {}
        }
    }

    fn path(&mut self, path: &Path, optional: bool) {
        let (segments, raw) = match path {
            Path::Relative((segments, raw)) => (segments, raw),
            // `@root` alone is the whole context, whatever reads it (`lookup @root ...`).
            Path::Local((_, name, _)) if name == "root" => return self.unknown_path(),
            Path::Local(_) => return, // `@index`, `@key`, ...: block locals
        };
        let mut from_root = false;
        let mut ups = 0;
        let mut names = Vec::new();
        for segment in segments {
            match segment {
                PathSeg::Named(name) => names.push(name.clone()),
                // The grammar's rule type is private; its name tells `@root` from `..`.
                PathSeg::Ruled(rule) => match format!("{rule:?}").as_str() {
                    "path_root" => from_root = true,
                    "path_up" => ups += 1,
                    _ => return self.unknown_path(),
                },
                _ => return self.unknown_path(),
            }
        }
        // `..` climbs one `#each` / `#with` per step; at the top it stays at the root.
        let at_root = from_root || self.depth == 0 || ups == self.depth;
        let Some(first) = names.first() else {
            // `this`: in a block, its item; at the root, everything.
            self.whole_context |= at_root;
            return;
        };
        if !at_root || self.block_params.contains(first) {
            return;
        }
        let start = self.claim(raw);
        let (line, col) = self.scan.line_col(start);
        self.found.push(VarRef {
            path: names,
            line,
            col,
            optional,
        });
    }

    /// A path form this walk does not know: it may read anything.
    fn unknown_path(&mut self) {
        self.whole_context = true;
    }

    /// The offset of the first unclaimed word `text` from the cursor on.
    fn claim(&mut self, text: &str) -> usize {
        let mut from = self.cursor;
        while let Some(i) = self.scan.find_word(text, from) {
            if !self.claimed[i] {
                self.claimed[i] = true;
                return self.scan.word_start(i);
            }
            from = self.scan.word_start(i) + 1;
        }
        self.cursor
    }
}

/// The path as written in the template.
fn raw(path: &Path) -> &str {
    match path {
        Path::Relative((_, raw)) | Path::Local((_, _, raw)) => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::super::CompiledTemplate;
    use super::VarRef;

    /// The variables of `source` as `(dotted path, line, col)`.
    fn vars(source: &str) -> Vec<(String, usize, usize)> {
        CompiledTemplate::parse(source)
            .unwrap()
            .variables()
            .iter()
            .map(|v| (v.path.join("."), v.line, v.col))
            .collect()
    }

    fn paths(source: &str) -> Vec<String> {
        vars(source).into_iter().map(|(p, _, _)| p).collect()
    }

    #[test]
    fn expressions_and_triple_stash_with_positions() {
        assert_eq!(
            vars("echo {{a.b}} {{{c.d}}}\n  {{e}}"),
            [
                ("a.b".to_owned(), 1, 8),
                ("c.d".to_owned(), 1, 17),
                ("e".to_owned(), 2, 5)
            ]
        );
    }

    #[test]
    fn the_same_path_twice_is_reported_twice() {
        assert_eq!(
            vars("{{a}} {{ a }} {{eq a a}}"),
            [
                ("a".to_owned(), 1, 3),
                ("a".to_owned(), 1, 10),
                ("a".to_owned(), 1, 20),
                ("a".to_owned(), 1, 22)
            ]
        );
    }

    #[test]
    fn helper_arguments_hash_values_and_subexpressions() {
        assert_eq!(
            vars("{{max (common_lines steps.list-checkpoints) params.floor}}"),
            [
                ("steps.list-checkpoints".to_owned(), 1, 21),
                ("params.floor".to_owned(), 1, 45)
            ]
        );
        assert_eq!(
            paths("{{#if params.n includeZero=params.z}}x{{/if}}"),
            ["params.n", "params.z"]
        );
    }

    #[test]
    fn block_arguments_bodies_and_else_branches() {
        assert_eq!(
            paths("{{#if params.x}}{{host.name}}{{else if params.y}}{{host.address}}{{else}}{{run.id}}{{/if}}"),
            ["params.x", "host.name", "params.y", "host.address", "run.id"]
        );
        assert_eq!(
            paths("{{#unless (eq steps.a.exit 0)}}{{params.z}}{{/unless}}"),
            ["steps.a.exit", "params.z"]
        );
    }

    #[test]
    fn each_and_with_bodies_are_relative_except_root_and_climbing_paths() {
        assert_eq!(
            paths(
                "{{#each hosts}}{{name}} {{this}} {{@index}} {{@key}} {{@first}} {{@last}} \
                 {{@root.params.x}} {{../cluster.n}}{{/each}}"
            ),
            ["hosts", "params.x", "cluster.n"]
        );
        assert_eq!(
            paths("{{#with steps.s}}{{stdout}} {{@root.run.id}}{{/with}}"),
            ["steps.s", "run.id"]
        );
        assert_eq!(
            paths("{{#each a}}{{#each b}}{{../c}} {{../../d}}{{/each}}{{/each}}"),
            ["a", "d"]
        );
    }

    #[test]
    fn each_over_helper_results_and_block_params() {
        assert_eq!(
            paths("{{#each (lines steps.ls) as |line|}}rm {{line}} {{../params.dir}}{{/each}}"),
            ["steps.ls", "params.dir"]
        );
        assert_eq!(
            paths("{{#each hosts as |h|}}{{#each h.vars}}{{../h.name}}{{/each}}{{/each}}"),
            ["hosts"]
        );
    }

    #[test]
    fn else_of_each_reads_the_enclosing_context() {
        assert_eq!(
            paths("{{#each params.list}}{{this}}{{else}}{{params.none}}{{/each}}"),
            ["params.list", "params.none"]
        );
    }

    #[test]
    fn this_locals_and_literals_are_not_variables() {
        assert_eq!(
            paths(r#"{{this}} {{eq "params.x" 1}} {{default 'steps.y' true}}"#),
            Vec::<String>::new()
        );
        assert_eq!(
            paths("{{this.params.x}} {{./host.name}}"),
            ["params.x", "host.name"]
        );
    }

    #[test]
    fn root_alone_reads_the_whole_context() {
        for source in [
            r#"{{lookup @root "params"}}"#,
            "{{json @root}}",
            "{{#each hosts}}{{json @root}}{{/each}}",
        ] {
            assert!(
                CompiledTemplate::parse(source)
                    .unwrap()
                    .reads_whole_context(),
                "{source}"
            );
        }
        assert!(
            !CompiledTemplate::parse("{{@root.run.id}} {{#each hosts}}{{@index}}{{/each}}")
                .unwrap()
                .reads_whole_context()
        );
    }

    #[test]
    fn a_bare_name_is_a_variable() {
        assert_eq!(paths("{{foo}}"), ["foo"]);
    }

    #[test]
    fn literal_text_that_looks_like_a_path_is_skipped_when_locating() {
        assert_eq!(
            vars(r#"{{default "params.x" params.x}}"#),
            [("params.x".to_owned(), 1, 22)]
        );
    }

    #[test]
    fn step_ids_with_dashes_and_host_names_with_dots() {
        let template =
            CompiledTemplate::parse("{{steps.list-checkpoints.hosts.[node.1].stdout}}").unwrap();
        let var = &template.variables()[0];
        assert_eq!(
            var.path,
            ["steps", "list-checkpoints", "hosts", "node.1", "stdout"]
        );
        assert_eq!(var.dotted(), "steps.list-checkpoints.hosts.[node.1].stdout");
        assert_eq!(paths("{{steps.0-init_1.exit}}"), ["steps.0-init_1.exit"]);
    }

    #[test]
    fn fqdn_and_ip_host_names_in_brackets_are_one_segment_each() {
        assert_eq!(
            vars(
                "a={{steps.v.hosts.[node-1.dc1.example.internal].stdout}}\n\
                 b={{steps.v.hosts.[10.0.0.12].exit}} c={{hosts.[fd00::12].address}}"
            ),
            [
                (
                    "steps.v.hosts.node-1.dc1.example.internal.stdout".to_owned(),
                    1,
                    5
                ),
                ("steps.v.hosts.10.0.0.12.exit".to_owned(), 2, 5),
                ("hosts.fd00::12.address".to_owned(), 2, 42)
            ]
        );
        let template = CompiledTemplate::parse("{{hosts.[fd00::12].vars.x}}").unwrap();
        let var = &template.variables()[0];
        assert_eq!(var.path, ["hosts", "fd00::12", "vars", "x"]);
        assert_eq!(var.dotted(), "hosts.[fd00::12].vars.x");
    }

    #[test]
    fn default_marks_its_first_argument_optional() {
        let template =
            CompiledTemplate::parse("{{default params.x params.y}} {{default (lines steps.a) 1}}")
                .unwrap();
        let flags: Vec<(String, bool)> = template
            .variables()
            .iter()
            .map(|v: &VarRef| (v.dotted(), v.optional))
            .collect();
        assert_eq!(
            flags,
            [
                ("params.x".to_owned(), true),
                ("params.y".to_owned(), false),
                ("steps.a".to_owned(), false)
            ]
        );
    }

    #[test]
    fn comments_raw_blocks_and_escapes_read_nothing() {
        assert_eq!(
            paths(r"{{! {{a}} }} {{!-- {{b}} --}} \{{c}} {{{{raw}}}}{{d}}{{{{/raw}}}}"),
            Vec::<String>::new()
        );
    }
}
