//! Usage for billing and the retention policy over GraphQL: thin resolvers over
//! `domain::usage` and `domain::retention`.

use super::conversations::ConversationChannel;
use super::{actor, domain};
use crate::error::ApiResult;
use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use clientele_domain::{retention, usage};

/// Messages of one channel in one month.
#[derive(SimpleObject)]
pub struct ChannelUsage {
    pub channel: ConversationChannel,
    /// Inbound messages stored this month.
    pub messages_in: i64,
    /// Outbound messages (agents, assistants, system) stored this month.
    pub messages_out: i64,
    /// SMS segments of this channel's messages (0 on channels other than SMS).
    pub sms_segments: i64,
}

/// A tenant's usage in one calendar month of its time zone.
#[derive(SimpleObject)]
pub struct Usage {
    /// `YYYY-MM`.
    pub month: String,
    /// The month's first instant in the tenant's time zone.
    pub starts_at: DateTime<Utc>,
    /// The next month's first instant (exclusive end).
    pub ends_at: DateTime<Utc>,
    /// Channels with messages this month.
    pub channels: Vec<ChannelUsage>,
    pub messages_in: i64,
    pub messages_out: i64,
    pub sms_segments: i64,
    /// Clients the extraction job created from messages this month (kept when retention
    /// later removes them).
    pub clients_created_by_extraction: i64,
    /// HTTP requests CRM sync runs started this month sent to the CRM.
    pub crm_api_calls: i64,
}

fn n(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl From<usage::MonthUsage> for Usage {
    fn from(u: usage::MonthUsage) -> Self {
        Usage {
            month: u.month,
            starts_at: u.starts_at,
            ends_at: u.ends_at,
            channels: u
                .channels
                .into_iter()
                .map(|c| ChannelUsage {
                    channel: c.channel.into(),
                    messages_in: n(c.messages_in),
                    messages_out: n(c.messages_out),
                    sms_segments: n(c.sms_segments),
                })
                .collect(),
            messages_in: n(u.messages_in),
            messages_out: n(u.messages_out),
            sms_segments: n(u.sms_segments),
            clients_created_by_extraction: n(u.clients_created_by_extraction),
            crm_api_calls: n(u.crm_api_calls),
        }
    }
}

/// How long the tenant keeps message bodies and deleted clients; null = forever.
#[derive(SimpleObject)]
pub struct RetentionPolicy {
    /// Message bodies older than this many days are purged daily (the message stays, its
    /// `body` null and `bodyPurgedAt` set).
    pub message_body_days: Option<i32>,
    /// Clients deleted more than this many days ago are removed for good, with their notes,
    /// identities, preferences, meetings, surveys and timeline.
    pub deleted_client_days: Option<i32>,
    /// Null while the default (keep everything) applies.
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

impl From<retention::Policy> for RetentionPolicy {
    fn from(p: retention::Policy) -> Self {
        RetentionPolicy {
            message_body_days: p.message_body_days,
            deleted_client_days: p.deleted_client_days,
            updated_at: p.updated_at,
            updated_by: p.updated_by,
        }
    }
}

/// A whole policy: a null (or absent) field keeps that data forever.
#[derive(InputObject)]
pub struct RetentionPolicyInput {
    /// At least 1.
    pub message_body_days: Option<i32>,
    /// At least 1.
    pub deleted_client_days: Option<i32>,
}

/// What one retention run purged.
#[derive(SimpleObject)]
pub struct RetentionRun {
    pub message_bodies: i64,
    pub clients: i64,
    /// Bodies of messages stored before this instant were purged (null: bodies kept).
    pub message_bodies_older_than: Option<DateTime<Utc>>,
    /// Clients deleted before this instant were removed (null: deleted clients kept).
    pub clients_deleted_before: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct UsageQuery;

#[Object]
impl UsageQuery {
    /// The tenant's usage in one month (`YYYY-MM`, the tenant's time zone) (agents, admins).
    async fn usage(&self, ctx: &Context<'_>, month: String) -> ApiResult<Usage> {
        Ok(usage::month(domain(ctx), actor(ctx)?, &month).await?.into())
    }

    /// Usage of each month from `from` to `to` (`YYYY-MM`, both included, at most 24)
    /// (agents, admins).
    async fn usage_months(
        &self,
        ctx: &Context<'_>,
        from: String,
        to: String,
    ) -> ApiResult<Vec<Usage>> {
        let months = usage::months(domain(ctx), actor(ctx)?, &from, &to).await?;
        Ok(months.into_iter().map(Usage::from).collect())
    }

    /// The tenant's retention policy (everyone may read it; admins change it).
    async fn retention_policy(&self, ctx: &Context<'_>) -> ApiResult<RetentionPolicy> {
        Ok(retention::policy(domain(ctx), actor(ctx)?).await?.into())
    }
}

#[derive(Default)]
pub struct UsageMutation;

#[Object]
impl UsageMutation {
    /// Replaces the retention policy (admins; refusals are audited). Purges run daily.
    async fn set_retention_policy(
        &self,
        ctx: &Context<'_>,
        input: RetentionPolicyInput,
    ) -> ApiResult<RetentionPolicy> {
        let input = retention::PolicyInput {
            message_body_days: input.message_body_days,
            deleted_client_days: input.deleted_client_days,
        };
        Ok(retention::set_policy(domain(ctx), actor(ctx)?, input)
            .await?
            .into())
    }

    /// Applies the retention policy now, in this request (admins; audited as
    /// `retention.purge` with the counts).
    async fn run_retention_now(&self, ctx: &Context<'_>) -> ApiResult<RetentionRun> {
        let r = retention::run_now(domain(ctx), actor(ctx)?).await?;
        Ok(RetentionRun {
            message_bodies: n(r.message_bodies),
            clients: n(r.clients),
            message_bodies_older_than: r.message_bodies_older_than,
            clients_deleted_before: r.clients_deleted_before,
        })
    }
}
