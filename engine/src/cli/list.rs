//! `quorate list` and `quorate describe`. Names and descriptions come from runbook files
//! and are shown escaped.

use std::fmt::Write as _;

use serde_json::Value;

use super::args::{CatalogArgs, DescribeArgs};
use super::exit::DONE;
use super::inputs::catalog;
use super::warn;
use crate::catalog::Origin;
use crate::plan::parse_runbook;
use crate::source::{escape, Diagnostic};

#[expect(
    clippy::unnecessary_wraps,
    reason = "every subcommand has the same signature"
)]
pub fn run_list(args: &CatalogArgs) -> Result<u8, Vec<Diagnostic>> {
    let (entries, problems) = catalog(args).list();
    warn(&problems);
    let names: Vec<String> = entries
        .iter()
        .map(|e| escape::line(&e.name).into_owned())
        .collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!("{:width$}  {:28}  DESCRIPTION\n", "NAME", "SOURCE");
    for (e, name) in entries.iter().zip(&names) {
        let source = match &e.origin {
            Origin::Builtin => "built-in".to_owned(),
            Origin::File(p) if e.overrides => format!("{} (overrides built-in)", p.display()),
            Origin::File(p) => p.display().to_string(),
        };
        let source = escape::line(&source);
        let description = e
            .description
            .as_deref()
            .unwrap_or("")
            .split(". ")
            .next()
            .unwrap_or("");
        let description = escape::line(description);
        let _ = writeln!(out, "{name:width$}  {source:28}  {description}");
    }
    out!("{out}");
    Ok(DONE)
}

pub fn run_describe(args: &DescribeArgs) -> Result<u8, Vec<Diagnostic>> {
    let source = catalog(&args.catalog)
        .source(&args.runbook, None)
        .map_err(|d| vec![d])?;
    let rb = parse_runbook(source)?;
    let mut out = format!(
        "{}  ({})\n",
        escape::line(&rb.raw.runbook),
        escape::line(&rb.doc.source.name)
    );
    if let Some(d) = &rb.raw.description {
        let _ = writeln!(out, "\n{}", escape::block(d.trim_end()));
    }
    out.push_str("\nparameters:\n");
    if rb.raw.params.is_empty() {
        out.push_str("  (none)\n");
    }
    for (name, p) in &rb.raw.params {
        let schema = p
            .schema
            .as_ref()
            .map_or_else(|| "any".to_owned(), Value::to_string);
        let requirement = match (&p.default, p.secret) {
            // A secret's default is a secret too.
            (Some(_), true) => format!(
                "default ***, secret: set ${} to override",
                crate::plan::ParamInput::env_var(name)
            ),
            (Some(d), false) => format!("default {d}"),
            (None, true) => format!(
                "required, secret: set ${}",
                crate::plan::ParamInput::env_var(name)
            ),
            (None, false) => "required".to_owned(),
        };
        let _ = writeln!(
            out,
            "  {}  {}  ({})",
            escape::line(name),
            // JSON text: its own escapes are unambiguous; only bidi and invisible
            // characters, which JSON keeps, need showing.
            escape::neutralize(&schema),
            escape::neutralize(&requirement)
        );
        if let Some(d) = &p.description {
            let _ = writeln!(out, "      {}", escape::line(d.trim_end()));
        }
    }
    out.push_str("\nsteps:\n");
    describe_steps(&mut out, &rb.raw.steps, "  ");
    out!("{out}");
    Ok(DONE)
}

fn describe_steps(out: &mut String, steps: &[crate::model::raw::RawStep], indent: &str) {
    for s in steps {
        let d = s
            .description
            .as_deref()
            .map(|d| format!("  {}", escape::line(d.trim_end())))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{indent}{} ({}){d}",
            escape::line(&s.id),
            s.action().key()
        );
        if let Some(r) = &s.rolling {
            describe_steps(out, &r.steps, &format!("{indent}  "));
            if !r.on_failure.is_empty() {
                let _ = writeln!(out, "{indent}  on failure:");
                describe_steps(out, &r.on_failure, &format!("{indent}    "));
            }
        }
    }
}
