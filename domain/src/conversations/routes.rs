//! Routing inbound messages: the tenant channel a provider's receiving address belongs to,
//! with its tenant's row, kept in memory for a moment.
//!
//! Every webhook needs both rows before its transaction starts (the tenant decides the
//! region phones are read in and what a known sender gets). They change rarely (an admin adds
//! a number or changes tracking), so each process keeps what it read:
//! - a change made through this process clears everything at once (and moves a generation
//!   number on, so that a lookup that read the old rows while the change committed does not
//!   put them back);
//! - a change made through another replica is seen within [`FRESH_FOR`].
//!
//! Unknown destinations are not kept: a channel added on any replica routes at once.

use crate::entities::{tenant, tenant_channel};
use crate::{DomainResult, TenantId};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a route read by this process is used without reading it again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// Routes kept at most; when full, all are dropped (they are read again on use).
const CAPACITY: usize = 10_000;

/// Where messages for one receiving address go.
#[derive(Clone, Debug)]
pub struct Route {
    pub channel: tenant_channel::Model,
    pub tenant: tenant::Model,
}

impl Route {
    pub fn tenant_id(&self) -> TenantId {
        TenantId(self.channel.tenant_id)
    }
}

struct Kept {
    route: Arc<Route>,
    read_at: Instant,
}

#[derive(Default)]
struct State {
    /// Moves on with every change; a route read under an older one is not kept.
    generation: u64,
    kept: HashMap<(String, String), Kept>,
}

/// The routes this process has read (see the module docs).
#[derive(Default)]
pub struct Routes {
    state: Mutex<State>,
}

impl Routes {
    /// Forgets every route: call after committing a change to a tenant or a tenant channel.
    pub fn changed(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.kept.clear();
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent: recover it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn generation(&self) -> u64 {
        self.state().generation
    }

    fn fresh(&self, key: &(String, String), now: Instant) -> Option<Arc<Route>> {
        self.state()
            .kept
            .get(key)
            .filter(|k| usable(k.read_at, now))
            .map(|k| k.route.clone())
    }

    fn keep(&self, key: (String, String), route: Arc<Route>, generation: u64, read_at: Instant) {
        let mut state = self.state();
        // Read before a change committed: not kept (the generation moved on meanwhile).
        if state.generation != generation {
            return;
        }
        if state.kept.len() >= CAPACITY && !state.kept.contains_key(&key) {
            state.kept.clear();
        }
        state.kept.insert(key, Kept { route, read_at });
    }

    /// The route of `provider`'s messages to `address` (in any format providers send it).
    pub async fn resolve(
        &self,
        db: &impl ConnectionTrait,
        provider: &str,
        address: &str,
    ) -> DomainResult<Option<Arc<Route>>> {
        let key = (provider.to_string(), super::routing_address(address));
        let now = Instant::now();
        if let Some(route) = self.fresh(&key, now) {
            return Ok(Some(route));
        }
        let generation = self.generation();
        let Some(route) = read(db, &key.0, &key.1).await? else {
            return Ok(None);
        };
        let route = Arc::new(route);
        self.keep(key, route.clone(), generation, now);
        Ok(Some(route))
    }
}

/// Whether a route read at `read_at` may still be used at `now`.
fn usable(read_at: Instant, now: Instant) -> bool {
    now.saturating_duration_since(read_at) < FRESH_FOR
}

/// Reads a route from the database. Routing happens before a tenant is known: the lookup is
/// by the globally unique (provider, address) pair.
async fn read(
    db: &impl ConnectionTrait,
    provider: &str,
    address: &str,
) -> DomainResult<Option<Route>> {
    let Some(channel) = tenant_channel::Entity::find()
        .filter(tenant_channel::Column::Provider.eq(provider))
        .filter(tenant_channel::Column::Address.eq(address))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let tenant = crate::tenants::get(db, TenantId(channel.tenant_id)).await?;
    Ok(Some(Route { channel, tenant }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::conversation::Channel;
    use crate::entities::json::StringList;
    use crate::entities::tenant::KnownSenderCheck;
    use chrono::Utc;
    use uuid::Uuid;

    fn route() -> Arc<Route> {
        let tenant = tenant::Model {
            id: Uuid::now_v7(),
            slug: "acme".into(),
            name: "Acme".into(),
            default_region: "CA".into(),
            timezone: "America/Toronto".into(),
            created_at: Utc::now(),
            client_statuses: StringList(vec!["new".into()]),
            funnel_stages: StringList(vec![]),
            auto_create_clients: true,
            auto_create_since: None,
            known_sender_check: KnownSenderCheck::Link,
            extractors: None,
        };
        let channel = tenant_channel::Model {
            id: Uuid::now_v7(),
            tenant_id: tenant.id,
            provider: "generic".into(),
            address: "+16475550100".into(),
            channel: Channel::Sms,
            secret: Some("s".into()),
            created_at: Utc::now(),
            auto_create_clients: None,
            auto_create_since: None,
            default_region: None,
            known_sender_check: None,
            extractors: None,
        };
        Arc::new(Route { channel, tenant })
    }

    fn key() -> (String, String) {
        ("generic".into(), "+16475550100".into())
    }

    #[test]
    fn a_route_is_used_for_a_moment_then_read_again() {
        let t0 = Instant::now();
        assert!(usable(t0, t0));
        assert!(usable(t0, t0 + FRESH_FOR - Duration::from_millis(1)));
        assert!(!usable(t0, t0 + FRESH_FOR));

        let routes = Routes::default();
        routes.keep(key(), route(), 0, t0);
        assert!(
            routes
                .fresh(&key(), t0 + Duration::from_millis(10))
                .is_some()
        );
        assert!(routes.fresh(&key(), t0 + FRESH_FOR).is_none());
        assert!(routes.fresh(&("twilio".into(), key().1), t0).is_none());
    }

    #[test]
    fn a_change_forgets_every_route_and_a_read_that_raced_it_is_not_kept() {
        let t0 = Instant::now();
        let routes = Routes::default();
        routes.keep(key(), route(), 0, t0);
        routes.changed();
        assert!(routes.fresh(&key(), t0).is_none());
        // Read before the change committed (generation 0), kept after it: dropped.
        routes.keep(key(), route(), 0, t0);
        assert!(routes.fresh(&key(), t0).is_none());
        routes.keep(key(), route(), 1, t0);
        assert!(routes.fresh(&key(), t0).is_some());
    }
}
