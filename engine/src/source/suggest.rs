//! "Did you mean ...?" suggestions for misspelt names.

/// The candidate closest to `name`, when one is close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(name, c), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_close_names() {
        assert_eq!(
            did_you_mean("strat", &["stop", "start", "swap"]),
            Some("start")
        );
        assert_eq!(did_you_mean("xyz", &["stop", "start"]), None);
    }
}
