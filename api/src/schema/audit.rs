//! The audit log over GraphQL (admins).

use super::clients::types::connection;
use super::{actor, domain};
use crate::error::ApiResult;
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use clientele_domain::audit;
use clientele_domain::pagination::PageArgs;

/// One admin action, or a refused attempt at one.
#[derive(SimpleObject)]
pub struct AuditEntry {
    pub id: ID,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_role: String,
    /// e.g. `client.set_sensitive`, `client.erase`, `tenant.update_settings`.
    pub action: String,
    pub target_id: Option<ID>,
    /// `allowed` or `denied`.
    pub outcome: String,
    pub detail: Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The tenant's audit log, newest first (admins).
    #[graphql(
        complexity = "first.or(last).unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, AuditEntry, EmptyFields, EmptyFields>> {
        let page = audit::list(
            domain(ctx),
            actor(ctx)?,
            &PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await?;
        Ok(connection(page.map(|e| AuditEntry {
            id: ID(e.id.to_string()),
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            actor_role: e.actor_role,
            action: e.action,
            target_id: e.target_id.map(|t| ID(t.to_string())),
            outcome: e.outcome,
            detail: Json(e.detail),
            created_at: e.created_at,
        })))
    }
}
