//! Inbound messages: routing a provider's receiving address to a tenant and storing what
//! arrives, exactly once per provider message id.

use super::{
    Author, NewThread, Recorded, Route, clean_body, identity, link_in, normalise_identifier,
    open_thread, owner_of, publish_message, record_message, resumable_thread, set_avatar,
};
use crate::entities::conversation::Channel;
use crate::entities::message::{AuthorKind, Direction};
use crate::entities::timeline_event::ActorKind;
use crate::timeline::EventActor;
use crate::{ClientId, Domain, DomainError, DomainEvent, DomainResult, TenantId};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DbBackend, QueryFilter};
use std::sync::Arc;
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
    /// The sender's picture, when the platform supplies one (an http(s) URL).
    pub avatar_url: Option<String>,
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

/// Where messages `provider` delivers to `address` go: the tenant channel that receives
/// them and its tenant (kept in memory for a moment, see [`super::Routes`]).
pub async fn resolve_channel(
    d: &Domain,
    provider: &str,
    address: &str,
) -> DomainResult<Option<Arc<Route>>> {
    d.routes.resolve(&d.db, provider, address).await
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

/// Stores an inbound message that arrived through `route` (the tenant's receiving number or
/// inbox): finds or resumes the thread, dedupes on the provider message id, links the thread
/// to the client the sender's identity belongs to (or suggests it, when the channel's
/// known-sender check asks for confirmation), and announces it after commit.
pub async fn ingest(d: &Domain, route: &Route, inbound: Inbound) -> DomainResult<Ingested> {
    let tenant = route.tenant_id();
    let tracking = crate::tracking::effective(&route.tenant, Some(&route.channel));
    let identifier = normalise_identifier(inbound.channel, &inbound.from, tracking.region)
        .map_err(|e| match e {
            DomainError::Invalid { message, .. } => DomainError::invalid("from", message),
            other => other,
        })?;
    let body = clean_body(&inbound.body)?;
    let now = Utc::now();
    // On PostgreSQL the thread is read before any transaction (reading it inside one would
    // see no more: each statement reads what is committed), so that a message that only adds
    // to its thread needs none.
    let read_first = if d.db.get_database_backend() == DbBackend::Postgres {
        let found = resumable_thread(&d.db, tenant, inbound.channel, &identifier, now).await?;
        if let Some(thread) = &found
            && let Some(done) =
                store_in_thread_as_is(d, tenant, thread, &identifier, &body, &inbound, now).await?
        {
            return Ok(done);
        }
        Some(found)
    } else {
        None
    };
    let txn = d.begin_write().await?;
    // A redelivery is found by the message insert below (one row per provider message id):
    // everything this transaction did before it is then rolled back.
    let system = EventActor {
        kind: ActorKind::System,
        id: None,
        name: Some(inbound.provider.clone()),
    };
    let resumable = match read_first {
        Some(found) => found,
        None => resumable_thread(&txn, tenant, inbound.channel, &identifier, now).await?,
    };
    let (mut thread, opened) = match resumable {
        Some(t) => (t, false),
        None => {
            let opened = open_thread(
                &txn,
                tenant,
                NewThread {
                    channel: inbound.channel,
                    identifier: &identifier,
                    inbox: Some(inbound.to.clone()),
                    contact_name: inbound.sender_name.clone(),
                    avatar_url: inbound.avatar_url.clone(),
                    check: tracking.known_sender,
                },
                &system,
                now,
            )
            .await?;
            (opened, true)
        }
    };
    // A thread just opened was attached to the identifier's owner already, if it has one;
    // a thread with an identity check (pending or answered) waits for people.
    if thread.client_id.is_none()
        && thread.identity_status.is_none()
        && !opened
        && let Some(c) = owner_of(&txn, tenant, inbound.channel, &identifier).await?
    {
        let rejected =
            identity::is_rejected(&txn, tenant, inbound.channel, &identifier, c.id).await?;
        match identity::attach(Some(c.id), rejected, tracking.known_sender) {
            identity::Attach::Link(c) => {
                link_in(
                    &txn,
                    tenant,
                    &mut thread,
                    ClientId(c),
                    &system,
                    Default::default(),
                )
                .await?
            }
            identity::Attach::Suggest(c) => {
                identity::suggest_in(&txn, tenant, &mut thread, c, &system).await?
            }
            identity::Attach::Nothing => {}
        }
    }
    if !opened && let Some(url) = inbound.avatar_url.as_deref() {
        remember_avatar(&txn, tenant, &mut thread, url).await?;
    }
    let author = Author {
        kind: AuthorKind::Customer,
        id: None,
    };
    let Some(recorded) = record_message(
        &txn,
        tenant,
        &thread,
        Direction::Inbound,
        &author,
        &body,
        &inbound.provider,
        Some(&inbound.provider_message_id),
        inbound.sent_at.unwrap_or(now),
        Some(&*d.queue),
    )
    .await?
    else {
        // Delivered before (or concurrently, and that delivery won the insert): the thread
        // this transaction opened or touched is rolled back with it.
        txn.rollback().await?;
        return Ok(Ingested::Duplicate);
    };
    txn.commit().await?;
    Ok(stored(d, tenant, &thread, recorded).await)
}

/// After the commit: the extraction job handed over (or its workers woken), the message and
/// the client's change announced.
async fn stored(
    d: &Domain,
    tenant: TenantId,
    thread: &crate::entities::conversation::Model,
    recorded: Recorded,
) -> Ingested {
    let Recorded { message, enqueued } = recorded;
    if enqueued {
        d.queue.extraction_committed();
    } else if let Err(error) = d.queue.message_stored(tenant, message.id).await {
        // Committed all the same: the worker's sweep finds pending messages.
        tracing::warn!(message = %message.id, %error, "could not enqueue extraction");
    }
    publish_message(d, tenant, thread, &message);
    if let Some(client) = thread.client_id {
        d.events.publish(
            tenant,
            DomainEvent::ClientChanged {
                client_id: ClientId(client),
            },
        );
    }
    Ingested::Stored {
        conversation: thread.id,
        message: message.id,
    }
}

/// The message of a thread that goes on as it is (nobody's yet and its sender still nobody's,
/// the same picture) is all there is to write: it is stored in one statement with its
/// thread's times and its extraction job (PostgreSQL), without a transaction around it.
/// `None` when there is more to do (the general path does it).
async fn store_in_thread_as_is(
    d: &Domain,
    tenant: TenantId,
    thread: &crate::entities::conversation::Model,
    identifier: &str,
    body: &str,
    inbound: &Inbound,
    now: chrono::DateTime<Utc>,
) -> DomainResult<Option<Ingested>> {
    let as_is = thread.client_id.is_none()
        && thread.identity_status.is_none()
        && inbound
            .avatar_url
            .as_deref()
            .is_none_or(|url| thread.contact_avatar_url.as_deref() == Some(url));
    if !as_is
        || owner_of(&d.db, tenant, inbound.channel, identifier)
            .await?
            .is_some()
    {
        return Ok(None);
    }
    let author = Author {
        kind: AuthorKind::Customer,
        id: None,
    };
    let recorded = record_message(
        &d.db,
        tenant,
        thread,
        Direction::Inbound,
        &author,
        body,
        &inbound.provider,
        Some(&inbound.provider_message_id),
        inbound.sent_at.unwrap_or(now),
        Some(&*d.queue),
    )
    .await?;
    Ok(Some(match recorded {
        Some(recorded) => stored(d, tenant, thread, recorded).await,
        None => Ingested::Duplicate,
    }))
}

/// Keeps the picture a platform supplied on a resumed thread, and on its client.
async fn remember_avatar(
    db: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
    thread: &mut crate::entities::conversation::Model,
    url: &str,
) -> DomainResult<()> {
    use crate::entities::conversation;
    use sea_orm::sea_query::Expr;
    if thread.contact_avatar_url.as_deref() != Some(url) {
        conversation::Entity::scoped_update(tenant)
            .col_expr(conversation::Column::ContactAvatarUrl, Expr::value(url))
            .filter(conversation::Column::Id.eq(thread.id))
            .exec(db)
            .await?;
        thread.contact_avatar_url = Some(url.to_string());
        if let Some(client) = thread.client_id {
            set_avatar(db, tenant, client, url).await?;
        }
    }
    Ok(())
}
