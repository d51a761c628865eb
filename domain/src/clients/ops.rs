//! Whole-record operations: sensitivity, soft delete and restore, erasure, bulk updates,
//! summary statistics and the data export of one client.

use super::{ClientFilter, ClientInput, fields, find_live, publish, resolve, rules_for, write_row};
use crate::audit::{self, Outcome};
use crate::entities::client;
use crate::entities::timeline_event::TimelineKind;
use crate::entities::{
    client_identity, client_note, client_preference, conversation, duplicate_suggestion, meeting,
    message, survey_response, timeline_event,
};
use crate::timeline::{self, EventActor};
use crate::{Actor, ClientId, Domain, DomainError, DomainResult, Role, tenants};
use chrono::{Datelike, TimeZone, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Marks a client sensitive (or not). Admins only; a refused attempt is audited too.
pub async fn set_sensitive(
    d: &Domain,
    actor: &Actor,
    id: ClientId,
    sensitive: bool,
) -> DomainResult<client::Model> {
    audit::require_admin(&d.db, actor, "client.set_sensitive", Some(id.0)).await?;
    let txn = d.begin_write().await?;
    let current = find_live(&txn, actor.tenant, id).await?;
    if current.sensitive == sensitive {
        return Ok(current);
    }
    let mut next = current.clone();
    next.sensitive = sensitive;
    let saved = write_row(&txn, actor.tenant, &current, next).await?;
    timeline::record(
        &txn,
        actor.tenant,
        id,
        &EventActor::from(actor),
        TimelineKind::SensitivityChanged,
        json!({ "field": "sensitive", "before": current.sensitive, "after": sensitive }),
    )
    .await?;
    audit::record(
        &txn,
        actor,
        "client.set_sensitive",
        Some(id.0),
        Outcome::Allowed,
        json!({ "sensitive": sensitive }),
    )
    .await?;
    txn.commit().await?;
    publish(d, actor.tenant, &saved);
    Ok(saved)
}

async fn set_deleted(
    d: &Domain,
    actor: &Actor,
    id: ClientId,
    deleted: bool,
) -> DomainResult<client::Model> {
    actor.require(Role::Agent)?;
    let txn = d.begin_write().await?;
    let current = resolve(&txn, actor.tenant, id).await?;
    if current.erased_at.is_some() {
        return Err(DomainError::Conflict(
            "an erased client cannot be changed".into(),
        ));
    }
    if current.deleted_at.is_some() == deleted {
        return Ok(current);
    }
    let mut next = current.clone();
    next.deleted_at = deleted.then(Utc::now);
    let saved = write_row(&txn, actor.tenant, &current, next).await?;
    let kind = if deleted {
        TimelineKind::Deleted
    } else {
        TimelineKind::Restored
    };
    timeline::record(
        &txn,
        actor.tenant,
        id,
        &EventActor::from(actor),
        kind,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    publish(d, actor.tenant, &saved);
    Ok(saved)
}

/// Soft delete: gone from lists, restorable (agents).
pub async fn delete(d: &Domain, actor: &Actor, id: ClientId) -> DomainResult<client::Model> {
    set_deleted(d, actor, id, true).await
}

/// Brings a soft-deleted client back (agents).
pub async fn restore(d: &Domain, actor: &Actor, id: ClientId) -> DomainResult<client::Model> {
    set_deleted(d, actor, id, false).await
}

/// Erases a person's data for a data-protection request (admins): profile, identities,
/// preferences, notes, meetings, survey responses and the timeline's before/after values
/// are removed; an anonymised tombstone (id, dates, the erasure event) remains.
pub async fn erase(d: &Domain, actor: &Actor, id: ClientId) -> DomainResult<client::Model> {
    audit::require_admin(&d.db, actor, "client.erase", Some(id.0)).await?;
    let txn = d.begin_write().await?;
    let current = resolve(&txn, actor.tenant, id).await?;
    if current.erased_at.is_some() {
        return Ok(current);
    }
    let id = ClientId(current.id);
    let rules = rules_for(&txn, actor.tenant).await?;
    let mut tombstone = super::blank(actor.tenant, &rules, current.source);
    tombstone.id = current.id;
    tombstone.created_at = current.created_at;
    tombstone.first_seen_at = None;
    tombstone.activity_at = Some(current.created_at);
    let now = Utc::now();
    tombstone.deleted_at = Some(current.deleted_at.unwrap_or(now));
    tombstone.erased_at = Some(now);
    tombstone.status = current.status.clone();
    let saved = write_row(&txn, actor.tenant, &current, tombstone).await?;
    client_identity::Entity::scoped_delete(actor.tenant)
        .filter(client_identity::Column::ClientId.eq(id.0))
        .exec(&txn)
        .await?;
    client_preference::Entity::scoped_delete(actor.tenant)
        .filter(client_preference::Column::ClientId.eq(id.0))
        .exec(&txn)
        .await?;
    client_note::Entity::scoped_delete(actor.tenant)
        .filter(client_note::Column::ClientId.eq(id.0))
        .exec(&txn)
        .await?;
    meeting::Entity::scoped_delete(actor.tenant)
        .filter(meeting::Column::ClientId.eq(id.0))
        .exec(&txn)
        .await?;
    survey_response::Entity::scoped_delete(actor.tenant)
        .filter(survey_response::Column::ClientId.eq(id.0))
        .exec(&txn)
        .await?;
    // Suggestions name the person's email or phone: they go too.
    duplicate_suggestion::Entity::scoped_delete(actor.tenant)
        .filter(
            sea_orm::Condition::any()
                .add(duplicate_suggestion::Column::ClientId.eq(id.0))
                .add(duplicate_suggestion::Column::OtherClientId.eq(id.0)),
        )
        .exec(&txn)
        .await?;
    // Message bodies of the person's conversations go; the threads stay, anonymised.
    let threads: Vec<uuid::Uuid> = conversation::Entity::scoped(actor.tenant)
        .filter(conversation::Column::ClientId.eq(id.0))
        .select_only()
        .column(conversation::Column::Id)
        .into_tuple()
        .all(&txn)
        .await?;
    if !threads.is_empty() {
        message::Entity::scoped_update(actor.tenant)
            .col_expr(
                message::Column::Body,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .filter(message::Column::ConversationId.is_in(threads.clone()))
            .exec(&txn)
            .await?;
        conversation::Entity::scoped_update(actor.tenant)
            .col_expr(
                conversation::Column::ChannelIdentifier,
                sea_orm::sea_query::Expr::value("erased"),
            )
            .col_expr(
                conversation::Column::ContactName,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .filter(conversation::Column::Id.is_in(threads))
            .exec(&txn)
            .await?;
    }
    // Notifications about the person keep only their kind and time.
    crate::notifications::forget_client(&txn, actor.tenant, id).await?;
    // Timeline payloads hold before/after values: keep only what happened and when.
    timeline_event::Entity::scoped_update(actor.tenant)
        .col_expr(
            timeline_event::Column::Payload,
            sea_orm::sea_query::Expr::value(json!({})),
        )
        .filter(timeline_event::Column::ClientId.eq(id.0))
        .exec(&txn)
        .await?;
    timeline::record(
        &txn,
        actor.tenant,
        id,
        &EventActor::from(actor),
        TimelineKind::Erased,
        json!({}),
    )
    .await?;
    audit::record(
        &txn,
        actor,
        "client.erase",
        Some(id.0),
        Outcome::Allowed,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    publish(d, actor.tenant, &saved);
    Ok(saved)
}

/// Which clients a bulk update touches.
#[derive(Clone, Debug)]
pub enum BulkSelection {
    Ids(Vec<uuid::Uuid>),
    Filter(ClientFilter),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkOutcome {
    pub matched: u64,
    pub changed: u64,
}

pub const BULK_MAX: usize = 10_000;

/// Applies the same change to up to 10,000 clients in one transaction: all or nothing. Only
/// clients whose values actually change get a new version and timeline events.
pub async fn bulk_update(
    d: &Domain,
    actor: &Actor,
    selection: BulkSelection,
    change: impl Fn() -> ClientInput,
) -> DomainResult<BulkOutcome> {
    actor.require(Role::Agent)?;
    let filter = match selection {
        BulkSelection::Ids(ids) => {
            if ids.is_empty() {
                return Err(DomainError::invalid("ids", "select at least one client"));
            }
            if ids.len() > BULK_MAX {
                return Err(DomainError::invalid(
                    "ids",
                    format!("at most {BULK_MAX} clients at once, got {}", ids.len()),
                ));
            }
            ClientFilter {
                ids,
                ..Default::default()
            }
        }
        BulkSelection::Filter(filter) => filter,
    };
    let rules = rules_for(&d.db, actor.tenant).await?;
    let txn = d.begin_write().await?;
    let backend = txn.get_database_backend();
    let query = super::query::filtered(backend, actor.tenant, &filter)?;
    let matched = query.clone().count(&txn).await?;
    if matched as usize > BULK_MAX {
        return Err(DomainError::invalid(
            "filter",
            format!("matches {matched} clients; at most {BULK_MAX} at once"),
        ));
    }
    let rows = query.order_by_asc(client::Column::Id).all(&txn).await?;
    let event_actor = EventActor::from(actor);
    let mut saved_rows = Vec::new();
    for row in rows {
        let (mut next, changes) = fields::apply_input(&row, change(), &rules)?;
        if changes.is_empty() {
            continue;
        }
        fields::refresh_derived(&mut next);
        let saved = write_row(&txn, actor.tenant, &row, next).await?;
        for (kind, mut payload) in super::events_for(&changes) {
            payload["bulk"] = Value::Bool(true);
            timeline::record(
                &txn,
                actor.tenant,
                ClientId(row.id),
                &event_actor,
                kind,
                payload,
            )
            .await?;
        }
        saved_rows.push(saved);
    }
    txn.commit().await?;
    for saved in &saved_rows {
        publish(d, actor.tenant, saved);
    }
    Ok(BulkOutcome {
        matched,
        changed: saved_rows.len() as u64,
    })
}

/// Counts for a dashboard. Mystery shoppers and deleted clients are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    pub total: u64,
    pub new_this_month: u64,
    /// Identity platform (`web`, `telegram`... and `email`, `phone`) -> clients reachable there.
    pub by_platform: BTreeMap<String, u64>,
    /// `None` = no intent known.
    pub by_intent: BTreeMap<Option<String>, u64>,
    pub by_status: BTreeMap<String, u64>,
}

#[derive(FromQueryResult)]
struct GroupCount {
    key: Option<String>,
    n: i64,
}

/// The first instant of the current month in the tenant's time zone.
pub fn month_start(now: chrono::DateTime<Utc>, tz: chrono_tz::Tz) -> chrono::DateTime<Utc> {
    let local = now.with_timezone(&tz);
    let first = local
        .date_naive()
        .with_day(1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_else(|| local.naive_local());
    tz.from_local_datetime(&first)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}

pub async fn stats(d: &Domain, actor: &Actor) -> DomainResult<ClientStats> {
    let tenant = tenants::get(&d.db, actor.tenant).await?;
    let tz: chrono_tz::Tz = tenant.timezone.parse().unwrap_or(chrono_tz::UTC);
    let backend = d.db.get_database_backend();
    let base = || {
        super::query::filtered(
            backend,
            actor.tenant,
            &ClientFilter {
                mystery_shopper: Some(false),
                ..Default::default()
            },
        )
    };
    let total = base()?.count(&d.db).await?;
    let new_this_month = base()?
        .filter(client::Column::CreatedAt.gte(month_start(Utc::now(), tz)))
        .count(&d.db)
        .await?;
    let group = |column: client::Column| -> DomainResult<_> {
        Ok(base()?
            .select_only()
            .column_as(column, "key")
            .column_as(client::Column::Id.count(), "n")
            .group_by(column)
            .into_model::<GroupCount>())
    };
    let by_status = group(client::Column::Status)?
        .all(&d.db)
        .await?
        .into_iter()
        .map(|g| (g.key.unwrap_or_default(), g.n as u64))
        .collect();
    let by_intent = group(client::Column::PurchaseIntent)?
        .all(&d.db)
        .await?
        .into_iter()
        .map(|g| (g.key, g.n as u64))
        .collect();
    // Platforms: distinct clients per identity platform (emails and phones by kind).
    let live_ids =
        sea_orm::QueryTrait::into_query(base()?.select_only().column(client::Column::Id));
    let identities: Vec<(String, String, uuid::Uuid)> =
        client_identity::Entity::scoped(actor.tenant)
            .filter(client_identity::Column::ClientId.in_subquery(live_ids))
            .select_only()
            .column(client_identity::Column::Kind)
            .column(client_identity::Column::Platform)
            .column(client_identity::Column::ClientId)
            .into_tuple()
            .all(&d.db)
            .await?;
    let mut seen = std::collections::HashSet::new();
    let mut by_platform = BTreeMap::new();
    for (kind, platform, client) in identities {
        let name = if platform.is_empty() { kind } else { platform };
        if seen.insert((name.clone(), client)) {
            *by_platform.entry(name).or_insert(0) += 1;
        }
    }
    Ok(ClientStats {
        total,
        new_this_month,
        by_platform,
        by_intent,
        by_status,
    })
}

/// Everything stored about one client, as JSON (data-protection access requests). Admins.
pub async fn export(d: &Domain, actor: &Actor, id: ClientId) -> DomainResult<Value> {
    actor.require(Role::Admin)?;
    let row = resolve(&d.db, actor.tenant, id).await?;
    let id = ClientId(row.id);
    let t = actor.tenant;
    let identities = client_identity::Entity::scoped(t)
        .filter(client_identity::Column::ClientId.eq(id.0))
        .all(&d.db)
        .await?;
    let preferences = client_preference::Entity::scoped(t)
        .filter(client_preference::Column::ClientId.eq(id.0))
        .one(&d.db)
        .await?;
    let notes = client_note::Entity::scoped(t)
        .filter(client_note::Column::ClientId.eq(id.0))
        .order_by_asc(client_note::Column::CreatedAt)
        .all(&d.db)
        .await?;
    let meetings = meeting::Entity::scoped(t)
        .filter(meeting::Column::ClientId.eq(id.0))
        .order_by_asc(meeting::Column::StartsAt)
        .all(&d.db)
        .await?;
    let surveys = survey_response::Entity::scoped(t)
        .filter(survey_response::Column::ClientId.eq(id.0))
        .order_by_asc(survey_response::Column::SubmittedAt)
        .all(&d.db)
        .await?;
    let threads = conversation::Entity::scoped(t)
        .filter(conversation::Column::ClientId.eq(id.0))
        .order_by_asc(conversation::Column::CreatedAt)
        .all(&d.db)
        .await?;
    let mut conversations = Vec::new();
    for thread in threads {
        let messages = message::Entity::scoped(t)
            .filter(message::Column::ConversationId.eq(thread.id))
            .order_by_asc(message::Column::SentAt)
            .all(&d.db)
            .await?;
        conversations.push(json!({
            "id": thread.id, "channel": thread.channel, "with": thread.channel_identifier,
            "status": thread.status, "createdAt": thread.created_at,
            "messages": messages.iter().map(|m| json!({
                "direction": m.direction, "author": m.author_kind, "body": m.body, "sentAt": m.sent_at,
            })).collect::<Vec<_>>(),
        }));
    }
    let timeline = timeline_event::Entity::scoped(t)
        .filter(timeline_event::Column::ClientId.eq(id.0))
        .order_by_asc(timeline_event::Column::OccurredAt)
        .all(&d.db)
        .await?;
    Ok(json!({
        "exportedAt": Utc::now(),
        "client": profile_json(&row),
        "identities": identities.iter().map(|i| json!({
            "kind": i.kind, "platform": i.platform, "value": i.value,
            "primary": i.is_primary, "verified": i.verified, "source": i.source,
            "createdAt": i.created_at,
        })).collect::<Vec<_>>(),
        "preferences": preferences.map(|p| json!({
            "preferredChannels": p.preferred_channels, "contactWindows": p.contact_windows,
            "neverAutoSend": p.never_auto_send, "humanReviewRequired": p.human_review_required,
        })),
        "notes": notes.iter().map(|n| json!({
            "author": n.author_name, "body": n.body, "createdAt": n.created_at, "updatedAt": n.updated_at,
        })).collect::<Vec<_>>(),
        "meetings": meetings.iter().map(|m| json!({
            "title": m.title, "startsAt": m.starts_at, "endsAt": m.ends_at,
            "location": m.location, "notes": m.notes,
        })).collect::<Vec<_>>(),
        "surveyResponses": surveys.iter().map(|s| json!({
            "survey": s.survey, "score": s.score, "answers": s.answers, "submittedAt": s.submitted_at,
        })).collect::<Vec<_>>(),
        "conversations": conversations,
        "timeline": timeline.iter().map(|e| json!({
            "kind": e.kind, "actor": e.actor_name, "payload": e.payload, "occurredAt": e.occurred_at,
        })).collect::<Vec<_>>(),
    }))
}

/// The client's own fields as JSON.
pub fn profile_json(row: &client::Model) -> Value {
    json!({
        "id": row.id, "firstName": row.first_name, "lastName": row.last_name,
        "email": row.email, "phone": row.phone, "company": row.company,
        "street": row.street, "city": row.city, "state": row.state, "zip": row.zip,
        "country": row.country, "dateOfBirth": row.date_of_birth, "notes": row.notes,
        "metadata": row.metadata, "externalId": row.external_id, "source": row.source,
        "status": row.status, "purchaseIntent": row.purchase_intent,
        "interests": row.interests, "traits": row.traits, "needs": row.needs,
        "saleStatus": row.sale_status, "funnelStage": row.funnel_stage,
        "botStatus": row.bot_status, "sentiment": row.sentiment, "sensitive": row.sensitive,
        "mysteryShopper": row.mystery_shopper, "contractor": row.contractor,
        "customConfig": row.custom_config, "firstSeenAt": row.first_seen_at,
        "lastActiveAt": row.last_active_at, "createdAt": row.created_at,
        "updatedAt": row.updated_at, "deletedAt": row.deleted_at, "erasedAt": row.erased_at,
        "version": row.version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_starts_in_the_tenant_time_zone() {
        // 2026-12-01 03:00 UTC is still November in Toronto (22:00 on the 30th).
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap();
        let toronto = month_start(now, chrono_tz::America::Toronto);
        assert_eq!(toronto, Utc.with_ymd_and_hms(2026, 11, 1, 4, 0, 0).unwrap());
        let tokyo = month_start(now, chrono_tz::Asia::Tokyo);
        assert_eq!(tokyo, Utc.with_ymd_and_hms(2026, 11, 30, 15, 0, 0).unwrap());
    }
}
