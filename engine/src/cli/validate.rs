//! `quorate validate FILE...`: schema and meaning of runbooks and inventories.

use super::args::ValidateArgs;
use super::exit::{BAD_INPUT, DONE};
use super::inputs::read_source;
use super::report;
use crate::plan::{check_runbook, parse_inventory, parse_runbook, sniff_kind};
use crate::schema::SchemaKind;
use crate::source::Diagnostic;

#[expect(
    clippy::unnecessary_wraps,
    reason = "every subcommand has the same signature"
)]
pub fn run(args: &ValidateArgs) -> Result<u8, Vec<Diagnostic>> {
    let mut all = Vec::new();
    for path in &args.files {
        let problems = match read_source(path) {
            Err(e) => e,
            Ok(source) => match sniff_kind(&source.text) {
                Some(SchemaKind::Inventory) => parse_inventory(source).err().unwrap_or_default(),
                Some(SchemaKind::Runbook) => match parse_runbook(source) {
                    Ok(rb) => check_runbook(&rb),
                    Err(e) => e,
                },
                None => vec![Diagnostic::in_file(
                    &source.name,
                    "neither a runbook nor an inventory",
                )
                .with_hint(
                    "a runbook starts with `runbook: NAME`; an inventory has `name:` and `hosts:`",
                )],
            },
        };
        if problems.is_empty() {
            println!("ok: {}", path.display());
        }
        all.extend(problems);
    }
    if all.is_empty() {
        Ok(DONE)
    } else {
        report(&all);
        Ok(BAD_INPUT)
    }
}
