//! Bounding of task output: the store keeps the tail, where errors are.

/// Most bytes of stdout (and of stderr) kept per task, cut marker included.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// Keeps the last bytes of `text`, cut on a char boundary, after a marker saying how many bytes
/// were cut. The result is at most [`OUTPUT_LIMIT`] bytes, marker included, so bounding a
/// bounded text changes nothing: a record read back and committed again keeps its marker.
pub fn bound_output(text: String) -> String {
    bound_to(text, OUTPUT_LIMIT)
}

fn bound_to(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    // The count in the marker is at most `text.len()`, so a marker with that many digits is
    // the longest it can be: budgeting for it keeps the result within the limit.
    let budget = limit.saturating_sub(marker(text.len()).len());
    let mut start = text.len() - budget;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let mut bounded = marker(start);
    bounded.push_str(&text[start..]);
    bounded
}

fn marker(cut: usize) -> String {
    format!("[... {cut} bytes cut ...]\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole() {
        assert_eq!(bound_output("ok\n".to_owned()), "ok\n");
        let exact = "x".repeat(OUTPUT_LIMIT);
        assert_eq!(bound_output(exact.clone()), exact);
    }

    #[test]
    fn long_output_keeps_the_tail_after_a_marker() {
        let text = format!("{}END", "a".repeat(100));
        let bounded = bound_to(text, 40);
        // The marker is budgeted with the most digits the count can have, so the result may
        // stay a byte under the limit.
        assert_eq!(
            bounded,
            format!("[... 87 bytes cut ...]\n{}END", "a".repeat(13))
        );
        assert_eq!(bounded.len(), 39);
    }

    #[test]
    fn cut_falls_on_a_char_boundary() {
        // 'é' is two bytes: a cut at an odd offset would split one.
        let text = "é".repeat(100);
        for limit in 30..40 {
            let bounded = bound_to(text.clone(), limit);
            assert!(bounded.len() <= limit, "{limit}: {}", bounded.len());
            let (head, tail) = bounded.split_once('\n').unwrap();
            let cut: usize = head
                .strip_prefix("[... ")
                .and_then(|rest| rest.strip_suffix(" bytes cut ...]"))
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(cut + tail.len(), text.len());
            assert!(tail.chars().all(|c| c == 'é'));
        }
    }

    #[test]
    fn bounding_twice_changes_nothing() {
        let once = bound_output("z".repeat(3 * OUTPUT_LIMIT));
        assert_eq!(bound_output(once.clone()), once);
    }
}
