//! Tracking controls over GraphQL: the tenant's (on `Tenant.tracking`) and each receiving
//! channel's overrides (on `TenantChannel`), changed by admins.

use super::conversations::TenantChannel;
use super::{actor, domain, parse_id};
use crate::error::ApiResult;
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use clientele_domain::entities::json::StringList;
use clientele_domain::entities::{tenant, tenant_channel};
use clientele_domain::{tenants, tracking};

mirror_enum!(
    /// What happens when a new conversation's sender belongs to a client: `LINK` links it at
    /// once; `CONFIRM` suggests the client until someone confirms or rejects it.
    KnownSenderCheck = tenant::KnownSenderCheck { Link, Confirm }
);

/// A kind of fact extraction looks for.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Extractor {
    Email,
    Phone,
    Name,
    Company,
    Address,
    /// Purchase intent and interests.
    Intent,
}

impl Extractor {
    fn name(self) -> &'static str {
        match self {
            Extractor::Email => "email",
            Extractor::Phone => "phone",
            Extractor::Name => "name",
            Extractor::Company => "company",
            Extractor::Address => "address",
            Extractor::Intent => "intent",
        }
    }

    fn all() -> [Extractor; 6] {
        [
            Extractor::Email,
            Extractor::Phone,
            Extractor::Name,
            Extractor::Company,
            Extractor::Address,
            Extractor::Intent,
        ]
    }

    fn list(stored: Option<&StringList>) -> Option<Vec<Extractor>> {
        stored.map(|l| {
            Extractor::all()
                .into_iter()
                .filter(|e| l.0.iter().any(|n| n == e.name()))
                .collect()
        })
    }

    fn names(list: Vec<Extractor>) -> Vec<String> {
        list.into_iter().map(|e| e.name().to_string()).collect()
    }
}

/// The tracking controls in force.
#[derive(SimpleObject)]
pub struct Tracking {
    /// Whether extraction creates clients for unknown senders. Off keeps conversations but
    /// creates no client; turning it on applies to messages received from then on.
    pub auto_create_clients: bool,
    /// Messages received before this instant create no client (null: since always).
    pub auto_create_since: Option<DateTime<Utc>>,
    /// Region for phone numbers written without a country code.
    pub default_region: String,
    pub known_sender_check: KnownSenderCheck,
    /// The extractors that run.
    pub extractors: Vec<Extractor>,
}

impl From<tracking::Tracking> for Tracking {
    fn from(t: tracking::Tracking) -> Self {
        let on = t.extractors;
        let flags = [
            on.emails,
            on.phones,
            on.persons,
            on.companies,
            on.addresses,
            on.intents,
        ];
        Tracking {
            auto_create_clients: t.auto_create,
            auto_create_since: t.auto_create_since,
            default_region: t.region.code().to_string(),
            known_sender_check: t.known_sender.into(),
            extractors: Extractor::all()
                .into_iter()
                .zip(flags)
                .filter_map(|(e, on)| on.then_some(e))
                .collect(),
        }
    }
}

/// A channel's own values; null fields follow the tenant.
#[derive(SimpleObject)]
pub struct TrackingOverrides {
    pub auto_create_clients: Option<bool>,
    pub default_region: Option<String>,
    pub known_sender_check: Option<KnownSenderCheck>,
    pub extractors: Option<Vec<Extractor>>,
}

impl TrackingOverrides {
    pub fn of(c: &tenant_channel::Model) -> Self {
        TrackingOverrides {
            auto_create_clients: c.auto_create_clients,
            default_region: c.default_region.clone(),
            known_sender_check: c.known_sender_check.map(Into::into),
            extractors: Extractor::list(c.extractors.as_ref()),
        }
    }
}

/// The tenant's tracking controls to change; fields left out are kept.
#[derive(InputObject)]
pub struct TrackingInput {
    pub auto_create_clients: Option<bool>,
    pub known_sender_check: Option<KnownSenderCheck>,
    /// The extractors that run; null switches all of them on.
    pub extractors: MaybeUndefined<Vec<Extractor>>,
}

/// A channel's overrides to change: a field left out is kept, null follows the tenant.
#[derive(InputObject)]
pub struct ChannelTrackingInput {
    pub auto_create_clients: MaybeUndefined<bool>,
    pub default_region: MaybeUndefined<String>,
    pub known_sender_check: MaybeUndefined<KnownSenderCheck>,
    pub extractors: MaybeUndefined<Vec<Extractor>>,
}

fn change<T, U>(value: MaybeUndefined<T>, map: impl FnOnce(T) -> U) -> Option<Option<U>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(map(v))),
    }
}

#[derive(Default)]
pub struct TrackingMutation;

#[Object]
impl TrackingMutation {
    /// Changes the tenant's tracking controls (admins; audited with before/after).
    async fn update_tracking(
        &self,
        ctx: &Context<'_>,
        input: TrackingInput,
    ) -> ApiResult<Tracking> {
        let saved = tracking::update_tenant(
            domain(ctx),
            actor(ctx)?,
            tracking::TenantTracking {
                auto_create_clients: input.auto_create_clients,
                known_sender_check: input.known_sender_check.map(Into::into),
                extractors: change(input.extractors, Extractor::names),
            },
        )
        .await?;
        Ok(tracking::effective(&saved, None).into())
    }

    /// Changes one receiving channel's tracking overrides (admins; audited).
    async fn update_channel_tracking(
        &self,
        ctx: &Context<'_>,
        channel_id: ID,
        input: ChannelTrackingInput,
    ) -> ApiResult<TenantChannel> {
        let id = parse_id("channelId", &channel_id)?;
        let d = domain(ctx);
        let actor = actor(ctx)?;
        let saved = tracking::update_channel(
            d,
            actor,
            id,
            tracking::ChannelTracking {
                auto_create_clients: change(input.auto_create_clients, |v| v),
                default_region: change(input.default_region, |v| v),
                known_sender_check: change(input.known_sender_check, Into::into),
                extractors: change(input.extractors, Extractor::names),
            },
        )
        .await?;
        let tenant = tenants::get(&d.db, actor.tenant).await?;
        Ok(TenantChannel::new(saved, &tenant))
    }
}
