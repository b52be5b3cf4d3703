//! `eq`, `contains`, `default`, `json` and `lookup`: the helpers over single values.

use serde_json::Value;

use super::lines::describe;

/// Whether two values are equal, where a number equals its text (`exit` 0 and `"0"`),
/// because step output is text and exit codes are numbers.
pub(super) fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            n.to_string() == *s || s.parse::<f64>().ok().is_some_and(|f| n.as_f64() == Some(f))
        }
        _ => a == b,
    }
}

/// Whether `list` holds `item` (as `eq` compares): a list's items, or the comma-separated
/// items of a text (`-p nodes=a,b,c`), spaces around each item ignored. Anything else
/// holds nothing.
pub(super) fn contains(list: &Value, item: &Value) -> bool {
    match list {
        Value::Array(items) => items.iter().any(|i| loose_eq(i, item)),
        Value::String(text) => text
            .split(',')
            .map(str::trim)
            .any(|part| loose_eq(&Value::String(part.to_owned()), item)),
        _ => false,
    }
}

/// `value` unless it is missing, null, empty text or an empty list; then `fallback`.
pub(super) fn or_default(value: Option<&Value>, fallback: &Value) -> Value {
    match value {
        None | Some(Value::Null) => fallback.clone(),
        Some(Value::String(s)) if s.is_empty() => fallback.clone(),
        Some(Value::Array(items)) if items.is_empty() => fallback.clone(),
        Some(v) => v.clone(),
    }
}

/// Compact JSON text of `value`.
pub(super) fn json_text(value: &Value) -> Value {
    Value::String(value.to_string())
}

/// The item of a list at an index, or the value of a mapping at a key; a key may hold
/// dots (`{{lookup steps.x.hosts "db1.example.com"}}`).
pub(super) fn lookup(collection: &Value, key: &Value) -> Result<Value, String> {
    let key_text = match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(format!(
                "`lookup` needs a key or an index, not {}",
                describe(other)
            ))
        }
    };
    let found = match collection {
        Value::Object(map) => map.get(&key_text),
        Value::Array(items) => {
            let Ok(index) = key_text.parse::<usize>() else {
                return Err(format!("`lookup`: `{key_text}` is not a list index"));
            };
            items.get(index)
        }
        other => {
            return Err(format!(
                "`lookup` needs a list or a mapping, not {}",
                describe(other)
            ));
        }
    };
    found
        .cloned()
        .ok_or_else(|| format!("`lookup`: there is no `{key_text}`"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn eq_compares_numbers_with_their_text() {
        assert!(loose_eq(&json!(0), &json!("0")));
        assert!(loose_eq(&json!("0"), &json!(0)));
        assert!(loose_eq(&json!(1), &json!(1.0)));
        assert!(loose_eq(&json!(2.5), &json!("2.5")));
        assert!(!loose_eq(&json!(0), &json!("")));
        assert!(!loose_eq(&json!(1), &json!("01x")));
    }

    #[test]
    fn eq_compares_other_values_exactly() {
        assert!(loose_eq(&json!("a"), &json!("a")));
        assert!(!loose_eq(&json!("a"), &json!("A")));
        assert!(loose_eq(&json!(["a", 1]), &json!(["a", 1])));
        assert!(!loose_eq(&json!(true), &json!("true")));
        assert!(loose_eq(&json!(null), &json!(null)));
    }

    #[test]
    fn contains_reads_lists_and_comma_separated_text() {
        assert!(contains(&json!(["node0", "node1"]), &json!("node1")));
        assert!(!contains(&json!(["node0", "node1"]), &json!("node")));
        assert!(contains(&json!("node4, node5,node6"), &json!("node5")));
        assert!(contains(&json!("node4,node5"), &json!("node4")));
        assert!(!contains(&json!("node4,node5"), &json!("node")));
        assert!(!contains(&json!("node40"), &json!("node4")));
        assert!(contains(&json!([1, 2]), &json!("2")));
        assert!(!contains(&json!({"node4": 1}), &json!("node4")));
        assert!(!contains(&json!(null), &json!("node4")));
    }

    #[test]
    fn default_replaces_only_absent_values() {
        let fallback = json!("x");
        assert_eq!(or_default(None, &fallback), "x");
        assert_eq!(or_default(Some(&json!(null)), &fallback), "x");
        assert_eq!(or_default(Some(&json!("")), &fallback), "x");
        assert_eq!(or_default(Some(&json!([])), &fallback), "x");
        assert_eq!(or_default(Some(&json!(0)), &fallback), 0);
        assert_eq!(or_default(Some(&json!(false)), &fallback), false);
        assert_eq!(or_default(Some(&json!("v")), &fallback), "v");
    }

    #[test]
    fn lookup_reads_keys_with_dots_and_list_indexes() {
        let hosts = json!({"db1.example.com": {"stdout": "x"}, "7": 1});
        assert_eq!(
            lookup(&hosts, &json!("db1.example.com")),
            Ok(json!({"stdout": "x"}))
        );
        assert_eq!(lookup(&hosts, &json!(7)), Ok(json!(1)));
        assert_eq!(lookup(&json!(["a", "b"]), &json!(1)), Ok(json!("b")));
        assert_eq!(lookup(&json!(["a", "b"]), &json!("1")), Ok(json!("b")));
    }

    #[test]
    fn lookup_of_nothing_is_an_error() {
        assert_eq!(
            lookup(&json!({"a": 1}), &json!("b")),
            Err("`lookup`: there is no `b`".to_owned())
        );
        assert_eq!(
            lookup(&json!(["a"]), &json!(3)),
            Err("`lookup`: there is no `3`".to_owned())
        );
        assert_eq!(
            lookup(&json!(["a"]), &json!("x")),
            Err("`lookup`: `x` is not a list index".to_owned())
        );
        assert_eq!(
            lookup(&json!("text"), &json!("x")),
            Err("`lookup` needs a list or a mapping, not text".to_owned())
        );
    }

    #[test]
    fn json_is_compact_and_keeps_key_order() {
        assert_eq!(
            json_text(&json!({"b": [1, "x"], "a": null})),
            r#"{"b":[1,"x"],"a":null}"#
        );
        assert_eq!(json_text(&json!("it's")), r#""it's""#);
    }
}
