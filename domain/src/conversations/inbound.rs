//! Inbound messages: routing a provider's receiving address to a tenant and storing what
//! arrives, exactly once per provider message id.

use super::{
    Author, clean_body, link_in, normalise_identifier, open_thread, owner_of, publish_message,
    record_message, resumable_thread,
};
use crate::entities::conversation::Channel;
use crate::entities::message::{self, AuthorKind, Direction};
use crate::entities::tenant_channel;
use crate::entities::timeline_event::ActorKind;
use crate::timeline::EventActor;
use crate::{ClientId, Domain, DomainError, DomainEvent, DomainResult, TenantId};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

/// An inbound message as a provider delivered it, already verified.
#[derive(Clone, Debug)]
pub struct Inbound {
    pub provider: String,
    pub provider_message_id: String,
    pub channel: Channel,
    pub from: String,
    pub to: String,
    pub body: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub sender_name: Option<String>,
}

/// A receiving address as stored: international phone numbers in E.164 (`+1 647-555 0100`
/// -> `+16475550100`), anything else trimmed.
pub fn routing_address(address: &str) -> String {
    let address = address.trim().trim_start_matches("whatsapp:").trim();
    let phone_like = address.starts_with('+')
        && address[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || " -().".contains(c));
    if phone_like {
        let digits: String = address.chars().filter(char::is_ascii_digit).collect();
        format!("+{digits}")
    } else {
        address.to_string()
    }
}

/// The tenant channel that receives messages for `provider` at `address`.
pub async fn resolve_channel(
    d: &Domain,
    provider: &str,
    address: &str,
) -> DomainResult<Option<tenant_channel::Model>> {
    // Routing happens before a tenant is known: this lookup is by the globally unique
    // (provider, address) pair.
    let address = routing_address(address);
    Ok(tenant_channel::Entity::find()
        .filter(tenant_channel::Column::Provider.eq(provider))
        .filter(tenant_channel::Column::Address.eq(address))
        .one(&d.db)
        .await?)
}

/// What ingestion did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingested {
    Stored {
        conversation: Uuid,
        message: Uuid,
    },
    /// The same provider message id was stored before.
    Duplicate,
}

/// Stores an inbound message for `tenant`: finds or resumes the thread, dedupes on the
/// provider message id, links the thread to the client the sender's identity belongs to,
/// and announces it after commit.
pub async fn ingest(d: &Domain, tenant: TenantId, inbound: Inbound) -> DomainResult<Ingested> {
    let region = crate::tenants::region_of(&crate::tenants::get(&d.db, tenant).await?);
    let identifier =
        normalise_identifier(inbound.channel, &inbound.from, region).map_err(|e| match e {
            DomainError::Invalid { message, .. } => DomainError::invalid("from", message),
            other => other,
        })?;
    let body = clean_body(&inbound.body)?;
    let now = Utc::now();
    let txn = d.begin_write().await?;
    // A redelivery is answered before anything is created.
    let exists = message::Entity::scoped(tenant)
        .filter(message::Column::Provider.eq(inbound.provider.as_str()))
        .filter(message::Column::ProviderMessageId.eq(inbound.provider_message_id.as_str()))
        .select_only()
        .column(message::Column::Id)
        .into_tuple::<Uuid>()
        .one(&txn)
        .await?;
    if exists.is_some() {
        return Ok(Ingested::Duplicate);
    }
    let system = EventActor {
        kind: ActorKind::System,
        id: None,
        name: Some(inbound.provider.clone()),
    };
    let (mut thread, opened) =
        match resumable_thread(&txn, tenant, inbound.channel, &identifier, now).await? {
            Some(t) => (t, false),
            None => {
                let opened = open_thread(
                    &txn,
                    tenant,
                    inbound.channel,
                    &identifier,
                    Some(inbound.to.clone()),
                    inbound.sender_name.clone(),
                    &system,
                    now,
                )
                .await?;
                (opened, true)
            }
        };
    // A thread just opened was linked to the identifier's owner already, if it has one.
    if thread.client_id.is_none()
        && !opened
        && let Some(c) = owner_of(&txn, tenant, inbound.channel, &identifier).await?
    {
        link_in(
            &txn,
            tenant,
            &mut thread,
            ClientId(c.id),
            &system,
            Default::default(),
        )
        .await?;
    }
    let author = Author {
        kind: AuthorKind::Customer,
        id: None,
    };
    let Some(stored) = record_message(
        &txn,
        tenant,
        &thread,
        Direction::Inbound,
        &author,
        &body,
        &inbound.provider,
        Some(&inbound.provider_message_id),
        inbound.sent_at.unwrap_or(now),
    )
    .await?
    else {
        // A concurrent delivery of the same message won the insert.
        return Ok(Ingested::Duplicate);
    };
    txn.commit().await?;
    if let Err(error) = d.queue.message_stored(tenant, stored.id).await {
        // Committed all the same: the worker's sweep finds pending messages.
        tracing::warn!(message = %stored.id, %error, "could not enqueue extraction");
    }
    publish_message(d, tenant, &thread, &stored);
    if let Some(client) = thread.client_id {
        d.events.publish(
            tenant,
            DomainEvent::ClientChanged {
                client_id: ClientId(client),
            },
        );
    }
    Ok(Ingested::Stored {
        conversation: thread.id,
        message: stored.id,
    })
}
