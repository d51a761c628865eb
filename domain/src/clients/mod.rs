//! Clients: create, update, read and list one tenant's client records. Every change bumps the
//! client's `version` and writes timeline events in the same transaction, and is announced
//! (`ClientChanged`) after it commits.

pub mod csv_io;
pub mod fields;
pub mod merge;
mod ops;
pub mod query;

pub use fields::{ClientInput, FieldChange, Patch, TenantRules};
pub use ops::{
    BulkOutcome, BulkSelection, ClientStats, bulk_update, delete, erase, export, restore,
    set_sensitive, stats,
};
pub use query::{ClientFilter, ClientOrder, SortField};

use crate::entities::client::{self, BotStatus, ClientSource, SaleStatus};
use crate::entities::client_identity::IdentityKind;
use crate::entities::json::{JsonObject, StringList};
use crate::entities::timeline_event::TimelineKind;
use crate::pagination::{Page, PageArgs};
use crate::timeline::{self, EventActor};
use crate::{
    Actor, ClientId, Domain, DomainError, DomainEvent, DomainResult, Role, TenantId, identities,
    tenants,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Iterable,
    ModelTrait, QueryFilter,
};
use serde_json::{Value, json};

/// The tenant's rules for configurable fields.
pub async fn rules_for(db: &impl ConnectionTrait, tenant: TenantId) -> DomainResult<TenantRules> {
    Ok(rules_of(&tenants::get(db, tenant).await?))
}

/// The rules for configurable fields of a tenant already read.
pub fn rules_of(t: &crate::entities::tenant::Model) -> TenantRules {
    TenantRules {
        region: tenants::region_of(t),
        statuses: t.client_statuses.0.clone(),
        funnel_stages: t.funnel_stages.0.clone(),
    }
}

/// A new, empty client of `tenant` with every default set.
pub fn blank(tenant: TenantId, rules: &TenantRules, source: ClientSource) -> client::Model {
    let now = chrono::Utc::now();
    client::Model {
        id: ClientId::new().0,
        tenant_id: tenant.0,
        first_name: None,
        last_name: None,
        email: None,
        phone: None,
        company: None,
        street: None,
        city: None,
        state: None,
        zip: None,
        country: None,
        date_of_birth: None,
        notes: None,
        metadata: JsonObject::default(),
        external_id: None,
        source,
        status: rules
            .statuses
            .first()
            .cloned()
            .unwrap_or_else(|| "new".into()),
        purchase_intent: None,
        interests: StringList::default(),
        traits: StringList::default(),
        needs: StringList::default(),
        sale_status: SaleStatus::None,
        funnel_stage: None,
        bot_status: BotStatus::Active,
        sentiment: None,
        sensitive: false,
        mystery_shopper: false,
        contractor: false,
        custom_config: JsonObject::default(),
        first_seen_at: Some(now),
        last_active_at: None,
        activity_at: Some(now),
        sort_name: String::new(),
        search_text: String::new(),
        merged_into_id: None,
        erased_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        avatar_url: None,
    }
}

/// The timeline events a set of field changes produces: one per status, intent, funnel stage
/// and sale status change (so those histories can be read on their own), and one `updated`
/// event for everything else.
pub fn events_for(changes: &[FieldChange]) -> Vec<(TimelineKind, Value)> {
    let mut events = Vec::new();
    let mut rest = Vec::new();
    for change in changes {
        let kind = match change.field {
            "status" => Some(TimelineKind::StatusChanged),
            "purchaseIntent" => Some(TimelineKind::IntentChanged),
            "funnelStage" => Some(TimelineKind::FunnelStageChanged),
            "saleStatus" => Some(TimelineKind::SaleStatusChanged),
            _ => None,
        };
        let entry =
            json!({ "field": change.field, "before": change.before, "after": change.after });
        match kind {
            Some(kind) => events.push((kind, entry)),
            None => rest.push(entry),
        }
    }
    if !rest.is_empty() {
        events.push((TimelineKind::Updated, json!({ "changes": rest })));
    }
    events
}

/// Writes `next` over `before`, bumping the version; another writer in between is a
/// `Conflict` and nothing is written.
pub(crate) async fn write_row(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    before: &client::Model,
    mut next: client::Model,
) -> DomainResult<client::Model> {
    next.version = before.version + 1;
    next.updated_at = chrono::Utc::now();
    let row = changed_columns(before, &next);
    let result = client::Entity::scoped_update(tenant)
        .set(row)
        .filter(client::Column::Id.eq(before.id))
        .filter(client::Column::Version.eq(before.version))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(stale(before.version));
    }
    Ok(next)
}

/// An update of the columns whose values differ from `before` (always `version` and
/// `updated_at`). The key is never among them: setting it would cost SQLite a foreign-key scan
/// of every table that references clients. Fewer columns also mean SQLite rewrites only the
/// indexes that cover a changed column and runs the search-index trigger only when the search
/// text changed (an import that changes a city touched all of them for every row).
fn changed_columns(before: &client::Model, next: &client::Model) -> client::ActiveModel {
    let mut row = next.clone().into_active_model().reset_all();
    for column in client::Column::iter() {
        if matches!(column, client::Column::Id) || before.get(column) == next.get(column) {
            row.not_set(column);
        }
    }
    row
}

fn stale(seen: i64) -> DomainError {
    DomainError::Conflict(format!(
        "the client changed since version {seen}; reload it and try again"
    ))
}

/// Keeps the primary email and phone identities in step with the client's columns.
pub(crate) async fn sync_identities(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    before: Option<&client::Model>,
    after: &client::Model,
    source: &str,
) -> DomainResult<()> {
    let id = ClientId(after.id);
    for (kind, old, new) in [
        (
            IdentityKind::Email,
            before.and_then(|b| b.email.clone()),
            after.email.clone(),
        ),
        (
            IdentityKind::Phone,
            before.and_then(|b| b.phone.clone()),
            after.phone.clone(),
        ),
    ] {
        if old == new {
            continue;
        }
        match (&old, &new) {
            (_, Some(value)) => {
                identities::set_primary_value(db, tenant, id, kind, value, source).await?
            }
            (Some(value), None) => {
                // Cleared: the value no longer reaches this person.
                if let Some(identity) = identities::owner(db, tenant, kind, "", value).await?
                    && identity.client_id == id.0
                {
                    identity.into_active_model().delete(db).await?;
                }
            }
            (None, None) => {}
        }
    }
    Ok(())
}

fn publish(d: &Domain, tenant: TenantId, row: &client::Model) {
    d.events.publish(
        tenant,
        DomainEvent::ClientChanged {
            client_id: ClientId(row.id),
        },
    );
}

pub async fn create(d: &Domain, actor: &Actor, input: ClientInput) -> DomainResult<client::Model> {
    actor.require(Role::Agent)?;
    let rules = rules_for(&d.db, actor.tenant).await?;
    let empty = blank(actor.tenant, &rules, ClientSource::Manual);
    let (mut row, changes) = fields::apply_input(&empty, input, &rules)?;
    fields::ensure_identifiable(&row)?;
    fields::refresh_derived(&mut row);
    let txn = d.begin_write().await?;
    let active = row.clone().into_active_model().reset_all();
    client::Entity::insert(active)
        .exec_without_returning(&txn)
        .await?;
    sync_identities(&txn, actor.tenant, None, &row, "manual").await?;
    let initial: Vec<Value> = changes
        .iter()
        .map(|c| json!({ "field": c.field, "after": c.after }))
        .collect();
    timeline::record(
        &txn,
        actor.tenant,
        ClientId(row.id),
        &EventActor::from(actor),
        TimelineKind::Created,
        json!({ "source": "manual", "fields": initial }),
    )
    .await?;
    txn.commit().await?;
    publish(d, actor.tenant, &row);
    crate::crm::client_created(d, actor.tenant).await;
    Ok(row)
}

/// Updates a client. With `expected_version`, a client changed since the caller read it is a
/// `Conflict` and nothing is written; without it, the write still never overwrites a
/// concurrent change it did not see.
pub async fn update(
    d: &Domain,
    actor: &Actor,
    id: ClientId,
    input: ClientInput,
    expected_version: Option<i64>,
) -> DomainResult<client::Model> {
    actor.require(Role::Agent)?;
    let rules = rules_for(&d.db, actor.tenant).await?;
    let txn = d.begin_write().await?;
    let current = find_live(&txn, actor.tenant, id).await?;
    if let Some(expected) = expected_version
        && expected != current.version
    {
        return Err(stale(expected));
    }
    let (mut next, changes) = fields::apply_input(&current, input, &rules)?;
    if changes.is_empty() {
        return Ok(current);
    }
    fields::ensure_identifiable(&next)?;
    fields::refresh_derived(&mut next);
    let saved = write_row(&txn, actor.tenant, &current, next).await?;
    sync_identities(&txn, actor.tenant, Some(&current), &saved, "manual").await?;
    for (kind, payload) in events_for(&changes) {
        timeline::record(
            &txn,
            actor.tenant,
            id,
            &EventActor::from(actor),
            kind,
            payload,
        )
        .await?;
    }
    txn.commit().await?;
    publish(d, actor.tenant, &saved);
    Ok(saved)
}

/// A client by id, following merges to the surviving record. Deleted clients (and erased
/// tombstones) are returned too, marked as such.
pub async fn get(d: &Domain, actor: &Actor, id: ClientId) -> DomainResult<client::Model> {
    resolve(&d.db, actor.tenant, id).await
}

/// Several clients by id in one query (for DataLoaders); merged ids lead to the surviving
/// client, like [`get`].
pub async fn get_many(
    d: &Domain,
    tenant: TenantId,
    ids: &[uuid::Uuid],
) -> DomainResult<std::collections::HashMap<uuid::Uuid, client::Model>> {
    let mut out = std::collections::HashMap::new();
    let rows = client::Entity::scoped(tenant)
        .filter(client::Column::Id.is_in(ids.iter().copied()))
        .all(&d.db)
        .await?;
    for row in rows {
        let id = row.id;
        let row = match row.merged_into_id {
            None => row,
            Some(_) => resolve(&d.db, tenant, ClientId(id)).await?,
        };
        out.insert(id, row);
    }
    Ok(out)
}

pub(crate) async fn resolve(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: ClientId,
) -> DomainResult<client::Model> {
    let mut id = id.0;
    for _ in 0..8 {
        let row = client::Entity::scoped(tenant)
            .filter(client::Column::Id.eq(id))
            .one(db)
            .await?
            .ok_or_else(|| DomainError::not_found("client"))?;
        match row.merged_into_id {
            Some(next) => id = next,
            None => return Ok(row),
        }
    }
    Err(DomainError::not_found("client"))
}

/// A client that can be changed: resolved through merges, not deleted.
pub(crate) async fn find_live(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: ClientId,
) -> DomainResult<client::Model> {
    let row = resolve(db, tenant, id).await?;
    if row.deleted_at.is_some() {
        return Err(DomainError::not_found("client"));
    }
    Ok(row)
}

/// One page of clients in the requested order.
pub async fn list(
    d: &Domain,
    actor: &Actor,
    filter: &ClientFilter,
    order: ClientOrder,
    page: &PageArgs,
) -> DomainResult<Page<client::Model>> {
    query::list(&d.db, actor.tenant, filter, order, page).await
}

/// How many clients match the filter (for `totalCount`).
pub async fn count(d: &Domain, actor: &Actor, filter: &ClientFilter) -> DomainResult<u64> {
    query::count(&d.db, actor.tenant, filter).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(field: &'static str) -> FieldChange {
        FieldChange {
            field,
            before: Value::Null,
            after: json!("x"),
        }
    }

    #[test]
    fn crm_field_changes_get_their_own_events() {
        let events = events_for(&[
            change("firstName"),
            change("status"),
            change("funnelStage"),
            change("email"),
        ]);
        let kinds: Vec<TimelineKind> = events.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            [
                TimelineKind::StatusChanged,
                TimelineKind::FunnelStageChanged,
                TimelineKind::Updated
            ]
        );
        assert_eq!(events[2].1["changes"].as_array().unwrap().len(), 2);
        assert!(events_for(&[]).is_empty());
    }

    #[test]
    fn an_update_sets_only_the_columns_that_changed_and_never_the_key() {
        let rules = TenantRules {
            region: crate::values::Region::parse("CA").unwrap(),
            statuses: vec!["new".into()],
            funnel_stages: vec![],
        };
        let before = blank(TenantId::new(), &rules, ClientSource::Manual);
        let mut next = before.clone();
        next.city = Some("Toronto".into());
        next.version += 1;
        let row = changed_columns(&before, &next);
        let set: Vec<&str> = client::Column::iter()
            .filter(|c| row.get(*c).is_set())
            .map(|c| sea_orm::IdenStatic::as_str(&c))
            .collect();
        assert_eq!(set, ["city", "version"]);
        assert!(changed_columns(&before, &before).is_not_set(client::Column::Id));
    }
}
