//! A light scan of template source: where each `{{ ... }}` tag is and the words inside it.
//!
//! handlebars keeps the position of each template element but not of the paths and helper
//! names inside it, and its syntax errors point wherever its parser gave up. This scan
//! recovers both: diagnostics point at the variable itself, and an unclosed `{{` or block
//! is named as such. It follows handlebars' lexical rules closely enough for positions;
//! handlebars' parser stays the judge of what is valid.

use std::ops::Range;

/// What a tag does to block structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TagKind {
    /// `{{#name ...}}` or `{{{{name}}}}`.
    Open,
    /// `{{else}}`, `{{else if ...}}`, `{{^}}`.
    Else,
    /// `{{/name}}` or `{{{{/name}}}}`.
    Close,
    /// An expression, a comment, a partial.
    Other,
}

/// How deep blocks (`{{#if}}` in `{{#if}}`) and subexpressions (`(not (not x))`) may
/// nest. handlebars parses and renders them by recursion, so a crafted template nested
/// thousands deep would overflow the stack; real templates nest a few levels.
pub const MAX_NESTING: usize = 32;

/// What nests too deep (see [`MAX_NESTING`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Nesting {
    Block,
    Subexpression,
}

/// One `{{ ... }}` tag.
#[derive(Clone, Debug)]
pub(super) struct Tag {
    /// Byte range of the whole tag, braces included.
    pub span: Range<usize>,
    pub kind: TagKind,
    /// Byte range of the first word (the helper or block name), if any.
    pub name: Option<Range<usize>>,
}

/// The tags and words of a template source.
#[derive(Debug)]
pub(super) struct Scan<'a> {
    source: &'a str,
    pub tags: Vec<Tag>,
    /// Words inside tags (paths, helper names), in source order; not string literals,
    /// not hash keys.
    words: Vec<Range<usize>>,
    /// Where a `{{` opens that no `}}` closes.
    pub unclosed: Option<usize>,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Byte offset of each character of more than one byte, and the extra bytes of all
    /// such characters up to and including it: positions in characters are then found
    /// by binary search, not by counting from the line start (which, on a line of
    /// 200,000 expressions, makes each position cost the whole line).
    wide_chars: Vec<(usize, usize)>,
    /// Where blocks or subexpressions first nest deeper than [`MAX_NESTING`].
    pub too_deep: Option<(usize, Nesting)>,
}

impl<'a> Scan<'a> {
    pub fn new(source: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let mut extra = 0;
        let wide_chars = source
            .char_indices()
            .filter(|(_, c)| c.len_utf8() > 1)
            .map(|(i, c)| {
                extra += c.len_utf8() - 1;
                (i, extra)
            })
            .collect();
        let mut scan = Scan {
            source,
            tags: Vec::new(),
            words: Vec::new(),
            unclosed: None,
            line_starts,
            wide_chars,
            too_deep: None,
        };
        scan.run();
        scan
    }

    pub fn text(&self, range: Range<usize>) -> &'a str {
        &self.source[range]
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let col = self.char_index(offset) - self.char_index(start) + 1;
        (line, col)
    }

    /// How many characters come before the byte offset `offset` (a char boundary).
    fn char_index(&self, offset: usize) -> usize {
        let before = self.wide_chars.partition_point(|&(at, _)| at < offset);
        let extra = before.checked_sub(1).map_or(0, |i| self.wide_chars[i].1);
        offset - extra
    }

    /// The byte offset of a 1-based line and column (in characters).
    pub fn offset(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.source.len();
        };
        let target = self.char_index(start) + col.saturating_sub(1);
        // The wide characters that start before the target character.
        let before = self
            .wide_chars
            .partition_point(|&(at, extra)| at - (extra - self.wide_len(at)) < target);
        let extra = before.checked_sub(1).map_or(0, |i| self.wide_chars[i].1);
        (target + extra).min(self.source.len())
    }

    /// The length in bytes of the character at `at`, minus one.
    fn wide_len(&self, at: usize) -> usize {
        self.source[at..]
            .chars()
            .next()
            .map_or(0, |c| c.len_utf8() - 1)
    }

    /// The index of the first word equal to `text` that starts at or after `from`.
    pub fn find_word(&self, text: &str, from: usize) -> Option<usize> {
        let first = self.words.partition_point(|w| w.start < from);
        self.words[first..]
            .iter()
            .position(|w| &self.source[w.clone()] == text)
            .map(|i| first + i)
    }

    /// The index of the first word that starts at or after `from`.
    pub fn next_word(&self, from: usize) -> Option<usize> {
        let first = self.words.partition_point(|w| w.start < from);
        (first < self.words.len()).then_some(first)
    }

    pub fn word_start(&self, index: usize) -> usize {
        self.words[index].start
    }

    pub fn word_count(&self) -> usize {
        self.words.len()
    }

    #[cfg(test)]
    pub fn word(&self, index: usize) -> &'a str {
        &self.source[self.words[index].clone()]
    }

    fn run(&mut self) {
        let bytes = self.source.as_bytes();
        let mut i = 0;
        // Nesting depth, and what each open block added to it: one, and one more per
        // `{{else if ...}}` (handlebars nests each chained `else` inside the last).
        let mut depth = 0usize;
        let mut open: Vec<usize> = Vec::new();
        while let Some(found) = self.source[i..].find("{{") {
            let tags_before = self.tags.len();
            let start = i + found;
            if is_escaped(bytes, start) {
                // `\{{` and `\{{{{` are literal text.
                i = start + 2;
                while bytes.get(i) == Some(&b'{') {
                    i += 1;
                }
                continue;
            }
            let rest = &self.source[start..];
            let end = if rest.starts_with("{{!--") {
                rest.find("--}}").map(|e| start + e + 4)
            } else if rest.starts_with("{{!") {
                rest.find("}}").map(|e| start + e + 2)
            } else if rest.starts_with("{{{{") {
                self.raw_block(start)
            } else {
                self.tag(start, start + 2)
            };
            let Some(end) = end else {
                self.unclosed = Some(start);
                return;
            };
            for tag in &self.tags[tags_before..] {
                let deeper = match tag.kind {
                    TagKind::Open => {
                        open.push(1);
                        true
                    }
                    TagKind::Else if is_chained_else(&self.source[tag.span.clone()]) => {
                        match open.last_mut() {
                            Some(added) => *added += 1,
                            None => open.push(1),
                        }
                        true
                    }
                    TagKind::Close => {
                        depth -= open.pop().unwrap_or(0);
                        false
                    }
                    TagKind::Else | TagKind::Other => false,
                };
                if deeper {
                    depth += 1;
                    if depth > MAX_NESTING && self.too_deep.is_none() {
                        self.too_deep = Some((tag.span.start, Nesting::Block));
                    }
                }
            }
            i = end;
        }
    }

    /// Scans `{{{{name}}}} text {{{{/name}}}}`: the text between is not parsed.
    fn raw_block(&mut self, start: usize) -> Option<usize> {
        let open_end = self.tag(start, start + 4)?;
        // `tag` stopped at the first `}}`; the raw block's tag ends with `}}}}`.
        let open_end = self.source[open_end - 2..].find("}}}}")? + open_end - 2 + 4;
        if self.tags.last().map(|t| t.kind) == Some(TagKind::Close) {
            return Some(open_end);
        }
        if let Some(tag) = self.tags.last_mut() {
            tag.span.end = open_end;
        }
        match self.source[open_end..].find("{{{{/") {
            Some(close) => Some(close + open_end),
            // The close tag is missing: say so at the open tag.
            None => Some(self.source.len()),
        }
    }

    /// Scans the inside of a tag whose content starts at `from`; returns where it ends.
    fn tag(&mut self, start: usize, from: usize) -> Option<usize> {
        let bytes = self.source.as_bytes();
        let mut kind = TagKind::Other;
        let mut name = None;
        let mut j = from;
        let mut first = true;
        let mut parens = 0usize;
        loop {
            let &b = bytes.get(j)?;
            if bytes[j..].starts_with(b"}}") {
                let end = j + 2;
                self.tags.push(Tag {
                    span: start..end,
                    kind,
                    name,
                });
                return Some(end);
            }
            match b {
                b'"' | b'\'' => {
                    j = skip_string(bytes, j);
                    first = false;
                }
                b'#' | b'/' | b'^' if first => {
                    kind = match b {
                        b'#' => TagKind::Open,
                        b'/' => TagKind::Close,
                        _ => TagKind::Else,
                    };
                    j += 1;
                }
                b'(' => {
                    parens += 1;
                    if parens > MAX_NESTING && self.too_deep.is_none() {
                        self.too_deep = Some((j, Nesting::Subexpression));
                    }
                    j += 1;
                }
                b')' => {
                    parens = parens.saturating_sub(1);
                    j += 1;
                }
                _ if is_separator(b) => j += 1,
                _ => {
                    let word = j..word_end(bytes, j);
                    j = word.end;
                    let mut k = j;
                    while bytes.get(k).is_some_and(u8::is_ascii_whitespace) {
                        k += 1;
                    }
                    if bytes.get(k) == Some(&b'=') {
                        // A hash key (`key=value`) is not a path.
                        j = k + 1;
                        continue;
                    }
                    if first {
                        if kind == TagKind::Other && &self.source[word.clone()] == "else" {
                            kind = TagKind::Else;
                        } else if kind == TagKind::Other && from == start + 4 {
                            // `{{{{name}}}}` opens a raw block.
                            kind = TagKind::Open;
                        }
                        if kind != TagKind::Else {
                            name = Some(word.clone());
                        }
                    }
                    first = false;
                    self.words.push(word);
                }
            }
        }
    }
}

/// Whether an `{{else}}` tag goes on with a helper (`{{else if x}}`, `{{~else with y~}}`).
fn is_chained_else(tag: &str) -> bool {
    let inner = tag.trim_start_matches('{').trim_end_matches('}');
    let inner = inner.trim_matches(|c: char| c == '~' || c.is_ascii_whitespace());
    inner
        .strip_prefix("else")
        .is_some_and(|rest| !rest.trim().is_empty())
}

/// Whether the `{{` at `at` is written `\{{` (one backslash escapes it; with two or
/// more, the first escapes the second and the tag is real).
fn is_escaped(bytes: &[u8], at: usize) -> bool {
    let backslashes = bytes[..at]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    backslashes == 1
}

/// Skips a string literal that starts at `at`; returns the offset after its closing quote.
fn skip_string(bytes: &[u8], at: usize) -> usize {
    let quote = bytes[at];
    let mut j = at + 1;
    while let Some(&b) = bytes.get(j) {
        if b == b'\\' {
            j += 2;
        } else if b == quote {
            return j + 1;
        } else {
            j += 1;
        }
    }
    bytes.len()
}

/// Bytes that separate words inside a tag.
fn is_separator(b: u8) -> bool {
    b.is_ascii_whitespace() || b"(){}|~&>*!=".contains(&b)
}

/// The end of a word (a path or helper name) that starts at `at`; `[...]` segments may
/// hold any byte but `]` (a `[` that is never closed is an ordinary byte, so the tag
/// still ends at its `}}` and the error names the tag).
fn word_end(bytes: &[u8], at: usize) -> usize {
    let mut j = at;
    while let Some(&b) = bytes.get(j) {
        let close = (b == b'[')
            .then(|| bytes[j..].iter().position(|&c| c == b']'))
            .flatten();
        if let Some(close) = close {
            j += close + 1;
        } else if is_separator(b) || b == b'"' || b == b'\'' {
            break;
        } else {
            j += 1;
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(source: &str) -> Vec<&str> {
        let scan = Scan::new(source);
        (0..scan.word_count()).map(|i| scan.word(i)).collect()
    }

    #[test]
    fn words_skip_strings_hash_keys_and_sigils() {
        assert_eq!(
            words(
                r#"x {{default params.a "p.b" key=steps.c}} {{{raw}}} {{#each (lines s) as |h|}}{{/each}}"#
            ),
            ["default", "params.a", "steps.c", "raw", "each", "lines", "s", "as", "h", "each"]
        );
    }

    #[test]
    fn bracket_segments_are_part_of_a_word() {
        assert_eq!(
            words("{{steps.x.hosts.[db 1.b].stdout}}"),
            ["steps.x.hosts.[db 1.b].stdout"]
        );
    }

    #[test]
    fn escapes_comments_and_raw_blocks_hold_no_words() {
        assert_eq!(
            words(r"\{{a}} {{! b }} {{!-- {{c}} --}} {{{{raw}}}} {{d}} {{{{/raw}}}} {{e}}"),
            ["raw", "raw", "e"]
        );
        assert_eq!(words(r"\\{{a}}"), ["a"]);
    }

    #[test]
    fn tags_know_blocks() {
        let scan = Scan::new("{{#if a}}x{{else}}y{{/if}}{{z}}");
        let kinds: Vec<_> = scan.tags.iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            [TagKind::Open, TagKind::Else, TagKind::Close, TagKind::Other]
        );
        let names: Vec<_> = scan
            .tags
            .iter()
            .map(|t| t.name.clone().map(|n| scan.text(n)))
            .collect();
        assert_eq!(names, [Some("if"), None, Some("if"), Some("z")]);
    }

    #[test]
    fn unclosed_tag_is_found() {
        assert_eq!(Scan::new("echo {{a}} {{b").unclosed, Some(11));
        assert_eq!(Scan::new("echo {{a}}").unclosed, None);
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_found() {
        let deep = |n: usize| format!("{}{}", "{{#if a}}".repeat(n), "{{/if}}".repeat(n));
        assert_eq!(Scan::new(&deep(MAX_NESTING)).too_deep, None);
        assert_eq!(
            Scan::new(&deep(MAX_NESTING + 1)).too_deep,
            Some((9 * MAX_NESTING, Nesting::Block))
        );
        let chain = |n: usize| format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{else if b}}".repeat(n));
        assert_eq!(Scan::new(&chain(MAX_NESTING - 1)).too_deep, None);
        assert_eq!(
            Scan::new(&chain(MAX_NESTING)).too_deep,
            Some((9 + 13 * (MAX_NESTING - 1), Nesting::Block))
        );
        let sequential = "{{#if a}}{{else}}{{/if}}".repeat(100);
        assert_eq!(Scan::new(&sequential).too_deep, None);
        let not = |n: usize| format!("{{{{{}a{}}}}}", "(not ".repeat(n), ")".repeat(n));
        assert_eq!(Scan::new(&not(MAX_NESTING)).too_deep, None);
        assert_eq!(
            Scan::new(&not(MAX_NESTING + 1)).too_deep,
            Some((2 + 5 * MAX_NESTING, Nesting::Subexpression))
        );
        assert_eq!(
            Scan::new(r#"{{x "((((((((((((((((((((((((((((((((((("}}"#).too_deep,
            None
        );
    }

    #[test]
    fn positions_match_counting_characters() {
        let source = "aé€\n😀b{{x}}\né\n";
        let scan = Scan::new(source);
        for (offset, _) in source.char_indices() {
            let line = source[..offset].matches('\n').count() + 1;
            let start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
            let col = source[start..offset].chars().count() + 1;
            assert_eq!(scan.line_col(offset), (line, col), "{offset}");
            assert_eq!(scan.offset(line, col), offset, "{line}:{col}");
        }
        assert_eq!(scan.offset(1, 99), source.len());
        assert_eq!(scan.offset(9, 1), source.len());
    }

    #[test]
    fn line_col_counts_characters() {
        let scan = Scan::new("é\nab{{x}}");
        assert_eq!(scan.line_col(0), (1, 1));
        assert_eq!(scan.line_col(5), (2, 3));
        assert_eq!(scan.offset(2, 3), 5);
        assert_eq!(scan.offset(1, 2), 2);
    }
}
