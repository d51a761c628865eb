//! Messages just published, shared by everyone in this process who reads them for the
//! `messageAdded` event: the publisher leaves the stored row here, and subscribers (or their
//! shared executions) take it instead of querying the message again.

use crate::TenantId;
use crate::entities::message;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// How long a loaded message is shared with later subscribers of the same event.
const SHARED_FOR: Duration = Duration::from_secs(2);
/// At most this many loads are remembered; the oldest is forgotten first.
const SHARED_MAX: usize = 1024;

type SharedKey = (TenantId, Uuid);

/// One load per `messageAdded` event per process (none when the publisher left the row): every
/// subscriber of the tenant that receives the event awaits the same load instead of querying
/// the message itself. Keyed by tenant and message, and loaded scoped to that tenant, so
/// nothing crosses tenants. A failed load leaves the cell empty and the next subscriber tries
/// again.
#[derive(Default)]
struct SharedMessages {
    cells: HashMap<SharedKey, (Instant, Arc<OnceCell<message::Model>>)>,
    order: VecDeque<(Instant, SharedKey)>,
}

static SHARED_MESSAGES: LazyLock<Mutex<SharedMessages>> = LazyLock::new(Default::default);

/// The cell of message `id` of `tenant`: filled by the publisher, or by the first reader with
/// `get_or_try_init` (loading it scoped to `tenant`).
pub fn shared_message(tenant: TenantId, id: Uuid) -> Arc<OnceCell<message::Model>> {
    let now = Instant::now();
    let mut shared = SHARED_MESSAGES.lock().unwrap_or_else(|e| e.into_inner());
    let SharedMessages { cells, order } = &mut *shared;
    while let Some(&(at, key)) = order.front() {
        if order.len() <= SHARED_MAX && now.duration_since(at) < SHARED_FOR {
            break;
        }
        order.pop_front();
        if cells.get(&key).is_some_and(|(created, _)| *created == at) {
            cells.remove(&key);
        }
    }
    let key = (tenant, id);
    if let Some((_, cell)) = cells.get(&key) {
        return cell.clone();
    }
    let cell = Arc::new(OnceCell::new());
    cells.insert(key, (now, cell.clone()));
    order.push_back((now, key));
    cell
}

/// Bodies longer than this are not left by the publisher (readers load them), so the cells
/// hold at most `SHARED_MAX` times this much text.
const PRIME_MAX_BODY: usize = 16 * 1024;

/// Leaves a message just stored for this process's readers of its `messageAdded` event.
pub(crate) fn prime(tenant: TenantId, row: &message::Model) {
    if row.body.as_ref().is_some_and(|b| b.len() > PRIME_MAX_BODY) {
        return;
    }
    // Already filled: someone loaded the same row.
    let _ = shared_message(tenant, row.id).set(row.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tenant: TenantId) -> message::Model {
        let now = chrono::Utc::now();
        message::Model {
            id: Uuid::now_v7(),
            tenant_id: tenant.0,
            conversation_id: Uuid::now_v7(),
            direction: message::Direction::Inbound,
            author_kind: message::AuthorKind::Customer,
            author_id: None,
            body: Some("hello".into()),
            provider: "generic".into(),
            provider_message_id: None,
            sms_segments: None,
            extraction_state: message::ExtractionState::Pending,
            sent_at: now,
            created_at: now,
            body_purged_at: None,
        }
    }

    #[test]
    fn a_primed_row_is_shared_within_its_tenant_only() {
        let (a, b) = (TenantId::new(), TenantId::new());
        let stored = row(a);
        prime(a, &stored);
        assert_eq!(shared_message(a, stored.id).get(), Some(&stored));
        assert_eq!(shared_message(b, stored.id).get(), None);
    }

    #[test]
    fn a_long_body_is_left_for_readers_to_load() {
        let tenant = TenantId::new();
        let mut long = row(tenant);
        long.body = Some("x".repeat(PRIME_MAX_BODY + 1));
        prime(tenant, &long);
        assert_eq!(shared_message(tenant, long.id).get(), None);
    }
}
