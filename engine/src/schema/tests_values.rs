//! Values against schemas written by users: parameter values, invalid schemas, secrets,
//! and a sentence for every keyword.

use serde_json::{json, Value};

use super::tests::messages;
use super::{validate_secret, validate_value, SchemaKind, SchemaViolation};

#[test]
fn values_are_checked_against_parameter_schemas() {
    let schema = json!({ "type": "string", "pattern": r"^\d+\.\d+\.\d+$" });
    assert_eq!(validate_value(&schema, &json!("1.2.3")), Ok(Vec::new()));
    assert_eq!(
        validate_value(&schema, &json!("1.2")),
        Ok(vec![SchemaViolation {
            pointer: String::new(),
            message: r"the value must match the pattern `^\d+\.\d+\.\d+$`, found `1.2`".to_owned(),
            hint: None,
            at_key: false,
        }])
    );
    let schema = json!({
        "type": "object",
        "properties": { "replicas": { "type": "integer" } },
        "required": ["zone"],
        "additionalProperties": false
    });
    let violations = validate_value(&schema, &json!({ "replicas": "3", "zones": 2 })).unwrap();
    let found: Vec<(&str, &str, bool)> = violations
        .iter()
        .map(|v| (v.pointer.as_str(), v.message.as_str(), v.at_key))
        .collect();
    assert_eq!(
        found,
        [
            (
                "/replicas",
                "`replicas` must be an integer, found string `3`",
                false
            ),
            ("/zones", "unknown field `zones` in the value", true),
            ("", "missing field `zone` in the value", true),
        ]
    );
}

#[test]
fn an_invalid_parameter_schema_is_an_error_with_a_reason() {
    assert_eq!(
        validate_value(&json!({ "type": "strin" }), &json!(1)),
        Err(
            "invalid schema at `type`: `type` must be one of `array`, `boolean`, `integer`, \
             `null`, `number`, `object`, `string`, found `strin`; did you mean `string`?"
                .to_owned()
        )
    );
    assert_eq!(
        validate_value(&json!({ "pattern": "(" }), &json!("x")),
        Err("invalid schema at `pattern`: `pattern` must be a valid regex, found `(`".to_owned())
    );
    assert_eq!(
        validate_value(&json!({ "$ref": "https://example.com/s.json" }), &json!(1)),
        Err(
            "invalid schema: `$ref` to `https://example.com/s.json` cannot be resolved; a \
             schema can only refer inside itself, e.g. `$ref: \"#/$defs/NAME\"`"
                .to_owned()
        )
    );
}

#[test]
fn secrets_stay_out_of_messages() {
    let schema =
        json!({ "type": "string", "minLength": 20, "enum": ["s3cret-that-is-long-enough"] });
    let violations = validate_secret(&schema, &json!("hunter2")).unwrap();
    for violation in &violations {
        assert!(!violation.message.contains("hunter2"), "{violation:?}");
        assert!(!violation
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("hunter2"));
    }
    assert_eq!(
        violations
            .iter()
            .map(|v| v.message.as_str())
            .collect::<Vec<_>>(),
        [
            "the value must be `s3cret-that-is-long-enough`, found `***`",
            "the value must be at least 20 characters long",
        ]
    );
    let text = "runbook: r\nparams:\n  token: { schema: { type: string, pattern: '^tk-' }, secret: true, default: hunter2 }\nsteps:\n  - id: a\n    run: x\n";
    assert_eq!(
        messages(SchemaKind::Runbook, text),
        ["the default of `token` must match the pattern `^tk-`, found `***`"]
    );
}

/// Checks that each (schema, value) pair gives exactly the message with it.
fn assert_messages(cases: &[(Value, Value, &str)]) {
    for (schema, value, message) in cases {
        let violations = validate_value(schema, value).expect("schema is valid");
        let messages: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(messages, [*message], "{schema}");
    }
}

#[test]
fn sizes_and_bounds_have_a_sentence_each() {
    assert_messages(&[
        (
            json!({ "maxLength": 3 }),
            json!("abcd"),
            "the value must be at most 3 characters long, found 4",
        ),
        (
            json!({ "minLength": 3 }),
            json!("ab"),
            "the value must be at least 3 characters long, found 2",
        ),
        (
            json!({ "maxItems": 1 }),
            json!([1, 2]),
            "the value must have at most 1 item, found 2",
        ),
        (
            json!({ "minItems": 2 }),
            json!([1]),
            "the value must have at least 2 items, found 1",
        ),
        (
            json!({ "minProperties": 2 }),
            json!({ "a": 1 }),
            "the value must have at least 2 entries, found 1",
        ),
        (
            json!({ "maxProperties": 0 }),
            json!({ "a": 1 }),
            "the value must have at most 0 entries, found 1",
        ),
        (
            json!({ "minimum": 1 }),
            json!(0),
            "the value must be at least 1, found `0`",
        ),
        (
            json!({ "exclusiveMinimum": 0 }),
            json!(0),
            "the value must be greater than 0, found `0`",
        ),
        (
            json!({ "exclusiveMaximum": 10 }),
            json!(10),
            "the value must be less than 10, found `10`",
        ),
        (
            json!({ "multipleOf": 2 }),
            json!(3),
            "the value must be a multiple of 2, found `3`",
        ),
    ]);
}

#[test]
fn other_keywords_have_a_sentence_each() {
    assert_messages(&[
        (
            json!({ "const": "on" }),
            json!("off"),
            "the value must be `on`, found `off`",
        ),
        (
            json!({ "enum": ["a"] }),
            json!("b"),
            "the value must be `a`, found `b`",
        ),
        (
            json!({ "not": { "const": 0 } }),
            json!(0),
            "the value cannot be `0`",
        ),
        (
            json!({ "items": { "type": "integer" } }),
            json!([1, "x"]),
            "the value's item [1] must be an integer, found string `x`",
        ),
        (
            json!({ "uniqueItems": true }),
            json!([{ "a": 1 }, { "a": 1 }]),
            "the value has two equal items, [0] and [1]",
        ),
        (
            json!({ "contains": { "const": 1 } }),
            json!([2]),
            "the value has no item of the required kind",
        ),
        (
            json!({ "anyOf": [{ "type": "string" }, { "type": "array" }] }),
            json!(1),
            "the value must be a string or a list, found number `1`",
        ),
        (
            json!({ "oneOf": [{ "minimum": 0 }, { "maximum": 10 }] }),
            json!(5),
            "the value matches more than one of the allowed forms",
        ),
        (
            json!({ "dependentRequired": { "a": ["b"] } }),
            json!({ "a": 1 }),
            "`a` is only allowed with `b`",
        ),
        (json!(false), json!(1), "the value is not allowed here"),
    ]);
}
