//! Messages about one value breaking one keyword: type, pattern, enum, bounds, lengths...
//! The schema node holding the keyword supplies the nouns (`x-expected`, `x-invalid`) and
//! the hint (`x-hint`, `x-number-hint`).

use jsonschema::error::{TypeKind, ValidationErrorKind as Kind};
use jsonschema::{JsonType, ReferencingError, ValidationError};
use serde_json::Value;

use super::describe::{code, either, json_type, listed_types, shown, type_phrase};
use super::explain::{Explainer, Place};
use super::suggest::closest;
use super::violation::SchemaViolation;

impl Explainer<'_> {
    /// The violation for an error about a single value.
    pub(crate) fn keyword(&self, error: &ValidationError<'_>, place: Place) -> SchemaViolation {
        let path = error.schema_path().as_str();
        let holder = self.tree.holder(path);
        let value: &Value = error.instance();
        let subject = self.subject(&place);
        let hint = self.tree.text(holder, "x-hint").map(str::to_owned);
        let (message, hint) =
            if let Some(message) = size(error.kind(), &subject, value, self.masked) {
                (message, hint)
            } else if let Some(message) = bound(error.kind(), &subject, &self.show(value)) {
                (message, hint)
            } else {
                self.words(error, holder, &subject, hint)
            };
        SchemaViolation {
            pointer: place.pointer,
            message,
            hint,
            at_key: place.at_key,
        }
    }

    /// Message and hint for the keywords that are not about sizes or numeric bounds.
    fn words(
        &self,
        error: &ValidationError<'_>,
        holder: Option<&Value>,
        subject: &str,
        hint: Option<String>,
    ) -> (String, Option<String>) {
        let value: &Value = error.instance();
        let shown_value = self.show(value);
        match error.kind() {
            Kind::Type { kind } => self.type_mismatch(holder, kind, value, subject),
            Kind::Pattern { pattern } => {
                let message = if let Some(noun) = self.tree.text(holder, "x-invalid") {
                    format!("{shown_value} is not a valid {noun}")
                } else if let Some(expected) = self.tree.text(holder, "x-expected") {
                    format!("{subject} must be {expected}, found {shown_value}")
                } else {
                    let pattern = code(pattern);
                    format!("{subject} must match the pattern {pattern}, found {shown_value}")
                };
                (message, hint)
            }
            Kind::Enum { options } => {
                let options: &[Value] = options.as_array().map_or(&[], Vec::as_slice);
                let listed: Vec<String> = options.iter().map(|o| code(&shown(o))).collect();
                let message = match listed.as_slice() {
                    [one] => format!("{subject} must be {one}, found {shown_value}"),
                    _ => format!(
                        "{subject} must be one of {}, found {shown_value}",
                        listed.join(", ")
                    ),
                };
                let names = options.iter().filter_map(Value::as_str);
                (message, self.did_you_mean(value, names).or(hint))
            }
            Kind::Constant { expected_value } => {
                let expected = code(&shown(expected_value));
                let message = format!("{subject} must be {expected}, found {shown_value}");
                let names = expected_value.as_str().into_iter();
                (message, self.did_you_mean(value, names).or(hint))
            }
            Kind::Not { .. } => {
                let message = match self.tree.text(holder, "x-expected") {
                    Some(noun) => format!("{shown_value} cannot be used as {noun}"),
                    None => format!("{subject} cannot be {shown_value}"),
                };
                // The `not` schema explains itself best ("`all` is reserved ...").
                let path = error.schema_path().as_str();
                let own = self.tree.text(self.tree.at(path), "x-hint");
                (message, own.map(str::to_owned).or(hint))
            }
            Kind::MultipleOf { multiple_of } => (
                format!("{subject} must be a multiple of {multiple_of}, found {shown_value}"),
                hint,
            ),
            Kind::Format { format } => (
                format!("{subject} must be a valid {format}, found {shown_value}"),
                hint,
            ),
            Kind::FalseSchema => (format!("{subject} is not allowed here"), hint),
            Kind::Contains => (format!("{subject} has no item of the required kind"), hint),
            Kind::UnevaluatedItems { .. } => (format!("{subject} has unexpected items"), hint),
            Kind::Referencing(error) => reference(error),
            Kind::BacktrackLimitExceeded { .. } | Kind::RegexEngineFailure { .. } => (
                format!("{subject} could not be checked: its pattern is too expensive to match"),
                Some("simplify the pattern".to_owned()),
            ),
            Kind::Custom { message, .. } => (format!("{subject}: {message}"), hint),
            // Content checks, and shapes the dispatcher words itself: the library's own
            // words, without the value when it is a secret.
            _ if self.masked => (format!("{subject}: {}", error.masked()), hint),
            _ => (format!("{subject}: {error}"), hint),
        }
    }

    fn type_mismatch(
        &self,
        holder: Option<&Value>,
        kind: &TypeKind,
        value: &Value,
        subject: &str,
    ) -> (String, Option<String>) {
        // The schema's own order ("a string or a boolean"), not the library's.
        let types = declared_types(holder).unwrap_or_else(|| listed_types(kind));
        let phrase = either(
            &types
                .iter()
                .map(|t| type_phrase(*t).to_owned())
                .collect::<Vec<_>>(),
        );
        let containers_only = types
            .iter()
            .all(|t| matches!(t, JsonType::Array | JsonType::Object));
        let expected = match self.tree.text(holder, "x-expected") {
            Some(noun) if containers_only => noun.to_owned(),
            Some(noun) => format!("{noun} ({phrase})"),
            None => phrase,
        };
        let message = format!("{subject} must be {expected}, found {}", self.found(value));
        (message, self.type_hint(holder, &types, value))
    }

    fn type_hint(
        &self,
        holder: Option<&Value>,
        types: &[JsonType],
        value: &Value,
    ) -> Option<String> {
        let wants = |t: JsonType| types.contains(&t);
        if let (Some(n), false) = (value.as_u64(), self.masked) {
            if let Some(template) = self
                .tree
                .text(holder, "x-number-hint")
                .filter(|_| wants(JsonType::String))
            {
                return Some(template.replace("{}", &n.to_string()));
            }
        }
        if let Some(hint) = self.tree.text(holder, "x-hint") {
            return Some(hint.to_owned());
        }
        let text = value.as_str().unwrap_or_default().trim();
        let hint = match value {
            Value::Number(_) | Value::Bool(_) if wants(JsonType::String) => {
                "put the value in quotes to make it a string"
            }
            Value::String(_)
                if (wants(JsonType::Integer) || wants(JsonType::Number))
                    && text.parse::<f64>().is_ok() =>
            {
                "remove the quotes to make it a number"
            }
            Value::String(_)
                if wants(JsonType::Boolean)
                    && ["true", "false", "yes", "no"].contains(&text.to_lowercase().as_str()) =>
            {
                "write `true` or `false`, without quotes"
            }
            _ => return None,
        };
        Some(hint.to_owned())
    }

    fn did_you_mean<'n>(
        &self,
        value: &Value,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Option<String> {
        // A suggestion would tell how close a secret came.
        let text = value.as_str().filter(|_| !self.masked)?;
        closest(text, names).map(|name| format!("did you mean `{name}`?"))
    }
}

/// The types a schema node's `type` keyword lists, in its order.
fn declared_types(holder: Option<&Value>) -> Option<Vec<JsonType>> {
    match holder?.get("type")? {
        Value::String(name) => Some(vec![json_type(name)?]),
        Value::Array(names) => names.iter().map(|n| json_type(n.as_str()?)).collect(),
        _ => None,
    }
}

/// How long a string, list or mapping is.
fn count(value: &Value) -> usize {
    match value {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        _ => 0,
    }
}

/// Messages about lengths of strings and sizes of lists and mappings. A secret's length is
/// not shown.
fn size(kind: &Kind, subject: &str, value: &Value, masked: bool) -> Option<String> {
    let sentence = match kind {
        Kind::MinLength { limit: 1 }
        | Kind::MinItems { limit: 1 }
        | Kind::MinProperties { limit: 1 } => return Some(format!("{subject} must not be empty")),
        Kind::MinLength { limit } => format!(
            "{subject} must be at least {} long",
            counted(*limit, "character")
        ),
        Kind::MaxLength { limit } => format!(
            "{subject} must be at most {} long",
            counted(*limit, "character")
        ),
        Kind::MinItems { limit } => {
            format!("{subject} must have at least {}", counted(*limit, "item"))
        }
        Kind::MaxItems { limit } => {
            format!("{subject} must have at most {}", counted(*limit, "item"))
        }
        Kind::AdditionalItems { limit } => {
            format!(
                "{subject} must have at most {}",
                counted(u64::try_from(*limit).unwrap_or(u64::MAX), "item")
            )
        }
        Kind::MinProperties { limit } => {
            format!("{subject} must have at least {}", counted(*limit, "entry"))
        }
        Kind::MaxProperties { limit } => {
            format!("{subject} must have at most {}", counted(*limit, "entry"))
        }
        _ => return None,
    };
    Some(if masked {
        sentence
    } else {
        format!("{sentence}, found {}", count(value))
    })
}

/// "1 item", "2 items", "3 entries".
fn counted(n: u64, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {noun}s"),
    }
}

/// Messages about numeric bounds.
fn bound(kind: &Kind, subject: &str, found: &str) -> Option<String> {
    let (relation, limit) = match kind {
        Kind::Minimum { limit } => ("at least", limit),
        Kind::Maximum { limit } => ("at most", limit),
        Kind::ExclusiveMinimum { limit } => ("greater than", limit),
        Kind::ExclusiveMaximum { limit } => ("less than", limit),
        _ => return None,
    };
    Some(format!(
        "{subject} must be {relation} {limit}, found {found}"
    ))
}

fn reference(error: &ReferencingError) -> (String, Option<String>) {
    let hint =
        Some("a schema can only refer inside itself, e.g. `$ref: \"#/$defs/NAME\"`".to_owned());
    match error {
        ReferencingError::Unretrievable { uri, .. } => {
            (format!("`$ref` to `{uri}` cannot be resolved"), hint)
        }
        ReferencingError::PointerToNowhere { pointer } => (
            format!("`$ref` points to `#{pointer}`, which is not in the schema"),
            hint,
        ),
        other => (format!("a `$ref` cannot be resolved: {other}"), hint),
    }
}
