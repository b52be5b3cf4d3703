//! `quorate validate FILE...`: schema and meaning of runbooks and inventories, and
//! warnings (which do not fail it) for hidden characters in them.

use super::args::ValidateArgs;
use super::exit::{BAD_INPUT, DONE};
use super::inputs::{catalog, read_source};
use super::{report, warn};
use crate::catalog::Catalog;
use crate::model::load;
use crate::plan::{check_includes, hidden_text, kind_of, parse_inventory, parse_runbook, Runbook};
use crate::schema::SchemaKind;
use crate::source::Diagnostic;

#[expect(
    clippy::unnecessary_wraps,
    reason = "every subcommand has the same signature"
)]
pub fn run(args: &ValidateArgs) -> Result<u8, Vec<Diagnostic>> {
    let mut all = Vec::new();
    let catalog = catalog(&args.catalog);
    for path in &args.files {
        let problems = match read_source(path) {
            Err(e) => e,
            Ok(source) => check_file(source, &catalog),
        };
        let (errors, warnings): (Vec<_>, Vec<_>) =
            problems.into_iter().partition(Diagnostic::is_error);
        warn(&warnings);
        if errors.is_empty() {
            outln!("ok: {}", path.display());
        }
        all.extend(errors);
    }
    if all.is_empty() {
        Ok(DONE)
    } else {
        report(&all);
        Ok(BAD_INPUT)
    }
}

/// Schema and meaning of one file, whichever kind it is; a runbook's includes are found
/// through `catalog`.
fn check_file(
    source: std::sync::Arc<crate::source::SourceFile>,
    catalog: &Catalog,
) -> Vec<Diagnostic> {
    let doc = match load(std::sync::Arc::clone(&source)) {
        Ok(doc) => doc,
        Err(e) => return e,
    };
    let mut problems = match kind_of(&doc.value) {
        Some(SchemaKind::Inventory) => parse_inventory(source).err().unwrap_or_default(),
        Some(SchemaKind::Runbook) => match parse_runbook(source) {
            // The checks `plan` makes first, all those that need no inventory.
            Ok(rb) => {
                let (runbook, mut problems) = Runbook::validate(&rb);
                problems.extend(check_includes(&runbook, &rb, catalog));
                problems
            }
            Err(e) => e,
        },
        None => {
            let found = match &doc.value {
                serde_json::Value::Object(_) => "a mapping without `runbook:` or `hosts:`",
                serde_json::Value::Array(_) => "a list",
                serde_json::Value::Null => "an empty document",
                _ => "a single value",
            };
            vec![doc
                .error_at("", format!("neither a runbook nor an inventory: found {found}"))
                .with_hint("a runbook is a mapping that starts with `runbook: NAME`; an inventory has `name:` and `hosts:`")]
        }
    };
    problems.extend(hidden_text(&doc));
    problems
}
