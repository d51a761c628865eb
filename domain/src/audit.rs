//! The audit log: admin actions, and attempts at them that were refused.

use crate::entities::audit_log;
use crate::{Actor, DomainResult};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::Value;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
}

pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target: Option<Uuid>,
    outcome: Outcome,
    detail: Value,
) -> DomainResult<()> {
    let row = audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant.0),
        actor_id: Set(actor.user_id.clone()),
        actor_name: Set(actor.name.clone()),
        actor_role: Set(actor.role.as_str().to_string()),
        action: Set(action.to_string()),
        target_id: Set(target),
        outcome: Set(match outcome {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
        }
        .to_string()),
        detail: Set(detail),
        created_at: Set(chrono::Utc::now()),
    };
    audit_log::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Audits and refuses unless the actor is an admin.
pub async fn require_admin(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target: Option<Uuid>,
) -> DomainResult<()> {
    if let Err(refused) = actor.require(crate::Role::Admin) {
        record(db, actor, action, target, Outcome::Denied, Value::Null).await?;
        return Err(refused);
    }
    Ok(())
}

const NEWEST_FIRST: crate::pagination::Ordering<audit_log::Column> = crate::pagination::Ordering {
    name: "audit",
    column: None,
    descending: true,
};

/// The tenant's audit log, newest first (admins).
pub async fn list(
    d: &crate::Domain,
    actor: &Actor,
    page: &crate::pagination::PageArgs,
) -> DomainResult<crate::pagination::Page<audit_log::Model>> {
    use sea_orm::QuerySelect;
    actor.require(crate::Role::Admin)?;
    let page = page.resolve(NEWEST_FIRST.name)?;
    let rows = page
        .apply(
            audit_log::Entity::scoped(actor.tenant),
            &NEWEST_FIRST,
            audit_log::Column::Id,
        )
        .limit(page.limit + 1)
        .all(&d.db)
        .await?;
    Ok(page.into_page(rows, |row| crate::pagination::Cursor {
        ordering: NEWEST_FIRST.name.into(),
        key: crate::pagination::SortKey::None,
        id: row.id,
    }))
}
