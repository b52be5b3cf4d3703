//! `quorate diff A B`: what changed from one saved plan to another (parameters, quorum
//! math, tasks and their commands, batches), for a reviewer comparing a revision with the
//! plan approved. Exit 0 when they are the same plan, 1 when they differ.

use std::fmt::Write as _;

use super::args::DiffArgs;
use super::exit::{DONE, FAILED};
use super::saved::load;
use crate::exec::compare_fingerprints;
use crate::plan::diff::diff;
use crate::source::{escape, Diagnostic};

pub fn run(args: &DiffArgs) -> Result<u8, Vec<Diagnostic>> {
    let (old, new) = match (load(&args.old), load(&args.new)) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            let mut errors = a.err().unwrap_or_default();
            errors.extend(b.err().unwrap_or_default());
            return Err(errors);
        }
    };
    let (a, b) = (&old.content.plan, &new.content.plan);
    let mut out = String::new();
    let mut differ = false;
    if let Some(d) = diff(a, b) {
        differ = true;
        out.push_str(&d);
    }
    if let (Some(fa), Some(fb)) = (&old.content.fingerprint, &new.content.fingerprint) {
        let changes = compare_fingerprints(fa, fb).changes;
        if !changes.is_empty() {
            differ = true;
            out.push_str("cluster fingerprint:\n");
            for c in changes {
                let _ = writeln!(out, "  {c}");
            }
        }
    }
    let header = format!(
        "--- {} ({})\n+++ {} ({})\n",
        escape::line(&args.old.display().to_string()),
        old.digest,
        escape::line(&args.new.display().to_string()),
        new.digest
    );
    if out.is_empty() {
        outln!("{header}the plans are the same");
    } else {
        out!("{header}{out}");
    }
    Ok(if differ { FAILED } else { DONE })
}
