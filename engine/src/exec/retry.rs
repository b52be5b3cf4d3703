//! Retry delays: exponential backoff with jitter, capped.

use std::time::Duration;

use crate::plan::Retries;

/// The delay before retry number `attempt` (1 for the first retry).
#[expect(clippy::cast_precision_loss, reason = "delays are far below 2^52 ms")]
pub fn delay(policy: &Retries, attempt: u32, jitter_seed: u64) -> Duration {
    let base = policy.delay.as_millis() as f64;
    let exp = policy
        .backoff
        .max(1.0)
        .powi(i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX));
    let capped = (base * exp)
        .min(policy.max_delay.as_millis() as f64)
        .max(0.0);
    // Up to 20% jitter, so hosts that failed together do not retry in lockstep.
    let jitter = (jitter_seed % 1000) as f64 / 1000.0 * 0.2;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "capped, non-negative milliseconds"
    )]
    Duration::from_millis((capped * (1.0 - jitter)) as u64)
}

/// How often a failure to connect is retried when the step sets no policy.
pub const CONNECT_RETRIES: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Duration as Span;

    #[test]
    fn backs_off_exponentially_up_to_the_cap() {
        let p = Retries {
            count: 5,
            delay: Span::from_millis(100),
            backoff: 2.0,
            max_delay: Span::from_millis(500),
        };
        let d: Vec<u128> = (1..=5).map(|a| delay(&p, a, 0).as_millis()).collect();
        assert_eq!(d, [100, 200, 400, 500, 500]);
        assert!(delay(&p, 3, 999).as_millis() < 400);
    }
}
