//! Notifications: staff hear about what needs them, live (GraphQL subscription) or through
//! signed outbound webhooks.
//!
//! Four kinds ([`Kind`]): a client reaching a purchase-intent level, an inbound message
//! matching a keyword rule, a message that needs a human (the client is sensitive, requires
//! human review or is a contractor), and a client change (with the fields that changed).
//!
//! The outbox: a notification and one delivery per interested webhook endpoint are written in
//! the transaction of the change they report ([`on_timeline`], [`on_inbound`]), so either
//! both exist or neither. After commit, the relay ([`publish_pending`], [`due_deliveries`],
//! run by the workers) announces each notification once on the event bus and hands due
//! deliveries to the DeliverWebhook job, which makes one attempt ([`delivery::deliver`]) and
//! schedules the next on failure; the relay finds it again when it is due, so retries survive
//! restarts and lost jobs.

pub mod delivery;
pub mod endpoints;
pub mod rules;
pub mod signing;

pub use delivery::{Attempted, WebhookSettings, deliver};

use crate::automation::{self, Reason};
use crate::entities::client::{self, PurchaseIntent};
use crate::entities::timeline_event::TimelineKind;
use crate::entities::webhook_delivery::{self, DeliveryStatus};
use crate::entities::{client_preference, conversation, message, notification, webhook_endpoint};
use crate::pagination::{Cursor, Ordering, Page, PageArgs, SortKey};
use crate::{Actor, ClientId, Domain, DomainError, DomainEvent, DomainResult, Role, TenantId};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// What a notification reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `client.intent_reached`: a client's purchase intent reached an alerting level.
    IntentReached,
    /// `message.keyword_matched`: an inbound message contains a rule's phrase.
    KeywordMatched,
    /// `message.needs_human`: an inbound message must be answered by a person.
    NeedsHuman,
    /// `client.updated`: client fields changed (`data.fields` names them).
    ClientUpdated,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::IntentReached,
        Kind::KeywordMatched,
        Kind::NeedsHuman,
        Kind::ClientUpdated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::IntentReached => "client.intent_reached",
            Kind::KeywordMatched => "message.keyword_matched",
            Kind::NeedsHuman => "message.needs_human",
            Kind::ClientUpdated => "client.updated",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Rank of an intent level (browsing < comparing < ready to buy).
pub fn intent_rank(i: PurchaseIntent) -> u8 {
    match i {
        PurchaseIntent::Browsing => 1,
        PurchaseIntent::Comparing => 2,
        PurchaseIntent::ReadyToBuy => 3,
    }
}

/// Whether a change of intent from `before` to `after` reaches `level` (it was below and is
/// now at or above it).
pub fn reaches(
    before: Option<PurchaseIntent>,
    after: Option<PurchaseIntent>,
    level: PurchaseIntent,
) -> bool {
    let rank = |i: Option<PurchaseIntent>| i.map_or(0, intent_rank);
    rank(before) < intent_rank(level) && rank(after) >= intent_rank(level)
}

/// The client fields a timeline event says changed (`{field}` or `{changes: [{field}]}`);
/// empty for events that are not client field changes.
pub fn changed_fields(kind: TimelineKind, payload: &Value) -> Vec<String> {
    let field_changes = matches!(
        kind,
        TimelineKind::Updated
            | TimelineKind::StatusChanged
            | TimelineKind::IntentChanged
            | TimelineKind::FunnelStageChanged
            | TimelineKind::SaleStatusChanged
            | TimelineKind::SensitivityChanged
    );
    if !field_changes {
        return Vec::new();
    }
    let mut fields: Vec<String> = Vec::new();
    if let Some(f) = payload.get("field").and_then(Value::as_str) {
        fields.push(f.to_string());
    }
    if let Some(changes) = payload.get("changes").and_then(Value::as_array) {
        for c in changes {
            if let Some(f) = c.get("field").and_then(Value::as_str)
                && !fields.iter().any(|x| x == f)
            {
                fields.push(f.to_string());
            }
        }
    }
    fields
}

/// Fields whose before and after values a `client.updated` notification carries: states,
/// not personal data (names, emails, phones, addresses are named, never copied, so a webhook
/// receiver or the outbox never holds what erasure must remove).
const VALUE_FIELDS: &[&str] = &[
    "status",
    "purchaseIntent",
    "funnelStage",
    "saleStatus",
    "botStatus",
    "sentiment",
    "sensitive",
    "mysteryShopper",
    "contractor",
];

/// The `{field, before, after}` entries of a timeline payload for [`VALUE_FIELDS`] only.
pub fn state_changes(payload: &Value) -> Vec<Value> {
    let entries: Vec<&Value> = match payload.get("changes").and_then(Value::as_array) {
        Some(changes) => changes.iter().collect(),
        None => vec![payload],
    };
    entries
        .into_iter()
        .filter(|c| {
            c.get("field")
                .and_then(Value::as_str)
                .is_some_and(|f| VALUE_FIELDS.contains(&f))
        })
        .map(|c| json!({ "field": c["field"], "before": c["before"], "after": c["after"] }))
        .collect()
}

/// Lower-case words of a text (letters and digits), for phrase matching.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// A phrase as stored: lower case, single spaces; `None` when it has no words.
pub fn normalise_phrase(phrase: &str) -> Option<String> {
    let w = words(phrase);
    (!w.is_empty()).then(|| w.join(" "))
}

/// The first of `phrases` that occurs in `body` as whole words, case and punctuation
/// ignored ("Book appointment!" matches "book appointment"; "rebook appointments" does not).
pub fn first_match<'a>(body: &str, phrases: &'a [String]) -> Option<&'a str> {
    let body = words(body);
    phrases.iter().map(String::as_str).find(|phrase| {
        let p = words(phrase);
        !p.is_empty() && body.windows(p.len()).any(|w| w == p.as_slice())
    })
}

/// Whether `endpoint` wants a notification of `kind` (with `fields` changed, for
/// `client.updated`).
pub fn wants(endpoint: &webhook_endpoint::Model, kind: Kind, fields: &[String]) -> bool {
    let kinds = &endpoint.event_kinds.0;
    if !kinds.is_empty() && !kinds.iter().any(|k| k == kind.as_str()) {
        return false;
    }
    let only = &endpoint.client_fields.0;
    if kind == Kind::ClientUpdated && !only.is_empty() {
        return fields.iter().any(|f| only.contains(f));
    }
    true
}

/// Why a message needs a human, from the automation policy's reasons.
pub fn human_reasons(reasons: &[Reason]) -> Vec<Reason> {
    reasons
        .iter()
        .copied()
        .filter(|r| {
            matches!(
                r,
                Reason::Sensitive | Reason::HumanReviewRequired | Reason::Contractor
            )
        })
        .collect()
}

/// What a notification is about.
#[derive(Clone, Debug, Default)]
struct Refs {
    client: Option<Uuid>,
    conversation: Option<Uuid>,
    message: Option<Uuid>,
}

async fn active_endpoints(
    db: &impl ConnectionTrait,
    tenant: TenantId,
) -> DomainResult<Vec<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::scoped(tenant)
        .filter(webhook_endpoint::Column::Active.eq(true))
        .all(db)
        .await?)
}

/// Writes a notification and a delivery for each endpoint in `to` (caller's transaction).
async fn raise(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    kind: Kind,
    refs: Refs,
    payload: Value,
    to: &[&webhook_endpoint::Model],
) -> DomainResult<Uuid> {
    let now = Utc::now();
    let id = Uuid::now_v7();
    notification::Entity::insert(notification::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant.0),
        kind: Set(kind.as_str().to_string()),
        client_id: Set(refs.client),
        conversation_id: Set(refs.conversation),
        message_id: Set(refs.message),
        payload: Set(payload),
        published_at: Set(None),
        created_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    for endpoint in to {
        webhook_delivery::Entity::insert(new_delivery(tenant, endpoint.id, id))
            .exec_without_returning(db)
            .await?;
    }
    Ok(id)
}

fn new_delivery(
    tenant: TenantId,
    endpoint: Uuid,
    notification: Uuid,
) -> webhook_delivery::ActiveModel {
    let now = Utc::now();
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        endpoint_id: Set(endpoint),
        notification_id: Set(notification),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        last_error: Set(None),
        last_status_code: Set(None),
        next_attempt_at: Set(Some(now)),
        delivered_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// The hook in [`crate::timeline::record`] (same transaction): a purchase-intent change that
/// reaches an alerting level raises `client.intent_reached`; a client field change raises
/// `client.updated` when an active endpoint wants it (live UIs follow `clientChanged`).
/// Events that are not field changes cost nothing.
pub async fn on_timeline(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    client: ClientId,
    kind: TimelineKind,
    payload: &Value,
) -> DomainResult<()> {
    let fields = changed_fields(kind, payload);
    if fields.is_empty() {
        return Ok(());
    }
    let endpoints = active_endpoints(db, tenant).await?;
    let refs = || Refs {
        client: Some(client.0),
        conversation: payload
            .get("conversationId")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok()),
        message: payload
            .get("messageId")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok()),
    };
    if kind == TimelineKind::IntentChanged {
        let parse = |v: Option<&Value>| {
            v.cloned()
                .and_then(|v| serde_json::from_value::<PurchaseIntent>(v).ok())
        };
        let (before, after) = (parse(payload.get("before")), parse(payload.get("after")));
        for level in rules::intent_levels(db, tenant).await? {
            if reaches(before, after, level) {
                let to: Vec<_> = endpoints
                    .iter()
                    .filter(|e| wants(e, Kind::IntentReached, &[]))
                    .collect();
                let data = json!({
                    "clientId": client.0, "level": level, "before": before, "after": after,
                    "rule": payload.get("rule"),
                });
                raise(db, tenant, Kind::IntentReached, refs(), data, &to).await?;
            }
        }
    }
    let to: Vec<_> = endpoints
        .iter()
        .filter(|e| wants(e, Kind::ClientUpdated, &fields))
        .collect();
    if !to.is_empty() {
        let data = json!({
            "clientId": client.0, "fields": fields, "changes": state_changes(payload),
            "source": payload.get("source"),
        });
        raise(db, tenant, Kind::ClientUpdated, refs(), data, &to).await?;
    }
    Ok(())
}

/// The hook in extraction (same transaction as the message's processing): keyword rules
/// matched by the message, and whether it needs a human (sensitive client or thread, human
/// review required, contractor).
pub async fn on_inbound(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    msg: &message::Model,
    thread: &conversation::Model,
    client: Option<Uuid>,
) -> DomainResult<()> {
    let Some(body) = msg.body.as_deref() else {
        return Ok(());
    };
    let refs = || Refs {
        client,
        conversation: Some(thread.id),
        message: Some(msg.id),
    };
    let mut endpoints = None;
    for rule in rules::active_keyword_rules(db, tenant).await? {
        if let Some(phrase) = first_match(body, &rule.phrases.0) {
            if endpoints.is_none() {
                endpoints = Some(active_endpoints(db, tenant).await?);
            }
            let to: Vec<_> = endpoints
                .iter()
                .flatten()
                .filter(|e| wants(e, Kind::KeywordMatched, &[]))
                .collect();
            let data = json!({
                "ruleId": rule.id, "ruleName": rule.name, "phrase": phrase,
                "clientId": client, "conversationId": thread.id, "messageId": msg.id,
                "channel": thread.channel,
            });
            raise(db, tenant, Kind::KeywordMatched, refs(), data, &to).await?;
        }
    }
    let Some(client_id) = client else {
        return Ok(());
    };
    let Some(row) = client::Entity::scoped(tenant)
        .filter(client::Column::Id.eq(client_id))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let prefs = client_preference::Entity::scoped(tenant)
        .filter(client_preference::Column::ClientId.eq(client_id))
        .one(db)
        .await?;
    let decision = automation::decide(&automation::PolicyInput {
        sensitive: row.sensitive,
        thread_override: thread.sensitivity_override,
        never_auto_send: false,
        human_review_required: prefs.as_ref().is_some_and(|p| p.human_review_required),
        contractor: row.contractor,
        preferred_channels: Vec::new(),
        windows: Vec::new(),
        channel: crate::conversations::settings::policy_channel(thread.channel),
        at: Utc::now(),
    });
    let reasons = human_reasons(&decision.reasons);
    if reasons.is_empty() {
        return Ok(());
    }
    let endpoints = match endpoints {
        Some(e) => e,
        None => active_endpoints(db, tenant).await?,
    };
    let to: Vec<_> = endpoints
        .iter()
        .filter(|e| wants(e, Kind::NeedsHuman, &[]))
        .collect();
    let data = json!({
        "clientId": client_id, "conversationId": thread.id, "messageId": msg.id,
        "channel": thread.channel, "reasons": reasons,
    });
    raise(db, tenant, Kind::NeedsHuman, refs(), data, &to).await?;
    Ok(())
}

/// The relay, step 1: announces notifications not yet announced (every tenant, oldest
/// first, at most `limit`) on the event bus, each once even with several relays running.
/// Returns how many were announced.
pub async fn publish_pending(d: &Domain, limit: u64) -> DomainResult<usize> {
    let rows: Vec<(Uuid, Uuid, String)> = notification::Entity::find()
        .filter(notification::Column::PublishedAt.is_null())
        .order_by_asc(notification::Column::CreatedAt)
        .select_only()
        .column(notification::Column::Id)
        .column(notification::Column::TenantId)
        .column(notification::Column::Kind)
        .limit(limit)
        .into_tuple()
        .all(&d.db)
        .await?;
    let mut published = 0;
    for (id, tenant, kind) in rows {
        let claimed = notification::Entity::scoped_update(TenantId(tenant))
            .col_expr(notification::Column::PublishedAt, Expr::value(Utc::now()))
            .filter(notification::Column::Id.eq(id))
            .filter(notification::Column::PublishedAt.is_null())
            .exec(&d.db)
            .await?;
        if claimed.rows_affected == 1 {
            d.events.publish(
                TenantId(tenant),
                DomainEvent::NotificationRaised {
                    notification_id: id,
                    notification_kind: kind,
                },
            );
            published += 1;
        }
    }
    Ok(published)
}

/// The relay, step 2: takes the pending deliveries of every tenant that are due (first
/// attempts, retries whose time came, hand-overs or attempts whose worker died), oldest
/// first, and returns them for a DeliverWebhook job each. Taking one moves its next attempt
/// a hand-over period ahead, so a delivery waiting in the job queue is not handed over again
/// on every tick; if the job is lost, the delivery is due again after that period.
pub async fn hand_over_due(d: &Domain, limit: u64) -> DomainResult<Vec<(TenantId, Uuid)>> {
    let rows: Vec<(Uuid, Uuid)> = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(Utc::now()))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .select_only()
        .column(webhook_delivery::Column::TenantId)
        .column(webhook_delivery::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(&d.db)
        .await?;
    let now = Utc::now();
    let until = now
        + chrono::Duration::from_std(d.webhooks.timeout + std::time::Duration::from_secs(60))
            .unwrap_or(chrono::Duration::minutes(2));
    let mut taken = Vec::new();
    for (tenant, id) in rows {
        let claimed = webhook_delivery::Entity::scoped_update(TenantId(tenant))
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(until))
            .filter(webhook_delivery::Column::Id.eq(id))
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
            .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
            .exec(&d.db)
            .await?;
        if claimed.rows_affected == 1 {
            taken.push((TenantId(tenant), id));
        }
    }
    Ok(taken)
}

/// Erasure (caller's transaction): what the tenant's notifications say about the client is
/// dropped; deliveries still pending send the emptied data.
pub async fn forget_client(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    client: ClientId,
) -> DomainResult<()> {
    notification::Entity::scoped_update(tenant)
        .col_expr(notification::Column::Payload, Expr::value(json!({})))
        .filter(notification::Column::ClientId.eq(client.0))
        .exec(db)
        .await?;
    Ok(())
}

const NEWEST_FIRST: Ordering<notification::Column> = Ordering {
    name: "created",
    column: Some(notification::Column::CreatedAt),
    descending: true,
};

/// The tenant's notifications, newest first, optionally only some kinds (every staff role):
/// what a screen shows before it subscribes, or after it reconnects.
pub async fn list(
    d: &Domain,
    actor: &Actor,
    kinds: &[Kind],
    page: &PageArgs,
) -> DomainResult<Page<notification::Model>> {
    actor.require(Role::Viewer)?;
    let page = page.resolve(NEWEST_FIRST.name)?;
    let mut query = notification::Entity::scoped(actor.tenant);
    if !kinds.is_empty() {
        query = query.filter(notification::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())));
    }
    let rows = page
        .apply(query, &NEWEST_FIRST, notification::Column::Id)
        .limit(page.limit + 1)
        .all(&d.db)
        .await?;
    Ok(page.into_page(rows, |row| Cursor {
        ordering: NEWEST_FIRST.name.into(),
        key: SortKey::Time(row.created_at),
        id: row.id,
    }))
}

/// One notification of the actor's tenant (any role may read notifications).
pub async fn get(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<notification::Model> {
    actor.require(Role::Viewer)?;
    notification::Entity::scoped(actor.tenant)
        .filter(notification::Column::Id.eq(id))
        .one(&d.db)
        .await?
        .ok_or_else(|| DomainError::not_found("notification"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::json::StringList;

    fn endpoint(kinds: &[&str], fields: &[&str]) -> webhook_endpoint::Model {
        let list = |v: &[&str]| StringList(v.iter().map(|s| s.to_string()).collect());
        webhook_endpoint::Model {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            url: "http://127.0.0.1/".into(),
            description: None,
            event_kinds: list(kinds),
            client_fields: list(fields),
            active: true,
            secret_enc: String::new(),
            disabled_reason: None,
            created_by: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("client.deleted"), None);
    }

    #[test]
    fn intent_is_reached_only_when_crossing_the_level() {
        use PurchaseIntent::*;
        assert!(reaches(Some(Comparing), Some(ReadyToBuy), ReadyToBuy));
        assert!(reaches(None, Some(ReadyToBuy), ReadyToBuy));
        assert!(reaches(Some(Browsing), Some(ReadyToBuy), Comparing));
        assert!(!reaches(Some(ReadyToBuy), Some(ReadyToBuy), ReadyToBuy));
        assert!(!reaches(Some(Browsing), Some(Comparing), ReadyToBuy));
        assert!(!reaches(Some(ReadyToBuy), Some(Comparing), Comparing));
    }

    #[test]
    fn changed_fields_come_from_either_payload_shape() {
        assert_eq!(
            changed_fields(
                TimelineKind::StatusChanged,
                &json!({"field": "status", "before": "a", "after": "b"})
            ),
            vec!["status"]
        );
        assert_eq!(
            changed_fields(
                TimelineKind::Updated,
                &json!({"changes": [{"field": "email"}, {"field": "city"}]})
            ),
            vec!["email", "city"]
        );
        assert!(changed_fields(TimelineKind::NoteAdded, &json!({"field": "x"})).is_empty());
        assert!(changed_fields(TimelineKind::Message, &json!({})).is_empty());
    }

    #[test]
    fn client_updates_carry_values_of_state_fields_only() {
        assert_eq!(
            state_changes(&json!({"changes": [
                {"field": "email", "before": "a@x.com", "after": "b@x.com"},
                {"field": "funnelStage", "before": null, "after": "demo"},
            ]})),
            vec![json!({"field": "funnelStage", "before": null, "after": "demo"})]
        );
        assert_eq!(
            state_changes(&json!({"field": "status", "before": "new", "after": "lost"})),
            vec![json!({"field": "status", "before": "new", "after": "lost"})]
        );
        assert!(
            state_changes(&json!({"field": "phone", "before": "+1", "after": "+2"})).is_empty()
        );
    }

    #[test]
    fn phrases_match_whole_words_ignoring_case_and_punctuation() {
        let phrases = vec!["book appointment".to_string(), "refund".to_string()];
        assert_eq!(
            first_match("Hi! Can I BOOK   appointment, please?", &phrases),
            Some("book appointment")
        );
        assert_eq!(first_match("I'd like a refund.", &phrases), Some("refund"));
        assert_eq!(first_match("rebook appointments later", &phrases), None);
        assert_eq!(first_match("refunds are great", &phrases), None);
        assert_eq!(
            normalise_phrase("  Book  Appointment! "),
            Some("book appointment".into())
        );
        assert_eq!(normalise_phrase(" !? "), None);
    }

    #[test]
    fn endpoints_filter_on_kind_and_changed_fields() {
        let all = endpoint(&[], &[]);
        assert!(wants(&all, Kind::ClientUpdated, &["city".into()]));
        assert!(wants(&all, Kind::NeedsHuman, &[]));
        let only_intent = endpoint(&["client.intent_reached"], &[]);
        assert!(wants(&only_intent, Kind::IntentReached, &[]));
        assert!(!wants(&only_intent, Kind::KeywordMatched, &[]));
        let status = endpoint(&["client.updated"], &["status", "funnelStage"]);
        assert!(wants(&status, Kind::ClientUpdated, &["funnelStage".into()]));
        assert!(!wants(&status, Kind::ClientUpdated, &["city".into()]));
        // The field filter concerns client.updated only.
        let mixed = endpoint(&[], &["status"]);
        assert!(wants(&mixed, Kind::NeedsHuman, &[]));
    }

    #[test]
    fn a_person_is_needed_for_sensitive_review_and_contractor_clients() {
        assert_eq!(
            human_reasons(&[Reason::OutsideContactWindow, Reason::Sensitive]),
            vec![Reason::Sensitive]
        );
        assert!(human_reasons(&[Reason::SensitivityOverridden, Reason::NeverAutoSend]).is_empty());
    }
}
