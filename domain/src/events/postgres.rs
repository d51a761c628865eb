//! Events across replicas on PostgreSQL: every process publishes through `NOTIFY` and hears
//! every process's events (its own included) through `LISTEN`, then hands them to its local
//! subscribers. Payloads carry the tenant and ids only, never bodies (NOTIFY payloads are
//! limited to 8,000 bytes and pass through the server's memory).

use super::{DomainEvent, EventBus, InProcessBus};
use crate::TenantId;
use sea_orm::sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "clientele_events";
/// Events queued for NOTIFY before publishers start dropping them (and logging it).
const QUEUE: usize = 65_536;
/// Events sent in one round trip.
const BATCH: usize = 256;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Envelope {
    tenant: TenantId,
    event: DomainEvent,
}

/// Encodes one event as a NOTIFY payload.
fn encode(tenant: TenantId, event: &DomainEvent) -> Option<String> {
    serde_json::to_string(&Envelope {
        tenant,
        event: event.clone(),
    })
    .ok()
}

/// Reads a NOTIFY payload; `None` for anything this version does not understand.
fn decode(payload: &str) -> Option<(TenantId, DomainEvent)> {
    serde_json::from_str::<Envelope>(payload)
        .ok()
        .map(|e| (e.tenant, e.event))
}

/// The event bus of a replica on PostgreSQL.
pub struct PgBus {
    local: Arc<InProcessBus>,
    outbox: mpsc::Sender<String>,
}

impl PgBus {
    /// Starts listening on `pool`'s database and the task that sends this process's events.
    /// `capacity` bounds each tenant's local channel, as for [`InProcessBus`].
    pub async fn start(pool: PgPool, capacity: usize) -> Result<Arc<Self>, sea_orm::sqlx::Error> {
        let local = Arc::new(InProcessBus::new(capacity));
        // The listener keeps its connection for good, so it gets a pool of its own: taken
        // from the application's pool it would shrink it and make `close()` wait forever.
        let own = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with((*pool.connect_options()).clone())
            .await?;
        let mut listener = PgListener::connect_with(&own).await?;
        listener.listen(CHANNEL).await?;
        let (outbox, queue) = mpsc::channel(QUEUE);
        tokio::spawn(listen(listener, local.clone()));
        tokio::spawn(send(pool, queue));
        Ok(Arc::new(PgBus { local, outbox }))
    }
}

async fn listen(mut listener: PgListener, local: Arc<InProcessBus>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match decode(notification.payload()) {
                Some((tenant, event)) => local.publish(tenant, event),
                None => tracing::warn!("ignoring an event this version cannot read"),
            },
            // The connection dropped; the listener reconnects on the next call. Events sent
            // in between are not seen here: subscribers reload when they reconnect.
            Ok(None) => tracing::warn!("event listener reconnecting; events may have been missed"),
            Err(e) => {
                tracing::warn!(error = %e, "event listener failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn send(pool: PgPool, mut queue: mpsc::Receiver<String>) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let payloads = std::mem::take(&mut batch);
        let sent = sea_orm::sqlx::query(
            "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload",
        )
        .bind(CHANNEL)
        .bind(&payloads)
        .execute(&pool)
        .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, events = payloads.len(), "cannot send events to other replicas");
        }
    }
}

impl EventBus for PgBus {
    fn publish(&self, tenant: TenantId, event: DomainEvent) {
        let Some(payload) = encode(tenant, &event) else {
            return;
        };
        if self.outbox.try_send(payload).is_err() {
            tracing::warn!("event queue full; an event was dropped");
        }
    }

    fn subscribe(&self, tenant: TenantId) -> broadcast::Receiver<DomainEvent> {
        self.local.subscribe(tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientId;

    #[test]
    fn payloads_round_trip_and_stay_small() {
        let tenant = TenantId::new();
        let event = DomainEvent::MessageAdded {
            conversation_id: uuid::Uuid::now_v7(),
            client_id: Some(ClientId::new()),
            message_id: uuid::Uuid::now_v7(),
        };
        let payload = encode(tenant, &event).unwrap();
        assert!(payload.len() < 300, "{payload}");
        assert_eq!(decode(&payload), Some((tenant, event)));
        assert_eq!(decode("{\"tenant\":1}"), None);
    }
}
