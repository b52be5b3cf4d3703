//! POSIX shell quoting of the values a template inserts into a command.

use std::borrow::Cow;

/// How `{{x}}` inserts a value.
///
/// Commands (`run`, `unless`, `only_if`, `wait.until`, `cluster.health`, ...) use
/// [`Quoting::Shell`]; fields that are not commands (`when`, paths, messages) use
/// [`Quoting::Plain`]. In both modes `{{{x}}}` inserts the text as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quoting {
    /// Every `{{x}}` (helper output included) becomes one inert POSIX sh word.
    Shell,
    /// Every `{{x}}` is inserted as it is.
    Plain,
}

/// Quotes `s` as a single POSIX sh word that the shell neither splits nor expands.
///
/// Like Python's `shlex.quote`: text made only of `A-Za-z0-9_@%+=:,./-` is returned as
/// it is (so plans stay readable), the empty string becomes `''`, and anything else is
/// wrapped in single quotes, each `'` written as `'\''` (close, escaped quote, reopen),
/// because nothing is special between single quotes in sh.
pub fn shell_quote(s: &str) -> Cow<'_, str> {
    if s.is_empty() {
        return Cow::Borrowed("''");
    }
    if s.bytes().all(is_plain_byte) {
        return Cow::Borrowed(s);
    }
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('\'');
    for c in s.chars() {
        if c == '\'' {
            quoted.push_str(r"'\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    Cow::Owned(quoted)
}

/// Bytes that mean nothing to sh wherever they stand in a word.
fn is_plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_are_left_alone() {
        for word in [
            "node0",
            "/data/fisco/node0",
            "a=b",
            "v1.2.3",
            "x@y:z,%+",
            "-rf",
        ] {
            assert!(
                matches!(shell_quote(word), Cow::Borrowed(w) if w == word),
                "{word}"
            );
        }
    }

    #[test]
    fn empty_string_is_an_empty_word() {
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn everything_else_is_single_quoted() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("$(touch x)"), "'$(touch x)'");
        assert_eq!(shell_quote("~"), "'~'");
        assert_eq!(shell_quote("naïve"), "'naïve'");
    }

    #[test]
    fn single_quotes_are_closed_escaped_and_reopened() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("'"), r"''\'''");
    }
}
