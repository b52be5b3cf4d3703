//! From jsonschema errors to violations: the dispatcher, and the messages about the shape
//! of mappings and lists (unknown and missing fields, repeated items). Alternatives
//! (`oneOf`, `anyOf`) are worded in `alternatives.rs`, single values in `keyword.rs`.

use jsonschema::error::ValidationErrorKind as Kind;
use jsonschema::ValidationError;
use serde_json::{Map, Value};

use super::describe::{code, first_sentence, found, shown, subject};
use super::node::{keyword, SchemaTree};
use super::suggest::closest;
use super::violation::SchemaViolation;
use crate::source::pointer_push;

/// Where a violation points.
#[derive(Clone, Debug)]
pub(crate) struct Place {
    pub(crate) pointer: String,
    pub(crate) at_key: bool,
}

impl Place {
    fn value(pointer: &str) -> Self {
        Self {
            pointer: pointer.to_owned(),
            at_key: false,
        }
    }

    fn key(pointer: &str, key: &str) -> Self {
        Self {
            pointer: pointer_push(pointer, key),
            at_key: true,
        }
    }
}

/// Words errors against one schema.
pub(crate) struct Explainer<'a> {
    pub(crate) tree: SchemaTree<'a>,
    /// What the validated value is called when an error is about it as a whole
    /// ("the runbook", "the value").
    pub(crate) root: String,
    /// Leave values out of messages, because they are secrets.
    pub(crate) masked: bool,
}

impl Explainer<'_> {
    /// Adds the violations `error` stands for to `out` (none, when it only repeats what
    /// another error says better).
    pub(crate) fn explain(&self, error: &ValidationError<'_>, out: &mut Vec<SchemaViolation>) {
        self.explain_at(error, None, out);
    }

    /// `name_place` is set for errors about a property *name*: their instance path is the
    /// mapping's, and the violation belongs on the key.
    pub(crate) fn explain_at(
        &self,
        error: &ValidationError<'_>,
        name_place: Option<&Place>,
        out: &mut Vec<SchemaViolation>,
    ) {
        let place = name_place
            .cloned()
            .unwrap_or_else(|| Place::value(error.instance_path().as_str()));
        let instance: &Value = error.instance();
        let path = error.schema_path().as_str();
        match error.kind() {
            Kind::AdditionalProperties { unexpected }
            | Kind::UnevaluatedProperties { unexpected } => {
                self.unknown_fields(instance, path, &place.pointer, unexpected, out);
            }
            Kind::Required { property } => {
                out.push(self.missing_field(instance, path, &place, property));
            }
            Kind::OneOfNotValid { context } | Kind::AnyOf { context } => {
                self.no_alternative(error, context, name_place, &place, out);
            }
            Kind::OneOfMultipleValid { .. } => self.many_alternatives(error, &place, out),
            Kind::PropertyNames { error: inner } => {
                let name = inner.instance().as_str().unwrap_or_default();
                let place = Place::key(&place.pointer, name);
                self.explain_at(inner, Some(&place), out);
            }
            Kind::UniqueItems => out.push(self.repeated_item(instance, &place)),
            _ => out.push(self.keyword(error, place)),
        }
    }

    /// The field a message is about, in backticks, or the whole value's name.
    pub(crate) fn subject(&self, place: &Place) -> String {
        subject(&place.pointer, &self.root)
    }

    /// A value for a message, in backticks, unless it is a secret.
    pub(crate) fn show(&self, value: &Value) -> String {
        if self.masked {
            "`***`".to_owned()
        } else {
            code(&shown(value))
        }
    }

    pub(crate) fn found(&self, value: &Value) -> String {
        found(value, self.masked)
    }

    /// What a mapping is called: its schema's `x-name` ("step") or `title`, else its
    /// field.
    pub(crate) fn mapping_name(&self, holder: Option<&Value>, pointer: &str) -> String {
        match self
            .tree
            .text(holder, "x-name")
            .or_else(|| self.tree.text(holder, "title"))
        {
            Some(name) => name.to_owned(),
            None => subject(pointer, &self.root),
        }
    }

    fn unknown_fields(
        &self,
        instance: &Value,
        path: &str,
        pointer: &str,
        unexpected: &[String],
        out: &mut Vec<SchemaViolation>,
    ) {
        let holder = self.tree.holder(path);
        let allowed: Vec<&str> = self
            .tree
            .properties(holder)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let what = self.mapping_name(holder, pointer);
        for name in unexpected {
            let split_value = name.contains(' ') && instance.get(name).is_some_and(Value::is_null);
            // The keys of a secret mapping are part of the secret.
            let suggestion = if self.masked {
                None
            } else {
                self.suggest_field(holder, instance.as_object(), name)
            };
            let hint = match suggestion {
                Some(field) => Some(format!("did you mean `{field}`?")),
                // `{ description: a, b }` makes `b` a key: the likely mistake.
                None if split_value && !self.masked => Some(
                    "a comma inside `{ }` ends a value: if this belongs to the value before it, \
                     quote that value"
                        .to_owned(),
                ),
                None if allowed.is_empty() => None,
                None => Some(format!("allowed fields: {}", allowed.join(", "))),
            };
            out.push(SchemaViolation {
                pointer: pointer_push(pointer, name),
                message: format!(
                    "unknown field {} in {what}",
                    self.show(&Value::from(name.as_str()))
                ),
                hint,
                at_key: true,
            });
        }
    }

    /// The declared field an unknown one was probably meant to be: a known alias
    /// (`x-aliases`, e.g. `cmd` -> `run`) or a close spelling of a field not already there.
    pub(crate) fn suggest_field<'s>(
        &'s self,
        holder: Option<&'s Value>,
        present: Option<&Map<String, Value>>,
        name: &str,
    ) -> Option<&'s str> {
        let aliases = self
            .tree
            .annotation(holder, "x-aliases")
            .and_then(Value::as_object);
        if let Some(target) = aliases
            .and_then(|a| a.get(&name.to_lowercase()))
            .and_then(Value::as_str)
        {
            return Some(target);
        }
        let absent = self
            .tree
            .properties(holder)?
            .keys()
            .map(String::as_str)
            .filter(|k| !present.is_some_and(|o| o.contains_key(*k)));
        closest(name, absent)
    }

    fn missing_field(
        &self,
        instance: &Value,
        path: &str,
        place: &Place,
        property: &Value,
    ) -> SchemaViolation {
        let holder = self.tree.holder(path);
        let property = property.as_str().unwrap_or_default();
        if keyword(path) == "dependentRequired" {
            if let Some(trigger) = dependent_trigger(
                self.tree.annotation(holder, "dependentRequired"),
                instance,
                property,
            ) {
                return SchemaViolation {
                    pointer: pointer_push(&place.pointer, trigger),
                    message: format!("`{trigger}` is only allowed with `{property}`"),
                    hint: Some(format!("add `{property}`, or remove `{trigger}`")),
                    at_key: true,
                };
            }
        }
        let hint = self
            .tree
            .properties(holder)
            .and_then(|p| p.get(property))
            .and_then(|schema| self.tree.text(Some(schema), "description"))
            .map(|d| format!("`{property}`: {}", first_sentence(d)));
        SchemaViolation {
            pointer: place.pointer.clone(),
            message: format!(
                "missing field `{property}` in {}",
                self.mapping_name(holder, &place.pointer)
            ),
            hint,
            // A mapping's key ("copy:") says more than its first line; a list item has
            // no key and points at its value.
            at_key: true,
        }
    }

    fn repeated_item(&self, instance: &Value, place: &Place) -> SchemaViolation {
        let items = instance.as_array().map(Vec::as_slice).unwrap_or_default();
        let repeat = (1..items.len()).find_map(|j| {
            let i = items[..j].iter().position(|earlier| *earlier == items[j])?;
            Some((i, j))
        });
        let subject = self.subject(place);
        let Some((i, j)) = repeat else {
            return SchemaViolation {
                pointer: place.pointer.clone(),
                message: format!("{subject} has repeated items"),
                hint: Some("remove the repeated item".to_owned()),
                at_key: place.at_key,
            };
        };
        let message = if items[j].is_object() || items[j].is_array() {
            format!("{subject} has two equal items, [{i}] and [{j}]")
        } else {
            format!("{subject} lists {} more than once", self.show(&items[j]))
        };
        SchemaViolation {
            pointer: pointer_push(&place.pointer, &j.to_string()),
            message,
            hint: Some("remove the repeated item".to_owned()),
            at_key: false,
        }
    }
}

/// The field whose presence made `property` required, under `dependentRequired`.
fn dependent_trigger<'v>(
    dependencies: Option<&Value>,
    instance: &'v Value,
    property: &str,
) -> Option<&'v str> {
    let dependencies = dependencies?.as_object()?;
    instance.as_object()?.keys().map(String::as_str).find(|k| {
        dependencies
            .get(*k)
            .and_then(Value::as_array)
            .is_some_and(|needed| needed.iter().any(|n| n == property))
    })
}
