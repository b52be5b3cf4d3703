//! Natural ordering (`2.10.0 > 2.9.0`, `checkpoint-100 > checkpoint-99`) and the `max` /
//! `min` helpers built on it.
//!
//! Fleet decisions compare versions and checkpoint names that plain string order gets
//! wrong, so digit runs compare as numbers.

use std::cmp::Ordering;

use serde_json::Value;

use super::lines::describe;

/// The greatest (`Ordering::Greater`) or least (`Ordering::Less`) item of `args`, where an
/// argument that is a list contributes its items. Of equal items, the first wins.
pub(super) fn extreme(helper: &str, args: &[&Value], want: Ordering) -> Result<Value, String> {
    let mut best: Option<&Value> = None;
    for item in args.iter().flat_map(|arg| match arg {
        Value::Array(items) => items.iter().collect(),
        other => vec![*other],
    }) {
        if !matches!(item, Value::String(_) | Value::Number(_)) {
            return Err(format!(
                "`{helper}` compares text and numbers, not {}",
                describe(item)
            ));
        }
        if best.is_none_or(|b| natural_cmp(item, b) == want) {
            best = Some(item);
        }
    }
    best.cloned()
        .ok_or_else(|| format!("`{helper}` of an empty list"))
}

/// Compares two strings or numbers: numerically when both are numbers (or text that
/// parses as one), otherwise run by run with digit runs compared as numbers.
pub(super) fn natural_cmp(a: &Value, b: &Value) -> Ordering {
    if let (Some(x), Some(y)) = (as_number(a), as_number(b)) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    cmp_text(&text(a), &text(b))
}

fn as_number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.parse::<f64>().ok()?,
        _ => return None,
    };
    // "inf" and "NaN" parse as floats but are words here.
    n.is_finite().then_some(n)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn cmp_text(a: &str, b: &str) -> Ordering {
    let mut left = Runs(a);
    let mut right = Runs(b);
    loop {
        match (left.next(), right.next()) {
            (None, None) => break,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match cmp_run(x, y) {
                Ordering::Equal => {}
                unequal => return unequal,
            },
        }
    }
    // Equal run by run ("01" and "1"): fall back to plain order so the order is total.
    a.cmp(b)
}

fn cmp_run(x: &str, y: &str) -> Ordering {
    let is_digits = |s: &str| s.starts_with(|c: char| c.is_ascii_digit());
    if is_digits(x) && is_digits(y) {
        // Compare digit runs of any length without overflow: strip leading zeros, then
        // the longer is greater, then digit by digit.
        let x = x.trim_start_matches('0');
        let y = y.trim_start_matches('0');
        x.len().cmp(&y.len()).then_with(|| x.cmp(y))
    } else {
        x.cmp(y)
    }
}

/// Splits text into maximal runs of ASCII digits and of everything else.
struct Runs<'a>(&'a str);

impl<'a> Iterator for Runs<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let first = self.0.chars().next()?;
        let digits = first.is_ascii_digit();
        let end = self
            .0
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(self.0.len());
        let (run, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(run)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn max(args: &[Value]) -> Result<Value, String> {
        extreme("max", &args.iter().collect::<Vec<_>>(), Ordering::Greater)
    }

    fn min(args: &[Value]) -> Result<Value, String> {
        extreme("min", &args.iter().collect::<Vec<_>>(), Ordering::Less)
    }

    #[test]
    fn versions_and_checkpoints_compare_naturally() {
        assert_eq!(
            max(&[json!(["2.9.0", "2.10.0", "2.1.99"])]),
            Ok(json!("2.10.0"))
        );
        assert_eq!(
            max(&[json!(["checkpoint-99", "checkpoint-100", "checkpoint-7"])]),
            Ok(json!("checkpoint-100"))
        );
        assert_eq!(
            min(&[json!(["checkpoint-99", "checkpoint-100"])]),
            Ok(json!("checkpoint-99"))
        );
    }

    #[test]
    fn numbers_compare_numerically_even_as_text() {
        assert_eq!(max(&[json!("9"), json!(10), json!("8.5")]), Ok(json!(10)));
        assert_eq!(min(&[json!(["-3", "2", "-10"])]), Ok(json!("-10")));
        assert_eq!(max(&[json!(["1.5", "1.25"])]), Ok(json!("1.5")));
    }

    #[test]
    fn several_arguments_and_lists_mix() {
        assert_eq!(max(&[json!(["a1", "a3"]), json!("a2")]), Ok(json!("a3")));
    }

    #[test]
    fn first_of_equals_wins() {
        assert_eq!(max(&[json!(["007", "7", "07"])]), Ok(json!("007")));
    }

    #[test]
    fn digit_runs_longer_than_any_integer_compare() {
        let big = "v123456789012345678901234567890";
        let bigger = "v123456789012345678901234567891";
        assert_eq!(max(&[json!(big), json!(bigger)]), Ok(json!(bigger)));
    }

    #[test]
    fn empty_input_is_an_error_not_an_empty_answer() {
        assert_eq!(max(&[json!([])]), Err("`max` of an empty list".to_owned()));
        assert_eq!(min(&[]), Err("`min` of an empty list".to_owned()));
    }

    #[test]
    fn only_text_and_numbers_compare() {
        assert_eq!(
            max(&[json!(["a", null])]),
            Err("`max` compares text and numbers, not null".to_owned())
        );
        assert_eq!(
            max(&[json!([["a"]])]),
            Err("`max` compares text and numbers, not a list".to_owned())
        );
    }

    #[test]
    fn natural_order_is_consistent() {
        let ordered = ["a", "a1", "a2", "a10", "b", "b01"];
        for (i, x) in ordered.iter().enumerate() {
            for (j, y) in ordered.iter().enumerate() {
                assert_eq!(natural_cmp(&json!(x), &json!(y)), i.cmp(&j), "{x} vs {y}");
            }
        }
    }
}
