//! Warnings for text that could hide or reorder what a reviewer sees: a control
//! character, bidi control or invisible format character (see [`crate::source::escape`])
//! anywhere in a runbook or inventory, named by step and field, at the value's position.
//! The plan still compiles: it shows such characters escaped.

use serde_json::Value;

use crate::model::Document;
use crate::source::{display_pointer, escape, pointer_push, Diagnostic};

/// One warning per string value or key of `doc` that holds a hidden character.
pub fn hidden_text(doc: &Document) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    walk(&doc.value, "", None, doc, &mut found);
    found
}

/// The step a value belongs to: its id and the length of the step's pointer.
type StepAt<'v> = Option<(&'v str, usize)>;

fn walk(
    value: &Value,
    pointer: &str,
    step: StepAt<'_>,
    doc: &Document,
    found: &mut Vec<Diagnostic>,
) {
    match value {
        Value::String(s) => {
            if let Some(d) = warning(doc, pointer, step, s, false) {
                found.push(d);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{pointer}/{i}");
                let inner = if pointer.ends_with("/steps") || pointer.ends_with("/on_failure") {
                    item.get("id")
                        .and_then(Value::as_str)
                        .map(|id| (id, p.len()))
                        .or(step)
                } else {
                    step
                };
                walk(item, &p, inner, doc, found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let p = pointer_push(pointer, key);
                if let Some(d) = warning(doc, &p, step, key, true) {
                    found.push(d);
                }
                walk(item, &p, step, doc, found);
            }
        }
        _ => {}
    }
}

fn warning(
    doc: &Document,
    pointer: &str,
    step: StepAt<'_>,
    text: &str,
    is_key: bool,
) -> Option<Diagnostic> {
    let (at, c) = escape::first_hidden(text)?;
    let count = text
        .chars()
        .filter(|&c| escape::is_hidden_in_block(c))
        .count();
    let (field, owner) = match step {
        Some((id, len)) => (
            display_pointer(&pointer[len..]),
            format!(" of step `{}`", escape::line(id)),
        ),
        None => (display_pointer(pointer), String::new()),
    };
    let what = if is_key { "the name" } else { "the value" };
    let (chars, first) = if count == 1 {
        ("a hidden character".to_owned(), "")
    } else {
        (format!("{count} hidden characters"), "the first ")
    };
    let message = format!(
        "{what} of `{}`{owner} contains {chars}, {first}{} (U+{:04X}) at character {}",
        escape::line(&field),
        escape::escaped_char(c),
        u32::from(c),
        at + 1
    );
    let d = if is_key {
        doc.error_at_key(pointer, message)
    } else {
        doc.error_at(pointer, message)
    };
    Some(d.warning().with_hint(
        "a terminal acts on control, bidi and invisible characters (colours, cursor moves, hidden or reordered text); quorate shows them escaped; remove them unless they are meant",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load;
    use crate::source::SourceFile;

    fn warnings(text: &str) -> Vec<String> {
        let doc = load(SourceFile::new("r.yaml", text)).unwrap();
        hidden_text(&doc).iter().map(Diagnostic::render).collect()
    }

    #[test]
    fn names_step_field_and_position() {
        let found = warnings(
            "runbook: r\nsteps:\n  - id: up\n    run: \"uptime\\e[8m; touch /tmp/x\\e[0m\"\n    env:\n      A: \"\\u202e\"\n",
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("warning: the value of `run` of step `up` contains 2 hidden characters, the first \\x1b (U+001B) at character 7\n --> r.yaml:4:10\n"),
            "{}",
            found[0]
        );
        assert!(
            found[1].starts_with("warning: the value of `env.A` of step `up` contains a hidden character, \\u{202E} (U+202E) at character 1\n --> r.yaml:6:10\n"),
            "{}",
            found[1]
        );
    }

    #[test]
    fn inventory_values_and_keys_are_named_by_their_field() {
        let found = warnings(
            "name: i\nhosts:\n  node0:\n    vars:\n      dir: \"/data\\u200b\"\n      \"k\\u202e\": x\n",
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("warning: the value of `hosts.node0.vars.dir` contains a hidden character, \\u{200B} (U+200B) at character 6\n --> r.yaml:5:12\n"),
            "{}",
            found[0]
        );
        assert!(
            found[1].starts_with("warning: the name of `hosts.node0.vars.k\\u{202E}` contains a hidden character, \\u{202E} (U+202E) at character 2\n --> r.yaml:6:7\n"),
            "{}",
            found[1]
        );
    }

    #[test]
    fn ordinary_text_and_layout_raise_nothing() {
        let found = warnings(
            "runbook: r\nsteps:\n  - id: up\n    run: |\n      echo a\n      printf 'b\\tc\\n'\n",
        );
        assert!(found.is_empty(), "{found:?}");
    }
}
