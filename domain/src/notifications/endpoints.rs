//! Outbound webhook endpoints (admins): where notifications are POSTed, which ones, the
//! signing secret (shown once, sealed at rest), and the deliveries with their outcome.

use super::Kind;
use crate::audit::{self, Outcome};
use crate::entities::json::StringList;
use crate::entities::webhook_delivery::{self, DeliveryStatus};
use crate::entities::webhook_endpoint;
use crate::pagination::{Cursor, Ordering, Page, PageArgs, SortKey};
use crate::{Actor, Domain, DomainError, DomainResult, TenantId};
use chrono::Utc;
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

/// An endpoint as entered.
#[derive(Clone, Debug, Default)]
pub struct EndpointInput {
    pub url: String,
    pub description: Option<String>,
    /// Kind names (`client.updated`...); empty: every kind.
    pub event_kinds: Vec<String>,
    /// Client fields (`status`, `funnelStage`...) whose change sends `client.updated`;
    /// empty: any.
    pub client_fields: Vec<String>,
    pub active: bool,
}

/// Changes to an endpoint; `None` keeps the value.
#[derive(Clone, Debug, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub event_kinds: Option<Vec<String>>,
    pub client_fields: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// An absolute http(s) URL with a host; errors name `url`.
pub fn validate_url(raw: &str) -> DomainResult<String> {
    let bad = || DomainError::invalid("url", "must be an absolute http:// or https:// URL");
    let url = url::Url::parse(raw.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    if raw.len() > 2000 {
        return Err(DomainError::invalid(
            "url",
            "must be at most 2000 characters",
        ));
    }
    Ok(url.to_string())
}

/// Known kind names, deduplicated; errors name `eventKinds`.
pub fn validate_kinds(kinds: &[String]) -> DomainResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for k in kinds {
        let kind = Kind::parse(k.trim()).ok_or_else(|| {
            DomainError::invalid("eventKinds", format!("unknown notification kind {k:?}"))
        })?;
        if !out.iter().any(|x| x == kind.as_str()) {
            out.push(kind.as_str().to_string());
        }
    }
    Ok(out)
}

/// Client field names (camelCase, as in the API); errors name `clientFields`.
pub fn validate_fields(fields: &[String]) -> DomainResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for f in fields {
        let f = f.trim();
        if f.is_empty() || f.len() > 64 || !f.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(DomainError::invalid(
                "clientFields",
                format!("{f:?} is not a client field name (camelCase, e.g. funnelStage)"),
            ));
        }
        if !out.iter().any(|x| x == f) {
            out.push(f.to_string());
        }
    }
    Ok(out)
}

fn validate_description(d: Option<String>) -> DomainResult<Option<String>> {
    let d = d.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if d.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(DomainError::invalid(
            "description",
            "must be at most 200 characters",
        ));
    }
    Ok(d)
}

/// A new signing secret: `whsec_` and 32 random bytes in hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

fn aad(tenant: Uuid, endpoint: Uuid) -> Vec<u8> {
    format!("clientele:webhook-secret:v1:{tenant}:{endpoint}").into_bytes()
}

async fn seal(d: &Domain, tenant: Uuid, endpoint: Uuid, secret: &str) -> DomainResult<String> {
    crate::crm::sealer(d)
        .await?
        .encrypt_str(secret, &aad(tenant, endpoint))
        .map_err(|e| DomainError::Conflict(format!("cannot seal the webhook secret: {e}")))
}

/// The endpoint's signing secret, unsealed (deliveries only).
pub(crate) async fn secret_of(d: &Domain, row: &webhook_endpoint::Model) -> DomainResult<String> {
    crate::crm::sealer(d)
        .await?
        .decrypt_str(&row.secret_enc, &aad(row.tenant_id, row.id))
        .map_err(|_| {
            DomainError::invalid(
                "secret",
                "the webhook secret does not open with this installation's key; rotate it",
            )
        })
}

async fn find(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
) -> DomainResult<webhook_endpoint::Model> {
    webhook_endpoint::Entity::scoped(tenant)
        .filter(webhook_endpoint::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("webhook endpoint"))
}

/// One endpoint (admins).
pub async fn get(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<webhook_endpoint::Model> {
    actor.require(crate::Role::Admin)?;
    find(&d.db, actor.tenant, id).await
}

/// The tenant's endpoints, oldest first (admins).
pub async fn list(d: &Domain, actor: &Actor) -> DomainResult<Vec<webhook_endpoint::Model>> {
    actor.require(crate::Role::Admin)?;
    Ok(webhook_endpoint::Entity::scoped(actor.tenant)
        .order_by_asc(webhook_endpoint::Column::CreatedAt)
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(&d.db)
        .await?)
}

/// Creates an endpoint (admins); returns it and its signing secret, which is never shown
/// again.
pub async fn create(
    d: &Domain,
    actor: &Actor,
    input: EndpointInput,
) -> DomainResult<(webhook_endpoint::Model, String)> {
    audit::require_admin(&d.db, actor, "webhook_endpoint.create", None).await?;
    let url = validate_url(&input.url)?;
    let event_kinds = validate_kinds(&input.event_kinds)?;
    let client_fields = validate_fields(&input.client_fields)?;
    let description = validate_description(input.description)?;
    let id = Uuid::now_v7();
    let secret = new_secret();
    let secret_enc = seal(d, actor.tenant.0, id, &secret).await?;
    let now = Utc::now();
    let txn = d.begin_write().await?;
    let row = webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel {
        id: Set(id),
        tenant_id: Set(actor.tenant.0),
        url: Set(url),
        description: Set(description),
        event_kinds: Set(StringList(event_kinds)),
        client_fields: Set(StringList(client_fields)),
        active: Set(input.active),
        secret_enc: Set(secret_enc),
        disabled_reason: Set(None),
        created_by: Set(actor.user_id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        "webhook_endpoint.create",
        Some(id),
        Outcome::Allowed,
        json!({ "url": row.url }),
    )
    .await?;
    txn.commit().await?;
    Ok((row, secret))
}

/// Changes an endpoint (admins). Switching it on again clears why it was switched off.
pub async fn update(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    patch: EndpointPatch,
) -> DomainResult<webhook_endpoint::Model> {
    audit::require_admin(&d.db, actor, "webhook_endpoint.update", Some(id)).await?;
    let url = patch.url.as_deref().map(validate_url).transpose()?;
    let kinds = patch
        .event_kinds
        .as_deref()
        .map(validate_kinds)
        .transpose()?;
    let fields = patch
        .client_fields
        .as_deref()
        .map(validate_fields)
        .transpose()?;
    let description = patch.description.map(validate_description).transpose()?;
    let txn = d.begin_write().await?;
    let current = find(&txn, actor.tenant, id).await?;
    let mut row: webhook_endpoint::ActiveModel = current.into();
    if let Some(url) = url {
        row.url = Set(url);
    }
    if let Some(k) = kinds {
        row.event_kinds = Set(StringList(k));
    }
    if let Some(f) = fields {
        row.client_fields = Set(StringList(f));
    }
    if let Some(desc) = description {
        row.description = Set(desc);
    }
    if let Some(active) = patch.active {
        row.active = Set(active);
        if active {
            row.disabled_reason = Set(None);
        }
    }
    row.updated_at = Set(Utc::now());
    let saved = webhook_endpoint::Entity::update(row).exec(&txn).await?;
    audit::record(
        &txn,
        actor,
        "webhook_endpoint.update",
        Some(id),
        Outcome::Allowed,
        json!({ "url": saved.url, "active": saved.active }),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Deletes an endpoint and its deliveries (admins).
pub async fn delete(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<()> {
    audit::require_admin(&d.db, actor, "webhook_endpoint.delete", Some(id)).await?;
    let txn = d.begin_write().await?;
    find(&txn, actor.tenant, id).await?;
    webhook_delivery::Entity::scoped_delete(actor.tenant)
        .filter(webhook_delivery::Column::EndpointId.eq(id))
        .exec(&txn)
        .await?;
    webhook_endpoint::Entity::scoped_delete(actor.tenant)
        .filter(webhook_endpoint::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        "webhook_endpoint.delete",
        Some(id),
        Outcome::Allowed,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Replaces an endpoint's signing secret (admins); returns the new one, shown once. Attempts
/// from then on are signed with it.
pub async fn rotate_secret(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
) -> DomainResult<(webhook_endpoint::Model, String)> {
    audit::require_admin(&d.db, actor, "webhook_endpoint.rotate_secret", Some(id)).await?;
    let secret = new_secret();
    let sealed = seal(d, actor.tenant.0, id, &secret).await?;
    let txn = d.begin_write().await?;
    let current = find(&txn, actor.tenant, id).await?;
    let mut row: webhook_endpoint::ActiveModel = current.into();
    row.secret_enc = Set(sealed);
    row.updated_at = Set(Utc::now());
    let saved = webhook_endpoint::Entity::update(row).exec(&txn).await?;
    audit::record(
        &txn,
        actor,
        "webhook_endpoint.rotate_secret",
        Some(id),
        Outcome::Allowed,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    Ok((saved, secret))
}

/// Switches an endpoint off, saying why (a delivery was answered 410 Gone). A system task.
pub(crate) async fn disable(
    db: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
    reason: &str,
) -> DomainResult<()> {
    webhook_endpoint::Entity::scoped_update(tenant)
        .col_expr(webhook_endpoint::Column::Active, Expr::value(false))
        .col_expr(
            webhook_endpoint::Column::DisabledReason,
            Expr::value(Some(reason.to_string())),
        )
        .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(webhook_endpoint::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

const NEWEST_FIRST: Ordering<webhook_delivery::Column> = Ordering {
    name: "created",
    column: Some(webhook_delivery::Column::CreatedAt),
    descending: true,
};

/// An endpoint's deliveries, newest first, optionally in one status (admins).
pub async fn deliveries(
    d: &Domain,
    actor: &Actor,
    endpoint: Uuid,
    status: Option<DeliveryStatus>,
    page: &PageArgs,
) -> DomainResult<Page<webhook_delivery::Model>> {
    get(d, actor, endpoint).await?;
    let page = page.resolve(NEWEST_FIRST.name)?;
    let mut query = webhook_delivery::Entity::scoped(actor.tenant)
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint));
    if let Some(status) = status {
        query = query.filter(webhook_delivery::Column::Status.eq(status));
    }
    let rows = page
        .apply(query, &NEWEST_FIRST, webhook_delivery::Column::Id)
        .limit(page.limit + 1)
        .all(&d.db)
        .await?;
    Ok(page.into_page(rows, |row| Cursor {
        ordering: NEWEST_FIRST.name.into(),
        key: SortKey::Time(row.created_at),
        id: row.id,
    }))
}

/// One delivery (admins).
pub async fn delivery(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
) -> DomainResult<webhook_delivery::Model> {
    actor.require(crate::Role::Admin)?;
    webhook_delivery::Entity::scoped(actor.tenant)
        .filter(webhook_delivery::Column::Id.eq(id))
        .one(&d.db)
        .await?
        .ok_or_else(|| DomainError::not_found("webhook delivery"))
}

/// Sends a delivery again from the start of its schedule (admins): a failed one, or a
/// pending one now instead of at its next attempt. A delivered one is sent once more.
pub async fn redeliver(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
) -> DomainResult<webhook_delivery::Model> {
    audit::require_admin(&d.db, actor, "webhook_delivery.redeliver", Some(id)).await?;
    let current = delivery(d, actor, id).await?;
    let endpoint = find(&d.db, actor.tenant, current.endpoint_id).await?;
    if !endpoint.active {
        return Err(DomainError::invalid(
            "id",
            "the endpoint is inactive; activate it first",
        ));
    }
    let now = Utc::now();
    webhook_delivery::Entity::scoped_update(actor.tenant)
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(DeliveryStatus::Pending),
        )
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(0))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(id))
        .exec(&d.db)
        .await?;
    if let Err(error) = d.queue.webhook_due(actor.tenant, id).await {
        // The relay finds it due anyway.
        tracing::warn!(%error, "could not enqueue a redelivery");
    }
    delivery(d, actor, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: DomainError) -> String {
        match e {
            DomainError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert_eq!(
            validate_url("https://hooks.example.com/x?y=1").unwrap(),
            "https://hooks.example.com/x?y=1"
        );
        assert!(validate_url("http://127.0.0.1:9000/hook").is_ok());
        for bad in [
            "/relative",
            "ftp://example.com/",
            "example.com",
            "",
            "http://",
        ] {
            assert_eq!(field(validate_url(bad).unwrap_err()), "url", "{bad}");
        }
    }

    #[test]
    fn kinds_and_fields_are_checked() {
        assert_eq!(
            validate_kinds(&["client.updated".into(), "client.updated".into()]).unwrap(),
            vec!["client.updated"]
        );
        assert_eq!(
            field(validate_kinds(&["client.exploded".into()]).unwrap_err()),
            "eventKinds"
        );
        assert_eq!(
            validate_fields(&["status".into(), "funnelStage".into()]).unwrap(),
            vec!["status", "funnelStage"]
        );
        assert_eq!(
            field(validate_fields(&["funnel stage".into()]).unwrap_err()),
            "clientFields"
        );
    }

    #[test]
    fn secrets_are_random_and_prefixed() {
        let (a, b) = (new_secret(), new_secret());
        assert!(a.starts_with("whsec_") && a.len() == 6 + 64);
        assert_ne!(a, b);
    }
}
