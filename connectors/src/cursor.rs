//! The change-feed cursor shared by all providers, and its pure advance rule.
//!
//! Each provider queries "modified at or after `since`, oldest first" and follows its own
//! continuation (`nextRecordsUrl`, search `after`, `@odata.nextLink`). Querying *at or after*
//! (not strictly after) never misses a record modified in the same clock tick as the last one
//! seen; the records already delivered at exactly `since` are remembered by id *and content
//! fingerprint* and skipped, so a record edited again within the same tick is still delivered.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{CrmContact, SyncCursor};
use crate::{CrmError, Result};

/// The key a delivered record is remembered by: remote id plus a fingerprint of its content.
pub(crate) fn seen_key(c: &CrmContact, deleted: bool) -> String {
    use sha2::{Digest, Sha256};
    let content = CrmContact {
        updated_at: None,
        ..c.clone()
    };
    let json = serde_json::to_vec(&(content, deleted)).unwrap_or_default();
    let digest = Sha256::digest(&json);
    let fp: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{}#{fp}", c.remote_id.as_deref().unwrap_or_default())
}

/// Most records remembered at one instant. For a bigger same-instant group (a bulk load) the
/// cursor keeps only this many; once the CRM's clock (its `Date` header) has left that second, the
/// next query runs strictly after it, so the cursor stays small and nothing is lost. While the
/// second is still current the group may be delivered again (duplicates, never gaps).
pub(crate) const MAX_SEEN: usize = 1000;

fn is_false(b: &bool) -> bool {
    !*b
}

/// Position in a change feed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FeedCursor {
    /// Lower bound (inclusive) of the current query window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Query strictly after `since` (its same-instant group was too big to remember).
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict: bool,
    /// Ids already delivered whose modification time equals `since`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
    /// Continuation inside the current query (provider specific).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Latest modification time delivered by the current query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<DateTime<Utc>>,
    /// Ids delivered at `high`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub high_ids: Vec<String>,
    /// More than [`MAX_SEEN`] records were delivered at `high`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub high_overflow: bool,
}

impl FeedCursor {
    /// Decode a stored cursor (`None` = from the beginning).
    pub fn decode(cursor: Option<&SyncCursor>) -> Result<Self> {
        match cursor {
            None => Ok(FeedCursor::default()),
            Some(c) if c.0.is_empty() => Ok(FeedCursor::default()),
            Some(c) => serde_json::from_str(&c.0)
                .map_err(|_| CrmError::Config("sync cursor is not one of ours".into())),
        }
    }

    /// Encode for storage.
    pub fn encode(&self) -> SyncCursor {
        SyncCursor(serde_json::to_string(self).unwrap_or_default())
    }

    /// Whether a record (by [`seen_key`]) returned by the query was not delivered already.
    pub fn is_new(&self, key: &str, modified: DateTime<Utc>) -> bool {
        !(Some(modified) == self.since && self.seen.iter().any(|s| s == key))
    }
}

/// How a page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PageEnd {
    /// The query continues at this token.
    Continue(String),
    /// The query is exhausted.
    Done,
    /// The query hit the provider's result cap: start a new window from the latest record.
    RestartWindow,
}

/// Advance `cursor` past a page of `(seen_key, modified)` records (oldest first). Returns the new
/// cursor and whether more is ready now.
///
/// `server_now` is the CRM's clock when it answered (`Date` header), used to tell whether the
/// second of a huge same-instant group is over.
pub(crate) fn advance(
    cursor: &FeedCursor,
    page: &[(String, DateTime<Utc>)],
    end: PageEnd,
    server_now: Option<DateTime<Utc>>,
) -> (FeedCursor, bool) {
    let mut next = cursor.clone();
    for (id, ts) in page {
        match next.high {
            Some(h) if *ts < h => {}
            Some(h) if *ts == h => {
                if next.high_ids.len() < MAX_SEEN {
                    next.high_ids.push(id.clone());
                } else {
                    next.high_overflow = true;
                }
            }
            _ => {
                next.high = Some(*ts);
                next.high_ids = vec![id.clone()];
                next.high_overflow = false;
            }
        }
    }
    match end {
        PageEnd::Continue(token) => {
            next.next = Some(token);
            (next, true)
        }
        PageEnd::Done | PageEnd::RestartWindow => {
            let restart = end == PageEnd::RestartWindow;
            if let Some(high) = next.high.take() {
                let mut ids = std::mem::take(&mut next.high_ids);
                let mut overflow = std::mem::take(&mut next.high_overflow);
                if Some(high) == next.since && !next.strict {
                    let mut known: std::collections::HashSet<String> =
                        ids.iter().cloned().collect();
                    for id in std::mem::take(&mut next.seen) {
                        if known.insert(id.clone()) {
                            ids.push(id);
                        }
                    }
                    if ids.len() > MAX_SEEN {
                        overflow = true;
                        ids.truncate(MAX_SEEN);
                    }
                }
                next.since = Some(high);
                // Mid-query window restarts never go strict: the rest of the group is still to
                // come; nor while the CRM's current second is the group's own.
                let closed = server_now.is_some_and(|now| now.timestamp() > high.timestamp());
                next.strict = overflow && !restart && closed;
                next.seen = if next.strict { Vec::new() } else { ids };
            }
            next.high_ids.clear();
            next.high_overflow = false;
            next.next = None;
            (next, restart)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0)
            .single()
            .expect("ts")
    }

    #[test]
    fn pages_then_done_moves_since_to_latest() {
        let c0 = FeedCursor::default();
        let (c1, more) = advance(
            &c0,
            &[("a".into(), t(1)), ("b".into(), t(2))],
            PageEnd::Continue("p2".into()),
            None,
        );
        assert!(more);
        assert_eq!(c1.next.as_deref(), Some("p2"));
        assert_eq!(c1.since, None);
        let (c2, more) = advance(&c1, &[("c".into(), t(2))], PageEnd::Done, None);
        assert!(!more);
        assert_eq!(c2.since, Some(t(2)));
        assert_eq!(c2.seen, vec!["b".to_string(), "c".to_string()]);
        assert_eq!(c2.next, None);
        assert!(!c2.is_new("b", t(2)));
        assert!(c2.is_new("b", t(3)));
        assert!(c2.is_new("d", t(2)));
        let round = FeedCursor::decode(Some(&c2.encode())).expect("decode");
        assert_eq!(round, c2);
    }

    #[test]
    fn empty_query_keeps_position_and_same_tick_accumulates() {
        let c = FeedCursor {
            since: Some(t(5)),
            seen: vec!["x".into()],
            ..Default::default()
        };
        let (same, more) = advance(&c, &[], PageEnd::Done, None);
        assert!(!more);
        assert_eq!(same, c);
        let (grown, _) = advance(&c, &[("y".into(), t(5))], PageEnd::Done, None);
        assert_eq!(grown.since, Some(t(5)));
        assert_eq!(grown.seen, vec!["y".to_string(), "x".to_string()]);
    }

    #[test]
    fn huge_same_instant_group_makes_the_next_query_strict() {
        let page: Vec<(String, DateTime<Utc>)> =
            (0..MAX_SEEN + 5).map(|i| (format!("k{i}"), t(7))).collect();
        // While the CRM is still in that second: remember what fits, stay inclusive.
        let (open, _) = advance(&FeedCursor::default(), &page, PageEnd::Done, Some(t(7)));
        assert!(!open.strict);
        assert_eq!(open.seen.len(), MAX_SEEN);
        let (c, more) = advance(&FeedCursor::default(), &page, PageEnd::Done, Some(t(8)));
        assert!(!more);
        assert_eq!(c.since, Some(t(7)));
        assert!(c.strict);
        assert!(c.seen.is_empty(), "the cursor stays small");
        // A later, normal page returns to inclusive mode.
        let (c2, _) = advance(&c, &[("z".into(), t(8))], PageEnd::Done, None);
        assert!(!c2.strict);
        assert_eq!(c2.seen, vec!["z".to_string()]);
        // A window restart in the middle of a big group never skips the rest of it.
        let (r, more) = advance(&FeedCursor::default(), &page, PageEnd::RestartWindow, None);
        assert!(more && !r.strict);
        assert_eq!(r.seen.len(), MAX_SEEN);
    }

    #[test]
    fn restart_window_reports_more() {
        let (c, more) = advance(
            &FeedCursor::default(),
            &[("a".into(), t(9))],
            PageEnd::RestartWindow,
            None,
        );
        assert!(more);
        assert_eq!(c.since, Some(t(9)));
        assert_eq!(c.next, None);
    }

    #[test]
    fn same_tick_edit_changes_the_seen_key() {
        let c = CrmContact {
            remote_id: Some("r".into()),
            city: Some("A".into()),
            ..Default::default()
        };
        let edited = CrmContact {
            city: Some("B".into()),
            ..c.clone()
        };
        assert_ne!(seen_key(&c, false), seen_key(&edited, false));
        assert_ne!(seen_key(&c, false), seen_key(&c, true));
        let touched = CrmContact {
            updated_at: Some(t(1)),
            ..c.clone()
        };
        assert_eq!(seen_key(&c, false), seen_key(&touched, false));
        assert!(seen_key(&c, false).starts_with("r#"));
    }

    #[test]
    fn foreign_cursor_is_rejected() {
        assert!(FeedCursor::decode(Some(&SyncCursor("garbage".into()))).is_err());
        assert_eq!(
            FeedCursor::decode(None).expect("none"),
            FeedCursor::default()
        );
    }
}
