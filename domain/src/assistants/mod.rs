//! Assistants: what a tenant defines to answer its conversations (name, system prompt, the
//! channels served, a default per channel), which one answers a given conversation, and the
//! context an external assistant service reads to answer it ([`context`]).
//!
//! Clientele does not generate replies: it is the system of record the assistant service
//! queries. Admins manage assistants and channel defaults; agents assign an assistant to a
//! conversation; everyone reads.

pub mod context;
pub mod names;
pub mod rules;

pub use rules::{Choice, ChosenBy};

use crate::audit::{self, Outcome};
use crate::entities::conversation::{self, Channel};
use crate::entities::json::StringList;
use crate::entities::timeline_event::TimelineKind;
use crate::entities::{assistant, assistant_default};
use crate::timeline::{self, EventActor};
use crate::{Actor, ClientId, Domain, DomainError, DomainEvent, DomainResult, Role, TenantId};
use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

/// A new assistant.
#[derive(Clone, Debug)]
pub struct NewAssistant {
    pub name: String,
    pub system_prompt: String,
    pub channels: Vec<Channel>,
}

/// Changes to an assistant; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct AssistantPatch {
    pub name: Option<String>,
    pub system_prompt: Option<String>,
    pub channels: Option<Vec<Channel>>,
    /// `Some(true)` archives (never chosen again, channel defaults dropped), `Some(false)`
    /// restores.
    pub archived: Option<bool>,
}

/// The assistant answering a conversation and how it was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    pub assistant: assistant::Model,
    pub by: ChosenBy,
}

pub(crate) async fn find_in(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
) -> DomainResult<Option<assistant::Model>> {
    Ok(assistant::Entity::scoped(tenant)
        .filter(assistant::Column::Id.eq(id))
        .one(db)
        .await?)
}

async fn get_in(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
) -> DomainResult<assistant::Model> {
    find_in(db, tenant, id)
        .await?
        .ok_or_else(|| DomainError::not_found("assistant"))
}

/// One assistant of the actor's tenant (every role).
pub async fn get(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<assistant::Model> {
    get_in(&d.db, actor.tenant, id).await
}

/// The tenant's assistants by name (every role); archived ones only when asked.
pub async fn list(
    d: &Domain,
    actor: &Actor,
    include_archived: bool,
) -> DomainResult<Vec<assistant::Model>> {
    let mut query = assistant::Entity::scoped(actor.tenant);
    if !include_archived {
        query = query.filter(assistant::Column::ArchivedAt.is_null());
    }
    Ok(query
        .order_by_asc(assistant::Column::Name)
        .order_by_asc(assistant::Column::Id)
        .all(&d.db)
        .await?)
}

/// The tenant's default assistant per channel (every role).
pub async fn defaults(d: &Domain, actor: &Actor) -> DomainResult<Vec<assistant_default::Model>> {
    Ok(assistant_default::Entity::scoped(actor.tenant)
        .order_by_asc(assistant_default::Column::Channel)
        .all(&d.db)
        .await?)
}

async fn name_taken(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    name: &str,
    except: Option<Uuid>,
) -> DomainResult<bool> {
    let mut query = assistant::Entity::scoped(tenant).filter(assistant::Column::Name.eq(name));
    if let Some(id) = except {
        query = query.filter(assistant::Column::Id.ne(id));
    }
    Ok(query.one(db).await?.is_some())
}

fn taken(name: &str) -> DomainError {
    DomainError::invalid("name", format!("another assistant is called {name:?}"))
}

/// Creates an assistant (admins).
pub async fn create(
    d: &Domain,
    actor: &Actor,
    input: &NewAssistant,
) -> DomainResult<assistant::Model> {
    audit::require_admin(&d.db, actor, "assistant.create", None).await?;
    let name = rules::clean_name(&input.name)?;
    let prompt = rules::clean_prompt(&input.system_prompt)?;
    let channels = rules::clean_channels(&input.channels)?;
    let now = Utc::now();
    let txn = d.begin_write().await?;
    if name_taken(&txn, actor.tenant, &name, None).await? {
        return Err(taken(&name));
    }
    let row = assistant::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant.0),
        name: Set(name),
        system_prompt: Set(prompt),
        channels: Set(StringList(channels)),
        created_automatically: Set(false),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let saved = assistant::Entity::insert(row)
        .exec_with_returning(&txn)
        .await
        .map_err(|e| unique_name_conflict(e, &input.name))?;
    audit::record(
        &txn,
        actor,
        "assistant.create",
        Some(saved.id),
        Outcome::Allowed,
        json!({ "name": saved.name, "channels": saved.channels }),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// A unique-key violation on the name (two creations at once) is the same bad input as a
/// name found taken.
fn unique_name_conflict(e: sea_orm::DbErr, name: &str) -> DomainError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => taken(name.trim()),
        _ => e.into(),
    }
}

/// Changes an assistant (admins). Channels it no longer serves, and every channel when it is
/// archived, lose it as their default.
pub async fn update(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    patch: &AssistantPatch,
) -> DomainResult<assistant::Model> {
    audit::require_admin(&d.db, actor, "assistant.update", Some(id)).await?;
    let name = patch.name.as_deref().map(rules::clean_name).transpose()?;
    let prompt = patch
        .system_prompt
        .as_deref()
        .map(rules::clean_prompt)
        .transpose()?;
    let channels = patch
        .channels
        .as_deref()
        .map(rules::clean_channels)
        .transpose()?;
    let txn = d.begin_write().await?;
    let before = get_in(&txn, actor.tenant, id).await?;
    let mut row: assistant::ActiveModel = before.clone().into();
    if let Some(name) = &name {
        if name_taken(&txn, actor.tenant, name, Some(id)).await? {
            return Err(taken(name));
        }
        row.name = Set(name.clone());
    }
    if let Some(prompt) = prompt {
        row.system_prompt = Set(prompt);
    }
    if let Some(channels) = &channels {
        row.channels = Set(StringList(channels.clone()));
    }
    match patch.archived {
        Some(true) if before.archived_at.is_none() => row.archived_at = Set(Some(Utc::now())),
        Some(false) => row.archived_at = Set(None),
        _ => {}
    }
    row.updated_at = Set(Utc::now());
    // `before` was read within the tenant: its key alone identifies the row.
    let saved = assistant::Entity::update(row)
        .exec(&txn)
        .await
        .map_err(|e| unique_name_conflict(e, name.as_deref().unwrap_or_default()))?;
    // Defaults this assistant can no longer be.
    let mut drop = assistant_default::Entity::scoped_delete(actor.tenant)
        .filter(assistant_default::Column::AssistantId.eq(id));
    if saved.archived_at.is_none() {
        drop = drop.filter(assistant_default::Column::Channel.is_not_in(rules::served(&saved)));
    }
    drop.exec(&txn).await?;
    audit::record(
        &txn,
        actor,
        "assistant.update",
        Some(id),
        Outcome::Allowed,
        json!({
            "before": { "name": before.name, "channels": before.channels, "archived": before.archived_at.is_some() },
            "after": { "name": saved.name, "channels": saved.channels, "archived": saved.archived_at.is_some() },
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Deletes an assistant (admins): its channel defaults go with it and conversations it was
/// assigned to fall back to their channel's default.
pub async fn delete(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<()> {
    audit::require_admin(&d.db, actor, "assistant.delete", Some(id)).await?;
    let txn = d.begin_write().await?;
    let before = get_in(&txn, actor.tenant, id).await?;
    conversation::Entity::scoped_update(actor.tenant)
        .col_expr(
            conversation::Column::AssistantId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(conversation::Column::AssistantId.eq(id))
        .exec(&txn)
        .await?;
    assistant_default::Entity::scoped_delete(actor.tenant)
        .filter(assistant_default::Column::AssistantId.eq(id))
        .exec(&txn)
        .await?;
    assistant::Entity::scoped_delete(actor.tenant)
        .filter(assistant::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        "assistant.delete",
        Some(id),
        Outcome::Allowed,
        json!({ "name": before.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Makes `assistant` the default for `channel`, or (with `None`) removes the channel's default
/// (admins). The assistant must serve the channel and not be archived.
pub async fn set_default(
    d: &Domain,
    actor: &Actor,
    channel: Channel,
    assistant: Option<Uuid>,
) -> DomainResult<Option<assistant::Model>> {
    audit::require_admin(&d.db, actor, "assistant.set_default", assistant).await?;
    let txn = d.begin_write().await?;
    let chosen = match assistant {
        None => {
            assistant_default::Entity::scoped_delete(actor.tenant)
                .filter(assistant_default::Column::Channel.eq(channel))
                .exec(&txn)
                .await?;
            None
        }
        Some(id) => {
            let a = get_in(&txn, actor.tenant, id).await?;
            check_usable(&a, channel, "assistantId")?;
            upsert_default(&txn, actor.tenant, channel, a.id).await?;
            Some(a)
        }
    };
    audit::record(
        &txn,
        actor,
        "assistant.set_default",
        assistant,
        Outcome::Allowed,
        json!({ "channel": channel, "assistantId": assistant }),
    )
    .await?;
    txn.commit().await?;
    Ok(chosen)
}

fn check_usable(a: &assistant::Model, channel: Channel, field: &str) -> DomainResult<()> {
    if a.archived_at.is_some() {
        return Err(DomainError::invalid(
            field,
            format!("assistant {:?} is archived", a.name),
        ));
    }
    if !rules::serves(a, channel) {
        return Err(DomainError::invalid(
            field,
            format!(
                "assistant {:?} does not serve the {} channel (it serves {})",
                a.name,
                rules::channel_name(channel),
                a.channels.0.join(", ")
            ),
        ));
    }
    Ok(())
}

async fn upsert_default(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    channel: Channel,
    assistant: Uuid,
) -> DomainResult<()> {
    let row = assistant_default::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        channel: Set(channel),
        assistant_id: Set(assistant),
        created_at: Set(Utc::now()),
    };
    assistant_default::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                assistant_default::Column::TenantId,
                assistant_default::Column::Channel,
            ])
            .update_column(assistant_default::Column::AssistantId)
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Assigns `assistant` to a conversation (agents). It must serve the conversation's channel
/// and not be archived (else bad input naming `assistantId`).
pub async fn assign(
    d: &Domain,
    actor: &Actor,
    conversation: Uuid,
    assistant: Uuid,
) -> DomainResult<conversation::Model> {
    actor.require(Role::Agent)?;
    let txn = d.begin_write().await?;
    let thread = crate::conversations::get_in(&txn, actor.tenant, conversation).await?;
    let a = get_in(&txn, actor.tenant, assistant).await?;
    check_usable(&a, thread.channel, "assistantId")?;
    let saved = write_assignment(&txn, actor, &thread, Some(&a)).await?;
    txn.commit().await?;
    announce(d, actor.tenant, &saved);
    Ok(saved)
}

/// Removes a conversation's assistant (agents): the channel's default answers again.
pub async fn unassign(
    d: &Domain,
    actor: &Actor,
    conversation: Uuid,
) -> DomainResult<conversation::Model> {
    actor.require(Role::Agent)?;
    let txn = d.begin_write().await?;
    let thread = crate::conversations::get_in(&txn, actor.tenant, conversation).await?;
    let saved = write_assignment(&txn, actor, &thread, None).await?;
    txn.commit().await?;
    announce(d, actor.tenant, &saved);
    Ok(saved)
}

async fn write_assignment(
    db: &impl ConnectionTrait,
    actor: &Actor,
    thread: &conversation::Model,
    to: Option<&assistant::Model>,
) -> DomainResult<conversation::Model> {
    let after = to.map(|a| a.id);
    if thread.assistant_id == after {
        return Ok(thread.clone());
    }
    conversation::Entity::scoped_update(actor.tenant)
        .col_expr(conversation::Column::AssistantId, Expr::value(after))
        .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversation::Column::Id.eq(thread.id))
        .exec(db)
        .await?;
    if let Some(client) = thread.client_id {
        timeline::record(
            db,
            actor.tenant,
            ClientId(client),
            &EventActor::from(actor),
            TimelineKind::ConversationUpdated,
            json!({
                "conversationId": thread.id, "field": "assistant",
                "before": thread.assistant_id,
                "after": after, "assistantName": to.map(|a| a.name.clone()),
            }),
        )
        .await?;
    }
    crate::conversations::get_in(db, actor.tenant, thread.id).await
}

fn announce(d: &Domain, tenant: TenantId, thread: &conversation::Model) {
    if let Some(client) = thread.client_id {
        d.events.publish(
            tenant,
            DomainEvent::ClientChanged {
                client_id: ClientId(client),
            },
        );
    }
}

/// The assistant assigned to a conversation, if it still exists (every role).
pub async fn assigned(
    d: &Domain,
    actor: &Actor,
    thread: &conversation::Model,
) -> DomainResult<Option<assistant::Model>> {
    match thread.assistant_id {
        Some(id) => find_in(&d.db, actor.tenant, id).await,
        None => Ok(None),
    }
}

/// The assistant that answers `thread` (see [`rules::choose`]). When the channel has no usable
/// assistant, one is created with sensible defaults and becomes the channel's default; it is
/// created once even when several requests need it at the same time (a unique name, then
/// insert-or-fetch).
pub async fn for_conversation(
    d: &Domain,
    tenant: TenantId,
    thread: &conversation::Model,
) -> DomainResult<Chosen> {
    let assigned = match thread.assistant_id {
        Some(id) => find_in(&d.db, tenant, id).await?,
        None => None,
    };
    let default = default_of(&d.db, tenant, thread.channel).await?;
    match rules::choose(thread.channel, assigned.as_ref(), default.as_ref()) {
        Choice::Use { assistant, by } => {
            let assistant = [assigned, default]
                .into_iter()
                .flatten()
                .find(|a| a.id == assistant)
                .ok_or_else(|| DomainError::not_found("assistant"))?;
            Ok(Chosen { assistant, by })
        }
        Choice::CreateDefault => ensure_fallback(d, tenant, thread.channel).await,
    }
}

async fn default_of(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    channel: Channel,
) -> DomainResult<Option<assistant::Model>> {
    let Some(row) = assistant_default::Entity::scoped(tenant)
        .filter(assistant_default::Column::Channel.eq(channel))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    find_in(db, tenant, row.assistant_id).await
}

async fn ensure_fallback(d: &Domain, tenant: TenantId, channel: Channel) -> DomainResult<Chosen> {
    let business = crate::tenants::get(&d.db, tenant).await?.name;
    let name = rules::fallback_name(channel);
    let now = Utc::now();
    let txn = d.begin_write().await?;
    let row = assistant::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        name: Set(name.clone()),
        system_prompt: Set(rules::fallback_prompt(channel, &business)),
        channels: Set(StringList(vec![rules::channel_name(channel).to_string()])),
        created_automatically: Set(true),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    // Insert-or-fetch on the unique (tenant, name): a concurrent request that got here first
    // wins, this one reads its row.
    assistant::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([assistant::Column::TenantId, assistant::Column::Name])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    let mut fallback = assistant::Entity::scoped(tenant)
        .filter(assistant::Column::Name.eq(name))
        .one(&txn)
        .await?
        .ok_or_else(|| DomainError::not_found("assistant"))?;
    if !rules::usable(&fallback, channel) {
        // The fallback was archived or had the channel taken away, and the channel still has
        // nothing usable: bring it back for this channel.
        let mut channels = fallback.channels.clone();
        if !rules::serves(&fallback, channel) {
            channels.0.push(rules::channel_name(channel).to_string());
        }
        let mut active: assistant::ActiveModel = fallback.clone().into();
        active.archived_at = Set(None);
        active.channels = Set(channels);
        active.updated_at = Set(Utc::now());
        fallback = assistant::Entity::update(active).exec(&txn).await?;
    }
    // The channel's default: kept when another request made a usable one meanwhile.
    let chosen = match default_of(&txn, tenant, channel).await? {
        Some(current) if rules::usable(&current, channel) => current,
        _ => {
            upsert_default(&txn, tenant, channel, fallback.id).await?;
            fallback
        }
    };
    txn.commit().await?;
    let by = if chosen.created_automatically {
        ChosenBy::CreatedDefault
    } else {
        ChosenBy::ChannelDefault
    };
    Ok(Chosen {
        assistant: chosen,
        by,
    })
}
