//! Reading runbook and inventory files: YAML, then schema, then the typed shapes.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::compile::LoadedRunbook;
use crate::model::raw::{RawInventory, RawRunbook};
use crate::model::{load, Document, Inventory};
use crate::schema::{validate, SchemaKind};
use crate::source::{Diagnostic, SourceFile};

fn typed<T: DeserializeOwned>(
    kind: SchemaKind,
    doc: Document,
) -> Result<(T, Arc<Document>), Vec<Diagnostic>> {
    if let Some(actual) = kind_of(&doc.value) {
        if actual != kind {
            let (is, wanted) = (actual.noun(), kind.noun());
            let hint = match kind {
                SchemaKind::Inventory => {
                    "give the inventory with -i, and the runbook as the first argument"
                }
                SchemaKind::Runbook => {
                    "give the runbook as the first argument, and the inventory with -i"
                }
            };
            return Err(vec![doc
                .error_at(
                    "",
                    format!(
                        "this file is {} {is}, not {} {wanted}",
                        article(is),
                        article(wanted)
                    ),
                )
                .with_hint(hint)]);
        }
    }
    let violations = validate(kind, &doc);
    if !violations.is_empty() {
        return Err(violations);
    }
    match serde_json::from_value::<T>(doc.value.clone()) {
        Ok(raw) => Ok((raw, Arc::new(doc))),
        // The schema admits only what the types read; this is a safety net, not a path.
        Err(e) => Err(vec![Diagnostic::in_file(
            &doc.source.name,
            format!("cannot read the file: {e}"),
        )]),
    }
}

pub fn parse_runbook(source: Arc<SourceFile>) -> Result<LoadedRunbook, Vec<Diagnostic>> {
    parse_runbook_doc(load(source)?)
}

/// [`parse_runbook`] of a file already loaded as YAML.
pub fn parse_runbook_doc(doc: Document) -> Result<LoadedRunbook, Vec<Diagnostic>> {
    let (raw, doc) = typed::<RawRunbook>(SchemaKind::Runbook, doc)?;
    Ok(LoadedRunbook { raw, doc })
}

pub fn parse_inventory(source: Arc<SourceFile>) -> Result<Inventory, Vec<Diagnostic>> {
    let (raw, doc) = typed::<RawInventory>(SchemaKind::Inventory, load(source)?)?;
    Inventory::from_raw(raw, doc)
}

/// Which kind of file a document is, by its top-level keys.
pub fn kind_of(value: &serde_json::Value) -> Option<SchemaKind> {
    let map = value.as_object()?;
    if map.contains_key("runbook") || map.contains_key("steps") {
        Some(SchemaKind::Runbook)
    } else if map.contains_key("hosts") || map.contains_key("cluster") || map.contains_key("groups")
    {
        Some(SchemaKind::Inventory)
    } else {
        None
    }
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}
