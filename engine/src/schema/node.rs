//! Reads the schema around a failed keyword: the node that holds it and the annotations
//! that word messages. The schemas in `schemas/` use these (editors ignore them):
//!
//! - `x-name`: what a mapping is called, as in "unknown field `x` in *copy action*"
//!   (`title` is the fallback).
//! - `x-expected`: what a value should be, as in "`timeout` must be *a duration*".
//! - `x-invalid`: the noun for names and ids, as in "`Stop` is not a valid *step id*".
//! - `x-hint`: the hint for value errors at this node; on a `not` schema, for that `not`.
//! - `x-number-hint`: the hint when a number stands where this string belongs; `{}` is
//!   replaced by the number ("write `30s`").
//! - `x-choice`: on a mapping whose `oneOf` lists one required field per alternative, the
//!   noun for those fields, as in "step `a` has no *action*".
//! - `x-aliases`: other names operators use for fields (`cmd` -> `run`), for "did you mean".

use serde_json::{Map, Value};

/// The schema errors point into. `None` when it is not at hand (errors about a schema
/// itself come from the meta-schema); every lookup then finds nothing.
#[derive(Clone, Copy)]
pub(crate) struct SchemaTree<'a> {
    root: Option<&'a Value>,
}

impl<'a> SchemaTree<'a> {
    pub(crate) fn new(root: Option<&'a Value>) -> Self {
        Self { root }
    }

    /// The node at a schema path (a JSON pointer into the schema, `$ref`s already resolved
    /// by the validator, as in `/$defs/duration/pattern`).
    pub(crate) fn at(self, path: &str) -> Option<&'a Value> {
        self.root?.pointer(path)
    }

    /// The node holding the keyword a schema path ends with.
    pub(crate) fn holder(self, path: &str) -> Option<&'a Value> {
        self.at(parent(path))
    }

    /// An annotation of `node`, or of what its `$ref` points to when the node itself does
    /// not have it (a property is often just a `$ref` plus a description).
    pub(crate) fn annotation(self, node: Option<&'a Value>, key: &str) -> Option<&'a Value> {
        let mut node = node?;
        // A bound, because a schema may be self-referential.
        for _ in 0..16 {
            if let Some(value) = node.get(key) {
                return Some(value);
            }
            node = self.resolve(node.get("$ref")?.as_str()?)?;
        }
        None
    }

    /// A string annotation of `node` (see [`Self::annotation`]).
    pub(crate) fn text(self, node: Option<&'a Value>, key: &str) -> Option<&'a str> {
        self.annotation(node, key)?.as_str()
    }

    /// The properties an object schema declares, in schema order.
    pub(crate) fn properties(self, node: Option<&'a Value>) -> Option<&'a Map<String, Value>> {
        self.annotation(node, "properties")?.as_object()
    }

    fn resolve(self, reference: &str) -> Option<&'a Value> {
        self.root?.pointer(reference.strip_prefix('#')?)
    }
}

/// A schema path without its last segment.
pub(crate) fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The last segment of a schema path: the keyword that failed.
pub(crate) fn keyword(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn annotations_follow_local_refs() {
        let schema = json!({
            "properties": { "timeout": { "$ref": "#/$defs/duration", "description": "d" } },
            "$defs": { "duration": { "x-expected": "a duration", "type": "string" } }
        });
        let tree = SchemaTree::new(Some(&schema));
        let property = tree.at("/properties/timeout");
        assert_eq!(tree.text(property, "description"), Some("d"));
        assert_eq!(tree.text(property, "x-expected"), Some("a duration"));
        assert_eq!(
            tree.text(tree.holder("/$defs/duration/type"), "x-expected"),
            Some("a duration")
        );
        assert_eq!(SchemaTree::new(None).at("/properties"), None);
    }

    #[test]
    fn splits_paths() {
        assert_eq!(parent("/$defs/step/oneOf"), "/$defs/step");
        assert_eq!(keyword("/$defs/step/oneOf"), "oneOf");
        assert_eq!(parent("/type"), "");
    }
}
