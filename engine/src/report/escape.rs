//! Escaping for review artifacts: every value (host output, parameters, inventory names)
//! may be hostile. Hidden characters are first made visible as in text output
//! ([`crate::source::escape`]), then the text is escaped for HTML or Markdown.

use std::borrow::Cow;

use crate::source::escape;

/// A one-line value inside HTML text or an SVG `<text>`.
pub fn html(text: &str) -> String {
    html_escape::encode_text(&escape::line(text)).into_owned()
}

/// A multi-line value (a command, host output) inside `<pre>`: lines stay lines.
pub fn html_block(text: &str) -> String {
    html_escape::encode_text(&escape::block(text)).into_owned()
}

/// Text quorate composed from values it escaped already (a plan line, the text plan)
/// inside `<pre>`: hidden characters escaped, backslashes left as they are.
pub fn html_escaped_block(text: &str) -> String {
    html_escape::encode_text(&escape::neutralize(text)).into_owned()
}

/// The characters [`markdown`] escapes.
const MARKDOWN_SPECIAL: &str = "\\`*_[]<>|#!~&";

/// A one-line value inside Markdown text or a table cell (never at the start of a line):
/// the characters that open code, emphasis, links, images, table cells, raw HTML or an
/// entity are backslash-escaped (`CommonMark` allows it for any ASCII punctuation).
pub fn markdown(text: &str) -> String {
    let line: Cow<'_, str> = escape::line(text);
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if MARKDOWN_SPECIAL.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A multi-line value as a fenced code block, with a fence longer than any run of
/// backticks inside, so the value cannot close it.
pub fn markdown_block(text: &str) -> String {
    fenced(&escape::block(text))
}

/// Text quorate composed from values it escaped already, as a fenced code block.
pub fn markdown_escaped_block(text: &str) -> String {
    fenced(&escape::neutralize(text))
}

fn fenced(body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body = body.trim_end_matches('\n');
    format!("{fence}text\n{body}\n{fence}\n")
}

#[cfg(test)]
mod tests {
    use super::{html, html_block, markdown, markdown_block};

    #[test]
    fn hostile_values_stay_text() {
        assert_eq!(
            html("<script>alert(1)</script>\u{1b}[8m"),
            "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[8m"
        );
        assert_eq!(html_block("a\n<b>\n"), "a\n&lt;b&gt;\n");
        assert_eq!(
            markdown("[x](http://e) | *y* <b>"),
            "\\[x\\](http://e) \\| \\*y\\* \\<b\\>"
        );
        assert_eq!(
            markdown_block("echo ```\nls"),
            "````text\necho ```\nls\n````\n"
        );
    }
}
