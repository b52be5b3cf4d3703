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
    source: Arc<SourceFile>,
) -> Result<(T, Arc<Document>), Vec<Diagnostic>> {
    let doc = load(source)?;
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
    let (raw, doc) = typed::<RawRunbook>(SchemaKind::Runbook, source)?;
    Ok(LoadedRunbook { raw, doc })
}

pub fn parse_inventory(source: Arc<SourceFile>) -> Result<Inventory, Vec<Diagnostic>> {
    let (raw, doc) = typed::<RawInventory>(SchemaKind::Inventory, source)?;
    Inventory::from_raw(raw, doc)
}

/// Which kind of file a document is, by its top-level key.
pub fn sniff_kind(text: &str) -> Option<SchemaKind> {
    for line in text.lines() {
        if line.starts_with("runbook:") {
            return Some(SchemaKind::Runbook);
        }
        if line.starts_with("hosts:") || line.starts_with("cluster:") {
            return Some(SchemaKind::Inventory);
        }
    }
    None
}
