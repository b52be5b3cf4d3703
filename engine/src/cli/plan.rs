//! `quorate plan` and `quorate graph`.

use super::args::{GraphArgs, GraphFormat, LimitArgs, PlanArgs, PlanFormat};
use super::exit::DONE;
use super::inputs::{compile_from_args, compile_with_sources};
use super::warn;
use crate::plan::{graph, text, Plan};
use crate::source::Diagnostic;

/// Applies `--limit` to a compiled plan; an unknown name is an error with a suggestion.
pub(super) fn apply_limit(plan: &mut Plan, args: &LimitArgs) -> Result<(), Vec<Diagnostic>> {
    if args.limit.is_empty() {
        return Ok(());
    }
    plan.limit_to(&args.limit).map_err(|unknown| {
        unknown
            .into_iter()
            .map(|u| {
                let d = Diagnostic::error(u.to_string());
                match &u.suggestion {
                    Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                    None => d.with_hint("name hosts or groups of the inventory, comma separated"),
                }
            })
            .collect()
    })
}

pub fn run_plan(args: &PlanArgs, cli: &super::args::Cli) -> Result<u8, Vec<Diagnostic>> {
    let (mut compiled, sources) = compile_with_sources(&args.compile, false)?;
    apply_limit(&mut compiled.plan, &args.limit)?;
    warn(&compiled.warnings);
    let json = || serde_json::to_string_pretty(&compiled.plan).unwrap_or_default() + "\n";
    if let Some(path) = &args.out {
        super::saved::save(path, &args.compile, &args.limit, &compiled.plan, sources)?;
    }
    if args.probe {
        let found = super::probe::run_probe(&compiled.plan, &compiled.secrets)?;
        if args.format == PlanFormat::Json {
            let mut value = serde_json::to_value(&compiled.plan).unwrap_or_default();
            value["probe"] = serde_json::to_value(&found).unwrap_or_default();
            outln!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        } else {
            out!(
                "{}{}",
                text::render(&compiled.plan),
                super::probe::render(&found)
            );
        }
        return Ok(DONE);
    }
    match args.format {
        PlanFormat::Text => out!("{}", text::render(&compiled.plan)),
        PlanFormat::Json => out!("{}", json()),
        PlanFormat::Markdown | PlanFormat::Html => {
            out!(
                "{}",
                super::review::plan_artifact(
                    &compiled.plan,
                    args.format,
                    &cli.state,
                    &cli.etcd_options()
                )
            );
        }
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
