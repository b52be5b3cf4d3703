//! Source lines with secret values taken out, for diagnostics that quote them.

/// What a hidden value is shown as.
pub const MASK: &str = "***";

/// `line` of a file whose values may be secrets, for a diagnostic at column `col`: only a
/// top-level `name:` the diagnostic points at (the key itself, or the value right after
/// it) is kept, everything else becomes `***`. A line that merely looks like `name: ...`
/// may be the continuation of a quoted value, so its "key" is kept only when the
/// position, which the parser found, is on it.
pub fn line_without_values(line: &str, col: usize) -> String {
    let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
    if indent.is_empty() {
        if let Some(key_end) = plain_key_len(line) {
            let after: String = line[key_end + 1..]
                .chars()
                .take_while(|c| c.is_whitespace())
                .collect();
            let value_col = key_end + 1 + after.chars().count() + 1;
            let rest = &line[key_end + 1 + after.len()..];
            if col == 1 || col == value_col {
                let key = &line[..=key_end];
                return if rest.is_empty() {
                    key.to_owned()
                } else {
                    format!("{key}{after}{MASK}")
                };
            }
        }
    }
    // The mask goes where the diagnostic points, so the carets stay under it.
    let blank = col.saturating_sub(1).max(indent.chars().count());
    format!("{}{MASK}", " ".repeat(blank))
}

/// The byte index of the `:` ending a plain key at the start of `line` (`name: ...`,
/// `name:`), if it starts with one.
fn plain_key_len(line: &str) -> Option<usize> {
    let end = line.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))?;
    let first = line.chars().next()?;
    let is_key = end > 0
        && (first.is_ascii_alphabetic() || first == '_')
        && line[end..].starts_with(':')
        && line[end + 1..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace);
    is_key.then_some(end)
}

/// `line` with everything from column `col` on replaced by `***`: a value's width is not
/// always known (block scalars, values running over several lines), and what follows it on
/// the line is not needed to see the mistake.
pub fn value_replaced(line: &str, col: usize) -> String {
    let head: String = line.chars().take(col.saturating_sub(1)).collect();
    format!("{head}{MASK}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_key_the_diagnostic_points_at() {
        assert_eq!(line_without_values("token: CANARY", 1), "token: ***");
        assert_eq!(line_without_values("token:   CANARY", 10), "token:   ***");
        assert_eq!(line_without_values("token:", 1), "token:");
    }

    #[test]
    fn hides_everything_else() {
        // The continuation of a quoted value that looks like a key.
        assert_eq!(
            line_without_values("CANARY: x\", version: 1}", 22),
            format!("{}***", " ".repeat(21))
        );
        assert_eq!(line_without_values("  - CANARY", 5), "    ***");
        assert_eq!(line_without_values("  - CANARY", 1), "  ***");
        assert_eq!(line_without_values("{token: CANARY}", 2), " ***");
        assert_eq!(line_without_values("CANARY", 1), "***");
        assert_eq!(line_without_values("token:CANARY", 1), "***");
    }

    #[test]
    fn replaces_a_value() {
        assert_eq!(value_replaced("default: CANARY }", 10), "default: ***");
        assert_eq!(value_replaced("      CANARY-block", 7), "      ***");
    }
}
