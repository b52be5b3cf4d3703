//! Quoting for POSIX sh, for the values the transport inserts into shell text.

use std::borrow::Cow;

/// `s` as one POSIX sh word: unchanged when it holds only characters no shell treats
/// specially, else single-quoted with each `'` written as `'\''`. Every byte except NUL
/// survives the round trip (callers reject NUL: no shell argument can hold it).
pub(crate) fn sh_quote(s: &str) -> Cow<'_, str> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"_-./,:+=@%".contains(&b);
    if !s.is_empty() && s.bytes().all(plain) {
        return Cow::Borrowed(s);
    }
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('\'');
    for c in s.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    Cow::Owned(quoted)
}

#[cfg(test)]
mod tests {
    use super::sh_quote;

    #[test]
    fn plain_words_stay_plain() {
        assert_eq!(sh_quote("n42-a1"), "n42-a1");
        assert_eq!(sh_quote("/data/node0/bin.new"), "/data/node0/bin.new");
    }

    #[test]
    fn everything_else_is_single_quoted() {
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote("$HOME `x` \"y\" \\ !"), "'$HOME `x` \"y\" \\ !'");
        assert_eq!(sh_quote("~root"), "'~root'");
    }

    #[test]
    fn the_shell_gets_back_every_byte() {
        let nasty = "a'b\"c$d`e\\f\ng h\t!*?[x]~#;&|<>(){}é";
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", sh_quote(nasty)))
            .output()
            .expect("run sh");
        assert_eq!(String::from_utf8_lossy(&out.stdout), nasty);
    }
}
