//! The saved plan of `plan --out`: the compiled plan with what it was compiled from (the
//! compile arguments, the sha256 of the runbook, included runbooks and inventory) and the
//! cluster fingerprint, under a sha256 digest of a canonical form of all of it, so that
//! `apply` can tell a file edited by hand or cut short from the one reviewed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::types::{Plan, PLAN_FORMAT};
pub use crate::digest::sha256_hex;

/// Version of the saved-plan file format (the plan inside has its own, [`PLAN_FORMAT`]).
pub const SAVED_PLAN_FORMAT: u32 = 1;

/// Longest part of a host's fingerprint answer kept: a hostile host cannot grow the file.
pub const FINGERPRINT_ANSWER_LIMIT: usize = 200;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// The saved-plan format.
    pub saved_plan: u32,
    /// `sha256:` and the hex digest of the canonical JSON of `content` (keys sorted at
    /// every level, no spaces).
    pub digest: String,
    pub content: SavedContent,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedContent {
    /// When the plan was saved (milliseconds since the Unix epoch).
    pub saved_ms: u64,
    /// Who saved it: `user@host`.
    pub saved_by: String,
    /// The compile arguments (absolute paths, `-p` values, flags, `--limit`) that
    /// compile it again; never a secret value (secrets cannot be given with `-p`).
    pub compile: Value,
    pub sources: Sources,
    /// What the cluster looked like; `None` when the inventory has no
    /// `cluster.fingerprint` command.
    pub fingerprint: Option<Fingerprint>,
    pub plan: Plan,
}

/// The files a plan was compiled from, each with the sha256 of its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sources {
    pub runbook: FileHash,
    /// Included runbooks, in the order the compile first resolved them.
    pub includes: Vec<FileHash>,
    pub inventory: FileHash,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    /// The path (or `builtin:NAME`).
    pub path: String,
    pub sha256: String,
}

impl FileHash {
    pub fn of(path: &str, text: &str) -> Self {
        Self {
            path: path.to_owned(),
            sha256: sha256_hex(text.as_bytes()),
        }
    }
}

/// The cluster as read-only commands saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The live voting members `cluster.membership` named, and who answered; `None`
    /// without the command or when no member answered it.
    pub membership: Option<LiveAnswer>,
    /// Each member's `cluster.fingerprint` answer, in member order.
    pub nodes: Vec<NodeFingerprint>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveAnswer {
    pub from: String,
    pub members: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFingerprint {
    pub host: String,
    pub answer: NodeAnswer,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeAnswer {
    /// What the command printed (trimmed, at most [`FINGERPRINT_ANSWER_LIMIT`] characters).
    Version(String),
    /// It could not be asked, or the command failed: why.
    Unreachable(String),
}

/// Why a file is not a saved plan `apply` or `diff` will use.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    #[error("it is cut short: its JSON ends at line {line}, column {column}, before the saved plan is complete (truncated?)")]
    Truncated { line: usize, column: usize },
    #[error("it is not valid JSON: {0}")]
    NotJson(String),
    #[error("it is not a saved plan: it has no `saved_plan`, `digest` and `content` (`quorate plan ... --out FILE` writes one)")]
    NotSaved,
    #[error("it has saved-plan format {0}; this quorate reads format {SAVED_PLAN_FORMAT} (plan the runbook again)")]
    Format(u64),
    #[error("it was changed after it was saved: its content has digest {actual}, not the {recorded} it was saved with")]
    Tampered { recorded: String, actual: String },
    #[error("its plan has plan format {0}; this quorate reads format {PLAN_FORMAT} (plan the runbook again)")]
    PlanFormat(u64),
    #[error("its content cannot be read: {0}")]
    Content(String),
}

impl SavedPlan {
    /// A saved plan of `content`, with its digest.
    pub fn new(content: SavedContent) -> Self {
        let value = serde_json::to_value(&content).unwrap_or(Value::Null);
        Self {
            saved_plan: SAVED_PLAN_FORMAT,
            digest: content_digest(&value),
            content,
        }
    }

    /// The file's text: pretty JSON, ending in a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads a saved plan, refusing one that is cut short, edited (its content no longer
    /// matches its digest) or of another format. The digest is checked over the content
    /// as written, before it is interpreted, so no edit hides in a field this quorate
    /// would ignore.
    pub fn read(text: &str) -> Result<Self, SavedPlanError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            if e.is_eof() {
                SavedPlanError::Truncated {
                    line: e.line(),
                    column: e.column(),
                }
            } else {
                SavedPlanError::NotJson(e.to_string())
            }
        })?;
        let (Some(format), Some(recorded), Some(content)) = (
            value.get("saved_plan"),
            value.get("digest").and_then(Value::as_str),
            value.get("content"),
        ) else {
            return Err(SavedPlanError::NotSaved);
        };
        let format = format.as_u64().unwrap_or(0);
        if format != u64::from(SAVED_PLAN_FORMAT) {
            return Err(SavedPlanError::Format(format));
        }
        let actual = content_digest(content);
        if actual != recorded {
            return Err(SavedPlanError::Tampered {
                recorded: recorded.to_owned(),
                actual,
            });
        }
        let plan_format = content["plan"]["format"].as_u64().unwrap_or(0);
        if plan_format != u64::from(PLAN_FORMAT) {
            return Err(SavedPlanError::PlanFormat(plan_format));
        }
        serde_json::from_value(value).map_err(|e| SavedPlanError::Content(e.to_string()))
    }
}

/// `sha256:` and the hex digest of the canonical JSON of `content`.
pub fn content_digest(content: &Value) -> String {
    format!("sha256:{}", sha256_hex(canonical_json(content).as_bytes()))
}

/// JSON with the keys of every object sorted and no whitespace: the same content gives
/// the same text however the file was formatted.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sorted(value)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_canonical_form_does_not_depend_on_key_order_or_layout() {
        let a: Value = serde_json::from_str(r#"{"b": [1, {"y": 2, "x": 1}], "a": "t"}"#).unwrap();
        let b: Value =
            serde_json::from_str("{\"a\":\"t\",\n \"b\":[1,{\"x\":1,\"y\":2}]}").unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":"t","b":[1,{"x":1,"y":2}]}"#);
        assert_eq!(content_digest(&a), content_digest(&b));
        assert_ne!(content_digest(&a), content_digest(&json!({"a": "u"})));
    }

    #[test]
    fn what_is_not_a_saved_plan_is_named() {
        assert_eq!(
            SavedPlan::read(r#"{"saved_plan": 1, "digest": "sha256:00", "con"#),
            Err(SavedPlanError::Truncated {
                line: 1,
                column: 45
            })
        );
        assert!(matches!(
            SavedPlan::read("{\"a\": 1,}"),
            Err(SavedPlanError::NotJson(_))
        ));
        assert_eq!(
            SavedPlan::read(r#"{"format": 2}"#),
            Err(SavedPlanError::NotSaved)
        );
        assert_eq!(
            SavedPlan::read(r#"{"saved_plan": 9, "digest": "x", "content": {}}"#),
            Err(SavedPlanError::Format(9))
        );
        let content = json!({"plan": {"format": PLAN_FORMAT}});
        let wrong = json!({"saved_plan": 1, "digest": "sha256:00", "content": content});
        assert_eq!(
            SavedPlan::read(&wrong.to_string()),
            Err(SavedPlanError::Tampered {
                recorded: "sha256:00".to_owned(),
                actual: content_digest(&content)
            })
        );
    }
}
