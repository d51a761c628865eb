//! Communication preferences of a client, and the automation decision they lead to.

use crate::automation::{self, Channel, Decision, PolicyInput};
use crate::clients::{find_live, resolve, write_row};
use crate::contact_window::{ContactWindow, WindowInput};
use crate::entities::client_preference;
use crate::entities::json::StringList;
use crate::entities::timeline_event::TimelineKind;
use crate::timeline::{self, EventActor};
use crate::{Actor, ClientId, Domain, DomainError, DomainEvent, DomainResult, Role};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;

const MAX_WINDOWS: usize = 21;

/// How and when a person wants to be contacted. The default: any channel, any time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preferences {
    pub preferred_channels: Vec<Channel>,
    pub windows: Vec<ContactWindow>,
    pub never_auto_send: bool,
    pub human_review_required: bool,
}

/// Preferences as a caller sends them (replacing what was stored).
#[derive(Clone, Debug, Default)]
pub struct PreferencesInput {
    pub preferred_channels: Vec<String>,
    pub windows: Vec<WindowInput>,
    pub never_auto_send: bool,
    pub human_review_required: bool,
}

impl PreferencesInput {
    pub fn parse(&self) -> DomainResult<Preferences> {
        let mut channels = Vec::new();
        for raw in &self.preferred_channels {
            let channel: Channel = raw
                .parse()
                .map_err(|m: String| DomainError::invalid("preferredChannels", m))?;
            if !matches!(channel, Channel::Email | Channel::Sms | Channel::Phone) {
                return Err(DomainError::invalid(
                    "preferredChannels",
                    format!("{raw:?}: preferred channels are email, sms and phone"),
                ));
            }
            if !channels.contains(&channel) {
                channels.push(channel);
            }
        }
        if self.windows.len() > MAX_WINDOWS {
            return Err(DomainError::invalid(
                "contactWindows",
                format!("at most {MAX_WINDOWS} windows"),
            ));
        }
        let windows = self
            .windows
            .iter()
            .map(|w| {
                ContactWindow::parse(w).map_err(|e| {
                    DomainError::invalid(format!("contactWindows.{}", e.field), e.message)
                })
            })
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Preferences {
            preferred_channels: channels,
            windows,
            never_auto_send: self.never_auto_send,
            human_review_required: self.human_review_required,
        })
    }
}

fn from_row(row: client_preference::Model) -> DomainResult<Preferences> {
    let windows: Vec<ContactWindow> = serde_json::from_value(row.contact_windows).map_err(|e| {
        DomainError::Conflict(format!("stored contact windows are unreadable: {e}"))
    })?;
    Ok(Preferences {
        preferred_channels: row
            .preferred_channels
            .0
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect(),
        windows,
        never_auto_send: row.never_auto_send,
        human_review_required: row.human_review_required,
    })
}

fn to_json(p: &Preferences) -> serde_json::Value {
    json!({
        "preferredChannels": p.preferred_channels,
        "contactWindows": p.windows,
        "neverAutoSend": p.never_auto_send,
        "humanReviewRequired": p.human_review_required,
    })
}

async fn load(
    db: &impl ConnectionTrait,
    tenant: crate::TenantId,
    client: ClientId,
) -> DomainResult<Preferences> {
    match client_preference::Entity::scoped(tenant)
        .filter(client_preference::Column::ClientId.eq(client.0))
        .one(db)
        .await?
    {
        Some(row) => from_row(row),
        None => Ok(Preferences::default()),
    }
}

/// Preferences of several clients at once (defaults for those without), for DataLoaders.
pub async fn of_clients(
    d: &Domain,
    tenant: crate::TenantId,
    clients: &[uuid::Uuid],
) -> DomainResult<std::collections::HashMap<uuid::Uuid, Preferences>> {
    let mut out: std::collections::HashMap<uuid::Uuid, Preferences> = clients
        .iter()
        .map(|id| (*id, Preferences::default()))
        .collect();
    for row in client_preference::Entity::scoped(tenant)
        .filter(client_preference::Column::ClientId.is_in(clients.iter().copied()))
        .all(&d.db)
        .await?
    {
        out.insert(row.client_id, from_row(row)?);
    }
    Ok(out)
}

/// Replaces a client's preferences (agents).
pub async fn set(
    d: &Domain,
    actor: &Actor,
    client: ClientId,
    input: &PreferencesInput,
) -> DomainResult<Preferences> {
    actor.require(Role::Agent)?;
    let next = input.parse()?;
    let txn = d.begin_write().await?;
    let current = find_live(&txn, actor.tenant, client).await?;
    let client = ClientId(current.id);
    let before = load(&txn, actor.tenant, client).await?;
    if before == next {
        return Ok(before);
    }
    let row = client_preference::ActiveModel {
        client_id: Set(client.0),
        tenant_id: Set(actor.tenant.0),
        preferred_channels: Set(StringList(
            next.preferred_channels
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
        )),
        contact_windows: Set(serde_json::to_value(&next.windows).unwrap_or_default()),
        never_auto_send: Set(next.never_auto_send),
        human_review_required: Set(next.human_review_required),
        updated_at: Set(Utc::now()),
    };
    client_preference::Entity::insert(row)
        .on_conflict(
            OnConflict::column(client_preference::Column::ClientId)
                .update_columns([
                    client_preference::Column::PreferredChannels,
                    client_preference::Column::ContactWindows,
                    client_preference::Column::NeverAutoSend,
                    client_preference::Column::HumanReviewRequired,
                    client_preference::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    write_row(&txn, actor.tenant, &current, current.clone()).await?;
    timeline::record(
        &txn,
        actor.tenant,
        client,
        &EventActor::from(actor),
        TimelineKind::PreferencesChanged,
        json!({ "before": to_json(&before), "after": to_json(&next) }),
    )
    .await?;
    txn.commit().await?;
    d.events.publish(
        actor.tenant,
        DomainEvent::ClientChanged { client_id: client },
    );
    Ok(next)
}

/// May we contact this client on `channel` at `at`, and may automation send without review?
/// `thread_override` is an admin's sensitivity override on one conversation.
pub async fn policy(
    d: &Domain,
    actor: &Actor,
    client: ClientId,
    channel: Channel,
    at: DateTime<Utc>,
    thread_override: Option<bool>,
) -> DomainResult<Decision> {
    let row = resolve(&d.db, actor.tenant, client).await?;
    let prefs = load(&d.db, actor.tenant, ClientId(row.id)).await?;
    Ok(automation::decide(&PolicyInput {
        sensitive: row.sensitive,
        thread_override,
        never_auto_send: prefs.never_auto_send,
        human_review_required: prefs.human_review_required,
        contractor: row.contractor,
        preferred_channels: prefs.preferred_channels,
        windows: prefs.windows,
        channel,
        at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(tz: &str) -> WindowInput {
        WindowInput {
            days: vec!["mon".into()],
            start: "09:00".into(),
            end: "17:00".into(),
            crosses_midnight: false,
            timezone: tz.into(),
        }
    }

    #[test]
    fn preferences_parse_and_name_bad_fields() {
        let ok = PreferencesInput {
            preferred_channels: vec!["SMS".into(), "email".into(), "sms".into()],
            windows: vec![window("America/Toronto")],
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(ok.preferred_channels, [Channel::Sms, Channel::Email]);
        let err = PreferencesInput {
            preferred_channels: vec!["telegram".into()],
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        assert!(
            matches!(err, DomainError::Invalid { ref field, .. } if field == "preferredChannels")
        );
        let err = PreferencesInput {
            windows: vec![window("Mars/Olympus")],
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        assert!(
            matches!(err, DomainError::Invalid { ref field, .. } if field == "contactWindows.timezone")
        );
    }
}
