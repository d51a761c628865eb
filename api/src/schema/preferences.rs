//! Communication preferences and the automation decision over GraphQL.

use super::{actor, domain, parse_id};
use crate::error::ApiResult;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use clientele_domain::ClientId;
use clientele_domain::automation::{self, Decision, Reason};
use clientele_domain::contact_window::{WindowInput, weekday_name};
use clientele_domain::preferences::{self, PreferencesInput as DomainPreferencesInput};

/// Channels a client can be contacted on.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Phone,
    Voice,
    Chat,
    Web,
    Whatsapp,
    Telegram,
    Facebook,
    Zalo,
}

impl From<Channel> for automation::Channel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Email => automation::Channel::Email,
            Channel::Sms => automation::Channel::Sms,
            Channel::Phone => automation::Channel::Phone,
            Channel::Voice => automation::Channel::Voice,
            Channel::Chat => automation::Channel::Chat,
            Channel::Web => automation::Channel::Web,
            Channel::Whatsapp => automation::Channel::Whatsapp,
            Channel::Telegram => automation::Channel::Telegram,
            Channel::Facebook => automation::Channel::Facebook,
            Channel::Zalo => automation::Channel::Zalo,
        }
    }
}

/// A weekly window in which the client may be contacted, in the client's time zone.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "ContactWindowInput")]
pub struct ContactWindow {
    /// `mon` .. `sun`.
    pub days: Vec<String>,
    /// `HH:MM`, local time.
    pub start: String,
    /// `HH:MM`, local time; before `start` only with `crossesMidnight`.
    pub end: String,
    /// The window runs from `start` on each listed day to `end` the next day.
    #[graphql(default)]
    pub crosses_midnight: bool,
    /// IANA time zone, e.g. `America/Toronto`.
    pub timezone: String,
}

#[derive(SimpleObject)]
pub struct Preferences {
    /// email, sms, phone.
    pub preferred_channels: Vec<String>,
    pub contact_windows: Vec<ContactWindow>,
    pub never_auto_send: bool,
    pub human_review_required: bool,
}

impl From<preferences::Preferences> for Preferences {
    fn from(p: preferences::Preferences) -> Self {
        Preferences {
            preferred_channels: p
                .preferred_channels
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            contact_windows: p
                .windows
                .iter()
                .map(|w| ContactWindow {
                    days: w
                        .days
                        .iter()
                        .map(|d| weekday_name(*d).to_string())
                        .collect(),
                    start: w.start.format("%H:%M").to_string(),
                    end: w.end.format("%H:%M").to_string(),
                    crosses_midnight: w.crosses_midnight,
                    timezone: w.timezone.name().to_string(),
                })
                .collect(),
            never_auto_send: p.never_auto_send,
            human_review_required: p.human_review_required,
        }
    }
}

#[derive(InputObject)]
pub struct PreferencesInput {
    #[graphql(default)]
    pub preferred_channels: Vec<String>,
    #[graphql(default)]
    pub contact_windows: Vec<ContactWindow>,
    #[graphql(default)]
    pub never_auto_send: bool,
    #[graphql(default)]
    pub human_review_required: bool,
}

/// Why automation may or may not act.
#[derive(SimpleObject)]
pub struct PolicyReason {
    /// `SENSITIVE`, `SENSITIVITY_OVERRIDDEN`, `NEVER_AUTO_SEND`, `HUMAN_REVIEW_REQUIRED`,
    /// `CONTRACTOR`, `OUTSIDE_CONTACT_WINDOW`, `CHANNEL_NOT_PREFERRED`.
    pub code: String,
    pub message: String,
    /// Whether this reason stops automation (informational otherwise).
    pub blocking: bool,
}

impl From<Reason> for PolicyReason {
    fn from(r: Reason) -> Self {
        PolicyReason {
            code: r.code().to_string(),
            message: r.message().to_string(),
            blocking: r.is_blocking(),
        }
    }
}

/// The automation decision for one client, channel and instant.
#[derive(SimpleObject)]
pub struct AutomationPolicy {
    pub may_contact_now: bool,
    pub may_auto_send: bool,
    pub reasons: Vec<PolicyReason>,
    /// When a contact window next opens (null when one is open or none are set).
    pub next_window_opens_at: Option<DateTime<Utc>>,
}

impl From<Decision> for AutomationPolicy {
    fn from(d: Decision) -> Self {
        AutomationPolicy {
            may_contact_now: d.may_contact_now,
            may_auto_send: d.may_auto_send,
            reasons: d.reasons.into_iter().map(Into::into).collect(),
            next_window_opens_at: d.next_window_opens_at,
        }
    }
}

#[derive(Default)]
pub struct PreferencesQuery;

#[Object]
impl PreferencesQuery {
    /// May we contact this client on `channel` at `at` (default: now), and may automation
    /// send without human review? With the reasons and when the next window opens.
    async fn automation_policy(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
        channel: Channel,
        at: Option<DateTime<Utc>>,
    ) -> ApiResult<AutomationPolicy> {
        let id = ClientId(parse_id("clientId", &client_id)?);
        let decision = preferences::policy(
            domain(ctx),
            actor(ctx)?,
            id,
            channel.into(),
            at.unwrap_or_else(Utc::now),
            None,
        )
        .await?;
        Ok(decision.into())
    }
}

#[derive(Default)]
pub struct PreferencesMutation;

#[Object]
impl PreferencesMutation {
    /// Replaces a client's communication preferences (agents).
    async fn set_client_preferences(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
        input: PreferencesInput,
    ) -> ApiResult<Preferences> {
        let id = ClientId(parse_id("clientId", &client_id)?);
        let saved = preferences::set(domain(ctx), actor(ctx)?, id, &to_domain(input)).await?;
        Ok(saved.into())
    }
}

fn to_domain(i: PreferencesInput) -> DomainPreferencesInput {
    DomainPreferencesInput {
        preferred_channels: i.preferred_channels,
        windows: i
            .contact_windows
            .into_iter()
            .map(|w| WindowInput {
                days: w.days,
                start: w.start,
                end: w.end,
                crosses_midnight: w.crosses_midnight,
                timezone: w.timezone,
            })
            .collect(),
        never_auto_send: i.never_auto_send,
        human_review_required: i.human_review_required,
    }
}
