//! How many conversations each client has and when the latest one was last active: the list
//! columns of the client list, loaded for a whole page in one grouped query.

use crate::entities::conversation;
use crate::{DomainResult, TenantId};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect};
use std::collections::HashMap;
use uuid::Uuid;

/// One client's conversations at a glance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConversationCount {
    pub count: u64,
    /// The latest activity (last message, or start) of any of the client's conversations.
    pub last_at: Option<DateTime<Utc>>,
}

/// Counts per client of `tenant`, one grouped query for all `clients` (uses the
/// `(tenant_id, client_id, activity_at)` index). Clients without conversations are absent.
pub async fn of_clients(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    clients: &[Uuid],
) -> DomainResult<HashMap<Uuid, ConversationCount>> {
    if clients.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, i64, Option<DateTime<Utc>>)> = conversation::Entity::scoped(tenant)
        .filter(conversation::Column::ClientId.is_in(clients.iter().copied()))
        .select_only()
        .column(conversation::Column::ClientId)
        .column_as(conversation::Column::Id.count(), "n")
        .column_as(conversation::Column::ActivityAt.max(), "last_at")
        .group_by(conversation::Column::ClientId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(client, n, last_at)| {
            (
                client,
                ConversationCount {
                    count: u64::try_from(n).unwrap_or(0),
                    last_at,
                },
            )
        })
        .collect())
}
