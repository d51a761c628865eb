//! Identities: the emails, phones, chat sessions and platform user ids that recognise a
//! client. Unique per tenant; one of each kind is primary, and a client's `email`/`phone`
//! columns always hold its primary email and phone identity.

use crate::entities::client;
use crate::entities::client_identity::{self, IdentityKind};
use crate::entities::timeline_event::TimelineKind;
use crate::timeline::{self, EventActor};
use crate::values::{Email, PhoneE164, Region, clean_text};
use crate::{Actor, ClientId, Domain, DomainError, DomainEvent, DomainResult, Role, TenantId};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

/// Normalises a value for its kind: lower-case email, E.164 phone, trimmed id otherwise.
pub fn normalise(kind: IdentityKind, value: &str, region: Region) -> DomainResult<String> {
    match kind {
        IdentityKind::Email => Email::parse(value)
            .map(Email::into_string)
            .map_err(|m| DomainError::invalid("value", m)),
        IdentityKind::Phone => PhoneE164::parse(value, region)
            .map(PhoneE164::into_string)
            .map_err(|m| DomainError::invalid("value", m)),
        IdentityKind::ChatSession | IdentityKind::PlatformUser => clean_text(value, 200)
            .map_err(|m| DomainError::invalid("value", m))?
            .ok_or_else(|| DomainError::invalid("value", "is required")),
    }
}

/// Emails and phones have no platform; other kinds need one (`web`, `telegram`...).
pub fn normalise_platform(kind: IdentityKind, platform: Option<&str>) -> DomainResult<String> {
    let platform = platform
        .map(|p| p.trim().to_lowercase())
        .unwrap_or_default();
    match kind {
        IdentityKind::Email | IdentityKind::Phone => Ok(String::new()),
        _ if platform.is_empty() => Err(DomainError::invalid(
            "platform",
            "is required for chat sessions and platform user ids",
        )),
        _ if platform.len() > 32
            || !platform
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') =>
        {
            Err(DomainError::invalid(
                "platform",
                "is a short lower-case name such as web, telegram or whatsapp",
            ))
        }
        _ => Ok(platform),
    }
}

/// The client that holds an identity in this tenant, if any.
pub async fn owner(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    kind: IdentityKind,
    platform: &str,
    value: &str,
) -> DomainResult<Option<client_identity::Model>> {
    Ok(client_identity::Entity::scoped(tenant)
        .filter(client_identity::Column::Kind.eq(kind))
        .filter(client_identity::Column::Platform.eq(platform))
        .filter(client_identity::Column::Value.eq(value))
        .one(db)
        .await?)
}

fn field_of(kind: IdentityKind) -> &'static str {
    match kind {
        IdentityKind::Email => "email",
        IdentityKind::Phone => "phone",
        _ => "value",
    }
}

/// Makes `value` the client's primary identity of `kind` (emails and phones), adding it when
/// new. Another client holding it is a `Conflict`.
pub async fn set_primary_value(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    client: ClientId,
    kind: IdentityKind,
    value: &str,
    source: &str,
) -> DomainResult<()> {
    if let Some(existing) = owner(db, tenant, kind, "", value).await? {
        if existing.client_id != client.0 {
            return Err(DomainError::Conflict(format!(
                "{}: another client already has {value}",
                field_of(kind)
            )));
        }
        if existing.is_primary {
            return Ok(());
        }
    }
    demote(db, tenant, client, kind).await?;
    match owner(db, tenant, kind, "", value).await? {
        Some(existing) => {
            let mut row = existing.into_active_model();
            row.is_primary = Set(true);
            row.update(db).await?;
        }
        None => insert(db, tenant, client, kind, "", value, true, source).await?,
    }
    Ok(())
}

async fn demote(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    client: ClientId,
    kind: IdentityKind,
) -> DomainResult<()> {
    client_identity::Entity::scoped_update(tenant)
        .col_expr(client_identity::Column::IsPrimary, false.into())
        .filter(client_identity::Column::ClientId.eq(client.0))
        .filter(client_identity::Column::Kind.eq(kind))
        .exec(db)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    client: ClientId,
    kind: IdentityKind,
    platform: &str,
    value: &str,
    primary: bool,
    source: &str,
) -> DomainResult<()> {
    let row = client_identity::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        client_id: Set(client.0),
        kind: Set(kind),
        platform: Set(platform.to_string()),
        value: Set(value.to_string()),
        is_primary: Set(primary),
        verified: Set(false),
        source: Set(source.to_string()),
        created_at: Set(chrono::Utc::now()),
    };
    client_identity::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// A client's identities, primary first, then oldest first.
pub async fn list_for(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    client: ClientId,
) -> DomainResult<Vec<client_identity::Model>> {
    Ok(client_identity::Entity::scoped(tenant)
        .filter(client_identity::Column::ClientId.eq(client.0))
        .order_by_desc(client_identity::Column::IsPrimary)
        .order_by_asc(client_identity::Column::Id)
        .all(db)
        .await?)
}

/// Identities of several clients at once (for DataLoaders), primary first.
pub async fn of_clients(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    clients: &[Uuid],
) -> DomainResult<Vec<client_identity::Model>> {
    Ok(client_identity::Entity::scoped(tenant)
        .filter(client_identity::Column::ClientId.is_in(clients.iter().copied()))
        .order_by_desc(client_identity::Column::IsPrimary)
        .order_by_asc(client_identity::Column::Id)
        .all(db)
        .await?)
}

/// Moves the primary email/phone column of the client to the given value, bumping its
/// version; returns the new version.
async fn sync_column(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    row: &client::Model,
    kind: IdentityKind,
    value: Option<String>,
) -> DomainResult<Option<client::Model>> {
    let mut next = row.clone();
    match kind {
        IdentityKind::Email if next.email != value => next.email = value,
        IdentityKind::Phone if next.phone != value => next.phone = value,
        _ => return Ok(None),
    }
    crate::clients::fields::refresh_derived(&mut next);
    crate::clients::write_row(db, tenant, row, next)
        .await
        .map(Some)
}

pub struct NewIdentity {
    pub kind: IdentityKind,
    pub platform: Option<String>,
    pub value: String,
    pub primary: bool,
}

/// Adds an identity to a client (agents). The first email or phone, or one marked primary,
/// becomes the client's primary and fills its `email`/`phone`.
pub async fn add(
    d: &Domain,
    actor: &Actor,
    client: ClientId,
    input: NewIdentity,
) -> DomainResult<client_identity::Model> {
    actor.require(Role::Agent)?;
    let region = crate::tenants::region_of(&crate::tenants::get(&d.db, actor.tenant).await?);
    let platform = normalise_platform(input.kind, input.platform.as_deref())?;
    let value = normalise(input.kind, &input.value, region)?;
    let txn = d.begin_write().await?;
    let row = crate::clients::find_live(&txn, actor.tenant, client).await?;
    if let Some(existing) = owner(&txn, actor.tenant, input.kind, &platform, &value).await? {
        return Err(if existing.client_id == client.0 {
            DomainError::Conflict(format!("the client already has {value}"))
        } else {
            DomainError::Conflict(format!("another client already has {value}"))
        });
    }
    let same_kind = list_for(&txn, actor.tenant, client)
        .await?
        .into_iter()
        .filter(|i| i.kind == input.kind)
        .count();
    let primary = input.primary || same_kind == 0;
    if primary {
        demote(&txn, actor.tenant, client, input.kind).await?;
    }
    insert(
        &txn,
        actor.tenant,
        client,
        input.kind,
        &platform,
        &value,
        primary,
        "manual",
    )
    .await?;
    if primary {
        sync_column(&txn, actor.tenant, &row, input.kind, Some(value.clone())).await?;
    }
    timeline::record(
        &txn,
        actor.tenant,
        client,
        &EventActor::from(actor),
        TimelineKind::IdentityAdded,
        json!({ "kind": input.kind, "platform": platform, "value": value, "primary": primary }),
    )
    .await?;
    let identity = owner(&txn, actor.tenant, input.kind, &platform, &value)
        .await?
        .ok_or_else(|| DomainError::not_found("identity"))?;
    txn.commit().await?;
    publish_change(d, actor.tenant, client);
    Ok(identity)
}

/// Removes an identity (agents). Removing a primary email or phone promotes the next one of
/// the same kind, or clears the client's column.
pub async fn remove(d: &Domain, actor: &Actor, identity: Uuid) -> DomainResult<client::Model> {
    actor.require(Role::Agent)?;
    let txn = d.begin_write().await?;
    let found = client_identity::Entity::scoped(actor.tenant)
        .filter(client_identity::Column::Id.eq(identity))
        .one(&txn)
        .await?
        .ok_or_else(|| DomainError::not_found("identity"))?;
    let client = ClientId(found.client_id);
    let row = crate::clients::find_live(&txn, actor.tenant, client).await?;
    client_identity::Entity::scoped_delete(actor.tenant)
        .filter(client_identity::Column::Id.eq(identity))
        .exec(&txn)
        .await?;
    let mut current = row.clone();
    if found.is_primary {
        let next = list_for(&txn, actor.tenant, client)
            .await?
            .into_iter()
            .find(|i| i.kind == found.kind);
        if let Some(next) = &next {
            let mut promoted = next.clone().into_active_model();
            promoted.is_primary = Set(true);
            promoted.update(&txn).await?;
        }
        if let Some(updated) =
            sync_column(&txn, actor.tenant, &row, found.kind, next.map(|n| n.value)).await?
        {
            crate::clients::fields::ensure_identifiable(&updated)?;
            current = updated;
        }
    }
    timeline::record(
        &txn,
        actor.tenant,
        client,
        &EventActor::from(actor),
        TimelineKind::IdentityRemoved,
        json!({ "kind": found.kind, "platform": found.platform, "value": found.value }),
    )
    .await?;
    txn.commit().await?;
    publish_change(d, actor.tenant, client);
    Ok(current)
}

fn publish_change(d: &Domain, tenant: TenantId, client: ClientId) {
    d.events
        .publish(tenant, DomainEvent::ClientChanged { client_id: client });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalised_per_kind() {
        let ca = Region::parse("CA").unwrap();
        assert_eq!(
            normalise(IdentityKind::Email, " A@B.CO ", ca).unwrap(),
            "a@b.co"
        );
        assert_eq!(
            normalise(IdentityKind::Phone, "416 555 1234", ca).unwrap(),
            "+14165551234"
        );
        assert_eq!(
            normalise(IdentityKind::PlatformUser, " 12345 ", ca).unwrap(),
            "12345"
        );
        assert!(normalise(IdentityKind::ChatSession, "  ", ca).is_err());
    }

    #[test]
    fn platforms() {
        assert_eq!(
            normalise_platform(IdentityKind::Email, Some("web")).unwrap(),
            ""
        );
        assert_eq!(
            normalise_platform(IdentityKind::PlatformUser, Some("Telegram")).unwrap(),
            "telegram"
        );
        assert!(normalise_platform(IdentityKind::PlatformUser, None).is_err());
        assert!(normalise_platform(IdentityKind::ChatSession, Some("we b")).is_err());
    }
}
