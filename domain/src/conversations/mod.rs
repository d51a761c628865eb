//! Conversations and messages: starting or resuming a thread, recording what is sent,
//! ingesting what arrives (idempotently), and linking threads to clients.

pub mod identity;
mod inbound;
pub mod list;
mod routes;
mod sender;
pub mod settings;
mod shared;

pub use shared::shared_message;

pub use inbound::{Inbound, Ingested, ingest, resolve_channel, routing_address};
pub use routes::{Route, Routes};
pub use sender::{LogSender, MessageSender, RecordingSender, SentMessage};

use crate::entities::client;
use crate::entities::client_identity::IdentityKind;
use crate::entities::conversation::{self, Channel, ConversationStatus};
use crate::entities::message::{self, AuthorKind, Direction, ExtractionState};
use crate::entities::tenant::KnownSenderCheck;
use crate::entities::timeline_event::{ActorKind, TimelineKind};
use crate::pagination::{Cursor, Ordering, Page, PageArgs, SortKey};
use crate::queue::JobQueue;
use crate::timeline::{self, EventActor};
use crate::values::{Email, PhoneE164, Region};
use crate::{
    Actor, ClientId, Domain, DomainError, DomainEvent, DomainResult, Role, TenantId, identities,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Asterisk, CommonTableExpression, Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use serde_json::json;
use uuid::Uuid;

/// A thread whose last message is older than this is not resumed: a new one starts.
pub const RESUME_WINDOW_DAYS: i64 = 30;
const BODY_MAX: usize = 64 * 1024;
const SUMMARY_CHARS: usize = 140;

/// How a channel names the person on the other side.
pub fn identity_kind(channel: Channel) -> IdentityKind {
    match channel {
        Channel::Sms | Channel::Voice | Channel::Whatsapp => IdentityKind::Phone,
        Channel::Email => IdentityKind::Email,
        Channel::Chat | Channel::Web => IdentityKind::ChatSession,
        Channel::Telegram | Channel::Facebook | Channel::Zalo => IdentityKind::PlatformUser,
    }
}

/// The platform name of platform identities on a channel (`""` for emails and phones).
pub fn platform(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms | Channel::Voice | Channel::Whatsapp | Channel::Email => "",
        Channel::Chat | Channel::Web => "web",
        Channel::Telegram => "telegram",
        Channel::Facebook => "facebook",
        Channel::Zalo => "zalo",
    }
}

/// Normalises the other side's identifier for a channel: E.164 phones, lower-case emails,
/// trimmed ids otherwise.
pub fn normalise_identifier(channel: Channel, raw: &str, region: Region) -> DomainResult<String> {
    let raw = raw.trim();
    match identity_kind(channel) {
        IdentityKind::Phone => PhoneE164::parse(raw.trim_start_matches("whatsapp:"), region)
            .map(PhoneE164::into_string)
            .map_err(|m| DomainError::invalid("to", m)),
        IdentityKind::Email => Email::parse(raw)
            .map(Email::into_string)
            .map_err(|m| DomainError::invalid("to", m)),
        _ if raw.is_empty() || raw.len() > 200 => Err(DomainError::invalid(
            "to",
            "is empty or longer than 200 characters",
        )),
        _ => Ok(raw.to_string()),
    }
}

/// Whether a thread last active at `last` may be resumed at `now`.
pub fn resumable(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last.is_some_and(|t| now - t <= Duration::days(RESUME_WINDOW_DAYS))
}

/// The first characters of a message, for timeline summaries.
pub fn summary(body: &str) -> String {
    let mut s: String = body.chars().take(SUMMARY_CHARS).collect();
    if body.chars().count() > SUMMARY_CHARS {
        s.push('…');
    }
    s
}

pub(super) fn clean_body(body: &str) -> DomainResult<String> {
    if body.trim().is_empty() {
        return Err(DomainError::invalid("body", "is empty"));
    }
    if body.len() > BODY_MAX {
        return Err(DomainError::invalid(
            "body",
            format!("is longer than {BODY_MAX} bytes"),
        ));
    }
    Ok(body.to_string())
}

/// The client an identifier belongs to in this tenant, if any.
pub(super) async fn owner_of(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    channel: Channel,
    identifier: &str,
) -> DomainResult<Option<client::Model>> {
    let Some(identity) = identities::owner(
        db,
        tenant,
        identity_kind(channel),
        platform(channel),
        identifier,
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(
        crate::clients::find_live(db, tenant, ClientId(identity.client_id))
            .await
            .ok(),
    )
}

/// Finds the active thread with this person on this channel, if its last message is recent.
pub(super) async fn resumable_thread(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    channel: Channel,
    identifier: &str,
    now: DateTime<Utc>,
) -> DomainResult<Option<conversation::Model>> {
    let thread = conversation::Entity::scoped(tenant)
        .filter(conversation::Column::Channel.eq(channel))
        .filter(conversation::Column::ChannelIdentifier.eq(identifier))
        .filter(conversation::Column::Status.eq(ConversationStatus::Active))
        .order_by_desc(conversation::Column::ActivityAt)
        .one(db)
        .await?;
    Ok(thread.filter(|t| resumable(Some(t.activity_at), now)))
}

/// Who a new thread is with: the sender and what they told the provider about themselves.
pub(super) struct NewThread<'a> {
    pub channel: Channel,
    pub identifier: &'a str,
    pub inbox: Option<String>,
    pub contact_name: Option<String>,
    pub avatar_url: Option<String>,
    /// What to do when the identifier belongs to a client.
    pub check: KnownSenderCheck,
}

/// Opens a thread; when the sender's identifier belongs to a client it is linked to it or
/// carries it as a suggestion, as the known-sender check says (see [`identity`]).
pub(super) async fn open_thread(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    new: NewThread<'_>,
    actor: &EventActor,
    now: DateTime<Utc>,
) -> DomainResult<conversation::Model> {
    let NewThread {
        channel,
        identifier,
        inbox,
        contact_name,
        avatar_url,
        check,
    } = new;
    let owner = owner_of(db, tenant, channel, identifier).await?;
    let rejected = match &owner {
        Some(c) => identity::is_rejected(db, tenant, channel, identifier, c.id).await?,
        None => false,
    };
    let attach = identity::attach(owner.as_ref().map(|c| c.id), rejected, check);
    let (client, suggested) = match attach {
        identity::Attach::Link(c) => (Some(c), None),
        identity::Attach::Suggest(c) => (None, Some(c)),
        identity::Attach::Nothing => (None, None),
    };
    if let (Some(c), Some(url)) = (client, avatar_url.as_deref()) {
        set_avatar(db, tenant, c, url).await?;
    }
    let row = conversation::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        client_id: Set(client),
        suggested_client_id: Set(suggested),
        identity_status: Set(suggested.map(|_| conversation::IdentityStatus::Suggested)),
        contact_avatar_url: Set(avatar_url),
        channel: Set(channel),
        channel_identifier: Set(identifier.to_string()),
        inbox: Set(inbox),
        status: Set(ConversationStatus::Active),
        ai_guide: Set(None),
        sensitivity_override: Set(None),
        contact_name: Set(contact_name),
        assistant_id: Set(None),
        last_message_at: Set(None),
        activity_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let thread = conversation::Entity::insert(row)
        .exec_with_returning(db)
        .await?;
    if let Some(c) = client {
        timeline::record(
            db,
            tenant,
            ClientId(c),
            actor,
            TimelineKind::ConversationStarted,
            json!({ "conversationId": thread.id, "channel": channel }),
        )
        .await?;
    }
    if let Some(c) = suggested {
        identity::suggested_event(db, tenant, &thread, c, actor).await?;
    }
    Ok(thread)
}

/// Gives a client the picture a platform supplied, when it differs from the one it has.
pub(crate) async fn set_avatar(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    client_id: Uuid,
    url: &str,
) -> DomainResult<()> {
    client::Entity::scoped_update(tenant)
        .col_expr(client::Column::AvatarUrl, Expr::value(url))
        .filter(client::Column::Id.eq(client_id))
        .filter(
            sea_orm::Condition::any()
                .add(client::Column::AvatarUrl.is_null())
                .add(client::Column::AvatarUrl.ne(url)),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Starts a conversation with `to` on `channel` (agents), or resumes the active one with
/// the same person if its last message is within 30 days.
pub async fn start(
    d: &Domain,
    actor: &Actor,
    channel: Channel,
    to: &str,
) -> DomainResult<conversation::Model> {
    actor.require(Role::Agent)?;
    let region = crate::tenants::region_of(&crate::tenants::get(&d.db, actor.tenant).await?);
    let identifier = normalise_identifier(channel, to, region)?;
    let now = Utc::now();
    let txn = d.begin_write().await?;
    if let Some(thread) = resumable_thread(&txn, actor.tenant, channel, &identifier, now).await? {
        return Ok(thread);
    }
    // Staff chose whom to write to: a known identifier links at once.
    let thread = open_thread(
        &txn,
        actor.tenant,
        NewThread {
            channel,
            identifier: &identifier,
            inbox: None,
            contact_name: None,
            avatar_url: None,
            check: KnownSenderCheck::Link,
        },
        &EventActor::from(actor),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(thread)
}

/// Who wrote a message.
#[derive(Clone, Debug)]
pub(super) struct Author {
    pub kind: AuthorKind,
    pub id: Option<String>,
}

/// Records one message in a thread: bumps the thread, the client's last activity for
/// inbound messages, and the client's timeline (with a summary); with `queue`, enqueues its
/// extraction in the same statement (PostgreSQL) or transaction, when the job store shares the
/// database. Returns `None` when the provider message id was already stored (a redelivery):
/// nothing is written then. Outside a transaction it must be PostgreSQL and a thread without
/// a client (then it is one statement).
#[allow(clippy::too_many_arguments)]
pub(super) async fn record_message(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    thread: &conversation::Model,
    direction: Direction,
    author: &Author,
    body: &str,
    provider: &str,
    provider_message_id: Option<&str>,
    sent_at: DateTime<Utc>,
    queue: Option<&dyn JobQueue>,
) -> DomainResult<Option<Recorded>> {
    let segments =
        (thread.channel == Channel::Sms).then(|| crate::sms::segments(body).segments as i32);
    let id = Uuid::now_v7();
    let row = message::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant.0),
        conversation_id: Set(thread.id),
        direction: Set(direction),
        author_kind: Set(author.kind),
        author_id: Set(author.id.clone()),
        body: Set(Some(body.to_string())),
        provider: Set(provider.to_string()),
        provider_message_id: Set(provider_message_id.map(str::to_string)),
        sms_segments: Set(segments),
        extraction_state: Set(if direction == Direction::Inbound {
            ExtractionState::Pending
        } else {
            ExtractionState::Skipped
        }),
        sent_at: Set(sent_at),
        created_at: Set(Utc::now()),
        body_purged_at: Set(None),
    };
    let insert = message::Entity::insert(row).on_conflict(
        OnConflict::columns([
            message::Column::TenantId,
            message::Column::Provider,
            message::Column::ProviderMessageId,
        ])
        .do_nothing()
        .to_owned(),
    );
    let touch_thread = conversation::Entity::scoped_update(tenant)
        .col_expr(conversation::Column::LastMessageAt, Expr::value(sent_at))
        .col_expr(conversation::Column::ActivityAt, Expr::value(sent_at))
        .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversation::Column::Id.eq(thread.id));
    let touch_client = match (thread.client_id, direction) {
        (Some(client_id), Direction::Inbound) => Some(
            client::Entity::scoped_update(tenant)
                .col_expr(client::Column::LastActiveAt, Expr::value(sent_at))
                .col_expr(client::Column::ActivityAt, Expr::value(sent_at))
                .filter(client::Column::Id.eq(client_id)),
        ),
        _ => None,
    };
    let mut enqueued = false;
    let stored = if db.get_database_backend() == DbBackend::Postgres {
        // One round trip on PostgreSQL: the insert and the updates it implies in one
        // statement; the updates run only when the message was inserted.
        let mut insert = insert.into_query();
        insert.returning_all();
        let inserted = || {
            Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(Alias::new("inserted"))
                    .to_owned(),
            )
        };
        let mut with = Query::with();
        with.cte(
            CommonTableExpression::new()
                .query(insert)
                .table_name(Alias::new("inserted"))
                .to_owned(),
        )
        .cte(
            CommonTableExpression::new()
                .query(touch_thread.filter(inserted()).into_query())
                .table_name(Alias::new("thread_touched"))
                .to_owned(),
        );
        if let Some(touch) = touch_client {
            with.cte(
                CommonTableExpression::new()
                    .query(touch.filter(inserted()).into_query())
                    .table_name(Alias::new("client_touched"))
                    .to_owned(),
            );
        }
        let job = queue.and_then(|q| q.extraction_insert(tenant, id, Some(inserted())));
        enqueued = job.is_some();
        if let Some(job) = job {
            with.cte(
                CommonTableExpression::new()
                    .query(job)
                    .table_name(Alias::new("job_enqueued"))
                    .to_owned(),
            );
        }
        let statement = Query::select()
            .column(Asterisk)
            .from(Alias::new("inserted"))
            .to_owned()
            .with(with);
        let Some(stored) = message::Model::find_by_statement(DbBackend::Postgres.build(&statement))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        stored
    } else {
        // The stored row comes back with RETURNING; a conflict returns no row.
        let stored = match insert.exec_with_returning(db).await {
            Ok(stored) => stored,
            Err(DbErr::RecordNotFound(_) | DbErr::RecordNotInserted) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        touch_thread.exec(db).await?;
        if let Some(touch) = touch_client {
            touch.exec(db).await?;
        }
        if let Some(job) = queue.and_then(|q| q.extraction_insert(tenant, id, None)) {
            db.execute(&job).await?;
            enqueued = true;
        }
        stored
    };
    if let Some(client_id) = thread.client_id {
        let actor = EventActor {
            kind: match author.kind {
                AuthorKind::Ai => ActorKind::Ai,
                AuthorKind::System | AuthorKind::Customer => ActorKind::System,
                AuthorKind::Agent => ActorKind::User,
            },
            id: author.id.clone(),
            name: None,
        };
        timeline::record(
            db,
            tenant,
            ClientId(client_id),
            &actor,
            TimelineKind::Message,
            json!({
                "conversationId": thread.id, "messageId": id, "direction": direction,
                "channel": thread.channel, "summary": summary(body),
            }),
        )
        .await?;
    }
    Ok(Some(Recorded {
        message: stored,
        enqueued,
    }))
}

/// A message [`record_message`] stored.
pub(super) struct Recorded {
    pub message: message::Model,
    /// Its extraction job was inserted with it (see [`JobQueue::extraction_insert`]).
    pub enqueued: bool,
}

/// Records an outbound message (agents) and hands it to the sender after commit.
pub async fn send(
    d: &Domain,
    actor: &Actor,
    conversation: Uuid,
    body: &str,
    author_kind: AuthorKind,
) -> DomainResult<message::Model> {
    actor.require(Role::Agent)?;
    if author_kind == AuthorKind::Customer {
        return Err(DomainError::invalid(
            "authorKind",
            "customers' messages arrive through webhooks",
        ));
    }
    let body = clean_body(body)?;
    let txn = d.begin_write().await?;
    let thread = get_in(&txn, actor.tenant, conversation).await?;
    let author = Author {
        kind: author_kind,
        id: Some(actor.user_id.clone()),
    };
    let stored = record_message(
        &txn,
        actor.tenant,
        &thread,
        Direction::Outbound,
        &author,
        &body,
        "clientele",
        None,
        Utc::now(),
        None,
    )
    .await?
    .ok_or_else(|| DomainError::Conflict("the message was already recorded".into()))?
    .message;
    txn.commit().await?;
    d.sender.send(&thread, &stored);
    publish_message(d, actor.tenant, &thread, &stored);
    Ok(stored)
}

pub(super) fn publish_message(
    d: &Domain,
    tenant: TenantId,
    thread: &conversation::Model,
    message: &message::Model,
) {
    shared::prime(tenant, message);
    d.events.publish(
        tenant,
        DomainEvent::MessageAdded {
            conversation_id: thread.id,
            client_id: thread.client_id.map(ClientId),
            message_id: message.id,
        },
    );
}

/// Links `thread` to `client` and writes the `conversation_started` event (with `detail`'s
/// keys added to its payload, e.g. the message and rule of an automatic link).
pub(crate) async fn link_in(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    thread: &mut conversation::Model,
    client: ClientId,
    actor: &EventActor,
    detail: serde_json::Map<String, serde_json::Value>,
) -> DomainResult<()> {
    conversation::Entity::scoped_update(tenant)
        .col_expr(conversation::Column::ClientId, Expr::value(client.0))
        .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversation::Column::Id.eq(thread.id))
        .exec(db)
        .await?;
    thread.client_id = Some(client.0);
    let mut payload =
        json!({ "conversationId": thread.id, "channel": thread.channel, "linked": true });
    if let serde_json::Value::Object(map) = &mut payload {
        map.extend(detail);
    }
    timeline::record(
        db,
        tenant,
        client,
        actor,
        TimelineKind::ConversationStarted,
        payload,
    )
    .await?;
    Ok(())
}

/// Links a conversation to a client by hand (agents).
pub async fn link(
    d: &Domain,
    actor: &Actor,
    conversation: Uuid,
    client: ClientId,
) -> DomainResult<conversation::Model> {
    actor.require(Role::Agent)?;
    let txn = d.begin_write().await?;
    let mut thread = get_in(&txn, actor.tenant, conversation).await?;
    let target = crate::clients::find_live(&txn, actor.tenant, client).await?;
    if thread.client_id == Some(target.id) {
        return Ok(thread);
    }
    link_in(
        &txn,
        actor.tenant,
        &mut thread,
        ClientId(target.id),
        &EventActor::from(actor),
        Default::default(),
    )
    .await?;
    identity::settle_on_manual_link(&txn, actor.tenant, &mut thread, target.id).await?;
    txn.commit().await?;
    d.events.publish(
        actor.tenant,
        DomainEvent::ClientChanged {
            client_id: ClientId(target.id),
        },
    );
    Ok(thread)
}

pub(crate) async fn get_in(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
) -> DomainResult<conversation::Model> {
    conversation::Entity::scoped(tenant)
        .filter(conversation::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("conversation"))
}

pub async fn get(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<conversation::Model> {
    get_in(&d.db, actor.tenant, id).await
}

/// One message of the actor's tenant.
pub async fn message(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<message::Model> {
    message::Entity::scoped(actor.tenant)
        .filter(message::Column::Id.eq(id))
        .one(&d.db)
        .await?
        .ok_or_else(|| DomainError::not_found("message"))
}

pub(crate) const RECENT_FIRST: Ordering<conversation::Column> = Ordering {
    name: "recent",
    column: Some(conversation::Column::ActivityAt),
    descending: true,
};

pub(crate) fn recent_cursor(row: &conversation::Model) -> Cursor {
    Cursor {
        ordering: RECENT_FIRST.name.into(),
        key: SortKey::Time(row.activity_at),
        id: row.id,
    }
}

/// A client's conversations, most recent first.
pub async fn of_client(
    d: &Domain,
    actor: &Actor,
    client: ClientId,
    page: &PageArgs,
) -> DomainResult<Page<conversation::Model>> {
    let page = page.resolve(RECENT_FIRST.name)?;
    let query = conversation::Entity::scoped(actor.tenant)
        .filter(conversation::Column::ClientId.eq(client.0));
    let rows = page
        .apply(query, &RECENT_FIRST, conversation::Column::Id)
        .limit(page.limit + 1)
        .all(&d.db)
        .await?;
    Ok(page.into_page(rows, recent_cursor))
}

const OLDEST_FIRST: Ordering<message::Column> = Ordering {
    name: "sent",
    column: Some(message::Column::SentAt),
    descending: false,
};

/// A conversation's messages, oldest first (`last: 20` for the latest).
pub async fn messages(
    d: &Domain,
    actor: &Actor,
    conversation: Uuid,
    page: &PageArgs,
) -> DomainResult<Page<message::Model>> {
    get(d, actor, conversation).await?;
    let page = page.resolve(OLDEST_FIRST.name)?;
    let query = message::Entity::scoped(actor.tenant)
        .filter(message::Column::ConversationId.eq(conversation));
    let rows = page
        .apply(query, &OLDEST_FIRST, message::Column::Id)
        .limit(page.limit + 1)
        .all(&d.db)
        .await?;
    Ok(page.into_page(rows, |row| Cursor {
        ordering: OLDEST_FIRST.name.into(),
        key: SortKey::Time(row.sent_at),
        id: row.id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_normalised_per_channel() {
        let ca = Region::parse("CA").unwrap();
        assert_eq!(
            normalise_identifier(Channel::Sms, "(416) 555-1234", ca).unwrap(),
            "+14165551234"
        );
        assert_eq!(
            normalise_identifier(Channel::Whatsapp, "whatsapp:+14165551234", ca).unwrap(),
            "+14165551234"
        );
        assert_eq!(
            normalise_identifier(Channel::Email, "Ada@Example.com", ca).unwrap(),
            "ada@example.com"
        );
        assert_eq!(
            normalise_identifier(Channel::Telegram, " 777 ", ca).unwrap(),
            "777"
        );
        assert!(normalise_identifier(Channel::Sms, "12", ca).is_err());
    }

    #[test]
    fn routing_addresses() {
        assert_eq!(routing_address(" +1 (647) 555-0100 "), "+16475550100");
        assert_eq!(routing_address("whatsapp:+16475550100"), "+16475550100");
        assert_eq!(
            routing_address("support@acme.example"),
            "support@acme.example"
        );
    }

    #[test]
    fn threads_resume_within_thirty_days() {
        let now = Utc::now();
        assert!(resumable(Some(now - Duration::days(29)), now));
        assert!(resumable(Some(now - Duration::days(30)), now));
        assert!(!resumable(Some(now - Duration::days(31)), now));
        assert!(!resumable(None, now));
    }

    #[test]
    fn summaries_are_cut() {
        assert_eq!(summary("hello"), "hello");
        let long = "é".repeat(200);
        assert_eq!(summary(&long).chars().count(), SUMMARY_CHARS + 1);
    }
}
