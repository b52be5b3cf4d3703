//! POSIX sh quoting: the one implementation every layer uses (template rendering of
//! `{{x}}` in commands, the transport's request and command lines). It depends on
//! nothing, so both may use it.

use std::borrow::Cow;

/// Quotes `s` as a single POSIX sh word that the shell neither splits nor expands.
///
/// Like Python's `shlex.quote`: text made only of `A-Za-z0-9_@%+=:,./-` is returned as
/// it is (so plans and command lines stay readable), the empty string becomes `''`, and
/// anything else is wrapped in single quotes, each `'` written as `'\''` (close, escaped
/// quote, reopen), because nothing is special between single quotes in sh. Every byte
/// except NUL survives the round trip (callers reject NUL: no shell word can hold it).
pub fn quote(s: &str) -> Cow<'_, str> {
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
            "n42-a1",
        ] {
            assert!(
                matches!(quote(word), Cow::Borrowed(w) if w == word),
                "{word}"
            );
        }
    }

    #[test]
    fn empty_string_is_an_empty_word() {
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn everything_else_is_single_quoted() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("$(touch x)"), "'$(touch x)'");
        assert_eq!(quote("~"), "'~'");
        assert_eq!(quote("~root"), "'~root'");
        assert_eq!(quote("naïve"), "'naïve'");
        assert_eq!(quote("$HOME `x` \"y\" \\ !"), "'$HOME `x` \"y\" \\ !'");
    }

    #[test]
    fn single_quotes_are_closed_escaped_and_reopened() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("'"), r"''\'''");
    }

    #[test]
    fn the_shell_gets_back_every_byte() {
        let nasty = "a'b\"c$d`e\\f\ng h\t!*?[x]~#;&|<>(){}é";
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote(nasty)))
            .output()
            .expect("run sh");
        assert_eq!(String::from_utf8_lossy(&out.stdout), nasty);
    }
}
