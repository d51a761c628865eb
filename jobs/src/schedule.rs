//! Cron schedules of CRM connections: when a sync is due.

use std::str::FromStr;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use cron::Schedule;
use uuid::Uuid;

use crate::error::JobsError;

/// A connection with a sync schedule, as reported by
/// [`crate::JobHandlers::scheduled_connections`]. When due, the cron tick enqueues a
/// [`crate::PushClients`] and a [`crate::PullChanges`] job for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledConnection {
    /// Tenant owning the connection.
    pub tenant_id: Uuid,
    /// The CRM connection.
    pub connection_id: Uuid,
    /// Cron expression in UTC: 5 fields (`min hour dom mon dow`), or 6/7 fields with
    /// seconds first (and a year last), as the `cron` crate reads them.
    pub cron: String,
}

/// How far back a tick looks for a missed fire time; older slots are skipped (the dirty
/// check of the sync catches up anyway).
const MAX_LOOKBACK: ChronoDuration = ChronoDuration::days(1);

/// Parses a cron expression, accepting the common 5-field form.
pub fn parse_cron(expr: &str) -> Result<Schedule, JobsError> {
    let trimmed = expr.trim();
    let full = if trimmed.split_whitespace().count() == 5 {
        format!("0 {trimmed}")
    } else {
        trimmed.to_owned()
    };
    Schedule::from_str(&full).map_err(|e| JobsError::Cron {
        expr: expr.to_owned(),
        message: e.to_string(),
    })
}

/// The latest fire time of `schedule` in `(last_run, now]`, if any.
pub fn last_fire_time(
    schedule: &Schedule,
    last_run: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if now <= last_run {
        return None;
    }
    let from = last_run.max(now - MAX_LOOKBACK);
    schedule.after(&from).take_while(|t| *t <= now).last()
}

/// Whether `cron_expr` fires in `(last_run, now]`. An invalid expression is never due.
pub fn due(cron_expr: &str, last_run: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    parse_cron(cron_expr)
        .ok()
        .and_then(|s| last_fire_time(&s, last_run, now))
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, h, m, s)
            .single()
            .expect("valid time")
    }

    #[test]
    fn five_field_expressions_are_accepted() {
        assert!(parse_cron("*/15 * * * *").is_ok());
        assert!(parse_cron("0 */15 * * * *").is_ok());
        assert!(parse_cron("not a cron").is_err());
        assert!(parse_cron("").is_err());
    }

    #[test]
    fn due_when_a_fire_time_lies_in_the_window() {
        let every_15 = "*/15 * * * *";
        assert!(due(every_15, at(10, 14, 0), at(10, 15, 0)));
        assert!(due(every_15, at(10, 14, 59), at(10, 16, 0)));
        assert!(!due(every_15, at(10, 15, 0), at(10, 29, 59)));
        assert!(due(every_15, at(10, 15, 0), at(10, 30, 0)));
    }

    #[test]
    fn window_is_open_at_last_run() {
        // the fire time equal to last_run already ran
        assert!(!due("0 * * * *", at(10, 0, 0), at(10, 30, 0)));
    }

    #[test]
    fn never_due_backwards_or_invalid() {
        assert!(!due("* * * * *", at(10, 0, 0), at(9, 0, 0)));
        assert!(!due("* * * * *", at(10, 0, 0), at(10, 0, 0)));
        assert!(!due("bogus", at(9, 0, 0), at(10, 0, 0)));
    }

    #[test]
    fn last_fire_time_picks_the_latest_slot_only() {
        let s = parse_cron("*/15 * * * *").expect("valid");
        assert_eq!(
            last_fire_time(&s, at(9, 0, 0), at(10, 20, 0)),
            Some(at(10, 15, 0))
        );
    }

    #[test]
    fn long_gaps_look_back_a_bounded_time() {
        let s = parse_cron("0 0 12 * * *").expect("valid");
        let now = at(13, 0, 0);
        let ancient = now - ChronoDuration::days(400);
        assert_eq!(last_fire_time(&s, ancient, now), Some(at(12, 0, 0)));
    }
}
