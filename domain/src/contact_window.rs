//! Contact windows: when a client may be contacted, in the client's own time zone.
//!
//! A [`ContactWindow`] is a set of weekdays, a start and an end wall-clock time and an IANA
//! time zone. On each listed day it is open from `start` (inclusive) to `end` (exclusive).
//!
//! # Windows that cross midnight
//!
//! "End before start" is ambiguous: a typo, or a night window? It has to be said explicitly:
//! a window whose `end` is before its `start` must set `crosses_midnight: true`, and then runs
//! from `start` on each listed day to `end` on the *following* day (Friday 22:00 -> 02:00
//! listed for Friday is open on Saturday at 01:00). Without the flag it is refused, with a
//! message saying to set it. `start == end` is refused (an empty window), and so is the flag
//! on a window whose end is after its start. "Until midnight" is `end: "00:00"` with the flag.
//!
//! # Daylight saving time
//!
//! Times are wall-clock times in the window's zone. A `start` that falls in a spring-forward
//! gap opens at the first valid instant after the gap (02:30 on a 02:00->03:00 night opens at
//! 03:00); an `end` in a gap closes at that same instant. In a fall-back overlap a `start` takes
//! the earlier of the two instants and an `end` the later one, so DST never shortens a window.
//!
//! # Storage
//!
//! `ContactWindow` serialises as a [`WindowInput`]:
//! `{"days":["fri"],"start":"22:00","end":"02:00","crosses_midnight":true,"timezone":"America/Toronto"}`
//! (days as lower-case three-letter names `"mon"`..`"sun"`, Monday first; times as `"HH:MM"`,
//! or `"HH:MM:SS"` when seconds are set; the zone as its IANA name). Deserialising goes through
//! [`ContactWindow::parse`], so a stored window is validated again when read.

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A weekly contact window in one time zone. Build it with [`ContactWindow::parse`]; a
/// window built by hand that [`ContactWindow::validate`] would refuse is simply never open
/// (empty `days`, `start == end`, or end before start without `crosses_midnight`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WindowInput", into = "WindowInput")]
pub struct ContactWindow {
    /// The days the window *starts* on, sorted Monday first, no duplicates.
    pub days: Vec<Weekday>,
    /// Local opening time (inclusive).
    pub start: NaiveTime,
    /// Local closing time (exclusive); on the next day when `crosses_midnight`.
    pub end: NaiveTime,
    /// The window closes on the day after it opens. Required when `end < start`, refused otherwise.
    pub crosses_midnight: bool,
    /// The client's IANA time zone.
    pub timezone: Tz,
}

/// A contact window as the user (or the database column) gives it; see [`ContactWindow::parse`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowInput {
    /// Weekday names, case-insensitive: `"mon"` or `"monday"`.
    pub days: Vec<String>,
    /// `"HH:MM"` (24-hour; `"HH:MM:SS"` is accepted too).
    pub start: String,
    /// `"HH:MM"`, exclusive.
    pub end: String,
    /// See the module docs: required when `end` is before `start`.
    #[serde(default)]
    pub crosses_midnight: bool,
    /// IANA name, e.g. `"America/Toronto"`.
    pub timezone: String,
}

/// Why a window was refused. `field` is one of `"days"`, `"start"`, `"end"`, `"timezone"`
/// (the input field to point at); adapters report it as `BAD_USER_INPUT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowError {
    pub field: &'static str,
    pub message: String,
}

impl WindowError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        WindowError {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for WindowError {}

impl From<WindowError> for crate::error::DomainError {
    fn from(e: WindowError) -> Self {
        crate::error::DomainError::invalid(e.field, e.message)
    }
}

impl ContactWindow {
    /// Parses and validates user input. Refuses an unknown zone, a time that is not `HH:MM`,
    /// no days, an unknown or repeated day, `start == end`, end before start without
    /// `crosses_midnight`, and `crosses_midnight` on a window whose end is after its start.
    pub fn parse(input: &WindowInput) -> Result<ContactWindow, WindowError> {
        let timezone: Tz = input.timezone.trim().parse().map_err(|_| {
            let message = format!("unknown IANA time zone {:?}", input.timezone);
            WindowError::new("timezone", message + " (expected e.g. \"America/Toronto\")")
        })?;
        let start = parse_time("start", &input.start)?;
        let end = parse_time("end", &input.end)?;
        let mut days = Vec::with_capacity(input.days.len());
        for name in &input.days {
            let day: Weekday = name.trim().parse().map_err(|_| {
                WindowError::new(
                    "days",
                    format!("unknown weekday {name:?} (use \"mon\"..\"sun\")"),
                )
            })?;
            if days.contains(&day) {
                return Err(WindowError::new(
                    "days",
                    format!("{name:?} is listed twice"),
                ));
            }
            days.push(day);
        }
        days.sort_by_key(|d| d.num_days_from_monday());
        let window = ContactWindow {
            days,
            start,
            end,
            crosses_midnight: input.crosses_midnight,
            timezone,
        };
        window.validate()?;
        Ok(window)
    }

    /// Checks the rules [`ContactWindow::parse`] enforces that do not concern parsing.
    pub fn validate(&self) -> Result<(), WindowError> {
        let (start, end, flag) = (self.start, self.end, self.crosses_midnight);
        let problem = if self.days.is_empty() {
            ("days", "list at least one day")
        } else if start == end {
            ("end", "end equals start: the window would be empty")
        } else if end < start && !flag {
            (
                "end",
                "end is before start; set crosses_midnight to true for a window that ends on the next day",
            )
        } else if end > start && flag {
            (
                "end",
                "crosses_midnight is set but end is after start; clear the flag",
            )
        } else {
            return Ok(());
        };
        Err(WindowError::new(problem.0, problem.1))
    }

    /// Whether this window is open at `at`.
    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        self.occurrences_near(at).any(|(s, e)| s <= at && at < e)
    }

    /// The `[open, close)` instants of the occurrence that starts on local date `date`, if the
    /// window starts that day and the occurrence is not empty (e.g. wholly inside a DST gap).
    pub fn occurrence_on(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.days.contains(&date.weekday()) || self.start == self.end {
            return None;
        }
        let end_date = if self.end > self.start {
            date
        } else if self.crosses_midnight {
            date.succ_opt()?
        } else {
            return None;
        };
        let open = resolve(self.timezone, date.and_time(self.start), Edge::Start);
        let close = resolve(self.timezone, end_date.and_time(self.end), Edge::End);
        (open < close).then_some((open, close))
    }

    /// Occurrences starting from two local days before `at` to eight days after, in date
    /// order: enough to cover a window open at `at` and the next opening of every weekday.
    fn occurrences_near(
        &self,
        at: DateTime<Utc>,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let today = at.with_timezone(&self.timezone).date_naive();
        (-2..=8)
            .filter_map(move |d| today.checked_add_signed(TimeDelta::days(d)))
            .filter_map(|date| self.occurrence_on(date))
    }
}

impl TryFrom<WindowInput> for ContactWindow {
    type Error = WindowError;

    fn try_from(input: WindowInput) -> Result<Self, Self::Error> {
        ContactWindow::parse(&input)
    }
}

impl From<ContactWindow> for WindowInput {
    fn from(w: ContactWindow) -> Self {
        WindowInput {
            days: w.days.iter().map(|d| weekday_name(*d).to_owned()).collect(),
            start: format_time(w.start),
            end: format_time(w.end),
            crosses_midnight: w.crosses_midnight,
            timezone: w.timezone.name().to_owned(),
        }
    }
}

/// Whether a client with these windows may be contacted at `at`: always when there are no
/// windows, otherwise when any window is open.
pub fn is_open(windows: &[ContactWindow], at: DateTime<Utc>) -> bool {
    windows.is_empty() || windows.iter().any(|w| w.is_open_at(at))
}

/// The next instant after `at` at which some window opens. `None` when a window is open at
/// `at`, when there are no windows (always open), or when no window ever opens (all empty).
/// Looks at most about eight local days ahead per window, which covers every weekday.
pub fn next_opening(windows: &[ContactWindow], at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut next: Option<DateTime<Utc>> = None;
    for (open, close) in windows.iter().flat_map(|w| w.occurrences_near(at)) {
        if open <= at && at < close {
            return None;
        }
        if open > at && next.is_none_or(|n| open < n) {
            next = Some(open);
        }
    }
    next
}

/// When the contact period that is open at `at` ends, following windows that touch or
/// overlap (Mon 09:00-12:00 and Mon 12:00-17:00 close at 17:00). `None` when no window is
/// open at `at`, when there are no windows, or when the windows chain on for over a week.
pub fn current_window_closes(
    windows: &[ContactWindow],
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let horizon = at + TimeDelta::days(8);
    let mut t = at;
    loop {
        let close = windows
            .iter()
            .flat_map(|w| w.occurrences_near(t))
            .filter(|(s, e)| *s <= t && t < *e)
            .map(|(_, e)| e)
            .max();
        match close {
            Some(e) if e > horizon => return None,
            Some(e) => t = e,
            None => return (t > at).then_some(t),
        }
    }
}

/// The lower-case three-letter name used in storage: `"mon"`..`"sun"`.
pub fn weekday_name(day: Weekday) -> &'static str {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][day.num_days_from_monday() as usize]
}

fn parse_time(field: &'static str, s: &str) -> Result<NaiveTime, WindowError> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .map_err(|_| WindowError::new(field, format!("{s:?} is not a time; use 24-hour \"HH:MM\"")))
}

fn format_time(t: NaiveTime) -> String {
    if t.second() == 0 && t.nanosecond() == 0 {
        t.format("%H:%M").to_string()
    } else {
        t.format("%H:%M:%S").to_string()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    Start,
    End,
}

/// The instant of local wall-clock time `local` in `tz`; see the module docs for DST.
fn resolve(tz: Tz, local: NaiveDateTime, edge: Edge) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            if edge == Edge::Start {
                a.min(b)
            } else {
                a.max(b)
            }
        }
        LocalResult::None => gap_end(tz, local),
    }
}

/// For a local time inside a spring-forward gap, the transition instant (the first instant
/// after the gap). The offsets a day either side bracket it; a binary search finds it.
fn gap_end(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let offset = |utc: NaiveDateTime| -> TimeDelta {
        TimeDelta::seconds(
            tz.offset_from_utc_datetime(&utc)
                .fix()
                .local_minus_utc()
                .into(),
        )
    };
    let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or_default();
    let reached = |secs: i64| {
        let utc = at(secs).naive_utc();
        utc + offset(utc) >= local
    };
    let (before, after) = (
        offset(local - TimeDelta::days(1)),
        offset(local + TimeDelta::days(1)),
    );
    // Not yet at `local` on the wall clock at `lo`; past it at `hi` (seconds since the epoch).
    let mut lo = (local - before.max(after)).and_utc().timestamp();
    let mut hi = (local - before.min(after)).and_utc().timestamp();
    if reached(lo) || !reached(hi) {
        return at(hi); // not a plain gap between two offsets; never seen in tz data
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reached(mid) { hi = mid } else { lo = mid }
    }
    at(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(days: &[&str], start: &str, end: &str, cross: bool, tz: &str) -> WindowInput {
        WindowInput {
            days: days.iter().map(|d| d.to_string()).collect(),
            start: start.into(),
            end: end.into(),
            crosses_midnight: cross,
            timezone: tz.into(),
        }
    }

    fn win(days: &[&str], start: &str, end: &str, cross: bool, tz: &str) -> ContactWindow {
        ContactWindow::parse(&input(days, start, end, cross, tz)).unwrap()
    }

    fn err(days: &[&str], start: &str, end: &str, cross: bool, tz: &str) -> WindowError {
        ContactWindow::parse(&input(days, start, end, cross, tz)).unwrap_err()
    }

    /// `"2026-03-02T14:00"` (UTC, seconds optional) as an instant.
    fn utc(s: &str) -> DateTime<Utc> {
        let z = if s.len() == 16 { ":00Z" } else { "Z" };
        format!("{s}{z}").parse().unwrap()
    }

    fn some(s: &str) -> Option<DateTime<Utc>> {
        Some(utc(s))
    }

    fn open(w: &[ContactWindow], at: &str) -> bool {
        is_open(w, utc(at))
    }

    fn next(w: &[ContactWindow], at: &str) -> Option<DateTime<Utc>> {
        next_opening(w, utc(at))
    }

    fn closes(w: &[ContactWindow], at: &str) -> Option<DateTime<Utc>> {
        current_window_closes(w, utc(at))
    }

    const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri"];

    const TOR: &str = "America/Toronto";

    #[test]
    fn parses_and_stores_as_json() {
        let w = win(&["Friday", " mon "], "9:00", "17:30", false, TOR);
        assert_eq!(w.days, vec![Weekday::Mon, Weekday::Fri]);
        assert_eq!(w.timezone, chrono_tz::America::Toronto);
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(
            json,
            r#"{"days":["mon","fri"],"start":"09:00","end":"17:30","crosses_midnight":false,"timezone":"America/Toronto"}"#
        );
        assert_eq!(serde_json::from_str::<ContactWindow>(&json).unwrap(), w);
        // Stored windows are validated again on read.
        let bad = r#"{"days":["mon"],"start":"18:00","end":"02:00","timezone":"America/Toronto"}"#;
        assert!(serde_json::from_str::<ContactWindow>(bad).is_err());
    }

    #[test]
    fn refuses_invalid_zone() {
        let e = err(&["mon"], "09:00", "17:00", false, "Mars/Olympus");
        assert_eq!(e.field, "timezone");
        assert!(e.message.contains("Mars/Olympus"));
    }

    #[test]
    fn refuses_bad_times_and_days() {
        assert_eq!(err(&["mon"], "25:00", "17:00", false, TOR).field, "start");
        assert_eq!(err(&["mon"], "09:00", "5pm", false, TOR).field, "end");
        assert_eq!(err(&[], "09:00", "17:00", false, TOR).field, "days");
        assert_eq!(err(&["funday"], "09:00", "17:00", false, TOR).field, "days");
        let e = err(&["mon", "Monday"], "09:00", "17:00", false, TOR);
        assert_eq!((e.field, e.message.contains("twice")), ("days", true));
    }

    #[test]
    fn refuses_start_equal_to_end() {
        assert_eq!(err(&["mon"], "09:00", "09:00", false, TOR).field, "end");
        assert_eq!(err(&["mon"], "09:00", "09:00", true, TOR).field, "end");
    }

    #[test]
    fn end_before_start_needs_the_flag() {
        let e = err(&["fri"], "22:00", "02:00", false, TOR);
        assert_eq!(e.field, "end");
        assert!(e.message.contains("crosses_midnight"), "{e}");
        win(&["fri"], "22:00", "02:00", true, TOR);
        // And the flag is refused where it means nothing.
        assert_eq!(err(&["fri"], "09:00", "17:00", true, TOR).field, "end");
    }

    #[test]
    fn open_and_closed_at_instants() {
        // 2026-03-02 is a Monday; Toronto is UTC-5 then.
        let w = [win(WEEKDAYS, "09:00", "17:00", false, TOR)];
        assert!(!open(&w, "2026-03-02T13:59"));
        assert!(open(&w, "2026-03-02T14:00")); // 09:00 inclusive
        assert!(open(&w, "2026-03-02T21:59:59"));
        assert!(!open(&w, "2026-03-02T22:00")); // 17:00 exclusive
        assert!(!open(&w, "2026-03-07T15:00")); // Saturday
        assert_eq!(closes(&w, "2026-03-02T15:00"), some("2026-03-02T22:00"));
        assert_eq!(closes(&w, "2026-03-02T23:00"), None);
    }

    #[test]
    fn no_windows_is_always_open() {
        assert!(is_open(&[], utc("2026-03-07T03:00")));
        assert_eq!(next_opening(&[], utc("2026-03-07T03:00")), None);
        assert_eq!(current_window_closes(&[], utc("2026-03-07T03:00")), None);
    }

    #[test]
    fn window_crossing_midnight() {
        // Friday 2026-03-06 22:00 -> Saturday 02:00, Toronto (UTC-5).
        let w = [win(&["fri"], "22:00", "02:00", true, TOR)];
        assert!(!open(&w, "2026-03-07T02:59")); // Fri 21:59
        assert!(open(&w, "2026-03-07T04:00")); // Fri 23:00
        assert!(open(&w, "2026-03-07T06:00")); // Sat 01:00
        assert!(!open(&w, "2026-03-07T07:00")); // Sat 02:00
        assert!(!open(&w, "2026-03-06T04:00")); // Thu 23:00
        assert!(!open(&w, "2026-03-08T04:00")); // Sat 23:00
        assert_eq!(closes(&w, "2026-03-07T04:00"), some("2026-03-07T07:00"));
    }

    #[test]
    fn crossing_midnight_wraps_sunday_to_monday() {
        let w = [win(&["sun"], "20:00", "06:00", true, "UTC")];
        assert!(!open(&w, "2026-03-01T19:59")); // Sunday
        assert!(open(&w, "2026-03-01T23:00"));
        assert!(open(&w, "2026-03-02T05:59")); // Monday
        assert!(!open(&w, "2026-03-02T06:00"));
        assert_eq!(next(&w, "2026-03-02T07:00"), some("2026-03-08T20:00"));
        assert_eq!(next(&w, "2026-03-02T05:00"), None); // open now
    }

    #[test]
    fn next_opening_same_day_next_day_next_week() {
        let w = [win(&["mon", "tue"], "09:00", "17:00", false, TOR)];
        // Monday 08:00 local -> 09:00 the same day.
        assert_eq!(next(&w, "2026-03-02T13:00"), some("2026-03-02T14:00"));
        // Monday 18:00 -> Tuesday 09:00.
        assert_eq!(next(&w, "2026-03-02T23:00"), some("2026-03-03T14:00"));
        // Tuesday 18:00 -> next Monday 09:00 (DST starts in between: 09:00 EDT = 13:00Z).
        assert_eq!(next(&w, "2026-03-03T23:00"), some("2026-03-09T13:00"));
        // The earliest of several windows wins.
        let two = [w[0].clone(), win(&["mon"], "18:30", "19:00", false, TOR)];
        assert_eq!(next(&two, "2026-03-02T23:00"), some("2026-03-02T23:30"));
    }

    #[test]
    fn touching_windows_close_together() {
        let w = [
            win(&["mon"], "09:00", "12:00", false, "UTC"),
            win(&["mon"], "12:00", "17:00", false, "UTC"),
        ];
        assert_eq!(closes(&w, "2026-03-02T10:00"), some("2026-03-02T17:00"));
    }

    #[test]
    fn spring_forward_gap_opens_after_the_gap() {
        // 2026-03-08, Toronto: 02:00 EST -> 03:00 EDT (07:00Z). A 02:30 start opens at 03:00.
        let w = [win(&["sun"], "02:30", "04:00", false, TOR)];
        let midnight = utc("2026-03-08T05:00");
        assert_eq!(next_opening(&w, midnight), some("2026-03-08T07:00"));
        assert!(!open(&w, "2026-03-08T06:59:59"));
        assert!(open(&w, "2026-03-08T07:00"));
        assert!(!open(&w, "2026-03-08T08:00")); // 04:00 EDT
        // The week after, 02:30 EDT exists.
        assert_eq!(next(&w, "2026-03-09T00:00"), some("2026-03-15T06:30"));
        // An end in the gap closes at the end of the gap.
        let early = [win(&["sun"], "01:00", "02:30", false, TOR)];
        assert_eq!(closes(&early, "2026-03-08T06:30"), some("2026-03-08T07:00"));
        // A window wholly inside the gap does not open that day.
        let lost = [win(&["sun"], "02:10", "02:40", false, TOR)];
        assert_eq!(next_opening(&lost, midnight), some("2026-03-15T06:10"));
    }

    #[test]
    fn a_day_long_gap_is_handled() {
        // Samoa skipped Friday 2011-12-30: 23:59:59 -10:00 on the 29th, then 00:00 +14:00 on the 31st.
        let tz: Tz = "Pacific/Apia".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2011, 12, 30).unwrap();
        let at = resolve(tz, day.and_hms_opt(10, 0, 0).unwrap(), Edge::Start);
        assert_eq!(at, utc("2011-12-30T10:00"));
        let w = [win(&["fri"], "10:00", "12:00", false, "Pacific/Apia")];
        assert_eq!(next(&w, "2011-12-29T22:00"), some("2012-01-05T20:00"));
    }

    #[test]
    fn fall_back_overlap_starts_early_and_ends_late() {
        // 2026-11-01, Toronto: 01:00-02:00 happens twice, EDT (UTC-4) then EST (UTC-5) from 06:00Z.
        let w = [win(&["sun"], "01:30", "03:00", false, TOR)];
        assert_eq!(next(&w, "2026-11-01T04:00"), some("2026-11-01T05:30"));
        assert!(open(&w, "2026-11-01T06:10")); // second 01:10, still open
        assert_eq!(closes(&w, "2026-11-01T05:30"), some("2026-11-01T08:00"));
        let night = [win(&["sun"], "00:00", "01:30", false, TOR)];
        assert!(open(&night, "2026-11-01T06:15")); // second 01:15
        assert!(!open(&night, "2026-11-01T06:30")); // second 01:30
    }

    #[test]
    fn window_in_tokyo_against_utc_instants() {
        let w = [win(WEEKDAYS, "09:00", "18:00", false, "Asia/Tokyo")];
        assert!(open(&w, "2026-03-02T00:30")); // Mon 09:30 JST
        assert!(!open(&w, "2026-03-01T23:59")); // Mon 08:59 JST (Sunday in UTC)
        assert_eq!(next(&w, "2026-03-01T23:59"), some("2026-03-02T00:00"));
        assert!(!open(&w, "2026-03-02T20:00")); // Tue 05:00 JST
        // Friday 18:00 JST -> Monday 09:00 JST.
        assert_eq!(next(&w, "2026-03-06T09:00"), some("2026-03-09T00:00"));
    }
}
