//! Messages for `oneOf` / `anyOf`: "exactly one of these fields" (a step's action), and
//! values that fit none of several forms. The alternatives' own errors are reported only
//! when one alternative clearly is the one meant.

use jsonschema::error::ValidationErrorKind as Kind;
use jsonschema::{JsonType, ValidationError};
use serde_json::{Map, Value};

use super::describe::{both, code, either, listed_types, shown, type_phrase};
use super::explain::{Explainer, Place};
use super::node::keyword;
use super::suggest::closest;
use super::violation::SchemaViolation;
use crate::source::pointer_push;

/// The errors of each alternative, in schema order.
pub(crate) type Branches = [Vec<ValidationError<'static>>];

impl Explainer<'_> {
    /// No alternative of a `oneOf` / `anyOf` matched.
    pub(crate) fn no_alternative(
        &self,
        error: &ValidationError<'_>,
        branches: &Branches,
        name_place: Option<&Place>,
        place: &Place,
        out: &mut Vec<SchemaViolation>,
    ) {
        let path = error.schema_path().as_str();
        let holder = self.tree.holder(path);
        let instance: &Value = error.instance();
        if let Some((choice, keys)) = self.choice(holder, path) {
            if let Some(object) = instance.as_object() {
                out.extend(self.no_choice(holder, object, place, choice, &keys));
            }
            return;
        }
        // The alternatives whose type fits the value: when there is exactly one, its own
        // errors are the precise story (`retries: -1` is "at least 0", not "not any of").
        let own = error.instance_path().as_str();
        let fitting: Vec<&Vec<ValidationError<'static>>> = branches
            .iter()
            .filter(|branch| !branch.iter().any(|e| is_type_error_at(e, own)))
            .collect();
        if let [branch] = fitting[..] {
            if !branch.is_empty() {
                for inner in branch {
                    self.explain_at(inner, name_place, out);
                }
                return;
            }
        }
        let expected = self
            .tree
            .text(holder, "x-expected")
            .map(str::to_owned)
            .or_else(|| fitting.is_empty().then(|| expected_types(branches, own)));
        let message = match expected {
            Some(expected) => format!(
                "{} must be {expected}, found {}",
                self.subject(place),
                self.found(instance)
            ),
            None => format!(
                "{} does not match any of the allowed forms, found {}",
                self.subject(place),
                self.found(instance)
            ),
        };
        let hint = self
            .did_you_mean_constant(branches, instance)
            .or_else(|| self.tree.text(holder, "x-hint").map(str::to_owned));
        out.push(SchemaViolation {
            pointer: place.pointer.clone(),
            message,
            hint,
            at_key: place.at_key,
        });
    }

    /// More than one alternative of a `oneOf` matched.
    pub(crate) fn many_alternatives(
        &self,
        error: &ValidationError<'_>,
        place: &Place,
        out: &mut Vec<SchemaViolation>,
    ) {
        let path = error.schema_path().as_str();
        let holder = self.tree.holder(path);
        let instance: &Value = error.instance();
        if let Some((choice, keys)) = self.choice(holder, path) {
            // `required` holds for anything that is not a mapping, so a step written as a
            // string matches every alternative; its type error already says what is wrong.
            if let Some(object) = instance.as_object() {
                out.extend(self.several_choices(holder, object, place, choice, &keys));
            }
            return;
        }
        out.push(SchemaViolation {
            pointer: place.pointer.clone(),
            message: format!(
                "{} matches more than one of the allowed forms",
                self.subject(place)
            ),
            hint: self.tree.text(holder, "x-hint").map(str::to_owned),
            at_key: place.at_key,
        });
    }

    /// A `oneOf` whose alternatives are each one required field, on a schema that names
    /// the choice (`x-choice: action`): "exactly one of these fields".
    fn choice<'s>(
        &'s self,
        holder: Option<&'s Value>,
        path: &str,
    ) -> Option<(&'s str, Vec<&'s str>)> {
        if keyword(path) != "oneOf" {
            return None;
        }
        let choice = self.tree.text(holder, "x-choice")?;
        let keys = holder?
            .get("oneOf")?
            .as_array()?
            .iter()
            .map(
                |branch| match branch.get("required")?.as_array()?.as_slice() {
                    [Value::String(key)] if branch.as_object()?.len() == 1 => Some(key.as_str()),
                    _ => None,
                },
            )
            .collect::<Option<Vec<_>>>()?;
        Some((choice, keys))
    }

    /// "step `stop`", or "step" when it has no usable id.
    fn named(&self, holder: Option<&Value>, object: &Map<String, Value>, place: &Place) -> String {
        let what = self.mapping_name(holder, &place.pointer);
        match object.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => format!("{what} {}", code(&shown(&Value::from(id)))),
            _ => what,
        }
    }

    fn no_choice(
        &self,
        holder: Option<&Value>,
        object: &Map<String, Value>,
        place: &Place,
        choice: &str,
        keys: &[&str],
    ) -> Option<SchemaViolation> {
        // `rn: ...` is reported as an unknown field with "did you mean `run`?"; saying the
        // step has no action as well would only repeat it.
        let declared = self.tree.properties(holder);
        let misspelled = object.keys().any(|k| {
            !declared.is_some_and(|d| d.contains_key(k))
                && self
                    .suggest_field(holder, Some(object), k)
                    .is_some_and(|s| keys.contains(&s))
        });
        if misspelled {
            return None;
        }
        Some(SchemaViolation {
            pointer: place.pointer.clone(),
            message: format!("{} has no {choice}", self.named(holder, object, place)),
            hint: Some(format!("add exactly one of {}", keys.join(", "))),
            at_key: true,
        })
    }

    fn several_choices(
        &self,
        holder: Option<&Value>,
        object: &Map<String, Value>,
        place: &Place,
        choice: &str,
        keys: &[&str],
    ) -> Option<SchemaViolation> {
        let present: Vec<&str> = object
            .keys()
            .map(String::as_str)
            .filter(|k| keys.contains(k))
            .collect();
        let second = *present.get(1)?;
        let what = self.mapping_name(holder, &place.pointer);
        let hint = if present.len() == 2 {
            format!("split it into two {what}s")
        } else {
            format!("split it into one {what} per {choice}")
        };
        let listed: Vec<String> = present.iter().map(|k| code(k)).collect();
        Some(SchemaViolation {
            pointer: pointer_push(&place.pointer, second),
            message: format!(
                "{} has {} {choice}s: {}",
                self.named(holder, object, place),
                present.len(),
                both(&listed)
            ),
            hint: Some(hint),
            at_key: true,
        })
    }

    /// "did you mean `fault-tolerance`?" when a string is close to a constant one of the
    /// alternatives allows.
    fn did_you_mean_constant(&self, branches: &Branches, instance: &Value) -> Option<String> {
        let text = instance.as_str().filter(|_| !self.masked)?;
        let constants: Vec<&str> = branches
            .iter()
            .flatten()
            .flat_map(|e| match e.kind() {
                Kind::Constant { expected_value } => {
                    expected_value.as_str().into_iter().collect::<Vec<_>>()
                }
                Kind::Enum { options } => options
                    .as_array()
                    .map(|o| o.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            })
            .collect();
        closest(text, constants).map(|c| format!("did you mean `{c}`?"))
    }
}

fn is_type_error_at(error: &ValidationError<'_>, instance_path: &str) -> bool {
    matches!(error.kind(), Kind::Type { .. }) && error.instance_path().as_str() == instance_path
}

/// "a string or a list": the types the alternatives accept, when each one refused the
/// value for its type.
fn expected_types(branches: &Branches, instance_path: &str) -> String {
    let mut types: Vec<JsonType> = Vec::new();
    let type_errors = branches
        .iter()
        .flatten()
        .filter(|e| e.instance_path().as_str() == instance_path);
    for error in type_errors {
        if let Kind::Type { kind } = error.kind() {
            for t in listed_types(kind) {
                if !types.contains(&t) {
                    types.push(t);
                }
            }
        }
    }
    let phrases: Vec<String> = types
        .into_iter()
        .map(|t| type_phrase(t).to_owned())
        .collect();
    either(&phrases)
}
