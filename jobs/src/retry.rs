//! Retry delays: exponential backoff with full jitter, honouring `Retry-After`.

use std::time::Duration;

use rand::Rng;

/// Delay before the next attempt after failed attempt number `attempt` (1 for the first run).
///
/// Full jitter: a uniformly random delay in `[0, min(cap, base * 2^(attempt-1))]`. A
/// `retry_after` from the remote side is a floor (it may exceed `cap`: the remote knows
/// best when it will accept the call again).
pub fn retry_delay(
    attempt: u32,
    base: Duration,
    cap: Duration,
    retry_after: Option<Duration>,
) -> Duration {
    let ceiling = backoff_ceiling(attempt, base, cap);
    let jittered = if ceiling.is_zero() {
        Duration::ZERO
    } else {
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    };
    match retry_after {
        Some(after) => jittered.max(after),
        None => jittered,
    }
}

/// The upper bound of [`retry_delay`]'s jitter: `min(cap, base * 2^(attempt-1))`.
pub fn backoff_ceiling(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(31);
    base.checked_mul(1u32 << exponent).unwrap_or(cap).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(100);
    const CAP: Duration = Duration::from_secs(60);

    #[test]
    fn ceiling_doubles_then_caps() {
        assert_eq!(backoff_ceiling(1, BASE, CAP), Duration::from_millis(100));
        assert_eq!(backoff_ceiling(2, BASE, CAP), Duration::from_millis(200));
        assert_eq!(backoff_ceiling(4, BASE, CAP), Duration::from_millis(800));
        assert_eq!(backoff_ceiling(11, BASE, CAP), CAP);
        assert_eq!(backoff_ceiling(u32::MAX, BASE, CAP), CAP);
        assert_eq!(backoff_ceiling(0, BASE, CAP), BASE);
    }

    #[test]
    fn delay_stays_within_jitter_bounds() {
        for attempt in 1..40 {
            for _ in 0..50 {
                let d = retry_delay(attempt, BASE, CAP, None);
                assert!(d <= backoff_ceiling(attempt, BASE, CAP), "{attempt}: {d:?}");
            }
        }
    }

    #[test]
    fn jitter_spreads_delays() {
        let delays: std::collections::HashSet<Duration> =
            (0..50).map(|_| retry_delay(5, BASE, CAP, None)).collect();
        assert!(delays.len() > 1, "full jitter must not be constant");
    }

    #[test]
    fn retry_after_is_a_floor_even_above_cap() {
        let after = Duration::from_secs(120);
        for attempt in 1..10 {
            assert!(retry_delay(attempt, BASE, CAP, Some(after)) >= after);
        }
        let small = Duration::from_millis(1);
        assert!(retry_delay(3, BASE, CAP, Some(small)) >= small);
    }

    #[test]
    fn zero_base_means_no_delay() {
        assert_eq!(retry_delay(3, Duration::ZERO, CAP, None), Duration::ZERO);
    }
}
