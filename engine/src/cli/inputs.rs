//! Reading what a compile needs from files and the environment.

use std::path::Path;

use crate::catalog::Catalog;
use crate::model::{load, read_input};
use crate::plan::{
    compile, parse_inventory, parse_runbook, CompileOptions, Compiled, ParamInput, ParamOrigin,
};
use crate::source::{Diagnostic, SourceFile};

use super::args::{CatalogArgs, CompileArgs};

pub fn catalog(args: &CatalogArgs) -> Catalog {
    Catalog::new(args.runbooks.clone())
}

pub fn read_source(path: &Path) -> Result<std::sync::Arc<SourceFile>, Vec<Diagnostic>> {
    read_input(path)
        .map(|text| SourceFile::new(path.display().to_string(), text))
        .map_err(|d| vec![d])
}

/// Loads runbook, inventory and parameters and compiles them; all problems at once.
pub fn compile_from_args(
    args: &CompileArgs,
    require_secrets: bool,
) -> Result<Compiled, Vec<Diagnostic>> {
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
    let mut params = Vec::new();
    for p in &args.params {
        match ParamInput::from_arg(p) {
            Ok(i) => params.push(i),
            Err(d) => errors.push(d),
        }
    }
    if let Some(path) = &args.params_file {
        match read_source(path).and_then(load) {
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
    if !errors.is_empty() {
        return Err(errors);
    }
    for name in runbook.raw.params.keys() {
        let var = ParamInput::env_var(name);
        if let Ok(value) = std::env::var(&var) {
            params.push(ParamInput {
                name: name.clone(),
                value: serde_json::Value::String(value),
                origin: ParamOrigin::Env(var),
            });
        }
    }
    let opts = CompileOptions {
        allow_quorum_loss: args.allow_quorum_loss,
        require_secrets,
        max_tasks: args.max_tasks,
    };
    compile(&runbook, &inventory, &params, &catalog, &opts)
}
