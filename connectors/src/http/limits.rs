//! Pure classification of CRM responses and parsing of rate-limit headers.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::error::RateLimitScope;

/// What the executor should do with a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx/3xx: hand it to the provider.
    Success,
    /// A definitive failure (4xx, permanent 5xx): hand it to the provider to interpret.
    Deliver,
    /// 401: refresh the token once, then retry.
    Unauthorized,
    /// A rate limit; burst ones are retried, daily ones are not.
    RateLimited {
        /// Which window.
        scope: RateLimitScope,
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// 5xx, 408: retry with backoff.
    Transient,
}

/// Dynamics duplicate detection answers 500 with this code; it is not transient.
pub const DYNAMICS_DUPLICATE_CODE: &str = "0x80040333";

/// Classify a response of any provider (their signals do not collide).
pub fn classify(status: u16, headers: &HeaderMap, body: &[u8]) -> Verdict {
    match status {
        200..=399 => Verdict::Success,
        401 => Verdict::Unauthorized,
        429 => {
            let daily = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| {
                    v.get("policyName")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .is_some_and(|p| p.eq_ignore_ascii_case("DAILY"));
            Verdict::RateLimited {
                scope: if daily {
                    RateLimitScope::Daily
                } else {
                    RateLimitScope::Burst
                },
                retry_after: retry_after(headers),
            }
        }
        403 if salesforce_error_codes(body)
            .iter()
            .any(|c| c == "REQUEST_LIMIT_EXCEEDED") =>
        {
            // `TotalRequests Limit exceeded.` is the daily allowance; concurrency limits
            // (`ConcurrentPerOrgLongTxn Limit exceeded.`) clear within seconds.
            let concurrent = String::from_utf8_lossy(body).contains("Concurrent");
            Verdict::RateLimited {
                scope: if concurrent {
                    RateLimitScope::Burst
                } else {
                    RateLimitScope::Daily
                },
                retry_after: None,
            }
        }
        408 => Verdict::Transient,
        500..=599 if dynamics_error_code(body).as_deref() == Some(DYNAMICS_DUPLICATE_CODE) => {
            Verdict::Deliver
        }
        500..=599 => Verdict::Transient,
        _ => Verdict::Deliver,
    }
}

/// `Retry-After` in integer seconds (the form all three CRMs use).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The `errorCode`s of a Salesforce error array.
pub fn salesforce_error_codes(body: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .iter()
            .filter_map(|i| {
                i.get("errorCode")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `error.code` of a Dataverse error body.
pub fn dynamics_error_code(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("error")?.get("code")?.as_str().map(str::to_owned)
}

/// Rate-limit state last reported by the CRM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitSnapshot {
    /// API calls used today (Salesforce `Sforce-Limit-Info`).
    pub daily_used: Option<u64>,
    /// Daily allowance (Salesforce `Sforce-Limit-Info`, HubSpot `X-HubSpot-RateLimit-Daily`).
    pub daily_limit: Option<u64>,
    /// Calls left today (HubSpot `X-HubSpot-RateLimit-Daily-Remaining`).
    pub daily_remaining: Option<u64>,
    /// Calls allowed per rolling window (HubSpot `X-HubSpot-RateLimit-Max`).
    pub window_max: Option<u64>,
    /// Calls left in the rolling window (HubSpot `X-HubSpot-RateLimit-Remaining`,
    /// Dynamics `x-ms-ratelimit-burst-remaining-xrm-requests`).
    pub window_remaining: Option<u64>,
    /// Rolling window length (HubSpot `X-HubSpot-RateLimit-Interval-Milliseconds`).
    pub window: Option<Duration>,
}

/// Parse Salesforce `Sforce-Limit-Info: api-usage=45/15000` into `(used, limit)`.
pub fn parse_sforce_limit_info(value: &str) -> Option<(u64, u64)> {
    let usage = value
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("api-usage="))?;
    let (used, limit) = usage.split_once('/')?;
    Some((used.trim().parse().ok()?, limit.trim().parse().ok()?))
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Fold the rate-limit headers of a response into `snapshot` (fields absent stay as they were).
pub fn update_snapshot(snapshot: &mut LimitSnapshot, headers: &HeaderMap) {
    if let Some((used, limit)) = headers
        .get("sforce-limit-info")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_sforce_limit_info)
    {
        snapshot.daily_used = Some(used);
        snapshot.daily_limit = Some(limit);
        snapshot.daily_remaining = Some(limit.saturating_sub(used));
    }
    let set = |slot: &mut Option<u64>, name: &str| {
        if let Some(v) = header_u64(headers, name) {
            *slot = Some(v);
        }
    };
    set(&mut snapshot.window_max, "x-hubspot-ratelimit-max");
    set(
        &mut snapshot.window_remaining,
        "x-hubspot-ratelimit-remaining",
    );
    set(&mut snapshot.daily_limit, "x-hubspot-ratelimit-daily");
    set(
        &mut snapshot.daily_remaining,
        "x-hubspot-ratelimit-daily-remaining",
    );
    set(
        &mut snapshot.window_remaining,
        "x-ms-ratelimit-burst-remaining-xrm-requests",
    );
    if let Some(ms) = header_u64(headers, "x-hubspot-ratelimit-interval-milliseconds") {
        snapshot.window = Some(Duration::from_millis(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn hubspot_429_policies() {
        let burst =
            br#"{"status":"error","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}"#;
        let daily = br#"{"status":"error","errorType":"RATE_LIMIT","policyName":"DAILY"}"#;
        assert_eq!(
            classify(429, &HeaderMap::new(), burst),
            Verdict::RateLimited {
                scope: RateLimitScope::Burst,
                retry_after: None
            }
        );
        assert_eq!(
            classify(429, &HeaderMap::new(), daily),
            Verdict::RateLimited {
                scope: RateLimitScope::Daily,
                retry_after: None
            }
        );
    }

    #[test]
    fn dynamics_429_retry_after_and_duplicate_500() {
        let body = br#"{"error":{"code":"0x80072322","message":"Number of requests exceeded"}}"#;
        assert_eq!(
            classify(429, &headers(&[("retry-after", "30")]), body),
            Verdict::RateLimited {
                scope: RateLimitScope::Burst,
                retry_after: Some(Duration::from_secs(30))
            }
        );
        let dup = br#"{"error":{"code":"0x80040333","message":"A record was not created"}}"#;
        assert_eq!(classify(500, &HeaderMap::new(), dup), Verdict::Deliver);
        assert_eq!(classify(503, &HeaderMap::new(), b""), Verdict::Transient);
    }

    #[test]
    fn salesforce_403_request_limit_is_daily() {
        let body = br#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        assert_eq!(
            classify(403, &HeaderMap::new(), body),
            Verdict::RateLimited {
                scope: RateLimitScope::Daily,
                retry_after: None
            }
        );
        let conc = br#"[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        assert_eq!(
            classify(403, &HeaderMap::new(), conc),
            Verdict::RateLimited {
                scope: RateLimitScope::Burst,
                retry_after: None
            }
        );
        let other = br#"[{"message":"no","errorCode":"INSUFFICIENT_ACCESS"}]"#;
        assert_eq!(classify(403, &HeaderMap::new(), other), Verdict::Deliver);
        assert_eq!(classify(401, &HeaderMap::new(), b""), Verdict::Unauthorized);
        assert_eq!(classify(400, &HeaderMap::new(), b"[]"), Verdict::Deliver);
    }

    #[test]
    fn limit_headers_are_parsed() {
        assert_eq!(
            parse_sforce_limit_info("api-usage=45/15000"),
            Some((45, 15000))
        );
        assert_eq!(
            parse_sforce_limit_info("per-app-api-usage=1/2, api-usage=3/4"),
            Some((3, 4))
        );
        assert_eq!(parse_sforce_limit_info("api-usage=x/1"), None);
        let mut snap = LimitSnapshot::default();
        update_snapshot(
            &mut snap,
            &headers(&[
                ("x-hubspot-ratelimit-max", "110"),
                ("x-hubspot-ratelimit-remaining", "7"),
                ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
                ("x-hubspot-ratelimit-daily", "250000"),
                ("x-hubspot-ratelimit-daily-remaining", "249000"),
            ]),
        );
        assert_eq!(snap.window_max, Some(110));
        assert_eq!(snap.window_remaining, Some(7));
        assert_eq!(snap.window, Some(Duration::from_secs(10)));
        assert_eq!(snap.daily_remaining, Some(249_000));
        update_snapshot(
            &mut snap,
            &headers(&[("sforce-limit-info", "api-usage=10/100")]),
        );
        assert_eq!((snap.daily_used, snap.daily_limit), (Some(10), Some(100)));
    }
}
