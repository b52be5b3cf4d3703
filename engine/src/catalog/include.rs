//! Resolving `include:` for the compiler: a path must stay inside the directory of the
//! runbook being planned (or a `--runbooks` directory) unless the operator allows it, and
//! a file that is not a runbook is refused without showing any of its lines, so that
//! `include: ../../etc/shadow` reveals nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::lookup::{looks_like_path, normalize, Catalog, BUILTIN_PREFIX};
use crate::model::load;
use crate::plan::{parse_runbook_doc, IncludeResolver, LoadedRunbook};
use crate::source::{Diagnostic, SourceFile};

impl Catalog {
    /// From now on, includes by path must name files under the directory of
    /// `runbook_file` (the runbook being planned; none for a built-in) or under a
    /// `--runbooks` directory.
    pub fn confine_includes(&mut self, runbook_file: Option<&str>) {
        let mut roots: Vec<PathBuf> = self.dirs().to_vec();
        if let Some(file) = runbook_file.filter(|f| !f.starts_with(BUILTIN_PREFIX)) {
            let parent = Path::new(file)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| Path::new("."));
            roots.push(parent.to_path_buf());
        }
        self.set_include_roots(roots.iter().map(|r| absolute(r)).collect());
    }

    /// An error when `path` (an include by path) lies outside the allowed directories.
    fn check_confined(&self, name: &str, path: &Path) -> Result<(), Diagnostic> {
        let Some(roots) = self.include_roots() else {
            return Ok(());
        };
        // By name first, touching nothing outside; then by the file itself, so that a
        // symbolic link inside the tree cannot point out of it.
        let lexical = absolute(path);
        let mut inside = roots.iter().any(|r| lexical.starts_with(r));
        if inside {
            if let Ok(real) = path.canonicalize() {
                inside = roots
                    .iter()
                    .filter_map(|r| r.canonicalize().ok())
                    .any(|r| real.starts_with(r));
            }
        }
        if inside {
            return Ok(());
        }
        let shown: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        Err(
            Diagnostic::error(format!(
                "`{name}` is outside the runbook's directory"
            ))
            .with_note(format!("includes may name files under {}", shown.join(", ")))
            .with_hint("move the file next to the runbook, add its directory with `--runbooks`, or pass `--allow-include-outside`"),
        )
    }
}

fn absolute(p: &Path) -> PathBuf {
    normalize(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}

/// The included file as a runbook; a file that is not one (not YAML, or no top-level
/// `runbook:` name) is refused without quoting it.
fn as_runbook(source: Arc<SourceFile>) -> Result<LoadedRunbook, Vec<Diagnostic>> {
    let name = source.name.clone();
    let not_shown = "the file's content is not shown, since it is not a runbook";
    let doc = load(source).map_err(|errors| {
        errors
            .into_iter()
            .take(1)
            .map(|mut d| {
                d.line_text = None;
                d.message = format!("not a runbook: {}", d.message);
                d.with_note(not_shown)
            })
            .collect::<Vec<_>>()
    })?;
    if doc.value.get("runbook").is_none() {
        return Err(vec![Diagnostic::in_file(
            &name,
            format!("{name} is not a runbook: it has no top-level `runbook:` name"),
        )
        .with_note(not_shown)]);
    }
    parse_runbook_doc(doc)
}

impl IncludeResolver for Catalog {
    fn resolve(
        &self,
        name: &str,
        from: &SourceFile,
    ) -> Result<Arc<LoadedRunbook>, Vec<Diagnostic>> {
        let base = if from.name.starts_with(BUILTIN_PREFIX) {
            None
        } else {
            Path::new(&from.name).parent().map(Path::to_path_buf)
        };
        let key = format!(
            "{}\u{0}{name}",
            base.as_deref().unwrap_or(Path::new("")).display()
        );
        let cached = self.included.lock().ok().and_then(|c| c.get(&key).cloned());
        if let Some(loaded) = cached {
            return Ok(loaded);
        }
        if looks_like_path(name) {
            let path = normalize(
                &base
                    .as_deref()
                    .map_or_else(|| PathBuf::from(name), |b| b.join(name)),
            );
            self.check_confined(name, &path).map_err(|d| vec![d])?;
        }
        let source = self.source(name, base.as_deref()).map_err(|d| vec![d])?;
        let loaded = Arc::new(as_runbook(source)?);
        if let Ok(mut cache) = self.included.lock() {
            cache.insert(key, Arc::clone(&loaded));
        }
        Ok(loaded)
    }
}
