//! "Did you mean ...?": the closest of a few known names to a misspelled one.

/// Similarity (Jaro-Winkler, 0 to 1) a candidate needs to be suggested. High enough that
/// unrelated short names (`on`, `id`) are not offered for each other.
const THRESHOLD: f64 = 0.8;

/// The candidate closest to `word`, if any is close enough. Case is ignored; a single
/// edit (one letter added, dropped, changed or two swapped) always counts as close, because
/// Jaro-Winkler undervalues it in very short words (`rn` for `run`); among such, the longer
/// candidate wins, as one edit changes less of it (`rn` is `run` rather than `on`).
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        let lower = candidate.to_lowercase();
        if lower == word {
            return Some(candidate);
        }
        let mut score = strsim::jaro_winkler(&word, &lower);
        if word.chars().count() >= 2 && strsim::damerau_levenshtein(&word, &lower) == 1 {
            score =
                score.max(THRESHOLD + 0.1 * strsim::normalized_damerau_levenshtein(&word, &lower));
        }
        if score >= THRESHOLD && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: [&str; 8] = [
        "id", "needs", "on", "run", "timeout", "only_if", "retries", "start",
    ];

    #[test]
    fn suggests_close_names() {
        assert_eq!(closest("strat", STEP), Some("start"));
        assert_eq!(closest("timout", STEP), Some("timeout"));
        assert_eq!(closest("rn", STEP), Some("run"));
        assert_eq!(closest("Needs", STEP), Some("needs"));
        assert_eq!(closest("onlyif", STEP), Some("only_if"));
        assert_eq!(closest("retry", STEP), Some("retries"));
        assert_eq!(
            closest("accept_new", ["strict", "accept-new"]),
            Some("accept-new")
        );
    }

    #[test]
    fn stays_quiet_when_nothing_is_close() {
        assert_eq!(closest("raft", ["bft", "cft"]), None);
        assert_eq!(closest("x", STEP), None);
        assert_eq!(closest("description", STEP), None);
    }

    #[test]
    fn prefers_the_candidate_one_edit_changes_least() {
        assert_eq!(closest("rn", ["on", "run"]), Some("run"));
        assert_eq!(closest("rn", ["run", "on"]), Some("run"));
    }
}
