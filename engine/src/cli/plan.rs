//! `quorate plan` and `quorate graph`.

use super::args::{GraphArgs, GraphFormat, PlanArgs, PlanFormat};
use super::exit::DONE;
use super::inputs::compile_from_args;
use super::warn;
use crate::plan::{graph, text};
use crate::source::Diagnostic;

pub fn run_plan(args: &PlanArgs) -> Result<u8, Vec<Diagnostic>> {
    let compiled = compile_from_args(&args.compile, false)?;
    warn(&compiled.warnings);
    let json = || serde_json::to_string_pretty(&compiled.plan).unwrap_or_default() + "\n";
    if let Some(path) = &args.out {
        std::fs::write(path, json()).map_err(|e| {
            vec![Diagnostic::error(format!(
                "cannot write the plan to {}: {e}",
                path.display()
            ))]
        })?;
    }
    match args.format {
        PlanFormat::Text => out!("{}", text::render(&compiled.plan)),
        PlanFormat::Json => out!("{}", json()),
    }
    Ok(DONE)
}

pub fn run_graph(args: &GraphArgs) -> Result<u8, Vec<Diagnostic>> {
    let compiled = compile_from_args(&args.compile, false)?;
    warn(&compiled.warnings);
    match args.format {
        GraphFormat::Dot => out!("{}", graph::dot(&compiled.plan)),
        GraphFormat::Mermaid => out!("{}", graph::mermaid(&compiled.plan)),
    }
    Ok(DONE)
}
