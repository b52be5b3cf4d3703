//! The data a template renders against, and the smallest copy of it a template needs.
//!
//! handlebars owns its context, so rendering from a borrowed `&Value` means copying it.
//! A host's context holds the whole inventory (1,000 hosts cost about half a millisecond
//! to copy), once per template per host; copying only the subtrees the template reads
//! keeps that to a few small values.

use std::collections::BTreeMap;

use handlebars::Context;
use serde_json::{Map, Value};

/// A render context built once and used for several templates; rendering with
/// [`Renderer::render_in`](super::Renderer::render_in) does not copy it.
#[derive(Clone, Debug)]
pub struct TemplateContext(Context);

impl TemplateContext {
    pub fn new(value: Value) -> Self {
        Self(Context::from(value))
    }

    pub fn value(&self) -> &Value {
        self.0.data()
    }

    pub(super) fn handlebars(&self) -> &Context {
        &self.0
    }
}

impl From<Value> for TemplateContext {
    fn from(value: Value) -> Self {
        Self::new(value)
    }
}

/// A copy of `value` holding only what is under `paths` (each copied whole), so a
/// template that reads only those paths renders the same from it.
pub(super) fn pruned(value: &Value, paths: &[&[String]]) -> Value {
    if paths.iter().any(|p| p.is_empty()) {
        return value.clone();
    }
    let Value::Object(map) = value else {
        // Lists are indexed by position: keep them whole rather than renumber.
        return value.clone();
    };
    let mut by_key: BTreeMap<&str, Vec<&[String]>> = BTreeMap::new();
    for path in paths {
        if let Some((first, rest)) = path.split_first() {
            by_key.entry(first).or_default().push(rest);
        }
    }
    let mut out = Map::new();
    for (key, rests) in by_key {
        if let Some(child) = map.get(key) {
            out.insert(key.to_owned(), pruned(child, &rests));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(list: &[&str]) -> Vec<Vec<String>> {
        list.iter()
            .map(|p| p.split('.').map(str::to_owned).collect())
            .collect()
    }

    fn prune(value: &Value, list: &[&str]) -> Value {
        let paths = paths(list);
        let refs: Vec<&[String]> = paths.iter().map(Vec::as_slice).collect();
        pruned(value, &refs)
    }

    #[test]
    fn keeps_only_the_read_subtrees() {
        let value = json!({
            "host": {"name": "n0", "vars": {"dir": "/d", "zone": "a"}},
            "hosts": {"n0": {}, "n1": {}},
            "params": {"v": "1"},
        });
        assert_eq!(
            prune(&value, &["host.vars.dir", "params"]),
            json!({"host": {"vars": {"dir": "/d"}}, "params": {"v": "1"}})
        );
        assert_eq!(
            prune(&value, &["host", "host.vars.dir"]),
            json!({"host": {"name": "n0", "vars": {"dir": "/d", "zone": "a"}}})
        );
    }

    #[test]
    fn missing_paths_stay_missing_and_lists_stay_whole() {
        let value = json!({"a": [{"x": 1}, {"y": 2}], "b": 1});
        assert_eq!(
            prune(&value, &["nope.x", "a.1.y"]),
            json!({"a": [{"x": 1}, {"y": 2}]})
        );
        assert_eq!(prune(&value, &["b.c"]), json!({"b": 1}));
    }
}
