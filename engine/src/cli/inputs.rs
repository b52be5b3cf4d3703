//! Reading what a compile needs from files and the environment.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use crate::catalog::Catalog;
use crate::model::{load, read_input, Document};
use crate::plan::saved::{FileHash, Sources};
use crate::plan::{
    compile, hidden_text, parse_inventory, parse_runbook, CompileOptions, Compiled,
    IncludeResolver, LoadedRunbook, ParamInput, ParamOrigin,
};
use crate::source::{escape, Diagnostic, SourceFile};

use super::args::{CatalogArgs, CompileArgs};

pub fn catalog(args: &CatalogArgs) -> Catalog {
    Catalog::new(args.runbooks.clone())
}

pub fn read_source(path: &Path) -> Result<std::sync::Arc<SourceFile>, Vec<Diagnostic>> {
    read_text(path).map(|text| SourceFile::new(path.display().to_string(), text))
}

fn read_text(path: &Path) -> Result<String, Vec<Diagnostic>> {
    read_input(path).map_err(|d| vec![d])
}

/// Reads and parses a `--params` file. Its values may be secrets, and which are is only
/// known once it is parsed: a problem found while parsing it (YAML syntax, a duplicate
/// key) is shown without its source line, and later diagnostics quote its lines with the
/// values replaced by `***` (see [`SourceFile::hiding_values`]).
pub fn read_params_file(path: &Path) -> Result<Document, Vec<Diagnostic>> {
    let text = read_text(path)?;
    load(SourceFile::hiding_values(path.display().to_string(), text)).map_err(|errors| {
        errors
            .into_iter()
            .map(Diagnostic::without_source_line)
            .collect()
    })
}

/// The value of `QUORATE_PARAM_NAME` for parameter `name`, if set. A value that is not
/// UTF-8 is an error naming the variable (never showing the value).
pub fn param_from_env(name: &str) -> Result<Option<(String, String)>, Diagnostic> {
    let var = ParamInput::env_var(name);
    match std::env::var(&var) {
        Ok(value) => Ok(Some((var, value))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Diagnostic::error(format!(
            "environment variable {var} (parameter `{name}`) is not valid UTF-8"
        ))
        .with_hint(format!("set {var} to UTF-8 text, or unset it"))),
    }
}

/// The `-p` arguments; a parameter given twice is refused rather than one value silently
/// winning.
fn command_line_params(args: &[String], errors: &mut Vec<Diagnostic>) -> Vec<ParamInput> {
    let mut params: Vec<ParamInput> = Vec::new();
    for p in args {
        match ParamInput::from_arg(p) {
            Ok(i) if params.iter().any(|seen| seen.name == i.name) => errors.push(
                Diagnostic::error(format!("parameter `{}` is given twice with -p", i.name))
                    .with_hint("give each parameter once"),
            ),
            Ok(i) => params.push(i),
            Err(d) => errors.push(d),
        }
    }
    params
}

/// The catalog, noting the hidden-text warnings of each runbook it resolves an include to.
struct Noting<'c> {
    catalog: &'c Catalog,
    seen: RefCell<Vec<String>>,
    /// The included runbooks resolved, with the hash of their text, for a saved plan.
    hashes: RefCell<Vec<FileHash>>,
    warnings: RefCell<Vec<Diagnostic>>,
}

impl IncludeResolver for Noting<'_> {
    fn resolve(
        &self,
        name: &str,
        from: &SourceFile,
    ) -> Result<Arc<LoadedRunbook>, Vec<Diagnostic>> {
        let rb = self.catalog.resolve(name, from)?;
        let file = &rb.doc.source.name;
        if !self.seen.borrow().contains(file) {
            self.seen.borrow_mut().push(file.clone());
            self.hashes
                .borrow_mut()
                .push(FileHash::of(file, &rb.doc.source.text));
            self.warnings.borrow_mut().extend(hidden_text(&rb.doc));
        }
        Ok(rb)
    }
}

/// Loads runbook, inventory and parameters and compiles them; all problems at once.
pub fn compile_from_args(
    args: &CompileArgs,
    require_secrets: bool,
) -> Result<Compiled, Vec<Diagnostic>> {
    compile_with_sources(args, require_secrets).map(|(compiled, _)| compiled)
}

/// [`compile_from_args`], also telling which files the plan was compiled from, each
/// with the hash of its text.
pub fn compile_with_sources(
    args: &CompileArgs,
    require_secrets: bool,
) -> Result<(Compiled, Sources), Vec<Diagnostic>> {
    let mut catalog = catalog(&args.catalog);
    let mut errors = Vec::new();
    let source = catalog.source(&args.runbook, None);
    if !args.allow_include_outside {
        catalog.confine_includes(source.as_ref().ok().map(|s| s.name.as_str()));
    }
    let runbook = source
        .map_err(|d| vec![d])
        .and_then(parse_runbook)
        .map_err(|e| errors.extend(e))
        .ok();
    let inventory = read_source(&args.inventory)
        .and_then(parse_inventory)
        .map_err(|e| errors.extend(e))
        .ok();
    let mut params = command_line_params(&args.params, &mut errors);
    if let Some(path) = &args.params_file {
        match read_params_file(path) {
            Ok(doc) => match ParamInput::from_file(&std::sync::Arc::new(doc)) {
                Ok(list) => params.extend(list),
                Err(d) => errors.push(d),
            },
            Err(e) => errors.extend(e),
        }
    }
    let (Some(runbook), Some(inventory)) = (runbook, inventory) else {
        return Err(errors);
    };
    for name in runbook.raw.params.keys() {
        match param_from_env(name) {
            Ok(Some((var, value))) => params.push(ParamInput {
                name: name.clone(),
                value: serde_json::Value::String(value),
                origin: ParamOrigin::Env(var),
            }),
            Ok(None) => {}
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let opts = CompileOptions {
        allow_quorum_loss: args.allow_quorum_loss,
        require_secrets,
        max_tasks: args.max_tasks,
    };
    let includes = Noting {
        catalog: &catalog,
        seen: RefCell::new(Vec::new()),
        hashes: RefCell::new(Vec::new()),
        warnings: RefCell::new(Vec::new()),
    };
    let mut compiled = compile(&runbook, &inventory, &params, &includes, &opts)?;
    let mut hidden = hidden_text(&runbook.doc);
    hidden.extend(includes.warnings.into_inner());
    hidden.extend(hidden_text(&inventory.doc));
    let secret = |p: &&ParamInput| runbook.raw.params.get(&p.name).is_some_and(|d| d.secret);
    hidden.extend(
        params
            .iter()
            .filter(|p| !secret(p))
            .filter_map(hidden_param),
    );
    compiled.warnings.extend(hidden);
    let sources = Sources {
        runbook: FileHash::of(&runbook.doc.source.name, &runbook.doc.source.text),
        includes: includes.hashes.into_inner(),
        inventory: FileHash::of(&inventory.doc.source.name, &inventory.doc.source.text),
    };
    Ok((compiled, sources))
}

/// A warning for a parameter value that holds a hidden character, at its place in a
/// params file or named by where it came from. Secret values are not looked at: the
/// warning would tell something about them.
fn hidden_param(p: &ParamInput) -> Option<Diagnostic> {
    let text = p
        .value
        .as_str()
        .map_or_else(|| p.value.to_string(), str::to_owned);
    let (_, c) = escape::first_hidden(&text)?;
    let message = format!(
        "the value of parameter `{}` contains a hidden character, {} (U+{:04X})",
        escape::line(&p.name),
        escape::escaped_char(c),
        u32::from(c)
    );
    let d = match &p.origin {
        ParamOrigin::File { doc, pointer } => doc.error_at(pointer, message),
        ParamOrigin::CommandLine => Diagnostic::error(format!("{message}, given with -p")),
        ParamOrigin::Env(var) => Diagnostic::error(format!("{message}, given in ${var}")),
    };
    Some(
        d.warning()
            .with_hint("quorate shows it escaped; remove it unless it is meant"),
    )
}
