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

/// Position in a change feed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FeedCursor {
    /// Lower bound (inclusive) of the current query window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
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
pub(crate) fn advance(
    cursor: &FeedCursor,
    page: &[(String, DateTime<Utc>)],
    end: PageEnd,
) -> (FeedCursor, bool) {
    let mut next = cursor.clone();
    for (id, ts) in page {
        match next.high {
            Some(h) if *ts < h => {}
            Some(h) if *ts == h => {
                if !next.high_ids.contains(id) {
                    next.high_ids.push(id.clone());
                }
            }
            _ => {
                next.high = Some(*ts);
                next.high_ids = vec![id.clone()];
            }
        }
    }
    match end {
        PageEnd::Continue(token) => {
            next.next = Some(token);
            (next, true)
        }
        PageEnd::Done | PageEnd::RestartWindow => {
            let more = end == PageEnd::RestartWindow;
            if let Some(high) = next.high.take() {
                let mut ids = std::mem::take(&mut next.high_ids);
                if Some(high) == next.since {
                    for id in std::mem::take(&mut next.seen) {
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                }
                next.since = Some(high);
                next.seen = ids;
            }
            next.high_ids.clear();
            next.next = None;
            (next, more)
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
        );
        assert!(more);
        assert_eq!(c1.next.as_deref(), Some("p2"));
        assert_eq!(c1.since, None);
        let (c2, more) = advance(&c1, &[("c".into(), t(2))], PageEnd::Done);
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
        let (same, more) = advance(&c, &[], PageEnd::Done);
        assert!(!more);
        assert_eq!(same, c);
        let (grown, _) = advance(&c, &[("y".into(), t(5))], PageEnd::Done);
        assert_eq!(grown.since, Some(t(5)));
        assert_eq!(grown.seen, vec!["y".to_string(), "x".to_string()]);
    }

    #[test]
    fn restart_window_reports_more() {
        let (c, more) = advance(
            &FeedCursor::default(),
            &[("a".into(), t(9))],
            PageEnd::RestartWindow,
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
