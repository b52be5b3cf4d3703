//! `lines` and `common_lines`: turn step output into lists a template can decide on.
//!
//! A step result at execution time is `{ "stdout", "exit", "hosts": { HOST: { "stdout",
//! "exit" } } }`; both helpers accept it directly, so `{{max (common_lines steps.ls)}}`
//! reads as the decision it makes.

use std::collections::HashSet;

use serde_json::Value;

/// The non-empty lines of `value`, trailing whitespace trimmed.
///
/// `value` is text, a step result (its `stdout`), or a list of those (flattened).
pub(super) fn lines(value: &Value) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    push_lines(value, "lines", &mut out)?;
    Ok(out)
}

/// The lines every host printed, in the first host's order, without duplicates.
///
/// `value` is a step result (each of its `hosts.*.stdout`) or a list with one entry per
/// host (text, a list of lines, or a host's result with `stdout`).
pub(super) fn common_lines(value: &Value) -> Result<Vec<String>, String> {
    let mut outputs: Vec<Vec<String>> = Vec::new();
    match value {
        Value::Object(step) => {
            let Some(Value::Object(hosts)) = step.get("hosts") else {
                return Err(
                    "`common_lines` needs a step result (with `hosts`) or a list \
                            with one output per host"
                        .to_owned(),
                );
            };
            for (host, result) in hosts {
                let Some(stdout) = result.get("stdout") else {
                    return Err(format!(
                        "`common_lines`: host `{host}` has no `stdout` in this step's result"
                    ));
                };
                let mut host_lines = Vec::new();
                push_lines(stdout, "common_lines", &mut host_lines)?;
                outputs.push(host_lines);
            }
        }
        Value::Array(items) => {
            for item in items {
                let mut host_lines = Vec::new();
                push_lines(item, "common_lines", &mut host_lines)?;
                outputs.push(host_lines);
            }
        }
        other => {
            return Err(format!(
                "`common_lines` needs a step result or a list of outputs, not {}",
                describe(other)
            ));
        }
    }
    let Some((first, others)) = outputs.split_first() else {
        return Ok(Vec::new());
    };
    let others: Vec<HashSet<&str>> = others
        .iter()
        .map(|lines| lines.iter().map(String::as_str).collect())
        .collect();
    let mut seen = HashSet::new();
    Ok(first
        .iter()
        .filter(|line| others.iter().all(|set| set.contains(line.as_str())))
        .filter(|line| seen.insert(line.as_str()))
        .cloned()
        .collect())
}

fn push_lines(value: &Value, helper: &str, out: &mut Vec<String>) -> Result<(), String> {
    match value {
        Value::String(text) => {
            out.extend(
                text.lines()
                    .map(str::trim_end)
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned),
            );
            Ok(())
        }
        Value::Number(n) => {
            out.push(n.to_string());
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|v| push_lines(v, helper, out)),
        Value::Object(result) => match result.get("stdout") {
            Some(stdout) => push_lines(stdout, helper, out),
            None => Err(format!(
                "`{helper}` needs text, a step result or a list, not a mapping without `stdout`"
            )),
        },
        Value::Null | Value::Bool(_) => Err(format!(
            "`{helper}` needs text, a step result or a list, not {}",
            describe(value)
        )),
    }
}

/// How a value is named in messages.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "text".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lines_drops_empty_lines_and_trailing_whitespace() {
        assert_eq!(
            lines(&json!("a  \n\n  b\r\n \nc")).unwrap(),
            ["a", "  b", "c"]
        );
        assert_eq!(lines(&json!("")).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn lines_reads_a_step_result_and_flattens_lists() {
        let step = json!({"stdout": "x\ny\n", "exit": 0, "hosts": {}});
        assert_eq!(lines(&step).unwrap(), ["x", "y"]);
        assert_eq!(
            lines(&json!(["a\nb", ["c"], 7])).unwrap(),
            ["a", "b", "c", "7"]
        );
    }

    #[test]
    fn lines_rejects_what_is_not_output() {
        assert_eq!(
            lines(&json!({"exit": 0})).unwrap_err(),
            "`lines` needs text, a step result or a list, not a mapping without `stdout`"
        );
        assert_eq!(
            lines(&Value::Null).unwrap_err(),
            "`lines` needs text, a step result or a list, not null"
        );
    }

    #[test]
    fn common_lines_keeps_what_every_host_printed_in_first_host_order() {
        let step = json!({"stdout": "", "exit": 0, "hosts": {
            "node0": {"stdout": "c-3\nc-1\nc-2\nc-1\n", "exit": 0},
            "node1": {"stdout": "c-2\nc-3\n", "exit": 0},
            "node2": {"stdout": "c-1\nc-2\nc-3\n", "exit": 0},
        }});
        assert_eq!(common_lines(&step).unwrap(), ["c-3", "c-2"]);
    }

    #[test]
    fn common_lines_takes_a_list_of_outputs() {
        assert_eq!(
            common_lines(&json!(["a\nb\nb", ["b", "a"]])).unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            common_lines(&json!(["a", "b"])).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(common_lines(&json!([])).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn common_lines_rejects_hosts_without_output() {
        let step = json!({"hosts": {"node0": {"stdout": "a"}, "node1": {"exit": 1}}});
        assert_eq!(
            common_lines(&step).unwrap_err(),
            "`common_lines`: host `node1` has no `stdout` in this step's result"
        );
        assert_eq!(
            common_lines(&json!({"stdout": "a"})).unwrap_err(),
            "`common_lines` needs a step result (with `hosts`) or a list with one output per host"
        );
        assert_eq!(
            common_lines(&json!("a")).unwrap_err(),
            "`common_lines` needs a step result or a list of outputs, not text"
        );
    }
}
