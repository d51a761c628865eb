//! What a live timeline has already delivered. Events name only the client, so on each one
//! the subscription reloads the client's timeline from a watermark. The watermark trails the
//! newest event by [`OVERLAP`], so an event written by a transaction that committed late (its
//! timestamp older than one already delivered) is still found; ids seen within the overlap
//! are remembered so nothing is delivered twice.

use chrono::{DateTime, Duration, Utc};
use clientele_domain::entities::timeline_event;
use std::collections::HashMap;
use uuid::Uuid;

/// The most events loaded per notification.
pub const BATCH: u64 = 200;
/// How far behind the newest delivered event the next load starts.
pub const OVERLAP: Duration = Duration::seconds(10);

pub struct Seen {
    /// When the subscription began: older events are history, not news.
    floor: DateTime<Utc>,
    newest: DateTime<Utc>,
    ids: HashMap<Uuid, DateTime<Utc>>,
}

impl Seen {
    /// Nothing delivered yet; events from `start` on are new.
    pub fn new(start: DateTime<Utc>) -> Self {
        Seen {
            floor: start,
            newest: start,
            ids: HashMap::new(),
        }
    }

    /// Where the next load starts.
    pub fn from(&self) -> DateTime<Utc> {
        (self.newest - OVERLAP).max(self.floor)
    }

    /// The rows not delivered before, in order; remembers them and forgets ids that fell
    /// out of the overlap.
    pub fn keep_new(&mut self, rows: Vec<timeline_event::Model>) -> Vec<timeline_event::Model> {
        let fresh: Vec<_> = rows
            .into_iter()
            .filter(|r| r.occurred_at >= self.floor && !self.ids.contains_key(&r.id))
            .collect();
        for r in &fresh {
            self.ids.insert(r.id, r.occurred_at);
            self.newest = self.newest.max(r.occurred_at);
        }
        let horizon = self.from();
        self.ids.retain(|_, at| *at >= horizon);
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_domain::entities::timeline_event::{ActorKind, TimelineKind};

    fn event(at: DateTime<Utc>) -> timeline_event::Model {
        timeline_event::Model {
            id: Uuid::now_v7(),
            tenant_id: Uuid::nil(),
            client_id: Uuid::nil(),
            kind: TimelineKind::Updated,
            actor_kind: ActorKind::System,
            actor_id: None,
            actor_name: None,
            payload: serde_json::Value::Null,
            occurred_at: at,
        }
    }

    #[test]
    fn each_event_is_delivered_once_and_late_commits_are_found() {
        let t0 = Utc::now();
        let mut seen = Seen::new(t0);
        let a = event(t0 + Duration::seconds(1));
        let b = event(t0 + Duration::seconds(3));
        assert_eq!(seen.keep_new(vec![a.clone(), b.clone()]).len(), 2);
        // The next load overlaps: a and b come back and are dropped.
        assert!(seen.from() <= a.occurred_at);
        // A transaction that committed late wrote an event stamped before b.
        let late = event(t0 + Duration::seconds(2));
        let again = seen.keep_new(vec![a, late.clone(), b]);
        assert_eq!(again, vec![late]);
    }

    #[test]
    fn events_from_before_the_subscription_are_not_news() {
        let t0 = Utc::now();
        let mut seen = Seen::new(t0);
        assert_eq!(seen.from(), t0);
        let before = event(t0 - Duration::seconds(1));
        let after = event(t0 + Duration::seconds(1));
        assert_eq!(seen.keep_new(vec![before, after.clone()]), vec![after]);
    }

    #[test]
    fn old_ids_are_forgotten() {
        let t0 = Utc::now();
        let mut seen = Seen::new(t0);
        seen.keep_new(vec![event(t0)]);
        seen.keep_new(vec![event(t0 + Duration::seconds(60))]);
        assert_eq!(seen.ids.len(), 1);
    }
}
