//! How values, types and fields are written inside messages: compact, in backticks, and
//! never longer than a line.

use jsonschema::error::TypeKind;
use jsonschema::JsonType;
use serde_json::Value;

use crate::source::display_pointer;

/// The most characters of a value a message shows.
const MAX_SHOWN: usize = 40;

/// A value as text, short: a string as is, anything else as compact JSON; only the first
/// line, cut at [`MAX_SHOWN`] characters with `…`.
pub(crate) fn shown(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let cut = first.chars().count() > MAX_SHOWN;
    let mut out: String = first.chars().take(MAX_SHOWN - usize::from(cut)).collect();
    if cut || lines.next().is_some() {
        out.push('…');
    }
    out
}

/// `text` in backticks.
pub(crate) fn code(text: &str) -> String {
    format!("`{text}`")
}

/// What was found, for "must be X, found Y": ``number `30` ``, `a list`, `an empty value`.
/// With `masked` the value itself is left out (secrets).
pub(crate) fn found(value: &Value, masked: bool) -> String {
    let (kind, article) = match value {
        Value::Null => return "an empty value".to_owned(),
        Value::Array(_) => return "a list".to_owned(),
        Value::Object(_) => return "a mapping".to_owned(),
        Value::String(s) if s.is_empty() => return "an empty string".to_owned(),
        Value::Bool(_) => ("boolean", "a"),
        Value::Number(_) => ("number", "a"),
        Value::String(_) => ("string", "a"),
    };
    if masked {
        format!("{article} {kind}")
    } else {
        format!("{kind} {}", code(&shown(value)))
    }
}

/// A JSON type as operators say it.
pub(crate) fn type_phrase(t: JsonType) -> &'static str {
    match t {
        JsonType::Null => "empty",
        JsonType::Boolean => "a boolean",
        JsonType::Integer => "an integer",
        JsonType::Number => "a number",
        JsonType::String => "a string",
        JsonType::Array => "a list",
        JsonType::Object => "a mapping",
    }
}

/// The types a failed `type` keyword asked for.
pub(crate) fn listed_types(kind: &TypeKind) -> Vec<JsonType> {
    match kind {
        TypeKind::Single(t) => vec![*t],
        TypeKind::Multiple(set) => set.iter().collect(),
    }
}

/// The JSON type named by a schema's `type` keyword.
pub(crate) fn json_type(name: &str) -> Option<JsonType> {
    Some(match name {
        "null" => JsonType::Null,
        "boolean" => JsonType::Boolean,
        "integer" => JsonType::Integer,
        "number" => JsonType::Number,
        "string" => JsonType::String,
        "array" => JsonType::Array,
        "object" => JsonType::Object,
        _ => return None,
    })
}

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn either(items: &[String]) -> String {
    join(items, "or")
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn both(items: &[String]) -> String {
    join(items, "and")
}

fn join(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

/// The field a message is about: the last name in the pointer with any list indexes after
/// it, in backticks (`/steps/0/needs/1` is `needs[1]`); the document itself is `root`.
pub(crate) fn subject(pointer: &str, root: &str) -> String {
    let tokens: Vec<&str> = if pointer.is_empty() {
        Vec::new()
    } else {
        pointer[1..].split('/').collect()
    };
    let is_index = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    match tokens.iter().rposition(|t| !is_index(t)) {
        Some(i) => code(&display_pointer(&format!("/{}", tokens[i..].join("/")))),
        None if tokens.is_empty() => root.to_owned(),
        None => format!("{root}'s item {}", display_pointer(pointer)),
    }
}

/// The first sentence of a description, for hints.
pub(crate) fn first_sentence(text: &str) -> &str {
    text.find(". ").map_or(text, |i| &text[..=i])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn shows_values_compactly() {
        assert_eq!(shown(&json!("30x")), "30x");
        assert_eq!(shown(&json!(30)), "30");
        assert_eq!(shown(&json!(["a", 1])), r#"["a",1]"#);
        assert_eq!(shown(&json!("line one\nline two")), "line one…");
        let long = "x".repeat(100);
        assert_eq!(shown(&json!(long)).chars().count(), MAX_SHOWN);
        assert!(shown(&json!(long)).ends_with('…'));
    }

    #[test]
    fn says_what_was_found() {
        assert_eq!(found(&json!(30), false), "number `30`");
        assert_eq!(found(&json!(30), true), "a number");
        assert_eq!(found(&json!(null), false), "an empty value");
        assert_eq!(found(&json!(""), false), "an empty string");
        assert_eq!(found(&json!({"a": 1}), false), "a mapping");
        assert_eq!(found(&json!(true), false), "boolean `true`");
    }

    #[test]
    fn names_the_field() {
        assert_eq!(subject("/steps/3/timeout", "the runbook"), "`timeout`");
        assert_eq!(subject("/steps/0/needs/1", "the runbook"), "`needs[1]`");
        assert_eq!(subject("/steps/2", "the runbook"), "`steps[2]`");
        assert_eq!(subject("", "the runbook"), "the runbook");
        assert_eq!(subject("/1", "the value"), "the value's item [1]");
    }

    #[test]
    fn joins_lists() {
        let items = ["`a`".to_owned(), "`b`".to_owned(), "`c`".to_owned()];
        assert_eq!(either(&items), "`a`, `b` or `c`");
        assert_eq!(both(&items[..2]), "`a` and `b`");
        assert_eq!(either(&items[..1]), "`a`");
        assert_eq!(first_sentence("One. Two."), "One.");
    }
}
