//! The tenant-wide conversation list: search, filters, keyset pages and a streamed CSV export.

use super::{RECENT_FIRST, recent_cursor};
use crate::clients::query::{search_condition, search_term};
use crate::entities::client;
use crate::entities::conversation::{self, Channel, ConversationStatus};
use crate::pagination::{Cursor, Direction, Page, PageArgs, PageQuery};
use crate::{Actor, Domain, DomainError, DomainResult, Role, TenantId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, DbBackend, PaginatorTrait, QueryFilter, QuerySelect, Select,
};
use std::collections::HashMap;
use uuid::Uuid;

const EXPORT_PAGE: u64 = 1000;

/// What the conversation list shows. Empty lists and `None` mean "any".
#[derive(Clone, Debug, Default)]
pub struct ConversationFilter {
    /// The other side's identifier (a phone in any format), the contact name, or the linked
    /// client's name, email, phone or company.
    pub search: Option<String>,
    pub channels: Vec<Channel>,
    pub statuses: Vec<ConversationStatus>,
    /// Last activity (last message, or the start) at or after.
    pub active_after: Option<DateTime<Utc>>,
    /// Last activity before.
    pub active_before: Option<DateTime<Utc>>,
    /// Linked to a client (`true`) or waiting for one (`false`).
    pub has_client: Option<bool>,
}

fn filtered(
    backend: DbBackend,
    tenant: TenantId,
    filter: &ConversationFilter,
) -> DomainResult<Select<conversation::Entity>> {
    use conversation::Column as C;
    if let (Some(a), Some(b)) = (filter.active_after, filter.active_before)
        && b < a
    {
        return Err(DomainError::invalid(
            "activeBefore",
            "is earlier than activeAfter",
        ));
    }
    let mut q = conversation::Entity::scoped(tenant);
    if let Some(term) = filter
        .search
        .as_deref()
        .map(search_term)
        .transpose()?
        .flatten()
    {
        let pattern = || LikeExpr::new(term.like_pattern()).escape('\\');
        // Clients of this tenant the search box finds (through the client search index).
        let clients = Query::select()
            .column(client::Column::Id)
            .from(client::Entity)
            .and_where(client::Column::TenantId.eq(tenant.0))
            .and_where(client::Column::MergedIntoId.is_null())
            .and_where(search_condition(backend, &term))
            .to_owned();
        q = q.filter(
            Condition::any()
                .add(Expr::col(C::ChannelIdentifier).like(pattern()))
                .add(Expr::expr(Func::lower(Expr::col(C::ContactName))).like(pattern()))
                .add(C::ClientId.in_subquery(clients)),
        );
    }
    if !filter.channels.is_empty() {
        q = q.filter(C::Channel.is_in(filter.channels.clone()));
    }
    if !filter.statuses.is_empty() {
        q = q.filter(C::Status.is_in(filter.statuses.clone()));
    }
    if let Some(t) = filter.active_after {
        q = q.filter(C::ActivityAt.gte(t));
    }
    if let Some(t) = filter.active_before {
        q = q.filter(C::ActivityAt.lt(t));
    }
    match filter.has_client {
        Some(true) => q = q.filter(C::ClientId.is_not_null()),
        Some(false) => q = q.filter(C::ClientId.is_null()),
        None => {}
    }
    Ok(q)
}

/// The tenant's conversations matching `filter`, most recently active first.
pub async fn list(
    d: &Domain,
    actor: &Actor,
    filter: &ConversationFilter,
    page: &PageArgs,
) -> DomainResult<Page<conversation::Model>> {
    actor.require(Role::Viewer)?;
    let page = page.resolve(RECENT_FIRST.name)?;
    let query = filtered(d.db.get_database_backend(), actor.tenant, filter)?;
    let rows = page
        .apply(query, &RECENT_FIRST, conversation::Column::Id)
        .limit(page.limit + 1)
        .all(&d.db)
        .await?;
    Ok(page.into_page(rows, recent_cursor))
}

/// How many conversations match `filter`.
pub async fn count(d: &Domain, actor: &Actor, filter: &ConversationFilter) -> DomainResult<u64> {
    actor.require(Role::Viewer)?;
    Ok(filtered(d.db.get_database_backend(), actor.tenant, filter)?
        .count(&d.db)
        .await?)
}

/// The CSV columns of the conversation export, in order.
pub const COLUMNS: [&str; 12] = [
    "id",
    "channel",
    "channel_identifier",
    "inbox",
    "status",
    "contact_name",
    "client_id",
    "client_name",
    "ai_guide",
    "sensitivity_override",
    "last_message_at",
    "created_at",
];

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn to_record(row: &conversation::Model, clients: &HashMap<Uuid, client::Model>) -> Vec<String> {
    let client = row.client_id.and_then(|id| clients.get(&id));
    vec![
        row.id.to_string(),
        enum_str(&row.channel),
        row.channel_identifier.clone(),
        row.inbox.clone().unwrap_or_default(),
        enum_str(&row.status),
        row.contact_name.clone().unwrap_or_default(),
        row.client_id.map(|c| c.to_string()).unwrap_or_default(),
        client
            .map(crate::clients::fields::display_name)
            .unwrap_or_default(),
        row.ai_guide.clone().unwrap_or_default(),
        row.sensitivity_override
            .map(|b| b.to_string())
            .unwrap_or_default(),
        row.last_message_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        row.created_at.to_rfc3339(),
    ]
}

/// Streams the conversations matching `filter` as CSV, a page at a time (agents).
pub fn export(
    d: Domain,
    actor: Actor,
    filter: ConversationFilter,
) -> DomainResult<impl futures_util::Stream<Item = DomainResult<bytes::Bytes>>> {
    actor.require(Role::Agent)?;
    // Bad filters fail here, before the response starts.
    filtered(d.db.get_database_backend(), actor.tenant, &filter)?;
    let state = (d, actor, filter, None::<Option<Cursor>>);
    Ok(futures_util::stream::try_unfold(
        state,
        move |(d, actor, filter, cursor)| async move {
            let first_page = cursor.is_none();
            let after = match cursor {
                None => None,
                Some(None) => return Ok(None),
                Some(Some(c)) => Some(c),
            };
            let page = PageQuery {
                direction: Direction::Forward,
                limit: EXPORT_PAGE,
                cursor: after,
            };
            let query = filtered(d.db.get_database_backend(), actor.tenant, &filter)?;
            let mut rows = page
                .apply(query, &RECENT_FIRST, conversation::Column::Id)
                .limit(EXPORT_PAGE + 1)
                .all(&d.db)
                .await?;
            let more = rows.len() as u64 > EXPORT_PAGE;
            rows.truncate(EXPORT_PAGE as usize);
            let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.client_id).collect();
            let clients: HashMap<Uuid, client::Model> = if ids.is_empty() {
                HashMap::new()
            } else {
                client::Entity::scoped(actor.tenant)
                    .filter(client::Column::Id.is_in(ids))
                    .all(&d.db)
                    .await?
                    .into_iter()
                    .map(|c| (c.id, c))
                    .collect()
            };
            // Writing to memory cannot fail.
            let mut writer = csv::Writer::from_writer(Vec::new());
            if first_page {
                let _ = writer.write_record(COLUMNS);
            }
            for row in &rows {
                let _ = writer.write_record(to_record(row, &clients));
            }
            let bytes = bytes::Bytes::from(writer.into_inner().unwrap_or_default());
            let next = if more {
                rows.last().map(recent_cursor)
            } else {
                None
            };
            Ok(Some((bytes, (d, actor, filter, Some(next)))))
        },
    ))
}
