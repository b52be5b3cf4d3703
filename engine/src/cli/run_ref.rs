//! RUN arguments as people type them: a whole id, `latest` (the newest run), or any prefix
//! of an id that only one run has.

use std::fmt::Write as _;
use std::path::Path;

use crate::source::{escape, Diagnostic};
use crate::store::{RunReader, StoreError};

/// The word that means the newest run.
pub const LATEST: &str = "latest";

/// Candidates named in an error about an ambiguous prefix; more are counted.
const LISTED: usize = 10;

/// Closest ids suggested for an unknown one.
const SUGGESTED: usize = 3;

/// Why a RUN argument names no single run.
#[derive(Debug, PartialEq, Eq)]
pub enum RefError {
    Empty,
    Ambiguous(Vec<String>),
    Unknown { closest: Vec<String> },
}

/// Resolves `arg` among `ids`, newest first: an exact id wins, then `latest`, then a
/// prefix that exactly one id starts with.
pub fn resolve_among(ids: &[String], arg: &str) -> Result<String, RefError> {
    if let Some(id) = ids.iter().find(|id| *id == arg) {
        return Ok(id.clone());
    }
    if ids.is_empty() {
        return Err(RefError::Empty);
    }
    if arg == LATEST {
        return Ok(ids[0].clone());
    }
    let matching: Vec<String> = if arg.is_empty() {
        Vec::new()
    } else {
        ids.iter()
            .filter(|id| id.starts_with(arg))
            .cloned()
            .collect()
    };
    match matching.len() {
        1 => Ok(matching.into_iter().next().unwrap_or_default()),
        0 => {
            let mut scored: Vec<(f64, &String)> = ids
                .iter()
                .map(|id| (strsim::jaro_winkler(arg, id), id))
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            Err(RefError::Unknown {
                closest: scored
                    .into_iter()
                    .take(SUGGESTED)
                    .map(|(_, id)| id.clone())
                    .collect(),
            })
        }
        _ => Err(RefError::Ambiguous(matching)),
    }
}

/// What to tell the operator about a RUN argument that names no single run.
pub fn ref_diagnostic(state: &Path, arg: &str, error: RefError) -> Diagnostic {
    let arg = escape::line(arg);
    let dir = state.display();
    match error {
        RefError::Empty => Diagnostic::error(format!("no run `{arg}` in {dir}: it has no runs")),
        RefError::Ambiguous(ids) => {
            let mut listed = ids
                .iter()
                .take(LISTED)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if ids.len() > LISTED {
                let _ = write!(listed, " and {} more", ids.len() - LISTED);
            }
            Diagnostic::error(format!(
                "run `{arg}` is ambiguous: {} runs start with it: {listed}",
                ids.len()
            ))
            .with_hint("type more of the id")
        }
        RefError::Unknown { closest } => Diagnostic::error(format!("no run `{arg}` in {dir}"))
            .with_hint(format!(
                "the closest ids are {} (`quorate runs` lists them all)",
                closest.join(", ")
            )),
    }
}

/// Resolves a RUN argument against the runs `reader` holds: the run's id, or the
/// diagnostic (exit code 2) or the store failure.
pub fn resolve_run(
    reader: &dyn RunReader,
    state: &Path,
    arg: &str,
) -> Result<Result<String, Diagnostic>, StoreError> {
    // An exact id is looked up directly: no need to list a long history.
    if reader.run(arg)?.is_some() {
        return Ok(Ok(arg.to_owned()));
    }
    let ids: Vec<String> = reader.runs()?.into_iter().map(|r| r.id).collect();
    Ok(resolve_among(&ids, arg).map_err(|e| ref_diagnostic(state, arg, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        [
            "20261121-110759-20ae",
            "20261121-103412-7f3a",
            "20261120-090000-7f3b",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    #[test]
    fn latest_exact_and_unique_prefix() {
        assert_eq!(resolve_among(&ids(), "latest").unwrap(), ids()[0]);
        assert_eq!(
            resolve_among(&ids(), "20261121-103412-7f3a").unwrap(),
            ids()[1]
        );
        assert_eq!(resolve_among(&ids(), "20261120").unwrap(), ids()[2]);
    }

    #[test]
    fn an_ambiguous_prefix_lists_its_candidates() {
        assert_eq!(
            resolve_among(&ids(), "20261121"),
            Err(RefError::Ambiguous(ids()[..2].to_vec()))
        );
        let d = ref_diagnostic(Path::new("st"), "20261121", RefError::Ambiguous(ids()));
        assert_eq!(
            d.message,
            "run `20261121` is ambiguous: 3 runs start with it: 20261121-110759-20ae, \
             20261121-103412-7f3a, 20261120-090000-7f3b"
        );
    }

    #[test]
    fn an_unknown_id_names_the_closest_and_an_empty_store_says_so() {
        let Err(RefError::Unknown { closest }) = resolve_among(&ids(), "20261120-090000-7f3c")
        else {
            panic!("expected unknown");
        };
        assert_eq!(closest[0], "20261120-090000-7f3b");
        assert_eq!(resolve_among(&[], "latest"), Err(RefError::Empty));
        assert!(matches!(
            resolve_among(&ids(), ""),
            Err(RefError::Unknown { .. })
        ));
    }
}
