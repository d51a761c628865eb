//! What an assistant needs to answer one conversation, in one read: the latest messages, the
//! AI guide, the assistant and its prompt, who the client is and how we know their name, the
//! same client's other channels, and the automation policy with its reasons.
//!
//! The rules are pure functions: [`message_limit`] and [`assistant_policy`] here, the name
//! rules in [`super::names`]; [`assemble`] gathers the facts.

use super::Chosen;
use super::names::{
    Identity, LINK_EVENTS_SCANNED, LinkEvidence, NameKnowledge, NameSource, identity,
    link_evidence, matched_source, name_knowledge, name_source,
};
use crate::automation::{Decision, Reason};
use crate::entities::client;
use crate::entities::conversation;
use crate::entities::message;
use crate::entities::timeline_event::{self, TimelineKind};
use crate::{Actor, ClientId, Domain, DomainError, DomainResult, TenantId};
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

/// Messages returned when the caller does not say.
pub const DEFAULT_MESSAGES: i32 = 20;
/// The most messages one context returns.
pub const MAX_MESSAGES: i32 = 100;
/// Other conversations of the same client returned at most, newest first.
pub const OTHER_CHANNELS: u64 = 5;
/// Latest messages returned per other conversation.
pub const OTHER_CHANNEL_MESSAGES: u64 = 3;

/// How many messages to return: `None` = [`DEFAULT_MESSAGES`]; 1..=[`MAX_MESSAGES`], else bad
/// input naming `messages`.
pub fn message_limit(requested: Option<i32>) -> DomainResult<u64> {
    let n = requested.unwrap_or(DEFAULT_MESSAGES);
    if !(1..=MAX_MESSAGES).contains(&n) {
        return Err(DomainError::invalid(
            "messages",
            format!("must be between 1 and {MAX_MESSAGES}"),
        ));
    }
    Ok(n as u64)
}

/// The automation policy as an assistant reads it: the decision, its flags, and whether the
/// conversation goes to an agent instead (contractors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssistantPolicy {
    pub decision: Decision,
    pub sensitive: bool,
    pub human_review_required: bool,
    pub contact_window_open: bool,
    pub route_to_agent: bool,
    /// Why the conversation goes to an agent (empty when it does not).
    pub route_reasons: Vec<Reason>,
}

pub fn assistant_policy(decision: Decision) -> AssistantPolicy {
    let has = |r: Reason| decision.reasons.contains(&r);
    let route_reasons: Vec<Reason> = [Reason::Contractor]
        .into_iter()
        .filter(|r| has(*r))
        .collect();
    AssistantPolicy {
        sensitive: has(Reason::Sensitive),
        human_review_required: has(Reason::HumanReviewRequired) || has(Reason::NeverAutoSend),
        contact_window_open: !has(Reason::OutsideContactWindow),
        route_to_agent: !route_reasons.is_empty(),
        route_reasons,
        decision,
    }
}

/// Another conversation of the same client.
#[derive(Clone, Debug)]
pub struct OtherChannel {
    pub conversation: conversation::Model,
    /// Its latest messages, oldest first.
    pub messages: Vec<message::Model>,
}

/// The assistant context of one conversation.
#[derive(Clone, Debug)]
pub struct AssistantContext {
    pub conversation: conversation::Model,
    /// The latest messages, oldest first.
    pub messages: Vec<message::Model>,
    pub assistant: Chosen,
    /// The linked client (after merges), or while the identity check waits, the suggested
    /// client (then `name.confirmed` is false and `suggested` is set).
    pub client: Option<client::Model>,
    /// The client the sender's identifier suggests, while unconfirmed.
    pub suggested: Option<client::Model>,
    pub name: NameKnowledge,
    pub other_channels: Vec<OtherChannel>,
    pub policy: AssistantPolicy,
}

/// Gathers the context of `conversation` (every role; the assistant service uses an agent
/// token). `messages` is how many of the latest messages to return (see [`message_limit`]).
pub async fn assemble(
    d: &Domain,
    actor: &Actor,
    conversation: Uuid,
    messages: Option<i32>,
) -> DomainResult<AssistantContext> {
    let limit = message_limit(messages)?;
    let tenant = actor.tenant;
    let thread = crate::conversations::get_in(&d.db, tenant, conversation).await?;
    let recent = latest_messages(&d.db, tenant, thread.id, limit).await?;
    let live = |id: Uuid| async move {
        crate::clients::find_live(&d.db, tenant, ClientId(id))
            .await
            .ok()
    };
    let (client, suggested, name, other_channels) = match identity(&thread) {
        Identity::Linked {
            client,
            confirmed_match,
        } => match live(client).await {
            Some(c) => {
                let source = if confirmed_match {
                    matched_source(thread.channel)
                } else {
                    let evidence = evidence_for(&d.db, tenant, &thread, c.id).await?;
                    name_source(&evidence, thread.channel, c.source)
                };
                let name = name_knowledge(Some(&c), source, true);
                let others = others(&d.db, tenant, c.id, &thread).await?;
                (Some(c), None, name, others)
            }
            None => (
                None,
                None,
                name_knowledge(None, NameSource::LinkedClient, true),
                Vec::new(),
            ),
        },
        // Until someone confirms, the assistant may ask "is this Ada?" but neither greets
        // Ada by name nor reads Ada's other conversations.
        Identity::Suggested(id) => match live(id).await {
            Some(c) => {
                let name = name_knowledge(Some(&c), matched_source(thread.channel), false);
                (Some(c.clone()), Some(c), name, Vec::new())
            }
            None => (
                None,
                None,
                name_knowledge(None, NameSource::LinkedClient, true),
                Vec::new(),
            ),
        },
        Identity::Unknown => (
            None,
            None,
            name_knowledge(None, NameSource::LinkedClient, true),
            Vec::new(),
        ),
    };
    let decision = crate::conversations::settings::policy_of(d, actor, &thread, Utc::now()).await?;
    let assistant = super::for_conversation(d, tenant, &thread).await?;
    Ok(AssistantContext {
        conversation: thread,
        messages: recent,
        assistant,
        client,
        suggested,
        name,
        other_channels,
        policy: assistant_policy(decision),
    })
}

async fn latest_messages(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    conversation: Uuid,
    limit: u64,
) -> DomainResult<Vec<message::Model>> {
    let mut rows = message::Entity::scoped(tenant)
        .filter(message::Column::ConversationId.eq(conversation))
        .order_by_desc(message::Column::SentAt)
        .order_by_desc(message::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    rows.reverse();
    Ok(rows)
}

/// The link events of the conversation's client (and of the client it was merged into).
async fn evidence_for(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    thread: &conversation::Model,
    live: Uuid,
) -> DomainResult<LinkEvidence> {
    let ids: Vec<Uuid> = thread.client_id.into_iter().chain([live]).collect();
    let events = timeline_event::Entity::scoped(tenant)
        .filter(timeline_event::Column::ClientId.is_in(ids))
        .filter(timeline_event::Column::Kind.eq(TimelineKind::ConversationStarted))
        .order_by_desc(timeline_event::Column::OccurredAt)
        .order_by_desc(timeline_event::Column::Id)
        .limit(LINK_EVENTS_SCANNED)
        .all(db)
        .await?;
    Ok(link_evidence(events.iter().map(|e| &e.payload), thread.id))
}

async fn others(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    client: Uuid,
    thread: &conversation::Model,
) -> DomainResult<Vec<OtherChannel>> {
    let ids: Vec<Uuid> = thread.client_id.into_iter().chain([client]).collect();
    let rows = conversation::Entity::scoped(tenant)
        .filter(conversation::Column::ClientId.is_in(ids))
        .filter(conversation::Column::Id.ne(thread.id))
        .order_by_desc(conversation::Column::ActivityAt)
        .order_by_desc(conversation::Column::Id)
        .limit(OTHER_CHANNELS)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let messages = latest_messages(db, tenant, row.id, OTHER_CHANNEL_MESSAGES).await?;
        out.push(OtherChannel {
            conversation: row,
            messages,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::{self, PolicyInput};

    #[test]
    fn message_limits_default_to_twenty_and_name_the_field() {
        assert_eq!(message_limit(None).unwrap(), 20);
        assert_eq!(message_limit(Some(5)).unwrap(), 5);
        assert_eq!(message_limit(Some(100)).unwrap(), 100);
        for bad in [0, -1, 101] {
            match message_limit(Some(bad)).unwrap_err() {
                DomainError::Invalid { field, .. } => assert_eq!(field, "messages"),
                other => panic!("{other:?}"),
            }
        }
    }

    fn decide(sensitive: bool, contractor: bool) -> Decision {
        automation::decide(&PolicyInput {
            sensitive,
            thread_override: None,
            never_auto_send: false,
            human_review_required: false,
            contractor,
            preferred_channels: Vec::new(),
            windows: Vec::new(),
            channel: automation::Channel::Sms,
            at: Utc::now(),
        })
    }

    #[test]
    fn contractors_route_to_an_agent_and_sensitive_clients_are_flagged() {
        let plain = assistant_policy(decide(false, false));
        assert!(plain.decision.may_auto_send && !plain.route_to_agent && !plain.sensitive);
        assert!(plain.contact_window_open);
        let contractor = assistant_policy(decide(false, true));
        assert!(contractor.route_to_agent && !contractor.decision.may_auto_send);
        assert_eq!(contractor.route_reasons, vec![Reason::Contractor]);
        let sensitive = assistant_policy(decide(true, false));
        assert!(sensitive.sensitive && !sensitive.decision.may_auto_send);
        assert!(!sensitive.route_to_agent);
    }

    #[test]
    fn review_and_closed_windows_are_flagged() {
        let mut review = decide(false, false);
        review.reasons = vec![Reason::HumanReviewRequired];
        assert!(assistant_policy(review).human_review_required);
        let mut never = decide(false, false);
        never.reasons = vec![Reason::NeverAutoSend];
        assert!(assistant_policy(never).human_review_required);
        let mut closed = decide(false, false);
        closed.reasons = vec![Reason::OutsideContactWindow];
        let closed = assistant_policy(closed);
        assert!(!closed.contact_window_open && !closed.human_review_required);
        assert!(assistant_policy(decide(false, false)).contact_window_open);
    }
}
