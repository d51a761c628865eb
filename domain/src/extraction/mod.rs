//! Matching: turns one inbound message into client data without a person's help.
//!
//! [`process_message`] extracts the message's facts, decides which client it is about (the
//! linked one, the owner of an identifier it names, or a new client), fills that client's
//! blanks, adds identities, raises purchase intent, records a duplicate suggestion for each
//! fact that belongs to somebody else, and marks the message done, all in one transaction.
//! Each message is processed once in effect: a retry of a message already done changes
//! nothing. The decisions are the pure functions in [`plan`].

pub mod plan;

use crate::entities::client::{self, ClientSource};
use crate::entities::client_identity::{self, IdentityKind};
use crate::entities::conversation::{self, IdentityStatus};
use crate::entities::duplicate_suggestion;
use crate::entities::message::{self, Direction, ExtractionState};
use crate::entities::timeline_event::{ActorKind, TimelineKind};
use crate::timeline::{self, EventActor};
use crate::values::Region;
use crate::{ClientId, Domain, DomainError, DomainEvent, DomainResult, TenantId, identities};
use chrono::Utc;
use clientele_extract::{Enabled, Extractor, MessageContext, Options};
use plan::{Candidate, Enrichment, Key, Target};
use sea_orm::sea_query::{Condition, Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use uuid::Uuid;

/// Messages of a newly linked thread copied onto the client's timeline at most.
const BACKFILL_MESSAGES: u64 = 50;

/// What processing a message did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The client the message is about, if one was found or created.
    pub client: Option<ClientId>,
    pub created: bool,
    /// The conversation was linked to the client by this message.
    pub linked: bool,
    /// Fields filled or raised, identities added.
    pub changes: usize,
    pub suggestions: usize,
    /// The message had been processed before (a retried job): nothing was changed.
    pub already_done: bool,
    /// The thread's sender waits for an identity answer: nothing was matched.
    pub awaiting_identity: bool,
    /// An unknown sender got no client because automatic creation is off.
    pub creation_off: bool,
}

/// One extractor per phone region and set of extractors, built once (building compiles the
/// finders).
fn extractor_for(region: Region, enabled: Enabled) -> Arc<Extractor> {
    type CacheKey = (String, [bool; 6]);
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Arc<Extractor>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    let bits = [
        enabled.emails,
        enabled.phones,
        enabled.persons,
        enabled.companies,
        enabled.addresses,
        enabled.intents,
    ];
    map.entry((region.code().to_string(), bits))
        .or_insert_with(|| {
            Arc::new(Extractor::new(Options {
                default_region: region.id(),
                enabled,
                ..Options::default()
            }))
        })
        .clone()
}

fn extract_channel(channel: conversation::Channel) -> clientele_extract::Channel {
    use clientele_extract::Channel as X;
    use conversation::Channel as C;
    match channel {
        C::Email => X::Email,
        C::Sms | C::Whatsapp => X::Sms,
        C::Voice => X::Voice,
        C::Chat | C::Telegram | C::Facebook | C::Zalo => X::Chat,
        C::Web => X::Web,
    }
}

fn system() -> EventActor {
    EventActor {
        kind: ActorKind::System,
        id: None,
        name: Some("extraction".into()),
    }
}

/// Processes one inbound message of `tenant` (see the module docs). A message that does not
/// exist is `NotFound`; any other error leaves nothing written, so the job can retry.
pub async fn process_message(
    d: &Domain,
    tenant: TenantId,
    message_id: Uuid,
) -> DomainResult<Outcome> {
    let tenant_row = crate::tenants::get(&d.db, tenant).await?;
    let txn = d.begin_write().await?;
    // Claim the message (pending, or failed and retried by an admin): the conditional update
    // also serialises concurrent runs of the same message (the second waits for the first
    // and then finds nothing to claim).
    // The claimed row comes back with the claim (one round trip); only when nothing was
    // claimed is the message read, to tell "already done" from "not found".
    let claimed = message::Entity::scoped_update(tenant)
        .col_expr(
            message::Column::ExtractionState,
            Expr::value(ExtractionState::Done),
        )
        .filter(message::Column::Id.eq(message_id))
        .filter(
            message::Column::ExtractionState
                .is_in([ExtractionState::Pending, ExtractionState::Failed]),
        )
        .exec_with_returning(&txn)
        .await?;
    let Some(msg) = claimed.into_iter().next() else {
        message::Entity::scoped(tenant)
            .filter(message::Column::Id.eq(message_id))
            .one(&txn)
            .await?
            .ok_or_else(|| DomainError::not_found("message"))?;
        return Ok(Outcome {
            already_done: true,
            ..Outcome::default()
        });
    };
    let Some(body) = msg
        .body
        .clone()
        .filter(|_| msg.direction == Direction::Inbound)
    else {
        mark(&txn, tenant, message_id, ExtractionState::Skipped).await?;
        txn.commit().await?;
        return Ok(Outcome::default());
    };
    let mut thread_query = conversation::Entity::scoped(tenant)
        .filter(conversation::Column::Id.eq(msg.conversation_id));
    if txn.get_database_backend() == DbBackend::Postgres {
        // One message of a thread at a time: two first messages of an unknown sender must not
        // both create a client.
        thread_query = thread_query.lock_exclusive();
    }
    let thread = thread_query
        .one(&txn)
        .await?
        .ok_or_else(|| DomainError::not_found("conversation"))?;

    let route = crate::tracking::channel_for_inbox(&txn, tenant, thread.inbox.as_deref()).await?;
    let tracking = crate::tracking::effective(&tenant_row, route.as_ref());
    if thread.client_id.is_none() && thread.identity_status == Some(IdentityStatus::Suggested) {
        // Whose message this is waits for a person's answer ("is this Ada?"): nothing is
        // matched, created or enriched on a guess.
        txn.commit().await?;
        return Ok(Outcome {
            awaiting_identity: true,
            ..Outcome::default()
        });
    }
    let extractor = extractor_for(tracking.region, tracking.extractors);
    let facts = extractor.extract(
        &body,
        &MessageContext {
            channel: extract_channel(thread.channel),
            sender: Some(&thread.channel_identifier),
        },
    );
    let sender = plan::sender_key(thread.channel, &thread.channel_identifier);
    let mut candidates = plan::candidates(Some(&sender), &facts);
    let (owners, unavailable) = owners_of(&txn, tenant, &candidates).await?;
    // Identifiers held by deleted clients are neither matched nor taken over.
    candidates.retain(|c| !unavailable.contains(&c.key));
    if thread.identity_status == Some(IdentityStatus::Rejected) {
        // Someone answered that this sender is not that client: keep them apart.
        let rejected = crate::conversations::identity::rejected_clients(
            &txn,
            tenant,
            thread.channel,
            &thread.channel_identifier,
        )
        .await?;
        candidates.retain(|c| owners.get(&c.key).is_none_or(|o| !rejected.contains(o)));
    }
    let linked = match thread.client_id {
        Some(id) => crate::clients::find_live(&txn, tenant, ClientId(id))
            .await
            .ok()
            .map(|c| c.id),
        None => None,
    };
    let mut target = plan::choose_target(linked, &candidates, &owners, &facts);
    let mut outcome = Outcome::default();
    if target == Target::Create && !tracking.may_create_client(msg.created_at) {
        // Automatic creation is off for this channel (or came on after this message).
        target = Target::Nothing;
        outcome.creation_off = true;
    }
    let context = Context {
        tenant,
        message: &msg,
        thread: &thread,
    };
    let client = match &target {
        Target::Nothing => None,
        Target::Linked(id) | Target::Matched { client: id, .. } => {
            let before = crate::clients::find_live(&txn, tenant, ClientId(*id)).await?;
            let e = plan::enrich(&before, &candidates, &owners, &facts);
            outcome.changes = apply_update(&txn, &context, &before, &e).await?;
            outcome.suggestions = store_suggestions(&txn, &context, before.id, &e).await?;
            Some(before.id)
        }
        Target::Create => {
            let rules = crate::clients::rules_of(&tenant_row);
            let empty = crate::clients::blank(tenant, &rules, ClientSource::Extracted);
            let e = plan::enrich(&empty, &candidates, &owners, &facts);
            let id = create(&txn, &context, &empty, &e).await?;
            outcome.created = true;
            outcome.changes = e.fills.len() + e.identities.len();
            outcome.suggestions = store_suggestions(&txn, &context, id, &e).await?;
            Some(id)
        }
    };
    if let Some(id) = client
        && thread.client_id != Some(id)
    {
        let rule = match &target {
            Target::Matched { rule, .. } => rule.clone(),
            _ => "extracted.created".to_string(),
        };
        link(&txn, &context, ClientId(id), &rule).await?;
        outcome.linked = true;
    }
    // Notifications: keyword rules, messages that need a human (same transaction).
    crate::notifications::on_inbound(&txn, tenant, &msg, &thread, client).await?;
    if let (true, Some(id)) = (outcome.created, client) {
        // usage: count the client for billing, in this transaction (see crate::usage), last,
        // so that the counter row's lock is held for the commit only.
        crate::usage::client_created_by_extraction(&txn, &tenant_row, id, Utc::now()).await?;
    }
    txn.commit().await?;
    outcome.client = client.map(ClientId);
    if let Some(id) = outcome.client
        && (outcome.changes > 0 || outcome.linked || outcome.created)
    {
        d.events
            .publish(tenant, DomainEvent::ClientChanged { client_id: id });
    }
    if outcome.created {
        crate::crm::client_created(d, tenant).await;
    }
    Ok(outcome)
}

struct Context<'a> {
    tenant: TenantId,
    message: &'a message::Model,
    thread: &'a conversation::Model,
}

impl Context<'_> {
    fn detail(&self, mut payload: Value, rule: &str) -> Value {
        if let Value::Object(map) = &mut payload {
            map.insert("messageId".into(), json!(self.message.id));
            map.insert("conversationId".into(), json!(self.thread.id));
            map.insert("rule".into(), json!(rule));
        }
        payload
    }
}

/// Marks a message whose extraction job gave up (its last attempt failed), so the sweep
/// leaves it alone; retrying the job processes it again.
pub async fn mark_failed(d: &Domain, tenant: TenantId, id: Uuid) -> DomainResult<()> {
    message::Entity::scoped_update(tenant)
        .col_expr(
            message::Column::ExtractionState,
            Expr::value(ExtractionState::Failed),
        )
        .filter(message::Column::Id.eq(id))
        .filter(message::Column::ExtractionState.eq(ExtractionState::Pending))
        .exec(&d.db)
        .await?;
    Ok(())
}

async fn mark(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
    state: ExtractionState,
) -> DomainResult<()> {
    message::Entity::scoped_update(tenant)
        .col_expr(message::Column::ExtractionState, Expr::value(state))
        .filter(message::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Who holds each candidate (resolved through merges), and the candidates held by deleted
/// clients.
async fn owners_of(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    candidates: &[Candidate],
) -> DomainResult<(HashMap<Key, Uuid>, HashSet<Key>)> {
    let mut owners = HashMap::new();
    let mut unavailable = HashSet::new();
    if candidates.is_empty() {
        return Ok((owners, unavailable));
    }
    // Every candidate's identity in one query (they are few: the sender and what the message
    // names); each term is a lookup in the (tenant, kind, platform, value) index.
    let any = candidates.iter().fold(Condition::any(), |any, c| {
        any.add(
            Condition::all()
                .add(client_identity::Column::Kind.eq(c.key.kind))
                .add(client_identity::Column::Platform.eq(c.key.platform.as_str()))
                .add(client_identity::Column::Value.eq(c.key.value.as_str())),
        )
    });
    let held = client_identity::Entity::scoped(tenant)
        .filter(any)
        .all(db)
        .await?;
    for c in candidates {
        let k = &c.key;
        let holder = held
            .iter()
            .find(|i| i.kind == k.kind && i.platform == k.platform && i.value == k.value);
        if let Some(identity) = holder {
            match crate::clients::find_live(db, tenant, ClientId(identity.client_id)).await {
                Ok(client) => {
                    owners.insert(k.clone(), client.id);
                }
                Err(DomainError::NotFound { .. }) => {
                    unavailable.insert(k.clone());
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok((owners, unavailable))
}

/// Writes what a message adds to an existing client, with one timeline event per kind of
/// change; returns how many changes were made.
async fn apply_update(
    db: &impl ConnectionTrait,
    cx: &Context<'_>,
    before: &client::Model,
    e: &Enrichment,
) -> DomainResult<usize> {
    let id = ClientId(before.id);
    if let Some(next) = &e.row {
        let mut next = next.clone();
        crate::clients::fields::refresh_derived(&mut next);
        let after = crate::clients::write_row(db, cx.tenant, before, next).await?;
        crate::clients::sync_identities(db, cx.tenant, Some(before), &after, "extracted").await?;
        record_fills(db, cx, id, e).await?;
    }
    add_identities(db, cx, id, &e.identities).await?;
    Ok(e.fills.len() + e.identities.len())
}

async fn record_fills(
    db: &impl ConnectionTrait,
    cx: &Context<'_>,
    id: ClientId,
    e: &Enrichment,
) -> DomainResult<()> {
    let mut rest = Vec::new();
    for fill in &e.fills {
        let entry = json!({
            "field": fill.field, "before": fill.before, "after": fill.after, "rule": fill.rule,
        });
        if fill.field == "purchaseIntent" {
            let payload = cx.detail(entry, &fill.rule);
            timeline::record(
                db,
                cx.tenant,
                id,
                &system(),
                TimelineKind::IntentChanged,
                payload,
            )
            .await?;
        } else {
            rest.push(entry);
        }
    }
    if !rest.is_empty() {
        let payload = cx.detail(json!({ "changes": rest }), "extraction");
        timeline::record(db, cx.tenant, id, &system(), TimelineKind::Updated, payload).await?;
    }
    Ok(())
}

async fn add_identities(
    db: &impl ConnectionTrait,
    cx: &Context<'_>,
    id: ClientId,
    added: &[Candidate],
) -> DomainResult<()> {
    // Which kinds the client already has, read once: the first chat session or platform
    // user of its kind becomes primary (emails and phones are primary through the columns).
    let mut held: Vec<IdentityKind> = identities::list_for(db, cx.tenant, id)
        .await?
        .into_iter()
        .map(|i| i.kind)
        .collect();
    for c in added {
        let k = &c.key;
        let primary =
            !matches!(k.kind, IdentityKind::Email | IdentityKind::Phone) && !held.contains(&k.kind);
        held.push(k.kind);
        identities::insert(
            db,
            cx.tenant,
            id,
            k.kind,
            &k.platform,
            &k.value,
            primary,
            "extracted",
        )
        .await?;
        let payload = cx.detail(
            json!({ "kind": k.kind, "platform": k.platform, "value": k.value, "primary": primary }),
            &c.rule,
        );
        timeline::record(
            db,
            cx.tenant,
            id,
            &system(),
            TimelineKind::IdentityAdded,
            payload,
        )
        .await?;
    }
    Ok(())
}

/// Creates a client (source = extracted) from what the message names.
async fn create(
    db: &impl ConnectionTrait,
    cx: &Context<'_>,
    empty: &client::Model,
    e: &Enrichment,
) -> DomainResult<Uuid> {
    let mut row = e.row.clone().unwrap_or_else(|| empty.clone());
    row.last_active_at = Some(cx.message.sent_at);
    row.first_seen_at = Some(cx.message.sent_at.min(Utc::now()));
    if row.avatar_url.is_none() {
        row.avatar_url = cx.thread.contact_avatar_url.clone();
    }
    crate::clients::fields::refresh_derived(&mut row);
    client::Entity::insert(row.clone().into_active_model().reset_all())
        .exec_without_returning(db)
        .await?;
    let id = ClientId(row.id);
    crate::clients::sync_identities(db, cx.tenant, None, &row, "extracted").await?;
    let fields: Vec<Value> = e
        .fills
        .iter()
        .map(|f| json!({ "field": f.field, "after": f.after, "rule": f.rule }))
        .collect();
    let payload = cx.detail(
        json!({ "source": "extracted", "fields": fields }),
        "extracted.created",
    );
    timeline::record(db, cx.tenant, id, &system(), TimelineKind::Created, payload).await?;
    if let Some(f) = e.fills.iter().find(|f| f.field == "purchaseIntent") {
        let payload = cx.detail(
            json!({ "field": f.field, "before": null, "after": f.after }),
            &f.rule,
        );
        timeline::record(
            db,
            cx.tenant,
            id,
            &system(),
            TimelineKind::IntentChanged,
            payload,
        )
        .await?;
    }
    // Further emails and phones, and the sender's chat session or platform id.
    add_identities(db, cx, id, &e.identities).await?;
    Ok(row.id)
}

/// Stores one suggestion per (client, other client, value); returns how many are new.
async fn store_suggestions(
    db: &impl ConnectionTrait,
    cx: &Context<'_>,
    client: Uuid,
    e: &Enrichment,
) -> DomainResult<usize> {
    let mut stored = 0;
    for s in &e.suggestions {
        let row = duplicate_suggestion::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(cx.tenant.0),
            client_id: Set(client),
            other_client_id: Set(s.other),
            kind: Set(plan::kind_name(s.key.kind).to_string()),
            value: Set(s.key.value.clone()),
            rule: Set(s.rule.clone()),
            message_id: Set(Some(cx.message.id)),
            evidence: Set(cx.detail(json!({ "kind": plan::kind_name(s.key.kind) }), &s.rule)),
            created_at: Set(Utc::now()),
        };
        stored += duplicate_suggestion::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    duplicate_suggestion::Column::TenantId,
                    duplicate_suggestion::Column::ClientId,
                    duplicate_suggestion::Column::OtherClientId,
                    duplicate_suggestion::Column::Value,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await? as usize;
    }
    Ok(stored)
}

/// Links the thread to the client, brings the thread's messages onto the client's timeline
/// (they arrived before anyone knew whose they were) and updates last activity.
async fn link(
    db: &impl ConnectionTrait,
    cx: &Context<'_>,
    id: ClientId,
    rule: &str,
) -> DomainResult<()> {
    let tenant = cx.tenant;
    let detail = match cx.detail(json!({}), rule) {
        Value::Object(map) => map,
        _ => Default::default(),
    };
    let mut thread = cx.thread.clone();
    crate::conversations::link_in(db, tenant, &mut thread, id, &system(), detail).await?;
    if let Some(url) = cx.thread.contact_avatar_url.as_deref() {
        crate::conversations::set_avatar(db, tenant, id.0, url).await?;
    }
    let mut earlier = message::Entity::scoped(tenant)
        .filter(message::Column::ConversationId.eq(cx.thread.id))
        .order_by_desc(message::Column::SentAt)
        .limit(BACKFILL_MESSAGES)
        .all(db)
        .await?;
    earlier.reverse();
    for m in &earlier {
        let summary = m.body.as_deref().map(crate::conversations::summary);
        timeline::record(
            db,
            tenant,
            id,
            &system(),
            TimelineKind::Message,
            json!({
                "conversationId": cx.thread.id, "messageId": m.id, "direction": m.direction,
                "channel": cx.thread.channel, "summary": summary,
            }),
        )
        .await?;
    }
    if let Some(last) = earlier
        .iter()
        .filter(|m| m.direction == Direction::Inbound)
        .map(|m| m.sent_at)
        .max()
    {
        client::Entity::scoped_update(tenant)
            .col_expr(client::Column::LastActiveAt, Expr::value(last))
            .col_expr(client::Column::ActivityAt, Expr::value(last))
            .filter(client::Column::Id.eq(id.0))
            .filter(
                Condition::any()
                    .add(client::Column::LastActiveAt.is_null())
                    .add(client::Column::LastActiveAt.lt(last)),
            )
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Inbound messages of every tenant still pending extraction and older than `older_than`,
/// oldest first: the worker's sweep re-enqueues them (after a failed enqueue or an outage).
/// A system task, deliberately across tenants.
pub async fn stale_pending(
    db: &impl ConnectionTrait,
    older_than: chrono::DateTime<Utc>,
    limit: u64,
) -> DomainResult<Vec<(TenantId, Uuid)>> {
    let rows: Vec<(Uuid, Uuid)> = message::Entity::find()
        .filter(message::Column::ExtractionState.eq(ExtractionState::Pending))
        .filter(message::Column::CreatedAt.lt(older_than))
        .order_by_asc(message::Column::CreatedAt)
        .select_only()
        .column(message::Column::TenantId)
        .column(message::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(t, m)| (TenantId(t), m)).collect())
}
