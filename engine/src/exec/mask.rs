//! Masking of secret values in what commands print, before the output is stored, shown,
//! logged, put in an event or read as `steps.*` by a later template.
//!
//! Each secret is looked for as it is, as the shell-quoted word the templates would make
//! of it, and base64-encoded (standard and URL-safe alphabets, with and without padding),
//! the forms a command that echoes, traces (`set -x`) or encodes it prints. Every byte
//! that any occurrence of any form covers is masked, so overlapping occurrences and a
//! secret inside another are masked whole; each masked stretch becomes [`MASK`].
//!
//! Secrets shorter than [`MIN_MASKED_LEN`] bytes are not masked: masking `1` or `on` would
//! rewrite every number and word of the output and hide nothing (a value that short can
//! be guessed anyway).

use aho_corasick::AhoCorasick;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;

use super::attempt::Outcome;
use crate::plan::Secrets;
use crate::template::shell_quote;
use crate::transport::journal::TaskOutcome;

/// What a masked stretch of output becomes.
pub const MASK: &str = "***";

/// Secrets shorter than this many bytes are left in the output.
pub const MIN_MASKED_LEN: usize = 4;

/// The forms of a run's secrets to look for in output.
pub struct SecretMask {
    finder: Option<AhoCorasick>,
}

impl SecretMask {
    /// A mask that changes nothing (a run without secrets).
    pub fn none() -> Self {
        Self { finder: None }
    }

    pub fn new(secrets: &Secrets) -> Self {
        let mut forms: Vec<Vec<u8>> = Vec::new();
        for name in secrets.names() {
            let Some(value) = secrets.get(name) else {
                continue;
            };
            if value.len() < MIN_MASKED_LEN {
                continue;
            }
            forms.push(value.as_bytes().to_vec());
            forms.push(shell_quote(value).as_bytes().to_vec());
            for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
                forms.push(engine.encode(value).into_bytes());
            }
        }
        forms.sort();
        forms.dedup();
        let finder = if forms.is_empty() {
            None
        } else {
            // Building fails only past the automaton's size limits, far beyond any run's
            // secrets; a run must not go on unmasked then, so the forms are kept whole.
            Some(AhoCorasick::new(&forms).expect("secret forms fit an automaton"))
        };
        Self { finder }
    }

    /// `bytes` with every covered stretch replaced by [`MASK`].
    pub fn mask_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let Some(finder) = &self.finder else {
            return bytes.to_vec();
        };
        let mut covered: Vec<(usize, usize)> = finder
            .find_overlapping_iter(bytes)
            .map(|m| (m.start(), m.end()))
            .collect();
        covered.sort_unstable();
        // Stretches covered by overlapping or touching occurrences become one mask.
        let mut stretches: Vec<(usize, usize)> = Vec::new();
        for (start, end) in covered {
            match stretches.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => stretches.push((start, end)),
            }
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        for (start, end) in stretches {
            out.extend_from_slice(&bytes[at..start]);
            out.extend_from_slice(MASK.as_bytes());
            at = end;
        }
        out.extend_from_slice(&bytes[at..]);
        out
    }

    /// A finished command's output, masked (before anything reads it).
    pub fn outcome(&self, mut o: TaskOutcome) -> TaskOutcome {
        o.stdout = self.mask_bytes(&o.stdout);
        o.stderr = self.mask_bytes(&o.stderr);
        o
    }

    /// Every text of an attempt's outcome, masked: output, and the reason, which may quote
    /// it or an error from the host.
    pub fn attempt(&self, outcome: Outcome) -> Outcome {
        if self.finder.is_none() {
            return outcome;
        }
        match outcome {
            Outcome::Done {
                exit,
                stdout,
                stderr,
            } => Outcome::Done {
                exit,
                stdout: self.mask(&stdout),
                stderr: self.mask(&stderr),
            },
            Outcome::Skipped { reason } => Outcome::Skipped {
                reason: self.mask(&reason),
            },
            Outcome::Failed {
                exit,
                stdout,
                stderr,
                reason,
                connect,
            } => Outcome::Failed {
                exit,
                stdout: self.mask(&stdout),
                stderr: self.mask(&stderr),
                reason: self.mask(&reason),
                connect,
            },
            Outcome::AwaitingApproval { message } => Outcome::AwaitingApproval {
                message: self.mask(&message),
            },
        }
    }

    /// Text with every covered stretch replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        if self.finder.is_none() {
            return text.to_owned();
        }
        String::from_utf8_lossy(&self.mask_bytes(text.as_bytes())).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::bound_output;

    fn mask_of(values: &[&str]) -> SecretMask {
        let mut secrets = Secrets::default();
        for (i, v) in values.iter().enumerate() {
            secrets.insert(format!("s{i}"), *v);
        }
        SecretMask::new(&secrets)
    }

    #[test]
    fn plain_quoted_and_base64_forms_are_masked() {
        let mask = mask_of(&["hunter2's key"]);
        let text = format!(
            "plain hunter2's key\nquoted {}\nb64 {}\nurl {}\nnopad {}\n",
            shell_quote("hunter2's key"),
            STANDARD.encode("hunter2's key"),
            URL_SAFE.encode("hunter2's key"),
            STANDARD_NO_PAD.encode("hunter2's key"),
        );
        assert_eq!(
            mask.mask(&text),
            "plain ***\nquoted ***\nb64 ***\nurl ***\nnopad ***\n"
        );
    }

    #[test]
    fn url_safe_alphabet_differs_and_is_masked_too() {
        // Bytes whose base64 holds `+` and `/`: the URL-safe form has `-` and `_`.
        let secret = "\u{fb}\u{ff}\u{fe}>?";
        let std = STANDARD_NO_PAD.encode(secret);
        let url = URL_SAFE_NO_PAD.encode(secret);
        assert_ne!(std, url);
        let mask = mask_of(&[secret]);
        assert_eq!(mask.mask(&format!("{std} {url}")), "*** ***");
    }

    #[test]
    fn overlapping_occurrences_are_masked_as_one_stretch() {
        let mask = mask_of(&["abcabc"]);
        assert_eq!(mask.mask("xabcabcabcx"), "x***x");
    }

    #[test]
    fn several_secrets_and_one_inside_another() {
        let mask = mask_of(&["token", "my-token-2", "other"]);
        assert_eq!(
            mask.mask("a token, my-token-2 and other; tokenother"),
            "a ***, *** and ***; ***"
        );
    }

    #[test]
    fn short_secrets_are_left_alone() {
        let mask = mask_of(&["on", "abc"]);
        assert_eq!(mask.mask("on abc"), "on abc");
        assert_eq!(mask_of(&["abcd"]).mask("abcd"), "***");
    }

    #[test]
    fn output_without_secrets_is_unchanged() {
        assert_eq!(mask_of(&["secret-value"]).mask("héllo\n"), "héllo\n");
        assert_eq!(SecretMask::none().mask("secret-value"), "secret-value");
    }

    #[test]
    fn masking_before_the_bound_leaves_no_piece_of_a_secret_at_the_cut() {
        let secret = "S3CRET-VALUE-0123456789";
        let mask = mask_of(&[secret]);
        let limit = crate::store::OUTPUT_LIMIT;
        // The store keeps the tail after a 27-byte marker (for a 6-digit count): `kept`
        // bytes of the secret fall after the cut.
        for kept in [1, 5, 11, secret.len() - 1] {
            let tail = "t".repeat(limit - 27 - kept);
            let text = format!("{}{secret}{tail}", "h".repeat(limit));
            let careless = bound_output(text.clone());
            let leaked = &secret[secret.len() - kept..];
            assert!(
                careless.ends_with(&format!("\n{leaked}{tail}")),
                "the cut falls inside the secret ({kept})"
            );
            let stored = bound_output(mask.mask(&text));
            assert!(stored.len() <= limit);
            let (_, body) = stored.split_once('\n').unwrap();
            assert!(
                body.chars().all(|c| matches!(c, 'h' | 't' | '*')),
                "{kept}: a piece of the secret was kept"
            );
        }
    }

    #[test]
    fn invalid_utf8_around_a_secret_does_not_hide_it() {
        let mask = mask_of(&["secretvalue"]);
        let mut bytes = vec![0xe2];
        bytes.extend_from_slice(b"secretvalue");
        bytes.push(0xff);
        assert_eq!(mask.mask_bytes(&bytes), b"\xe2***\xff");
    }
}
