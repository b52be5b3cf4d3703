//! `env` values as typed parts: literal text and references to secret parameters.
//!
//! A secret never enters a plan as text. Where the runbook writes `{{params.tok}}` in an
//! `env` value, the rendered value holds a [`EnvPart::Secret`] naming it, and only that
//! part is replaced by the secret when the task starts. Any other text, whatever bytes it
//! holds (a host's captured output, a default, a literal), stays literal.
//!
//! To tell the two apart after handlebars has rendered a value, each render puts a token
//! in place of every secret that is random per render and absent from everything the
//! template reads, so no value can forge it; the output is split at those tokens at once.

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One piece of an `env` value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnvPart {
    /// Bytes sent as they are.
    Text(String),
    /// The value of secret parameter `secret` (a name in the run's secrets).
    Secret { secret: String },
}

/// An `env` value: rendered into parts at plan time, or rendered when the task starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnvValue {
    /// No secret in it: the text itself.
    Plain(String),
    /// Literal text and secret references, in order.
    Parts { parts: Vec<EnvPart> },
    /// A template that reads `steps.*` or `run.*`, rendered when the task starts.
    Deferred { deferred: String },
}

impl EnvValue {
    /// A rendered value from its parts: plain text when no secret is in it.
    pub fn from_parts(parts: Vec<EnvPart>) -> Self {
        if parts.iter().all(|p| matches!(p, EnvPart::Text(_))) {
            let mut text = String::new();
            for p in parts {
                if let EnvPart::Text(t) = p {
                    text.push_str(&t);
                }
            }
            return Self::Plain(text);
        }
        Self::Parts { parts }
    }

    /// Whether a secret is in the value (for a deferred one: whether its template reads one).
    pub fn names_secret(&self, secrets: &IndexMap<String, Vec<EnvPart>>) -> bool {
        match self {
            Self::Plain(_) => false,
            Self::Parts { parts } => parts.iter().any(|p| matches!(p, EnvPart::Secret { .. })),
            Self::Deferred { deferred } => crate::template::CompiledTemplate::parse(deferred)
                .is_ok_and(|t| {
                    t.variables().iter().any(|v| {
                        v.path.first().map(String::as_str) == Some("params")
                            && v.path.get(1).is_some_and(|n| secrets.contains_key(n))
                    })
                }),
        }
    }

    /// For display: the text with `(secret NAME)` where a secret goes.
    pub fn shown(&self) -> String {
        match self {
            Self::Plain(t) => t.clone(),
            Self::Parts { parts } => show_parts(parts),
            Self::Deferred { deferred } => deferred.clone(),
        }
    }
}

/// Parts as text, with `(secret NAME)` for each secret.
pub fn show_parts(parts: &[EnvPart]) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            EnvPart::Text(t) => out.push_str(t),
            EnvPart::Secret { secret } => {
                let _ = write!(out, "(secret {secret})");
            }
        }
    }
    out
}

/// Why a rendered value could not be split into parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret parameter `{0}` was changed by a helper; an `env` value may hold it only as {{{{params.{0}}}}}")]
pub struct AlteredSecret(pub String);

/// The tokens of one render: one per secret parameter of the scope.
pub struct SecretTokens<'s> {
    nonce: String,
    /// The scope's secret parameters and what each stands for.
    secrets: &'s IndexMap<String, Vec<EnvPart>>,
}

impl<'s> SecretTokens<'s> {
    /// Tokens for `secrets` that occur nowhere in `context` (what the template reads) nor
    /// in `source` (the template).
    pub fn new(secrets: &'s IndexMap<String, Vec<EnvPart>>, context: &Value, source: &str) -> Self {
        let text = context.to_string();
        loop {
            let nonce = random_hex();
            let lower = nonce.to_ascii_lowercase();
            let upper = nonce.to_ascii_uppercase();
            if ![&text, source]
                .iter()
                .any(|t| t.contains(&lower) || t.contains(&upper))
            {
                return Self { nonce, secrets };
            }
        }
    }

    fn token(&self, index: usize) -> String {
        format!("\u{1}{}-{index}\u{1}", self.nonce)
    }

    /// `params` with each secret parameter set to its token.
    pub fn params(&self, params: &Map<String, Value>) -> Map<String, Value> {
        let mut out = params.clone();
        for (i, name) in self.secrets.keys().enumerate() {
            out.insert(name.clone(), Value::String(self.token(i)));
        }
        out
    }

    /// Splits a rendered value at the tokens. A token a helper changed (`upper`, `json`)
    /// would otherwise be sent as text, so its nonce anywhere else is an error.
    pub fn split(&self, rendered: &str) -> Result<Vec<EnvPart>, AlteredSecret> {
        let mut parts: Vec<EnvPart> = Vec::new();
        let mut rest = rendered;
        let push_text = |parts: &mut Vec<EnvPart>, t: &str| {
            if t.is_empty() {
                return;
            }
            if let Some(EnvPart::Text(last)) = parts.last_mut() {
                last.push_str(t);
            } else {
                parts.push(EnvPart::Text(t.to_owned()));
            }
        };
        let prefix = format!("\u{1}{}-", self.nonce);
        while let Some(at) = rest.find(&prefix) {
            let after = &rest[at + prefix.len()..];
            let token = after.split_once('\u{1}').and_then(|(index, tail)| {
                let i: usize = index.parse().ok()?;
                let (_, parts) = self.secrets.get_index(i)?;
                Some((parts, tail))
            });
            let Some((secret_parts, tail)) = token else {
                return Err(self.altered(rendered));
            };
            push_text(&mut parts, &rest[..at]);
            for p in secret_parts {
                match p {
                    EnvPart::Text(t) => push_text(&mut parts, t),
                    EnvPart::Secret { .. } => parts.push(p.clone()),
                }
            }
            rest = tail;
        }
        push_text(&mut parts, rest);
        let altered = parts.iter().any(|p| match p {
            EnvPart::Text(t) => t.to_ascii_lowercase().contains(&self.nonce),
            EnvPart::Secret { .. } => false,
        });
        if altered {
            return Err(self.altered(rendered));
        }
        Ok(parts)
    }

    /// The secret whose token was changed (the first one, when several were).
    fn altered(&self, rendered: &str) -> AlteredSecret {
        let lower = rendered.to_ascii_lowercase();
        let name = self
            .secrets
            .keys()
            .enumerate()
            .find(|(i, _)| lower.contains(&format!("{}-{i}", self.nonce)))
            .or_else(|| self.secrets.keys().enumerate().next())
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        AlteredSecret(name)
    }
}

/// 128 random bits as lowercase hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS random source: the hasher's per-process random keys, a fresh state each
        // call, so a retry after a collision gets another nonce. It is still checked
        // absent from every input.
        use std::hash::BuildHasher as _;
        let state = std::collections::hash_map::RandomState::new();
        let (a, b) = (state.hash_one(1u8), state.hash_one(2u8));
        bytes[..8].copy_from_slice(&a.to_le_bytes());
        bytes[8..].copy_from_slice(&b.to_le_bytes());
    }
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> IndexMap<String, Vec<EnvPart>> {
        let mut m = IndexMap::new();
        m.insert(
            "tok".to_owned(),
            vec![EnvPart::Secret {
                secret: "tok".to_owned(),
            }],
        );
        m.insert(
            "wrapped".to_owned(),
            vec![
                EnvPart::Text("Bearer ".to_owned()),
                EnvPart::Secret {
                    secret: "tok".to_owned(),
                },
            ],
        );
        m
    }

    #[test]
    fn tokens_become_secret_parts_and_other_text_stays_literal() {
        let secrets = scope();
        let forged = "\u{1}secret:tok\u{1}";
        let tokens = SecretTokens::new(&secrets, &Value::String(forged.to_owned()), "");
        let params = tokens.params(&Map::new());
        let rendered = format!(
            "a{}b{}{forged}",
            params["tok"].as_str().unwrap(),
            params["wrapped"].as_str().unwrap()
        );
        let parts = tokens.split(&rendered).unwrap();
        assert_eq!(
            parts,
            [
                EnvPart::Text("a".to_owned()),
                EnvPart::Secret {
                    secret: "tok".to_owned()
                },
                EnvPart::Text("bBearer ".to_owned()),
                EnvPart::Secret {
                    secret: "tok".to_owned()
                },
                EnvPart::Text(forged.to_owned()),
            ]
        );
        assert_eq!(
            show_parts(&parts),
            format!("a(secret tok)bBearer (secret tok){forged}")
        );
    }

    #[test]
    fn a_token_changed_by_a_helper_is_refused() {
        let secrets = scope();
        let tokens = SecretTokens::new(&secrets, &Value::Null, "");
        let token = tokens.params(&Map::new())["tok"]
            .as_str()
            .unwrap()
            .to_owned();
        let err = tokens.split(&token.to_ascii_uppercase()).unwrap_err();
        assert_eq!(err, AlteredSecret("tok".to_owned()));
        let json = serde_json::to_string(&token).unwrap();
        assert!(tokens.split(&json).is_err());
    }

    #[test]
    fn values_without_secrets_are_plain_text_in_json() {
        let plain = EnvValue::from_parts(vec![EnvPart::Text("x".to_owned())]);
        assert_eq!(serde_json::to_string(&plain).unwrap(), r#""x""#);
        let parts = EnvValue::from_parts(vec![
            EnvPart::Text("x".to_owned()),
            EnvPart::Secret {
                secret: "tok".to_owned(),
            },
        ]);
        let json = serde_json::to_string(&parts).unwrap();
        assert_eq!(json, r#"{"parts":["x",{"secret":"tok"}]}"#);
        assert_eq!(serde_json::from_str::<EnvValue>(&json).unwrap(), parts);
    }
}
