//! Retention: per tenant, message bodies older than N days and clients soft-deleted more than
//! M days ago are purged by a scheduled job. The policy is admin-only and defaults to keep
//! everything (no row, or null days).
//!
//! What a purge does, in bounded batches of [`BATCH`] rows, each batch its own transaction
//! (a purge cut short leaves whole batches done and is simply resumed by the next run):
//! - message bodies created before the cutoff: `body` becomes null and `body_purged_at` is
//!   set; the rows stay (threads, counts and usage for billing are kept);
//! - clients soft-deleted before the cutoff (not merge records: those redirect old ids to the
//!   surviving client): the row and everything hung off it are deleted — identities,
//!   preferences, notes, meetings, survey responses, timeline, duplicate suggestions, CRM
//!   links (the database's foreign keys cascade the same way); their conversations stay,
//!   unlinked, so message counts of past months do not change. Merge records pointing into a
//!   purged client go with it (they would redirect nowhere);
//! - one audit entry per run (`retention.purge`) with the counts and cutoffs.

use crate::audit::{self, Outcome};
use crate::entities::{
    client, client_identity, client_note, client_preference, conversation, crm_link,
    duplicate_suggestion, meeting, message, retention_policy, survey_response, timeline_event,
};
use crate::{Actor, Domain, DomainError, DomainResult, Role, TenantId};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::OnConflict,
};
use serde_json::json;
use uuid::Uuid;

/// Rows per purge transaction.
pub const BATCH: u64 = 500;

/// The longest retention that can be set (100 years): keeps cutoffs representable.
pub const MAX_DAYS: i32 = 36_500;

/// A tenant's retention policy; `None` = keep forever.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub message_body_days: Option<i32>,
    pub deleted_client_days: Option<i32>,
    /// When and by whom it was last changed (`None` for the default).
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

impl Policy {
    /// Whether this policy purges anything at all.
    pub fn purges(&self) -> bool {
        self.message_body_days.is_some() || self.deleted_client_days.is_some()
    }
}

impl From<retention_policy::Model> for Policy {
    fn from(row: retention_policy::Model) -> Self {
        Policy {
            message_body_days: row.message_body_days,
            deleted_client_days: row.deleted_client_days,
            updated_at: Some(row.updated_at),
            updated_by: Some(row.updated_by),
        }
    }
}

/// A new policy: `None` keeps forever.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolicyInput {
    pub message_body_days: Option<i32>,
    pub deleted_client_days: Option<i32>,
}

/// Days must be at least 1 (and at most [`MAX_DAYS`]); the error names `field`.
pub fn validate_days(field: &str, days: Option<i32>) -> DomainResult<Option<i32>> {
    match days {
        Some(d) if d < 1 => Err(DomainError::invalid(
            field,
            "must be at least 1 day (or null to keep forever)",
        )),
        Some(d) if d > MAX_DAYS => Err(DomainError::invalid(
            field,
            format!("must be at most {MAX_DAYS} days (or null to keep forever)"),
        )),
        other => Ok(other),
    }
}

/// The instant before which data `days` old goes, or `None` to keep forever.
pub fn cutoff(days: Option<i32>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    days.map(|d| now - Duration::days(i64::from(d)))
}

/// The stored policy, or the default (keep everything).
pub async fn policy_of(db: &impl ConnectionTrait, tenant: TenantId) -> DomainResult<Policy> {
    Ok(retention_policy::Entity::scoped(tenant)
        .one(db)
        .await?
        .map(Policy::from)
        .unwrap_or_default())
}

/// The tenant's policy (every role may read it: agents see why old bodies are gone).
pub async fn policy(d: &Domain, actor: &Actor) -> DomainResult<Policy> {
    actor.require(Role::Viewer)?;
    policy_of(&d.db, actor.tenant).await
}

/// Replaces the tenant's policy (admins; refusals are audited). Audited with before/after.
pub async fn set_policy(d: &Domain, actor: &Actor, input: PolicyInput) -> DomainResult<Policy> {
    audit::require_admin(&d.db, actor, "retention.set_policy", None).await?;
    let message_body_days = validate_days("messageBodyDays", input.message_body_days)?;
    let deleted_client_days = validate_days("deletedClientDays", input.deleted_client_days)?;
    let txn = d.begin_write().await?;
    let before = policy_of(&txn, actor.tenant).await?;
    let row = retention_policy::Model {
        tenant_id: actor.tenant.0,
        message_body_days,
        deleted_client_days,
        updated_at: Utc::now(),
        updated_by: actor.user_id.clone(),
    };
    let active = retention_policy::ActiveModel {
        tenant_id: Set(row.tenant_id),
        message_body_days: Set(row.message_body_days),
        deleted_client_days: Set(row.deleted_client_days),
        updated_at: Set(row.updated_at),
        updated_by: Set(row.updated_by.clone()),
    };
    retention_policy::Entity::insert(active)
        .on_conflict(
            OnConflict::column(retention_policy::Column::TenantId)
                .update_columns([
                    retention_policy::Column::MessageBodyDays,
                    retention_policy::Column::DeletedClientDays,
                    retention_policy::Column::UpdatedAt,
                    retention_policy::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        "retention.set_policy",
        None,
        Outcome::Allowed,
        json!({
            "before": {
                "messageBodyDays": before.message_body_days,
                "deletedClientDays": before.deleted_client_days,
            },
            "after": {
                "messageBodyDays": message_body_days,
                "deletedClientDays": deleted_client_days,
            },
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

/// What one purge run removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub message_bodies: u64,
    pub clients: u64,
    /// Bodies of messages created before this were purged (`None`: bodies are kept).
    pub message_bodies_older_than: Option<DateTime<Utc>>,
    /// Clients deleted before this were removed (`None`: deleted clients are kept).
    pub clients_deleted_before: Option<DateTime<Utc>>,
}

/// Who started a purge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Manual,
}

/// The actor a scheduled purge records in the audit log.
pub fn system_actor(tenant: TenantId) -> Actor {
    Actor {
        user_id: "system:retention".into(),
        name: "retention schedule".into(),
        tenant,
        role: Role::Admin,
    }
}

/// Runs the tenant's policy now (admins; refusals are audited): what the schedule does daily.
pub async fn run_now(d: &Domain, actor: &Actor) -> DomainResult<PurgeReport> {
    audit::require_admin(&d.db, actor, "retention.purge", None).await?;
    purge(d, actor, Trigger::Manual, Utc::now()).await
}

/// Tenants whose policy purges something: those the daily schedule runs for.
pub async fn tenants_with_policy(db: &impl ConnectionTrait) -> DomainResult<Vec<TenantId>> {
    // Platform-wide on purpose (the scheduler serves every tenant); reads only tenant ids.
    let ids: Vec<Uuid> = retention_policy::Entity::find()
        .filter(
            Condition::any()
                .add(retention_policy::Column::MessageBodyDays.is_not_null())
                .add(retention_policy::Column::DeletedClientDays.is_not_null()),
        )
        .select_only()
        .column(retention_policy::Column::TenantId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(TenantId).collect())
}

/// The scheduled purge of one tenant (the job handler's call).
pub async fn scheduled(d: &Domain, tenant: TenantId) -> DomainResult<PurgeReport> {
    purge(d, &system_actor(tenant), Trigger::Schedule, Utc::now()).await
}

/// Applies the tenant's policy as of `now`, batch by batch, and records the run in the audit
/// log with its counts. A policy that keeps everything purges nothing.
pub async fn purge(
    d: &Domain,
    actor: &Actor,
    trigger: Trigger,
    now: DateTime<Utc>,
) -> DomainResult<PurgeReport> {
    let tenant = actor.tenant;
    let policy = policy_of(&d.db, tenant).await?;
    let mut report = PurgeReport {
        message_bodies_older_than: cutoff(policy.message_body_days, now),
        clients_deleted_before: cutoff(policy.deleted_client_days, now),
        ..PurgeReport::default()
    };
    if let Some(before) = report.message_bodies_older_than {
        loop {
            let n = purge_bodies(d, tenant, before, now).await?;
            report.message_bodies += n;
            if n == 0 {
                break;
            }
        }
    }
    if let Some(before) = report.clients_deleted_before {
        loop {
            let n = purge_clients(d, tenant, before).await?;
            report.clients += n;
            if n == 0 {
                break;
            }
        }
    }
    audit::record(
        &d.db,
        actor,
        "retention.purge",
        None,
        Outcome::Allowed,
        json!({
            "trigger": match trigger { Trigger::Schedule => "schedule", Trigger::Manual => "manual" },
            "messageBodies": report.message_bodies,
            "clients": report.clients,
            "messageBodiesOlderThan": report.message_bodies_older_than,
            "clientsDeletedBefore": report.clients_deleted_before,
        }),
    )
    .await?;
    Ok(report)
}

/// Purges one batch of bodies; returns how many.
async fn purge_bodies(
    d: &Domain,
    tenant: TenantId,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DomainResult<u64> {
    let txn = d.begin_write().await?;
    let ids: Vec<Uuid> = message::Entity::scoped(tenant)
        .filter(message::Column::CreatedAt.lt(before))
        .filter(message::Column::Body.is_not_null())
        .select_only()
        .column(message::Column::Id)
        .limit(BATCH)
        .into_tuple()
        .all(&txn)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let done = message::Entity::scoped_update(tenant)
        .col_expr(message::Column::Body, Expr::value(Option::<String>::None))
        .col_expr(message::Column::BodyPurgedAt, Expr::value(now))
        .filter(message::Column::Id.is_in(ids))
        .filter(message::Column::Body.is_not_null())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(done.rows_affected)
}

/// Removes one batch of clients deleted before `before`; returns how many client rows went.
async fn purge_clients(d: &Domain, tenant: TenantId, before: DateTime<Utc>) -> DomainResult<u64> {
    let txn = d.begin_write().await?;
    let mut ids: Vec<Uuid> = client::Entity::scoped(tenant)
        .filter(client::Column::DeletedAt.lt(before))
        .filter(client::Column::MergedIntoId.is_null())
        .select_only()
        .column(client::Column::Id)
        .order_by_asc(client::Column::DeletedAt)
        .limit(BATCH)
        .into_tuple()
        .all(&txn)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    // Merge records that redirect to these clients go with them.
    let mut frontier = ids.clone();
    while !frontier.is_empty() && ids.len() < 10 * BATCH as usize {
        let stubs: Vec<Uuid> = client::Entity::scoped(tenant)
            .filter(client::Column::MergedIntoId.is_in(frontier))
            .select_only()
            .column(client::Column::Id)
            .into_tuple()
            .all(&txn)
            .await?;
        ids.extend(stubs.iter().copied());
        frontier = stubs;
    }
    let t = tenant;
    conversation::Entity::scoped_update(t)
        .col_expr(
            conversation::Column::ClientId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(conversation::Column::ClientId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    client_identity::Entity::scoped_delete(t)
        .filter(client_identity::Column::ClientId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    client_preference::Entity::scoped_delete(t)
        .filter(client_preference::Column::ClientId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    client_note::Entity::scoped_delete(t)
        .filter(client_note::Column::ClientId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    meeting::Entity::scoped_delete(t)
        .filter(meeting::Column::ClientId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    survey_response::Entity::scoped_delete(t)
        .filter(survey_response::Column::ClientId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    timeline_event::Entity::scoped_delete(t)
        .filter(timeline_event::Column::ClientId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    duplicate_suggestion::Entity::scoped_delete(t)
        .filter(
            Condition::any()
                .add(duplicate_suggestion::Column::ClientId.is_in(ids.clone()))
                .add(duplicate_suggestion::Column::OtherClientId.is_in(ids.clone())),
        )
        .exec(&txn)
        .await?;
    crm_link::Entity::scoped_delete(t)
        .filter(crm_link::Column::ClientId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    // Identity answers about them, suggestions of them and what notifications said of them.
    crate::entities::identity_rejection::Entity::scoped_delete(t)
        .filter(crate::entities::identity_rejection::Column::ClientId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    conversation::Entity::scoped_update(t)
        .col_expr(
            conversation::Column::SuggestedClientId,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            conversation::Column::IdentityStatus,
            Expr::value(Option::<crate::entities::conversation::IdentityStatus>::None),
        )
        .filter(conversation::Column::SuggestedClientId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    crate::entities::notification::Entity::scoped_update(t)
        .col_expr(
            crate::entities::notification::Column::Payload,
            Expr::value(serde_json::json!({})),
        )
        .col_expr(
            crate::entities::notification::Column::ClientId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(crate::entities::notification::Column::ClientId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    let done = client::Entity::scoped_delete(t)
        .filter(client::Column::Id.is_in(ids))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(done.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_must_be_at_least_one_and_name_the_field() {
        assert_eq!(validate_days("messageBodyDays", None).unwrap(), None);
        assert_eq!(validate_days("messageBodyDays", Some(1)).unwrap(), Some(1));
        for bad in [0, -5, MAX_DAYS + 1] {
            match validate_days("deletedClientDays", Some(bad)) {
                Err(DomainError::Invalid { field, .. }) => assert_eq!(field, "deletedClientDays"),
                other => panic!("{bad} accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn cutoffs_lie_days_before_now_and_none_keeps_forever() {
        let now = Utc::now();
        assert_eq!(cutoff(None, now), None);
        assert_eq!(cutoff(Some(30), now), Some(now - Duration::days(30)));
    }

    #[test]
    fn the_default_policy_purges_nothing() {
        assert!(!Policy::default().purges());
        assert!(
            Policy {
                deleted_client_days: Some(1),
                ..Policy::default()
            }
            .purges()
        );
    }
}
