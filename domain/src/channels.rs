//! Tenant channels: the receiving numbers and inboxes through which providers deliver a
//! tenant's inbound messages, with the secret each provider signs its webhooks with.

use crate::audit::{self, Outcome};
use crate::entities::conversation::Channel;
use crate::entities::tenant_channel;
use crate::values::{PhoneE164, Region};
use crate::{Actor, Domain, DomainError, DomainResult};
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder, SqlErr};
use serde_json::json;
use uuid::Uuid;

pub const PROVIDERS: [&str; 3] = ["generic", "telnyx", "twilio"];

pub struct NewChannel {
    pub provider: String,
    pub address: String,
    pub channel: Channel,
    pub secret: Option<String>,
}

/// Phone-number channels take the address in E.164; inboxes keep it as given.
pub fn normalise_address(channel: Channel, address: &str, region: Region) -> DomainResult<String> {
    match crate::conversations::identity_kind(channel) {
        crate::entities::client_identity::IdentityKind::Phone => {
            PhoneE164::parse(address.trim_start_matches("whatsapp:"), region)
                .map(PhoneE164::into_string)
                .map_err(|m| DomainError::invalid("address", m))
        }
        _ => crate::values::clean_text(address, 200)
            .map_err(|m| DomainError::invalid("address", m))?
            .ok_or_else(|| DomainError::invalid("address", "is required")),
    }
}

/// Adds a receiving address for the actor's tenant (admins; audited).
pub async fn add(
    d: &Domain,
    actor: &Actor,
    input: NewChannel,
) -> DomainResult<tenant_channel::Model> {
    audit::require_admin(&d.db, actor, "channel.add", None).await?;
    let provider = input.provider.trim().to_lowercase();
    if !PROVIDERS.contains(&provider.as_str()) {
        return Err(DomainError::invalid(
            "provider",
            format!("{provider:?} is not one of {}", PROVIDERS.join(", ")),
        ));
    }
    let region = crate::tenants::region_of(&crate::tenants::get(&d.db, actor.tenant).await?);
    let address = normalise_address(input.channel, &input.address, region)?;
    let secret = input
        .secret
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if secret.is_none() {
        return Err(DomainError::invalid(
            "secret",
            "webhooks are verified: give the provider's signing secret or public key",
        ));
    }
    let txn = d.begin_write().await?;
    let row = tenant_channel::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant.0),
        provider: Set(provider.clone()),
        address: Set(address.clone()),
        channel: Set(input.channel),
        secret: Set(secret),
        created_at: Set(chrono::Utc::now()),
        auto_create_clients: Set(None),
        auto_create_since: Set(None),
        default_region: Set(None),
        known_sender_check: Set(None),
        extractors: Set(None),
    };
    let saved = tenant_channel::Entity::insert(row)
        .exec_with_returning(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                DomainError::Conflict(format!("{address} is already registered for {provider}"))
            }
            _ => DomainError::Database(e),
        })?;
    audit::record(
        &txn,
        actor,
        "channel.add",
        Some(saved.id),
        Outcome::Allowed,
        json!({ "provider": provider, "address": address }),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// The tenant's channels (admins).
pub async fn list(d: &Domain, actor: &Actor) -> DomainResult<Vec<tenant_channel::Model>> {
    actor.require(crate::Role::Admin)?;
    Ok(tenant_channel::Entity::scoped(actor.tenant)
        .order_by_asc(tenant_channel::Column::CreatedAt)
        .all(&d.db)
        .await?)
}
