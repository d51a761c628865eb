//! The timeline: every change to a client, who made it, and what it was before and after.

use crate::entities::timeline_event::{self, ActorKind, TimelineKind};
use crate::pagination::{Cursor, Ordering, Page, PageArgs, SortKey};
use crate::{Actor, ClientId, Domain, DomainResult};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

/// Who caused an event.
#[derive(Clone, Debug)]
pub struct EventActor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub name: Option<String>,
}

impl From<&Actor> for EventActor {
    fn from(actor: &Actor) -> Self {
        EventActor {
            kind: ActorKind::User,
            id: Some(actor.user_id.clone()),
            name: Some(actor.name.clone()),
        }
    }
}

/// Writes one event (inside the caller's transaction).
pub async fn record(
    db: &impl ConnectionTrait,
    tenant: crate::TenantId,
    client: ClientId,
    actor: &EventActor,
    kind: TimelineKind,
    payload: Value,
) -> DomainResult<timeline_event::Model> {
    // Notifications (intent reached, client.updated) are written in the same transaction.
    crate::notifications::on_timeline(db, tenant, client, kind, &payload).await?;
    let row = timeline_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        client_id: Set(client.0),
        kind: Set(kind),
        actor_kind: Set(actor.kind),
        actor_id: Set(actor.id.clone()),
        actor_name: Set(actor.name.clone()),
        payload: Set(payload),
        occurred_at: Set(chrono::Utc::now()),
    };
    Ok(timeline_event::Entity::insert(row)
        .exec_with_returning(db)
        .await?)
}

const NEWEST_FIRST: Ordering<timeline_event::Column> = Ordering {
    name: "occurred",
    column: Some(timeline_event::Column::OccurredAt),
    descending: true,
};

/// A client's events, newest first, optionally only some kinds.
pub async fn list(
    d: &Domain,
    actor: &Actor,
    client: ClientId,
    kinds: &[TimelineKind],
    page: &PageArgs,
) -> DomainResult<Page<timeline_event::Model>> {
    crate::clients::get(d, actor, client).await?;
    let page = page.resolve(NEWEST_FIRST.name)?;
    let mut query = timeline_event::Entity::scoped(actor.tenant)
        .filter(timeline_event::Column::ClientId.eq(client.0));
    if !kinds.is_empty() {
        query = query.filter(timeline_event::Column::Kind.is_in(kinds.iter().copied()));
    }
    let rows = page
        .apply(query, &NEWEST_FIRST, timeline_event::Column::Id)
        .limit(page.limit + 1)
        .all(&d.db)
        .await?;
    Ok(page.into_page(rows, |row| Cursor {
        ordering: NEWEST_FIRST.name.into(),
        key: SortKey::Time(row.occurred_at),
        id: row.id,
    }))
}

/// A client's events that occurred at or after `from`, oldest first (at most `limit`): what
/// a live timeline loads when it hears that the client changed.
pub async fn since(
    d: &Domain,
    actor: &Actor,
    client: ClientId,
    from: chrono::DateTime<chrono::Utc>,
    limit: u64,
) -> DomainResult<Vec<timeline_event::Model>> {
    use sea_orm::QueryOrder;
    Ok(timeline_event::Entity::scoped(actor.tenant)
        .filter(timeline_event::Column::ClientId.eq(client.0))
        .filter(timeline_event::Column::OccurredAt.gte(from))
        .order_by_asc(timeline_event::Column::OccurredAt)
        .order_by_asc(timeline_event::Column::Id)
        .limit(limit)
        .all(&d.db)
        .await?)
}

/// Every funnel-stage change of a client, oldest first, with who made it.
pub async fn funnel_history(
    d: &Domain,
    actor: &Actor,
    client: ClientId,
) -> DomainResult<Vec<timeline_event::Model>> {
    use sea_orm::QueryOrder;
    Ok(timeline_event::Entity::scoped(actor.tenant)
        .filter(timeline_event::Column::ClientId.eq(client.0))
        .filter(timeline_event::Column::Kind.eq(TimelineKind::FunnelStageChanged))
        .order_by_asc(timeline_event::Column::OccurredAt)
        .order_by_asc(timeline_event::Column::Id)
        .all(&d.db)
        .await?)
}
