//! Typed events, published after a transaction commits, delivered per tenant.
//!
//! Events carry ids, never bodies: subscribers load what they show. A subscriber that falls
//! behind by more than the channel capacity is told (it sees `Lagged`) and never slows the
//! publisher or other subscribers.

mod postgres;

pub use postgres::PgBus;

use crate::{ClientId, TenantId};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::broadcast;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DomainEvent {
    /// Something about the client changed; subscribers load what they show.
    ClientChanged { client_id: ClientId },
    MessageAdded {
        conversation_id: uuid::Uuid,
        client_id: Option<ClientId>,
        message_id: uuid::Uuid,
    },
    /// A CRM sync run started, progressed or finished (admins load it).
    SyncRunUpdated {
        connection_id: uuid::Uuid,
        run_id: uuid::Uuid,
    },
    /// A notification was raised (`notification_kind` as in `notifications::Kind::as_str`).
    NotificationRaised {
        notification_id: uuid::Uuid,
        notification_kind: String,
    },
}

/// Where committed changes are announced. One process uses [`InProcessBus`].
pub trait EventBus: Send + Sync + 'static {
    fn publish(&self, tenant: TenantId, event: DomainEvent);
    fn subscribe(&self, tenant: TenantId) -> broadcast::Receiver<DomainEvent>;
}

/// Bounded broadcast channels keyed by tenant, for a single process.
pub struct InProcessBus {
    capacity: usize,
    channels: Mutex<HashMap<TenantId, broadcast::Sender<DomainEvent>>>,
}

impl InProcessBus {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            channels: Mutex::new(HashMap::new()),
        }
    }

    fn channels(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<TenantId, broadcast::Sender<DomainEvent>>> {
        // A panic while holding this lock cannot leave the map inconsistent: recover it.
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl EventBus for InProcessBus {
    fn publish(&self, tenant: TenantId, event: DomainEvent) {
        let mut channels = self.channels();
        if let Some(sender) = channels.get(&tenant)
            && sender.send(event).is_err()
        {
            // Nobody listens any more: forget the channel.
            channels.remove(&tenant);
        }
    }

    fn subscribe(&self, tenant: TenantId) -> broadcast::Receiver<DomainEvent> {
        self.channels()
            .entry(tenant)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(n: i64) -> DomainEvent {
        DomainEvent::ClientChanged {
            client_id: ClientId(uuid::Uuid::from_u128(n as u128)),
        }
    }

    #[test]
    fn events_reach_only_their_tenant() {
        let bus = InProcessBus::new(8);
        let (a, b) = (TenantId::new(), TenantId::new());
        let mut rx_a = bus.subscribe(a);
        let mut rx_b = bus.subscribe(b);
        bus.publish(a, changed(1));
        assert_eq!(rx_a.try_recv().unwrap(), changed(1));
        assert!(rx_b.try_recv().is_err());
    }

    #[test]
    fn a_slow_subscriber_is_told_it_lagged() {
        let bus = InProcessBus::new(2);
        let t = TenantId::new();
        let mut slow = bus.subscribe(t);
        for n in 0..5 {
            bus.publish(t, changed(n));
        }
        assert!(matches!(
            slow.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(3))
        ));
    }

    #[test]
    fn publishing_without_subscribers_forgets_the_channel() {
        let bus = InProcessBus::new(2);
        let t = TenantId::new();
        drop(bus.subscribe(t));
        bus.publish(t, changed(1));
        assert!(bus.channels().is_empty());
    }
}
