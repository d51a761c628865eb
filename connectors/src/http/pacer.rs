//! Client-side pacing for rolling-window rate limits the CRM announces in headers (HubSpot
//! `X-HubSpot-RateLimit-Max` per `X-HubSpot-RateLimit-Interval-Milliseconds`): requests are spaced
//! so the window is used fully without provoking 429s.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_REMEMBERED: usize = 10_000;

/// Remembers when this connection sent its recent requests.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    sent: Mutex<VecDeque<Instant>>,
}

/// How long to wait at `now` before sending, given the send times of earlier requests, so that at
/// most `max` requests fall in any `window` (plus a small safety margin for network jitter).
pub fn pacing_delay(
    sent: &VecDeque<Instant>,
    now: Instant,
    max: u64,
    window: Duration,
) -> Duration {
    let max = usize::try_from(max).unwrap_or(usize::MAX).max(1);
    if sent.len() < max {
        return Duration::ZERO;
    }
    let margin = window / 50;
    // The request `max` places back must have left the window before this one is sent.
    let pivot = sent[sent.len() - max];
    (pivot + window + margin).saturating_duration_since(now)
}

impl Pacer {
    /// Reserve a send slot and return how long to wait for it (zero while limits are unknown;
    /// sends are recorded either way so the first window is counted right).
    pub fn reserve(&self, max: Option<u64>, window: Option<Duration>) -> Duration {
        let Ok(mut sent) = self.sent.lock() else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        let keep = window.map_or(Duration::from_secs(60), |w| w * 2);
        while sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > keep)
        {
            sent.pop_front();
        }
        let delay = match (max, window) {
            (Some(max), Some(window)) => pacing_delay(&sent, now, max, window),
            _ => Duration::ZERO,
        };
        sent.push_back(now + delay);
        while sent.len() > MAX_REMEMBERED {
            sent.pop_front();
        }
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_wait_until_the_window_is_full() {
        let t0 = Instant::now();
        let w = Duration::from_secs(10);
        let sent: VecDeque<_> = (0..3).map(|i| t0 + Duration::from_millis(i)).collect();
        assert_eq!(
            pacing_delay(&sent, t0 + Duration::from_millis(5), 4, w),
            Duration::ZERO
        );
    }

    #[test]
    fn full_window_waits_for_the_oldest_to_leave_plus_margin() {
        let t0 = Instant::now();
        let w = Duration::from_secs(10);
        let sent: VecDeque<_> = (0..4).map(|i| t0 + Duration::from_secs(i)).collect();
        let now = t0 + Duration::from_secs(5);
        // Oldest of the last 4 sent at t0: free at t0 + 10 s + 0.2 s.
        assert_eq!(pacing_delay(&sent, now, 4, w), Duration::from_millis(5200));
        assert_eq!(
            pacing_delay(&sent, t0 + Duration::from_secs(11), 4, w),
            Duration::ZERO
        );
    }

    #[test]
    fn reservations_space_a_burst() {
        let pacer = Pacer::default();
        let w = Duration::from_secs(100);
        let waits: Vec<_> = (0..4).map(|_| pacer.reserve(Some(2), Some(w))).collect();
        assert_eq!(waits[0], Duration::ZERO);
        assert_eq!(waits[1], Duration::ZERO);
        assert!(waits[2] > Duration::from_secs(100) && waits[2] <= Duration::from_secs(102));
        assert!(waits[3] > Duration::from_secs(100));
        assert_eq!(pacer.reserve(None, Some(w)), Duration::ZERO);
    }
}
