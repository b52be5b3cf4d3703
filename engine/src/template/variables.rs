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

/// Collects the variables of `template` (parsed from the text `scan` scanned), sorted
/// by position.
///
/// Paths inside `#each` / `#with` bodies are relative to the block's item and cannot be
/// checked statically, so they are left out, except `@root.x` and `../x` paths that climb
/// back to the root context. `this`, `@index`-style locals, block params and literals
/// are not variables.
pub(super) fn collect(template: &Template, scan: &Scan<'_>) -> Vec<VarRef> {
    let mut walk = Walk {
        scan,
        claimed: vec![false; scan.word_count()],
        cursor: 0,
        depth: 0,
        block_params: Vec::new(),
        found: Vec::new(),
    };
    walk.template(template);
    let mut found = walk.found;
    found.sort_by_key(|v| (v.line, v.col));
    found
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
        let Path::Relative((segments, raw)) = path else {
            return; // `@index`, `@key`, ...: block locals
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
                    _ => return,
                },
                _ => return,
            }
        }
        // `..` climbs one `#each` / `#with` per step; at the top it stays at the root.
        let at_root = from_root || self.depth == 0 || ups == self.depth;
        let Some(first) = names.first() else {
            return; // `this`
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
