//! Pure retry timing: exponential backoff with full jitter, honouring `Retry-After`.

use std::time::Duration;

use crate::config::HttpPolicy;

/// Delay before retry number `attempt` (0 = first retry): a uniformly random duration in
/// `[0, min(cap, base * 2^attempt)]` (full jitter), but never less than the server's
/// `Retry-After` (itself clamped to `policy.max_retry_after`).
pub fn retry_delay(attempt: u32, policy: &HttpPolicy, retry_after: Option<Duration>) -> Duration {
    retry_delay_with_jitter(attempt, policy, retry_after, rand::random::<f64>())
}

/// [`retry_delay`] with the random factor given (`jitter` in `[0, 1]`), for tests.
pub fn retry_delay_with_jitter(
    attempt: u32,
    policy: &HttpPolicy,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let exp = policy
        .backoff_base
        .saturating_mul(2u32.saturating_pow(attempt.min(30)));
    let ceiling = exp.min(policy.backoff_cap);
    let backoff = ceiling.mul_f64(jitter.clamp(0.0, 1.0));
    match retry_after {
        Some(server) => backoff.max(server.min(policy.max_retry_after)),
        None => backoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> HttpPolicy {
        HttpPolicy {
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
            ..HttpPolicy::default()
        }
    }

    #[test]
    fn grows_exponentially_up_to_the_cap() {
        let p = policy();
        assert_eq!(
            retry_delay_with_jitter(0, &p, None, 1.0),
            Duration::from_millis(100)
        );
        assert_eq!(
            retry_delay_with_jitter(3, &p, None, 1.0),
            Duration::from_millis(800)
        );
        assert_eq!(
            retry_delay_with_jitter(10, &p, None, 1.0),
            Duration::from_secs(5)
        );
        assert_eq!(
            retry_delay_with_jitter(u32::MAX, &p, None, 1.0),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn full_jitter_spans_zero_to_ceiling() {
        let p = policy();
        assert_eq!(retry_delay_with_jitter(2, &p, None, 0.0), Duration::ZERO);
        assert_eq!(
            retry_delay_with_jitter(2, &p, None, 0.5),
            Duration::from_millis(200)
        );
        for attempt in 0..8 {
            let d = retry_delay(attempt, &p, None);
            assert!(d <= Duration::from_secs(5));
        }
    }

    #[test]
    fn retry_after_is_a_floor_clamped_by_policy() {
        let p = policy();
        let d = retry_delay_with_jitter(0, &p, Some(Duration::from_secs(30)), 0.3);
        assert_eq!(d, Duration::from_secs(30));
        let d = retry_delay_with_jitter(0, &p, Some(Duration::from_secs(600)), 0.3);
        assert_eq!(d, Duration::from_secs(60));
        let d = retry_delay_with_jitter(6, &p, Some(Duration::from_millis(1)), 1.0);
        assert_eq!(d, Duration::from_millis(6400).min(Duration::from_secs(5)));
    }
}
