//! Tracking controls: what Clientele does on its own with the people who write in, per tenant
//! and per receiving number or inbox (a channel's value overrides the tenant's).
//!
//! - **Automatic client creation** on or off. Off keeps conversations and messages but
//!   creates no client for an unknown sender (matching existing clients still happens).
//!   Turning it on applies going forward only: a message received while it was off never
//!   creates a client, even when its extraction runs later.
//! - **Default phone region** for numbers written without a country code.
//! - **Known-sender check**: a new thread from an identifier that belongs to a client is
//!   linked at once (`link`, the default) or carries the client as a suggestion until
//!   someone confirms or rejects it (`confirm`).
//! - **Extractors**: which kinds of facts extraction looks for.

use crate::audit::{self, Outcome};
use crate::entities::json::StringList;
use crate::entities::tenant::{self, KnownSenderCheck};
use crate::entities::tenant_channel;
use crate::values::Region;
use crate::{Actor, Domain, DomainError, DomainResult, TenantId};
use chrono::{DateTime, Utc};
use clientele_extract::Enabled;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, IntoActiveModel, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// The extractor names, in display order.
pub const EXTRACTORS: [&str; 6] = ["email", "phone", "name", "company", "address", "intent"];

/// The tracking controls in force for one receiving channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracking {
    pub auto_create: bool,
    /// Messages received before this instant create no client (`None`: since always).
    pub auto_create_since: Option<DateTime<Utc>>,
    pub region: Region,
    pub known_sender: KnownSenderCheck,
    pub extractors: Enabled,
}

impl Tracking {
    /// Whether a message received at `received_at` may create a client.
    pub fn may_create_client(&self, received_at: DateTime<Utc>) -> bool {
        self.auto_create
            && self
                .auto_create_since
                .is_none_or(|since| received_at >= since)
    }
}

/// The controls in force: the channel's values where it has them, else the tenant's.
pub fn effective(tenant: &tenant::Model, channel: Option<&tenant_channel::Model>) -> Tracking {
    let tenant_region = crate::tenants::region_of(tenant);
    let region = channel
        .and_then(|c| c.default_region.as_deref())
        .and_then(|r| Region::parse(r).ok())
        .unwrap_or(tenant_region);
    let (auto_create, auto_create_since) = effective_auto_create(
        (tenant.auto_create_clients, tenant.auto_create_since),
        channel.map(|c| (c.auto_create_clients, c.auto_create_since)),
    );
    Tracking {
        auto_create,
        auto_create_since,
        region,
        known_sender: channel
            .and_then(|c| c.known_sender_check)
            .unwrap_or(tenant.known_sender_check),
        extractors: enabled(
            channel
                .and_then(|c| c.extractors.as_ref())
                .or(tenant.extractors.as_ref()),
        ),
    }
}

/// Automatic creation for a channel: its own switch or the tenant's. The channel's `since`
/// records when the channel itself last came on (by its own switch or by following the
/// tenant), so the later of the two applies while it follows the tenant.
fn effective_auto_create(
    tenant: (bool, Option<DateTime<Utc>>),
    channel: Option<(Option<bool>, Option<DateTime<Utc>>)>,
) -> (bool, Option<DateTime<Utc>>) {
    match channel {
        None => tenant,
        Some((Some(on), since)) => (on, since),
        Some((None, since)) => (tenant.0, tenant.1.max(since)),
    }
}

/// The extractors switched on by a stored list (`None`: all of them).
pub fn enabled(list: Option<&StringList>) -> Enabled {
    let Some(list) = list else {
        return Enabled::default();
    };
    let on = |name: &str| list.0.iter().any(|n| n == name);
    Enabled {
        emails: on("email"),
        phones: on("phone"),
        persons: on("name"),
        companies: on("company"),
        addresses: on("address"),
        intents: on("intent"),
    }
}

/// A list of extractor names as stored: known names only, each once, in display order.
pub fn clean_extractors(field: &str, names: &[String]) -> DomainResult<StringList> {
    let mut wanted = Vec::new();
    for name in names {
        let name = name.trim().to_ascii_lowercase();
        if !EXTRACTORS.contains(&name.as_str()) {
            return Err(DomainError::invalid(
                field,
                format!("{name:?} is not one of {}", EXTRACTORS.join(", ")),
            ));
        }
        wanted.push(name);
    }
    Ok(StringList(
        EXTRACTORS
            .iter()
            .filter(|e| wanted.iter().any(|w| w == *e))
            .map(|e| e.to_string())
            .collect(),
    ))
}

/// What an admin changes about the tenant's controls; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct TenantTracking {
    pub auto_create_clients: Option<bool>,
    pub known_sender_check: Option<KnownSenderCheck>,
    /// `Some(None)` switches every extractor back on.
    pub extractors: Option<Option<Vec<String>>>,
}

/// What an admin changes about one channel's overrides: `Some(None)` goes back to the
/// tenant's value, `None` keeps the current one.
#[derive(Clone, Debug, Default)]
pub struct ChannelTracking {
    pub auto_create_clients: Option<Option<bool>>,
    pub default_region: Option<Option<String>>,
    pub known_sender_check: Option<Option<KnownSenderCheck>>,
    pub extractors: Option<Option<Vec<String>>>,
}

/// The `since` to store when a switch goes from `before` to `after`: now when it comes on,
/// else what was stored.
fn since_after(
    before: bool,
    after: bool,
    stored: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if after && !before { Some(now) } else { stored }
}

/// Changes the tenant's controls (admins; audited with before/after).
pub async fn update_tenant(
    d: &Domain,
    actor: &Actor,
    change: TenantTracking,
) -> DomainResult<tenant::Model> {
    audit::require_admin(&d.db, actor, "tracking.update", Some(actor.tenant.0)).await?;
    let extractors = match &change.extractors {
        Some(Some(list)) => Some(Some(clean_extractors("extractors", list)?)),
        Some(None) => Some(None),
        None => None,
    };
    let now = Utc::now();
    let txn = d.begin_write().await?;
    let current = crate::tenants::get(&txn, actor.tenant).await?;
    let mut row = current.clone().into_active_model();
    if let Some(on) = change.auto_create_clients {
        row.auto_create_clients = Set(on);
        row.auto_create_since = Set(since_after(
            current.auto_create_clients,
            on,
            current.auto_create_since,
            now,
        ));
    }
    if let Some(check) = change.known_sender_check {
        row.known_sender_check = Set(check);
    }
    if let Some(list) = extractors {
        row.extractors = Set(list);
    }
    let saved = row.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        "tracking.update",
        Some(actor.tenant.0),
        Outcome::Allowed,
        json!({ "before": tenant_json(&current), "after": tenant_json(&saved) }),
    )
    .await?;
    txn.commit().await?;
    // Webhooks route with the tenant's and its channels' settings: read them again.
    d.routes.changed();
    Ok(saved)
}

fn tenant_json(t: &tenant::Model) -> serde_json::Value {
    json!({
        "autoCreateClients": t.auto_create_clients,
        "knownSenderCheck": t.known_sender_check,
        "extractors": t.extractors,
    })
}

fn channel_json(c: &tenant_channel::Model) -> serde_json::Value {
    json!({
        "autoCreateClients": c.auto_create_clients,
        "defaultRegion": c.default_region,
        "knownSenderCheck": c.known_sender_check,
        "extractors": c.extractors,
    })
}

/// Changes one channel's overrides (admins; audited with before/after).
pub async fn update_channel(
    d: &Domain,
    actor: &Actor,
    channel_id: Uuid,
    change: ChannelTracking,
) -> DomainResult<tenant_channel::Model> {
    audit::require_admin(&d.db, actor, "tracking.update_channel", Some(channel_id)).await?;
    let region = match &change.default_region {
        Some(Some(r)) => Some(Some(
            Region::parse(r)
                .map_err(|m| DomainError::invalid("defaultRegion", m))?
                .code()
                .to_string(),
        )),
        Some(None) => Some(None),
        None => None,
    };
    let extractors = match &change.extractors {
        Some(Some(list)) => Some(Some(clean_extractors("extractors", list)?)),
        Some(None) => Some(None),
        None => None,
    };
    let now = Utc::now();
    let txn = d.begin_write().await?;
    let current = channel_in(&txn, actor.tenant, channel_id).await?;
    let tenant = crate::tenants::get(&txn, actor.tenant).await?;
    let mut row = current.clone().into_active_model();
    if let Some(on) = change.auto_create_clients {
        let before = effective(&tenant, Some(&current)).auto_create;
        let after = on.unwrap_or(tenant.auto_create_clients);
        row.auto_create_clients = Set(on);
        row.auto_create_since = Set(since_after(before, after, current.auto_create_since, now));
    }
    if let Some(region) = region {
        row.default_region = Set(region);
    }
    if let Some(check) = change.known_sender_check {
        row.known_sender_check = Set(check);
    }
    if let Some(list) = extractors {
        row.extractors = Set(list);
    }
    let saved = row.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        "tracking.update_channel",
        Some(channel_id),
        Outcome::Allowed,
        json!({ "before": channel_json(&current), "after": channel_json(&saved) }),
    )
    .await?;
    txn.commit().await?;
    // Webhooks route with the tenant's and its channels' settings: read them again.
    d.routes.changed();
    Ok(saved)
}

async fn channel_in(
    db: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
) -> DomainResult<tenant_channel::Model> {
    tenant_channel::Entity::scoped(tenant)
        .filter(tenant_channel::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("channel"))
}

/// The tenant's channel receiving at `inbox` (a thread's own side), if it is one of theirs.
pub async fn channel_for_inbox(
    db: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
    inbox: Option<&str>,
) -> DomainResult<Option<tenant_channel::Model>> {
    let Some(inbox) = inbox else {
        return Ok(None);
    };
    Ok(tenant_channel::Entity::scoped(tenant)
        .filter(tenant_channel::Column::Address.eq(crate::conversations::routing_address(inbox)))
        .one(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, h, 0, 0).unwrap()
    }

    fn tracking(on: bool, since: Option<DateTime<Utc>>) -> Tracking {
        Tracking {
            auto_create: on,
            auto_create_since: since,
            region: Region::parse("US").unwrap(),
            known_sender: KnownSenderCheck::Link,
            extractors: Enabled::default(),
        }
    }

    #[test]
    fn creation_applies_only_to_messages_received_since_it_came_on() {
        assert!(tracking(true, None).may_create_client(at(1)));
        assert!(!tracking(false, None).may_create_client(at(1)));
        let on_at_10 = tracking(true, Some(at(10)));
        assert!(!on_at_10.may_create_client(at(9)));
        assert!(on_at_10.may_create_client(at(10)));
        assert!(on_at_10.may_create_client(at(11)));
    }

    #[test]
    fn a_channel_overrides_the_tenant_and_follows_it_otherwise() {
        let tenant = (true, Some(at(5)));
        assert_eq!(effective_auto_create(tenant, None), (true, Some(at(5))));
        // Its own switch wins, with its own since.
        assert_eq!(
            effective_auto_create(tenant, Some((Some(false), None))),
            (false, None)
        );
        assert_eq!(
            effective_auto_create((false, None), Some((Some(true), Some(at(7))))),
            (true, Some(at(7)))
        );
        // Following the tenant: the later of the two instants.
        assert_eq!(
            effective_auto_create(tenant, Some((None, Some(at(8))))),
            (true, Some(at(8)))
        );
        assert_eq!(
            effective_auto_create(tenant, Some((None, Some(at(2))))),
            (true, Some(at(5)))
        );
    }

    #[test]
    fn since_moves_only_when_the_switch_comes_on() {
        assert_eq!(since_after(false, true, None, at(3)), Some(at(3)));
        assert_eq!(since_after(true, true, Some(at(1)), at(3)), Some(at(1)));
        assert_eq!(since_after(true, false, Some(at(1)), at(3)), Some(at(1)));
        assert_eq!(since_after(false, false, None, at(3)), None);
    }

    #[test]
    fn extractor_lists() {
        let all = enabled(None);
        assert_eq!(all, Enabled::default());
        let some = enabled(Some(&StringList(vec!["email".into(), "intent".into()])));
        assert!(some.emails && some.intents);
        assert!(!some.phones && !some.persons && !some.companies && !some.addresses);
        let cleaned = clean_extractors(
            "extractors",
            &["Intent".into(), "email".into(), "email".into()],
        )
        .unwrap();
        assert_eq!(cleaned.0, vec!["email", "intent"]);
        let err = clean_extractors("extractors", &["dates".into()]).unwrap_err();
        assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "extractors"));
    }
}
