//! Parameter values: gathered from `-p`, `--params` files, the environment and defaults,
//! checked against each parameter's schema. Secret values are kept apart from the plan.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::env_value::EnvPart;
use super::types::PlanParam;
use crate::model::raw::RawParam;
use crate::model::{parse_value_text, Document};
use crate::source::{did_you_mean, pointer_push, Diagnostic};

/// Where a parameter value came from; precedence is the order of the variants.
#[derive(Clone, Debug)]
pub enum ParamOrigin {
    /// `-p name=value`: text, read as the parameter's schema type.
    CommandLine,
    /// A `--params` file, or an include's `with:`; the pointer is the value's node.
    File { doc: Arc<Document>, pointer: String },
    /// An environment variable (the name is shown, never the value).
    Env(String),
}

impl ParamOrigin {
    fn rank(&self) -> u8 {
        match self {
            Self::CommandLine => 0,
            Self::File { .. } => 1,
            Self::Env(_) => 2,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::CommandLine => "-p".to_owned(),
            Self::File { doc, .. } => doc.source.name.clone(),
            Self::Env(var) => format!("${var}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ParamInput {
    pub name: String,
    pub value: Value,
    pub origin: ParamOrigin,
}

impl ParamInput {
    /// `-p name=value`.
    pub fn from_arg(arg: &str) -> Result<Self, Diagnostic> {
        let Some((name, value)) = arg.split_once('=') else {
            return Err(
                Diagnostic::error(format!("`-p {arg}` is not of the form name=value"))
                    .with_hint("write -p name=value, e.g. -p version=1.2.0"),
            );
        };
        Ok(Self {
            name: name.trim().to_owned(),
            value: Value::String(value.to_owned()),
            origin: ParamOrigin::CommandLine,
        })
    }

    /// Every top-level key of a `--params` file.
    pub fn from_file(doc: &Arc<Document>) -> Result<Vec<Self>, Diagnostic> {
        let Value::Object(map) = &doc.value else {
            return Err(doc
                .error_at(
                    "",
                    "a params file must be a mapping of parameter names to values",
                )
                .with_hint("write one `name: value` per line"));
        };
        Ok(map
            .iter()
            .map(|(name, value)| Self {
                name: name.clone(),
                value: value.clone(),
                origin: ParamOrigin::File {
                    doc: Arc::clone(doc),
                    pointer: pointer_push("", name),
                },
            })
            .collect())
    }

    /// The environment variable that can carry parameter `name`: `QUORATE_PARAM_NAME`.
    pub fn env_var(name: &str) -> String {
        format!("QUORATE_PARAM_{}", name.to_ascii_uppercase())
    }
}

/// Secret parameter values, kept out of plans, logs and the store.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(BTreeMap<String, String>);

impl Secrets {
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(name.into(), value.into());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// The resolved parameters of one runbook scope.
pub struct ResolvedParams {
    /// Values for templates of the parameters that are not secret.
    pub values: Map<String, Value>,
    /// Each secret parameter, standing for the run's secret of the same name.
    pub secret_refs: IndexMap<String, Vec<EnvPart>>,
    pub display: Vec<PlanParam>,
    pub secrets: Secrets,
}

/// Picks each declared parameter's value, checks it, and reports every problem at once.
/// `runbook_doc` locates the declarations; `require_secrets` is set when the plan is
/// about to run (planning alone never needs a secret's value).
#[expect(
    clippy::too_many_lines,
    reason = "one pass over the declarations keeps every error"
)]
pub fn resolve(
    declared: &IndexMap<String, RawParam>,
    inputs: &[ParamInput],
    runbook_doc: &Document,
    require_secrets: bool,
) -> Result<ResolvedParams, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let names: Vec<&str> = declared.keys().map(String::as_str).collect();
    for input in inputs {
        if !declared.contains_key(&input.name) && !matches!(input.origin, ParamOrigin::Env(_)) {
            let message = format!("unknown parameter `{}`", input.name);
            let d = match &input.origin {
                ParamOrigin::File { doc, pointer } => doc.error_at_key(pointer, message),
                _ => Diagnostic::error(message),
            };
            errors.push(match did_you_mean(&input.name, &names) {
                Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                None if names.is_empty() => d.with_hint(format!(
                    "runbook `{}` takes no parameters",
                    runbook_doc.source.name
                )),
                None => d.with_hint(format!("parameters of this runbook: {}", names.join(", "))),
            });
        }
    }
    let mut resolved = ResolvedParams {
        values: Map::new(),
        secret_refs: IndexMap::new(),
        display: Vec::new(),
        secrets: Secrets::default(),
    };
    for (name, spec) in declared {
        let decl_pointer = pointer_push("/params", name);
        let chosen = inputs
            .iter()
            .filter(|i| &i.name == name)
            .min_by_key(|i| i.origin.rank());
        let (value, origin) = match chosen {
            Some(input) => {
                if spec.secret && matches!(input.origin, ParamOrigin::CommandLine) {
                    errors.push(
                        Diagnostic::error(format!(
                            "secret parameter `{name}` cannot be given with -p"
                        ))
                        .with_note("command lines show in `ps` and in shell history")
                        .with_hint(format!(
                            "set {} or put it in a --params file",
                            ParamInput::env_var(name)
                        )),
                    );
                    continue;
                }
                (
                    coerce(&input.value, spec, &input.origin),
                    Some(&input.origin),
                )
            }
            None => match &spec.default {
                Some(v) => (v.clone(), None),
                None if spec.secret && !require_secrets => {
                    resolved.secret_refs.insert(name.clone(), secret_ref(name));
                    resolved.display.push(PlanParam {
                        name: name.clone(),
                        value: None,
                        secret: true,
                        origin: "not set; needed when the plan runs".to_owned(),
                    });
                    continue;
                }
                None => {
                    let hint = if spec.secret {
                        format!(
                            "set {} or put it in a --params file",
                            ParamInput::env_var(name)
                        )
                    } else {
                        format!("pass -p {name}=VALUE or put it in a --params file")
                    };
                    errors.push(
                        runbook_doc
                            .error_at_key(&decl_pointer, format!("missing parameter `{name}`"))
                            .with_hint(hint),
                    );
                    continue;
                }
            },
        };
        if let Some(schema) = &spec.schema {
            let check = if spec.secret {
                crate::schema::validate_secret
            } else {
                crate::schema::validate_value
            };
            match check(schema, &value) {
                Ok(violations) => {
                    for v in violations {
                        let shown = if spec.secret {
                            "(secret)".to_owned()
                        } else {
                            compact(&value)
                        };
                        let message = format!("parameter `{name}` = {shown}: {}", v.message);
                        let mut d = match origin {
                            Some(ParamOrigin::File { doc, pointer }) => {
                                doc.error_at(&format!("{pointer}{}", v.pointer), message)
                            }
                            None => runbook_doc
                                .error_at(&format!("{decl_pointer}/default{}", v.pointer), message),
                            Some(other) => {
                                Diagnostic::error(format!("{message} (from {})", other.describe()))
                            }
                        };
                        if let Some(h) = v.hint {
                            d = d.with_hint(h);
                        }
                        if spec.secret {
                            // The quoted line holds the value (a default, an include's `with:`).
                            d = d.redact_value();
                        }
                        errors.push(d);
                    }
                }
                Err(message) => errors.push(runbook_doc.error_at(
                    &format!("{decl_pointer}/schema"),
                    format!("the schema of parameter `{name}` is invalid: {message}"),
                )),
            }
        }
        let origin_text = origin.map_or_else(|| "default".to_owned(), ParamOrigin::describe);
        if spec.secret {
            let text = match &value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            resolved.secrets.0.insert(name.clone(), text);
            resolved.secret_refs.insert(name.clone(), secret_ref(name));
            resolved.display.push(PlanParam {
                name: name.clone(),
                value: None,
                secret: true,
                origin: origin_text,
            });
        } else {
            resolved.values.insert(name.clone(), value.clone());
            resolved.display.push(PlanParam {
                name: name.clone(),
                value: Some(value),
                secret: false,
                origin: origin_text,
            });
        }
    }
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(errors)
    }
}

/// A secret parameter of the runbook itself: the run's secret of the same name.
fn secret_ref(name: &str) -> Vec<EnvPart> {
    vec![EnvPart::Secret {
        secret: name.to_owned(),
    }]
}

/// Text from `-p` or the environment becomes the type the schema asks for.
fn coerce(value: &Value, spec: &RawParam, origin: &ParamOrigin) -> Value {
    let Value::String(text) = value else {
        return value.clone();
    };
    if matches!(origin, ParamOrigin::File { .. }) {
        return value.clone();
    }
    let wants_string = spec
        .schema
        .as_ref()
        .and_then(|s| s.get("type"))
        .is_none_or(|t| {
            t == "string"
                || t.as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "string"))
        });
    if wants_string {
        return value.clone();
    }
    parse_value_text(text).unwrap_or_else(|| value.clone())
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}
