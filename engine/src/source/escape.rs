//! Shows untrusted text (runbook fields, inventory values, host output) on a terminal
//! without letting it steer the terminal: control characters, bidi overrides and
//! invisible format characters are written as visible escapes.
//!
//! Which characters are escaped ("hidden" characters):
//! - every control character (Unicode category Cc: C0, DEL, C1), except that a block of
//!   text ([`block`]) keeps `\n` and `\t` as layout;
//! - format characters (Cf: bidi embeddings, overrides and isolates, U+200B..U+200F,
//!   U+2060.., U+FEFF, tag characters ...), line and paragraph separators (Zl, Zp) and
//!   unassigned code points (Cn);
//! - the other default-ignorable code points, which terminals draw as nothing: the
//!   combining grapheme joiner, Hangul fillers, variation selectors.
//!
//! The escapes, each starting with a backslash:
//! - `\n` and `\t` for newline and tab in a single-line field ([`line`]);
//! - `\xHH` (two lowercase hex digits) for the other C0 controls and DEL, e.g. `\x1b`;
//! - `\u{HHHH}` (uppercase hex, at least four digits) for every other hidden character,
//!   e.g. `\u{202E}`.
//!
//! The scheme is unambiguous: a literal backslash is written doubled (`\\`) when what
//! follows it would otherwise read as an escape: another backslash, an escaped character,
//! `x` or `u`, and in a single-line field `n` or `t`. Any other backslash is written as
//! is, so `sed 's/\./-/'` and (in a block) `printf 'a\n'` show unchanged.
//!
//! [`neutralize`] is the last pass over text that quorate composed itself (diagnostics,
//! whole outputs): it escapes hidden characters but leaves backslashes alone, so text that
//! was already escaped passes through unchanged. It is also how JSON text (a parameter's
//! value, a schema) is shown: JSON escapes its control characters and backslashes itself,
//! and never writes `\u{`, so only the bidi and invisible characters it keeps need
//! showing, and the result stays unambiguous.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_general_category::{get_general_category, GeneralCategory};

/// Whether `c` is escaped in a single-line field (everything hidden, `\n` and `\t` too).
pub fn is_hidden(c: char) -> bool {
    match get_general_category(c) {
        GeneralCategory::Control
        | GeneralCategory::Format
        | GeneralCategory::LineSeparator
        | GeneralCategory::ParagraphSeparator
        | GeneralCategory::Unassigned => true,
        _ => is_ignorable_extra(c),
    }
}

/// Default-ignorable code points outside Cf and Cn (Unicode's `DerivedCoreProperties`).
fn is_ignorable_extra(c: char) -> bool {
    matches!(c,
        '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FFA0}'
        | '\u{E0100}'..='\u{E01EF}')
}

/// Whether `c` is hidden in a block of text (a command, host output): `\n` and `\t` are
/// layout there.
pub fn is_hidden_in_block(c: char) -> bool {
    c != '\n' && c != '\t' && is_hidden(c)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Line,
    Block,
    Neutralize,
}

impl Mode {
    fn hides(self, c: char) -> bool {
        match self {
            Mode::Line => is_hidden(c),
            Mode::Block | Mode::Neutralize => is_hidden_in_block(c),
        }
    }
}

/// A single-line field (a table cell, a progress line, a value in the plan): every hidden
/// character escaped, `\n` and `\t` included.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, Mode::Line)
}

/// A block of text (a command, host output): `\n` and `\t` kept, the rest escaped.
pub fn block(text: &str) -> Cow<'_, str> {
    escape(text, Mode::Block)
}

/// Text quorate composed, possibly around escaped values: hidden characters escaped,
/// backslashes left alone (so escaped text is unchanged).
pub fn neutralize(text: &str) -> Cow<'_, str> {
    escape(text, Mode::Neutralize)
}

/// The first character of `text` that a block of text would escape, with its index in
/// characters.
pub fn first_hidden(text: &str) -> Option<(usize, char)> {
    text.chars()
        .enumerate()
        .find(|&(_, c)| is_hidden_in_block(c))
}

/// How one hidden character is written (`\x1b`, `\u{202E}`, or `\n`/`\t` in a line).
pub fn escaped_char(c: char) -> String {
    let mut out = String::new();
    push_escape(&mut out, c);
    out
}

fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\0'..='\u{1f}' | '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        _ => {
            let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
        }
    }
}

fn escape(text: &str, mode: Mode) -> Cow<'_, str> {
    let needs = |c: char| mode.hides(c) || (mode != Mode::Neutralize && c == '\\');
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if mode.hides(c) {
            push_escape(&mut out, c);
        } else if c == '\\' && mode != Mode::Neutralize {
            let doubled = chars.peek().is_some_and(|&next| {
                next == '\\'
                    || next == 'x'
                    || next == 'u'
                    || mode.hides(next)
                    || (mode == Mode::Line && (next == 'n' || next == 't'))
            });
            out.push_str(if doubled { "\\\\" } else { "\\" });
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads escaped text back; proves the escaping loses nothing.
    fn unescape(text: &str, single_line: bool) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('\\') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let hex = |s: &str| u32::from_str_radix(s, 16).ok().and_then(char::from_u32);
            let (c, used) = if after.starts_with('\\') {
                ('\\', 1)
            } else if single_line && after.starts_with('n') {
                ('\n', 1)
            } else if single_line && after.starts_with('t') {
                ('\t', 1)
            } else if let Some(c) = after
                .strip_prefix('x')
                .and_then(|h| h.get(..2))
                .and_then(hex)
            {
                (c, 3)
            } else if let Some(body) = after.strip_prefix("u{") {
                let end = body.find('}').expect("closed escape");
                (hex(&body[..end]).expect("hex escape"), end + 3)
            } else {
                ('\\', 0)
            };
            out.push(c);
            rest = &after[used..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn concealed_sgr_span_is_shown() {
        assert_eq!(
            line("uptime\x1b[8m; touch /tmp/x\x1b[0m"),
            "uptime\\x1b[8m; touch /tmp/x\\x1b[0m"
        );
    }

    #[test]
    fn bidi_and_invisible_characters_are_shown() {
        assert_eq!(
            line("a\u{202E}b\u{200B}c\u{FEFF}"),
            "a\\u{202E}b\\u{200B}c\\u{FEFF}"
        );
        assert_eq!(
            line("\u{2066}x\u{2069}\u{061C}"),
            "\\u{2066}x\\u{2069}\\u{061C}"
        );
        assert_eq!(line("\u{85}\u{9b}"), "\\u{0085}\\u{009B}");
        assert_eq!(line("v\u{FE0F}\u{E0041}"), "v\\u{FE0F}\\u{E0041}");
    }

    #[test]
    fn lines_escape_layout_and_blocks_keep_it() {
        assert_eq!(line("a\nb\tc\rd"), "a\\nb\\tc\\x0dd");
        assert_eq!(block("a\nb\tc\rd"), "a\nb\tc\\x0dd");
    }

    #[test]
    fn plain_backslashes_stay_single_and_ambiguous_ones_double() {
        assert_eq!(
            block("sed 's/\\./-/'; printf 'a\\n'"),
            "sed 's/\\./-/'; printf 'a\\n'"
        );
        assert_eq!(line("printf 'a\\n'"), "printf 'a\\\\n'");
        assert_eq!(line("\\x1b"), "\\\\x1b");
        assert_ne!(line("\\x1b"), line("\x1b"));
        assert_eq!(line("\\\x1b"), "\\\\\\x1b");
        assert_eq!(line("end\\"), "end\\");
    }

    #[test]
    fn neutralize_leaves_escaped_text_alone() {
        let escaped = line("a\\x\x1b");
        assert_eq!(neutralize(&escaped), escaped);
        assert_eq!(neutralize("note: \x1b[2J\nnext"), "note: \\x1b[2J\nnext");
    }

    #[test]
    fn json_text_is_shown_unambiguously() {
        let json = serde_json::to_string("a\u{202E}\\d\x1b").unwrap();
        assert_eq!(json, "\"a\u{202E}\\\\d\\u001b\"");
        assert_eq!(neutralize(&json), "\"a\\u{202E}\\\\d\\u001b\"");
    }

    #[test]
    fn ordinary_text_is_borrowed() {
        assert!(matches!(
            block("échec: ç'a marché → ok\n"),
            Cow::Borrowed(_)
        ));
    }

    proptest! {
        #[test]
        fn line_output_has_no_hidden_character_and_reads_back(s in any::<String>()) {
            let shown = line(&s);
            prop_assert!(!shown.chars().any(is_hidden));
            prop_assert_eq!(unescape(&shown, true), s);
        }

        #[test]
        fn block_output_has_no_hidden_character_and_reads_back(s in any::<String>()) {
            let shown = block(&s);
            prop_assert!(!shown.chars().any(is_hidden_in_block));
            prop_assert_eq!(unescape(&shown, false), s);
        }

        #[test]
        fn distinct_inputs_stay_distinct(a in "[\\\\xn1b\x1b\n]{0,6}", b in "[\\\\xn1b\x1b\n]{0,6}") {
            prop_assume!(a != b);
            prop_assert_ne!(line(&a), line(&b));
            prop_assert_ne!(block(&a), block(&b));
        }

        #[test]
        fn tricky_mixes_read_back(s in "[\\\\xun{}0-9a-fA-F\\x1b\\n\\t\u{202e}]{0,12}") {
            prop_assert_eq!(unescape(&line(&s), true), s.clone());
            prop_assert_eq!(unescape(&block(&s), false), s.clone());
            let shown = line(&s);
            prop_assert_eq!(neutralize(&shown), shown.clone());
        }
    }
}
