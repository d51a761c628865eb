//! Identity checks for known texters: when a new thread's sender identifier belongs to a
//! client and the receiving channel asks for confirmation (`known_sender_check = confirm`),
//! the thread carries that client as a suggestion ("is this Ada?") instead of being linked.
//! Staff or the assistant service confirm it (the thread is linked; the assistant greets the
//! client by first name from then on) or reject it (kept apart, and remembered: that
//! identifier is never suggested or linked automatically to that client again). Both write
//! a timeline event on the client.

use super::{get_in, link_in};
use crate::entities::conversation::{self, Channel, IdentityStatus};
use crate::entities::identity_rejection;
use crate::entities::tenant::KnownSenderCheck;
use crate::entities::timeline_event::TimelineKind;
use crate::timeline::{self, EventActor};
use crate::{Actor, ClientId, Domain, DomainError, DomainEvent, DomainResult, Role, TenantId};
use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// What a thread without a client does with the client its sender's identifier belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    Link(Uuid),
    Suggest(Uuid),
    Nothing,
}

/// The decision: nothing without an owner or when the sender was rejected as that client;
/// else link or suggest, as the channel's known-sender check says.
pub fn attach(owner: Option<Uuid>, rejected: bool, check: KnownSenderCheck) -> Attach {
    match (owner, check) {
        (None, _) => Attach::Nothing,
        (Some(_), _) if rejected => Attach::Nothing,
        (Some(c), KnownSenderCheck::Link) => Attach::Link(c),
        (Some(c), KnownSenderCheck::Confirm) => Attach::Suggest(c),
    }
}

/// Whether someone answered that the sender at `identifier` is not `client`.
pub(crate) async fn is_rejected(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    channel: Channel,
    identifier: &str,
    client: Uuid,
) -> DomainResult<bool> {
    Ok(rejected_clients(db, tenant, channel, identifier)
        .await?
        .contains(&client))
}

/// The clients the sender at `identifier` was answered not to be.
pub(crate) async fn rejected_clients(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    channel: Channel,
    identifier: &str,
) -> DomainResult<Vec<Uuid>> {
    use sea_orm::QuerySelect;
    Ok(identity_rejection::Entity::scoped(tenant)
        .filter(identity_rejection::Column::Channel.eq(channel))
        .filter(identity_rejection::Column::Identifier.eq(identifier))
        .select_only()
        .column(identity_rejection::Column::ClientId)
        .into_tuple::<Uuid>()
        .all(db)
        .await?)
}

/// Marks `thread` as suggesting `client` and writes the `identity_suggested` event.
pub(crate) async fn suggest_in(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    thread: &mut conversation::Model,
    client: Uuid,
    actor: &EventActor,
) -> DomainResult<()> {
    conversation::Entity::scoped_update(tenant)
        .col_expr(conversation::Column::SuggestedClientId, Expr::value(client))
        .col_expr(
            conversation::Column::IdentityStatus,
            Expr::value(IdentityStatus::Suggested),
        )
        .filter(conversation::Column::Id.eq(thread.id))
        .exec(db)
        .await?;
    thread.suggested_client_id = Some(client);
    thread.identity_status = Some(IdentityStatus::Suggested);
    suggested_event(db, tenant, thread, client, actor).await
}

pub(crate) async fn suggested_event(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    thread: &conversation::Model,
    client: Uuid,
    actor: &EventActor,
) -> DomainResult<()> {
    timeline::record(
        db,
        tenant,
        ClientId(client),
        actor,
        TimelineKind::IdentitySuggested,
        json!({
            "conversationId": thread.id, "channel": thread.channel,
            "identifier": thread.channel_identifier,
        }),
    )
    .await?;
    Ok(())
}

/// The thread's pending suggestion, or a clear error naming the conversation.
fn pending(thread: &conversation::Model) -> DomainResult<Uuid> {
    match (thread.identity_status, thread.suggested_client_id) {
        (Some(IdentityStatus::Suggested), Some(client)) if thread.client_id.is_none() => Ok(client),
        _ => Err(DomainError::invalid(
            "conversationId",
            "the conversation has no identity suggestion waiting for an answer",
        )),
    }
}

/// Confirms that a thread's sender is the suggested client (agents, the assistant service):
/// links the thread to it.
pub async fn confirm(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<conversation::Model> {
    actor.require(Role::Agent)?;
    let txn = d.begin_write().await?;
    let mut thread = get_in(&txn, actor.tenant, id).await?;
    let suggested = pending(&thread)?;
    let client = crate::clients::find_live(&txn, actor.tenant, ClientId(suggested))
        .await
        .map_err(|_| {
            DomainError::invalid(
                "conversationId",
                "the suggested client no longer exists; link the conversation by hand",
            )
        })?;
    let who = EventActor::from(actor);
    link_in(
        &txn,
        actor.tenant,
        &mut thread,
        ClientId(client.id),
        &who,
        Default::default(),
    )
    .await?;
    set_status(
        &txn,
        actor.tenant,
        &mut thread,
        IdentityStatus::Confirmed,
        Some(client.id),
    )
    .await?;
    timeline::record(
        &txn,
        actor.tenant,
        ClientId(client.id),
        &who,
        TimelineKind::IdentityConfirmed,
        json!({
            "conversationId": thread.id, "channel": thread.channel,
            "identifier": thread.channel_identifier,
        }),
    )
    .await?;
    txn.commit().await?;
    d.events.publish(
        actor.tenant,
        DomainEvent::ClientChanged {
            client_id: ClientId(client.id),
        },
    );
    Ok(thread)
}

/// Answers that a thread's sender is not the suggested client (agents, the assistant
/// service): the thread stays apart and the answer is remembered.
pub async fn reject(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<conversation::Model> {
    actor.require(Role::Agent)?;
    let txn = d.begin_write().await?;
    let mut thread = get_in(&txn, actor.tenant, id).await?;
    let suggested = pending(&thread)?;
    let who = EventActor::from(actor);
    remember_rejection(&txn, actor.tenant, &thread, suggested, &who).await?;
    set_status(
        &txn,
        actor.tenant,
        &mut thread,
        IdentityStatus::Rejected,
        None,
    )
    .await?;
    // The client may have been deleted since: the answer is kept all the same.
    if crate::clients::find_live(&txn, actor.tenant, ClientId(suggested))
        .await
        .is_ok()
    {
        timeline::record(
            &txn,
            actor.tenant,
            ClientId(suggested),
            &who,
            TimelineKind::IdentityRejected,
            json!({
                "conversationId": thread.id, "channel": thread.channel,
                "identifier": thread.channel_identifier,
            }),
        )
        .await?;
    }
    txn.commit().await?;
    d.events.publish(
        actor.tenant,
        DomainEvent::ClientChanged {
            client_id: ClientId(suggested),
        },
    );
    Ok(thread)
}

async fn remember_rejection(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    thread: &conversation::Model,
    client: Uuid,
    who: &EventActor,
) -> DomainResult<()> {
    identity_rejection::Entity::insert(identity_rejection::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        client_id: Set(client),
        channel: Set(thread.channel),
        identifier: Set(thread.channel_identifier.clone()),
        conversation_id: Set(Some(thread.id)),
        decided_by: Set(json!({ "kind": who.kind, "id": who.id, "name": who.name })),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([
            identity_rejection::Column::TenantId,
            identity_rejection::Column::Channel,
            identity_rejection::Column::Identifier,
            identity_rejection::Column::ClientId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

async fn set_status(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    thread: &mut conversation::Model,
    status: IdentityStatus,
    suggested: Option<Uuid>,
) -> DomainResult<()> {
    conversation::Entity::scoped_update(tenant)
        .col_expr(conversation::Column::IdentityStatus, Expr::value(status))
        .col_expr(
            conversation::Column::SuggestedClientId,
            Expr::value(suggested),
        )
        .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversation::Column::Id.eq(thread.id))
        .exec(db)
        .await?;
    thread.identity_status = Some(status);
    thread.suggested_client_id = suggested;
    Ok(())
}

/// A thread linked by hand settles its pending suggestion: confirmed when it is the
/// suggested client, otherwise the suggestion is dropped (not remembered as a rejection).
pub(crate) async fn settle_on_manual_link(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    thread: &mut conversation::Model,
    linked: Uuid,
) -> DomainResult<()> {
    if thread.identity_status != Some(IdentityStatus::Suggested) {
        return Ok(());
    }
    if thread.suggested_client_id == Some(linked) {
        set_status(db, tenant, thread, IdentityStatus::Confirmed, Some(linked)).await
    } else {
        conversation::Entity::scoped_update(tenant)
            .col_expr(
                conversation::Column::IdentityStatus,
                Expr::value(Option::<IdentityStatus>::None),
            )
            .col_expr(
                conversation::Column::SuggestedClientId,
                Expr::value(Option::<Uuid>::None),
            )
            .filter(conversation::Column::Id.eq(thread.id))
            .exec(db)
            .await?;
        thread.identity_status = None;
        thread.suggested_client_id = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_sender_check_decides_link_or_suggest() {
        let ada = Uuid::from_u128(1);
        assert_eq!(attach(None, false, KnownSenderCheck::Link), Attach::Nothing);
        assert_eq!(
            attach(Some(ada), false, KnownSenderCheck::Link),
            Attach::Link(ada)
        );
        assert_eq!(
            attach(Some(ada), false, KnownSenderCheck::Confirm),
            Attach::Suggest(ada)
        );
        // A remembered "this is not Ada" wins over both.
        assert_eq!(
            attach(Some(ada), true, KnownSenderCheck::Link),
            Attach::Nothing
        );
        assert_eq!(
            attach(Some(ada), true, KnownSenderCheck::Confirm),
            Attach::Nothing
        );
    }
}
