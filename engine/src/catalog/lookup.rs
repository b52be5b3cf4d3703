//! Looking runbooks up by name or path, and listing them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::builtin::BUILTIN;
use crate::model::{load, read_input};
use crate::plan::LoadedRunbook;
use crate::source::{did_you_mean, Diagnostic, SourceFile};

/// The prefix under which built-in runbooks are named in diagnostics.
pub const BUILTIN_PREFIX: &str = "<built-in>/";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    File(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub description: Option<String>,
    pub origin: Origin,
    /// A user runbook that replaces the built-in of the same name.
    pub overrides: bool,
}

/// Built-in runbooks plus those of user directories (which win on equal names).
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    dirs: Vec<PathBuf>,
    /// Where includes by path may lead (absolute); `None`: anywhere.
    include_roots: Option<Vec<PathBuf>>,
    /// Included runbooks already read and checked, by where they were named from and
    /// how: a runbook included a thousand times is parsed once.
    pub(super) included: Arc<Mutex<HashMap<String, Arc<LoadedRunbook>>>>,
}

impl Catalog {
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        Self {
            dirs,
            ..Self::default()
        }
    }

    pub(super) fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    pub(super) fn include_roots(&self) -> Option<&[PathBuf]> {
        self.include_roots.as_deref()
    }

    pub(super) fn set_include_roots(&mut self, roots: Vec<PathBuf>) {
        self.include_roots = Some(roots);
    }

    /// Every runbook, built-ins first, each name once; unreadable user files are reported.
    pub fn list(&self) -> (Vec<Entry>, Vec<Diagnostic>) {
        let mut entries: Vec<Entry> = BUILTIN
            .iter()
            .map(|(file, text)| {
                let (name, description) = header(text)
                    .unwrap_or_else(|| (file.trim_end_matches(".yaml").to_owned(), None));
                Entry {
                    name,
                    description,
                    origin: Origin::Builtin,
                    overrides: false,
                }
            })
            .collect();
        let mut problems = Vec::new();
        for (path, text) in self.user_files(&mut problems) {
            let Some((name, description)) = header(&text) else {
                problems.push(
                    Diagnostic::in_file(
                        &path.display().to_string(),
                        "not a runbook (no top-level `runbook:` name)",
                    )
                    .warning(),
                );
                continue;
            };
            let entry = Entry {
                name: name.clone(),
                description,
                origin: Origin::File(path),
                overrides: false,
            };
            match entries.iter().position(|e| e.name == name) {
                Some(i) if entries[i].origin == Origin::Builtin => {
                    entries[i] = Entry {
                        overrides: true,
                        ..entry
                    }
                }
                Some(_) => {}
                None => entries.push(entry),
            }
        }
        (entries, problems)
    }

    /// The source of a runbook: a path (anything with a `/` or a `.yaml`/`.yml` ending,
    /// relative to `base` when given) or a name.
    pub fn source(&self, name: &str, base: Option<&Path>) -> Result<Arc<SourceFile>, Diagnostic> {
        if looks_like_path(name) {
            let path = base.map_or_else(|| PathBuf::from(name), |b| b.join(name));
            return read(&normalize(&path));
        }
        let (entries, _) = self.list();
        match entries.iter().find(|e| e.name == name) {
            Some(Entry {
                origin: Origin::File(path),
                ..
            }) => read(path),
            Some(_) => {
                let (file, text) = BUILTIN
                    .iter()
                    .find(|(_, text)| header(text).is_some_and(|(n, _)| n == name))
                    .ok_or_else(|| {
                        Diagnostic::error(format!("built-in runbook `{name}` is missing"))
                    })?;
                Ok(SourceFile::new(format!("{BUILTIN_PREFIX}{file}"), *text))
            }
            None => {
                let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
                let d = Diagnostic::error(format!("no runbook named `{name}`"));
                Err(match did_you_mean(name, &names) {
                    Some(s) => d.with_hint(format!(
                        "did you mean `{s}`? (`quorate list` shows them all)"
                    )),
                    None => {
                        d.with_hint("`quorate list` shows the runbooks; give a path to use a file")
                    }
                })
            }
        }
    }

    fn user_files(&self, problems: &mut Vec<Diagnostic>) -> Vec<(PathBuf, String)> {
        let mut files = Vec::new();
        for dir in &self.dirs {
            let listing = match std::fs::read_dir(dir) {
                Ok(l) => l,
                Err(e) => {
                    problems.push(Diagnostic::error(format!(
                        "cannot read runbook directory {}: {e}",
                        dir.display()
                    )));
                    continue;
                }
            };
            let mut paths: Vec<PathBuf> = listing
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                        x.eq_ignore_ascii_case("yaml") || x.eq_ignore_ascii_case("yml")
                    })
                })
                .collect();
            paths.sort();
            for path in paths {
                match read_input(&path) {
                    Ok(text) => files.push((path, text)),
                    Err(d) => problems.push(d),
                }
            }
        }
        files
    }
}

pub(super) fn looks_like_path(name: &str) -> bool {
    let ext = Path::new(name)
        .extension()
        .and_then(|x| x.to_str())
        .unwrap_or("");
    name.contains('/') || ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml")
}

/// `a/./b/../c` -> `a/c`, so that one file always has one name (include cycles through
/// `../` are then seen as cycles).
pub(super) fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn read(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    read_input(path).map(|text| SourceFile::new(path.display().to_string(), text))
}

/// A runbook's name and description, read without checking the rest.
fn header(text: &str) -> Option<(String, Option<String>)> {
    let doc = load(SourceFile::new("-", text)).ok()?;
    let name = doc.value.get("runbook")?.as_str()?.to_owned();
    let description = doc
        .value
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some((name, description))
}
