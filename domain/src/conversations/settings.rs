//! What staff change on a conversation: its status, the AI guide, and (admins) a sensitivity
//! override; and the automation policy for one conversation.

use super::get_in;
use crate::audit::{self, Outcome};
use crate::automation::{self, Decision};
use crate::entities::conversation::{self, Channel, ConversationStatus};
use crate::entities::timeline_event::TimelineKind;
use crate::timeline::{self, EventActor};
use crate::{Actor, ClientId, Domain, DomainError, DomainEvent, DomainResult, Role, TenantId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

/// The longest AI guide accepted, in characters.
pub const GUIDE_MAX_CHARS: usize = 8000;

/// The automation channel a conversation channel is judged as.
pub fn policy_channel(channel: Channel) -> automation::Channel {
    match channel {
        Channel::Email => automation::Channel::Email,
        Channel::Sms => automation::Channel::Sms,
        Channel::Chat => automation::Channel::Chat,
        Channel::Voice => automation::Channel::Voice,
        Channel::Whatsapp => automation::Channel::Whatsapp,
        Channel::Telegram => automation::Channel::Telegram,
        Channel::Facebook => automation::Channel::Facebook,
        Channel::Zalo => automation::Channel::Zalo,
        Channel::Web => automation::Channel::Web,
    }
}

/// A guide as stored: trimmed, `None` when blank, refused when too long.
pub fn clean_guide(guide: Option<&str>) -> DomainResult<Option<String>> {
    let Some(guide) = guide.map(str::trim).filter(|g| !g.is_empty()) else {
        return Ok(None);
    };
    if guide.chars().count() > GUIDE_MAX_CHARS {
        return Err(DomainError::invalid(
            "aiGuide",
            format!("is longer than {GUIDE_MAX_CHARS} characters"),
        ));
    }
    Ok(Some(guide.to_string()))
}

/// One column's change: the column, its new database value, and before/after for the
/// timeline.
struct Change {
    column: conversation::Column,
    value: sea_orm::Value,
    before: Value,
    after: Value,
}

/// Writes one changed column and, on a linked thread, a timeline event with before/after.
async fn update(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    field: &'static str,
    change: impl FnOnce(&conversation::Model) -> Option<Change>,
    audit_as: Option<(&str, Value)>,
) -> DomainResult<conversation::Model> {
    let txn = d.begin_write().await?;
    let current = get_in(&txn, actor.tenant, id).await?;
    let Some(Change {
        column,
        value,
        before,
        after,
    }) = change(&current)
    else {
        return Ok(current);
    };
    conversation::Entity::scoped_update(actor.tenant)
        .col_expr(column, Expr::value(value))
        .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversation::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    if let Some(client) = current.client_id {
        timeline::record(
            &txn,
            actor.tenant,
            ClientId(client),
            &EventActor::from(actor),
            TimelineKind::ConversationUpdated,
            json!({ "conversationId": id, "field": field, "before": before, "after": after }),
        )
        .await?;
    }
    if let Some((action, detail)) = audit_as {
        audit::record(&txn, actor, action, Some(id), Outcome::Allowed, detail).await?;
    }
    let saved = get_in(&txn, actor.tenant, id).await?;
    txn.commit().await?;
    announce(d, actor.tenant, &saved);
    Ok(saved)
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

/// Closes or reopens a conversation (agents).
pub async fn set_status(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    status: ConversationStatus,
) -> DomainResult<conversation::Model> {
    actor.require(Role::Agent)?;
    let name = |s: ConversationStatus| match s {
        ConversationStatus::Active => "active",
        ConversationStatus::Closed => "closed",
    };
    update(
        d,
        actor,
        id,
        "status",
        |c| {
            (c.status != status).then(|| Change {
                column: conversation::Column::Status,
                value: name(status).into(),
                before: json!(name(c.status)),
                after: json!(name(status)),
            })
        },
        None,
    )
    .await
}

/// Sets (or, with `None` or blank text, clears) the guide for the assistant answering this
/// thread (agents).
pub async fn set_guide(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    guide: Option<&str>,
) -> DomainResult<conversation::Model> {
    actor.require(Role::Agent)?;
    let guide = clean_guide(guide)?;
    update(
        d,
        actor,
        id,
        "aiGuide",
        |c| {
            (c.ai_guide != guide).then(|| Change {
                column: conversation::Column::AiGuide,
                value: guide.clone().into(),
                before: json!(c.ai_guide),
                after: json!(guide),
            })
        },
        None,
    )
    .await
}

/// Overrides the client's sensitivity for this one thread (admins; refusals are audited):
/// `Some(false)` lets automation answer a sensitive client's thread, `Some(true)` treats the
/// thread as sensitive, `None` follows the client again.
pub async fn set_sensitivity_override(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    value: Option<bool>,
) -> DomainResult<conversation::Model> {
    audit::require_admin(
        &d.db,
        actor,
        "conversation.set_sensitivity_override",
        Some(id),
    )
    .await?;
    update(
        d,
        actor,
        id,
        "sensitivityOverride",
        |c| {
            (c.sensitivity_override != value).then(|| Change {
                column: conversation::Column::SensitivityOverride,
                value: value.into(),
                before: json!(c.sensitivity_override),
                after: json!(value),
            })
        },
        Some((
            "conversation.set_sensitivity_override",
            json!({ "sensitivityOverride": value }),
        )),
    )
    .await
}

/// May automation answer this conversation at `at`? The client's preferences and
/// sensitivity, with this thread's override; a thread without a client has no preferences.
pub async fn policy(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    at: DateTime<Utc>,
) -> DomainResult<Decision> {
    let thread = get_in(&d.db, actor.tenant, id).await?;
    policy_of(d, actor, &thread, at).await
}

pub async fn policy_of(
    d: &Domain,
    actor: &Actor,
    thread: &conversation::Model,
    at: DateTime<Utc>,
) -> DomainResult<Decision> {
    let channel = policy_channel(thread.channel);
    match thread.client_id {
        Some(client) => {
            crate::preferences::policy(
                d,
                actor,
                ClientId(client),
                channel,
                at,
                thread.sensitivity_override,
            )
            .await
        }
        None => Ok(automation::decide(&automation::PolicyInput {
            sensitive: false,
            thread_override: thread.sensitivity_override,
            never_auto_send: false,
            human_review_required: false,
            contractor: false,
            preferred_channels: Vec::new(),
            windows: Vec::new(),
            channel,
            at,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guides_are_trimmed_blank_clears_and_long_is_refused() {
        assert_eq!(clean_guide(None).unwrap(), None);
        assert_eq!(clean_guide(Some("   ")).unwrap(), None);
        assert_eq!(
            clean_guide(Some("  be brief ")).unwrap().as_deref(),
            Some("be brief")
        );
        let err = clean_guide(Some(&"x".repeat(GUIDE_MAX_CHARS + 1))).unwrap_err();
        assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "aiGuide"));
    }

    #[test]
    fn every_conversation_channel_has_a_policy_channel() {
        use sea_orm::Iterable;
        for c in Channel::iter() {
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::to_value(policy_channel(c)).unwrap()
            );
        }
    }
}
