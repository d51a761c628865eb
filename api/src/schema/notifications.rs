//! Notifications over GraphQL: the live `notificationRaised` subscription (every staff role),
//! outbound webhook endpoints and their deliveries, and notification rules (admins manage).

use super::clients::types::{PurchaseIntent, connection};
use super::{actor, domain, event_stream, parse_id};
use crate::error::{ApiError, ApiResult};
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{
    Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use clientele_domain::entities::{
    notification, notification_rule, webhook_delivery, webhook_endpoint,
};
use clientele_domain::notifications::endpoints::{self, EndpointInput, EndpointPatch};
use clientele_domain::notifications::rules::{self, RuleInput};
use clientele_domain::notifications::{self, Kind};
use clientele_domain::pagination::PageArgs;
use clientele_domain::{DomainEvent, Role};
use futures_util::Stream;

/// What a notification reports. Webhook bodies carry the same as `type`, in dotted form
/// (`client.intent_reached`, `message.keyword_matched`, `message.needs_human`,
/// `client.updated`).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum NotificationKind {
    /// A client's purchase intent reached an alerting level (default `READY_TO_BUY`).
    ClientIntentReached,
    /// An inbound message contains a keyword rule's phrase.
    MessageKeywordMatched,
    /// An inbound message must be answered by a person (sensitive client or thread, human
    /// review required, contractor).
    MessageNeedsHuman,
    /// Client fields changed (`data.fields`). Raised only for webhook endpoints that ask
    /// for it; live screens follow `clientChanged`.
    ClientUpdated,
}

impl From<NotificationKind> for Kind {
    fn from(k: NotificationKind) -> Kind {
        match k {
            NotificationKind::ClientIntentReached => Kind::IntentReached,
            NotificationKind::MessageKeywordMatched => Kind::KeywordMatched,
            NotificationKind::MessageNeedsHuman => Kind::NeedsHuman,
            NotificationKind::ClientUpdated => Kind::ClientUpdated,
        }
    }
}

impl From<Kind> for NotificationKind {
    fn from(k: Kind) -> NotificationKind {
        match k {
            Kind::IntentReached => NotificationKind::ClientIntentReached,
            Kind::KeywordMatched => NotificationKind::MessageKeywordMatched,
            Kind::NeedsHuman => NotificationKind::MessageNeedsHuman,
            Kind::ClientUpdated => NotificationKind::ClientUpdated,
        }
    }
}

fn kind_names(kinds: Option<Vec<NotificationKind>>) -> Option<Vec<String>> {
    kinds.map(|k| {
        k.into_iter()
            .map(|k| Kind::from(k).as_str().to_string())
            .collect()
    })
}

mirror_enum!(
    /// `PENDING`: waiting for its first or next attempt (`nextAttemptAt`). `FAILED`: attempts
    /// ran out or the endpoint is gone; `redeliverWebhook` starts over.
    WebhookDeliveryStatus = webhook_delivery::DeliveryStatus {
        Pending,
        Delivered,
        Failed
    }
);
mirror_enum!(NotificationRuleKind = notification_rule::RuleKind { Keyword, Intent });

/// Something staff should know about.
pub struct Notification(notification::Model);

#[Object]
impl Notification {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> Option<NotificationKind> {
        Kind::parse(&self.0.kind).map(Into::into)
    }
    async fn client_id(&self) -> Option<ID> {
        self.0.client_id.map(|id| ID(id.to_string()))
    }
    async fn conversation_id(&self) -> Option<ID> {
        self.0.conversation_id.map(|id| ID(id.to_string()))
    }
    async fn message_id(&self) -> Option<ID> {
        self.0.message_id.map(|id| ID(id.to_string()))
    }
    /// What happened (the `data` of the webhook body): e.g. `level`, `phrase`, `reasons`,
    /// `fields`.
    async fn data(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Where notifications are POSTed, signed (`Clientele-Signature`). The secret is shown only
/// when the endpoint is created or its secret rotated.
pub struct WebhookEndpoint(webhook_endpoint::Model);

#[Object]
impl WebhookEndpoint {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Kinds sent; empty: every kind.
    async fn event_kinds(&self) -> Vec<NotificationKind> {
        self.0
            .event_kinds
            .0
            .iter()
            .filter_map(|k| Kind::parse(k).map(Into::into))
            .collect()
    }
    /// `CLIENT_UPDATED` only when one of these client fields changed; empty: any.
    async fn client_fields(&self) -> &[String] {
        &self.0.client_fields.0
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Why the endpoint was switched off automatically (the receiver answered 410 Gone).
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Deliveries to this endpoint, newest first.
    #[graphql(
        complexity = "first.or(last).unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        status: Option<WebhookDeliveryStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, WebhookDelivery, EmptyFields, EmptyFields>> {
        let page = endpoints::deliveries(
            domain(ctx),
            actor(ctx)?,
            self.0.id,
            status.map(Into::into),
            &PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await?;
        Ok(connection(page.map(WebhookDelivery)))
    }
}

/// One notification sent to one endpoint.
pub struct WebhookDelivery(webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    /// Sent as `Clientele-Delivery` (the same on every attempt).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn endpoint_id(&self) -> ID {
        ID(self.0.endpoint_id.to_string())
    }
    async fn notification_id(&self) -> ID {
        ID(self.0.notification_id.to_string())
    }
    async fn notification(&self, ctx: &Context<'_>) -> ApiResult<Notification> {
        Ok(Notification(
            notifications::get(domain(ctx), actor(ctx)?, self.0.notification_id).await?,
        ))
    }
    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.status.into()
    }
    /// Attempts started so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// HTTP status of the receiver's last answer.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    /// When the next attempt is due (pending deliveries).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        match self.0.status {
            webhook_delivery::DeliveryStatus::Pending => self.0.next_attempt_at,
            _ => None,
        }
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// An endpoint with its signing secret: returned once, on creation and rotation.
#[derive(SimpleObject)]
pub struct WebhookEndpointWithSecret {
    pub endpoint: WebhookEndpoint,
    /// Verify `Clientele-Signature` with it; it is not shown again.
    pub secret: String,
}

/// What raises a notification besides the built-in events.
pub struct NotificationRule(notification_rule::Model);

#[Object]
impl NotificationRule {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> NotificationRuleKind {
        self.0.kind.into()
    }
    /// Keyword rules: phrases matched as whole words, case and punctuation ignored.
    async fn phrases(&self) -> &[String] {
        &self.0.phrases.0
    }
    /// Intent rules: reaching this level alerts.
    async fn intent_level(&self) -> Option<PurchaseIntent> {
        self.0.intent_level.map(Into::into)
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// Absolute http(s) URL.
    pub url: String,
    pub description: Option<String>,
    /// Kinds to send; empty or absent: every kind.
    pub event_kinds: Option<Vec<NotificationKind>>,
    /// Send `CLIENT_UPDATED` only when one of these fields changed (e.g. `status`,
    /// `funnelStage`); empty or absent: any.
    pub client_fields: Option<Vec<String>>,
    #[graphql(default = true)]
    pub active: bool,
}

#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    pub url: Option<String>,
    pub description: MaybeUndefined<String>,
    pub event_kinds: Option<Vec<NotificationKind>>,
    pub client_fields: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// A keyword rule (`phrases`) or an intent rule (`intentLevel`), never both.
#[derive(InputObject)]
pub struct NotificationRuleInput {
    pub name: String,
    pub phrases: Option<Vec<String>>,
    pub intent_level: Option<PurchaseIntent>,
    #[graphql(default = true)]
    pub active: bool,
}

impl From<NotificationRuleInput> for RuleInput {
    fn from(i: NotificationRuleInput) -> RuleInput {
        RuleInput {
            name: i.name,
            phrases: i.phrases.unwrap_or_default(),
            intent_level: i.intent_level.map(Into::into),
            active: i.active,
        }
    }
}

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// The tenant's webhook endpoints (admins).
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> ApiResult<Vec<WebhookEndpoint>> {
        Ok(endpoints::list(domain(ctx), actor(ctx)?)
            .await?
            .into_iter()
            .map(WebhookEndpoint)
            .collect())
    }

    async fn webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> ApiResult<WebhookEndpoint> {
        let id = parse_id("id", &id)?;
        Ok(WebhookEndpoint(
            endpoints::get(domain(ctx), actor(ctx)?, id).await?,
        ))
    }

    /// One endpoint's deliveries, newest first, optionally in one status (admins).
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "first.or(last).unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        status: Option<WebhookDeliveryStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, WebhookDelivery, EmptyFields, EmptyFields>> {
        let endpoint = parse_id("endpointId", &endpoint_id)?;
        let page = endpoints::deliveries(
            domain(ctx),
            actor(ctx)?,
            endpoint,
            status.map(Into::into),
            &PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await?;
        Ok(connection(page.map(WebhookDelivery)))
    }

    /// The tenant's notifications, newest first, optionally only some kinds (every staff
    /// role): load these, then follow `notificationRaised`.
    #[graphql(
        complexity = "first.or(last).unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        kinds: Option<Vec<NotificationKind>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, Notification, EmptyFields, EmptyFields>> {
        let kinds: Vec<Kind> = kinds
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let page = notifications::list(
            domain(ctx),
            actor(ctx)?,
            &kinds,
            &PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await?;
        Ok(connection(page.map(Notification)))
    }

    /// The tenant's notification rules (every staff role may read them).
    async fn notification_rules(&self, ctx: &Context<'_>) -> ApiResult<Vec<NotificationRule>> {
        Ok(rules::list(domain(ctx), actor(ctx)?)
            .await?
            .into_iter()
            .map(NotificationRule)
            .collect())
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Registers a webhook endpoint (admins). The answer carries the signing secret, shown
    /// this once.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> ApiResult<WebhookEndpointWithSecret> {
        let (endpoint, secret) = endpoints::create(
            domain(ctx),
            actor(ctx)?,
            EndpointInput {
                url: input.url,
                description: input.description,
                event_kinds: kind_names(input.event_kinds).unwrap_or_default(),
                client_fields: input.client_fields.unwrap_or_default(),
                active: input.active,
            },
        )
        .await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// Changes an endpoint (admins); absent fields are kept.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookEndpointInput,
    ) -> ApiResult<WebhookEndpoint> {
        let id = parse_id("id", &id)?;
        let description = match input.description {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => Some(Some(v)),
        };
        Ok(WebhookEndpoint(
            endpoints::update(
                domain(ctx),
                actor(ctx)?,
                id,
                EndpointPatch {
                    url: input.url,
                    description,
                    event_kinds: kind_names(input.event_kinds),
                    client_fields: input.client_fields,
                    active: input.active,
                },
            )
            .await?,
        ))
    }

    /// Deletes an endpoint and its deliveries (admins).
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let id = parse_id("id", &id)?;
        endpoints::delete(domain(ctx), actor(ctx)?, id).await?;
        Ok(true)
    }

    /// Replaces an endpoint's signing secret (admins); the new one is shown this once.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> ApiResult<WebhookEndpointWithSecret> {
        let id = parse_id("id", &id)?;
        let (endpoint, secret) = endpoints::rotate_secret(domain(ctx), actor(ctx)?, id).await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// Sends a delivery again from the start of its retry schedule (admins).
    async fn redeliver_webhook(&self, ctx: &Context<'_>, id: ID) -> ApiResult<WebhookDelivery> {
        let id = parse_id("id", &id)?;
        Ok(WebhookDelivery(
            endpoints::redeliver(domain(ctx), actor(ctx)?, id).await?,
        ))
    }

    async fn create_notification_rule(
        &self,
        ctx: &Context<'_>,
        input: NotificationRuleInput,
    ) -> ApiResult<NotificationRule> {
        Ok(NotificationRule(
            rules::create(domain(ctx), actor(ctx)?, input.into()).await?,
        ))
    }

    /// Replaces a rule (admins).
    async fn update_notification_rule(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: NotificationRuleInput,
    ) -> ApiResult<NotificationRule> {
        let id = parse_id("id", &id)?;
        Ok(NotificationRule(
            rules::update(domain(ctx), actor(ctx)?, id, input.into()).await?,
        ))
    }

    async fn delete_notification_rule(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let id = parse_id("id", &id)?;
        rules::delete(domain(ctx), actor(ctx)?, id).await?;
        Ok(true)
    }
}

#[derive(Default)]
pub struct NotificationSubscription;

#[Subscription]
impl NotificationSubscription {
    /// Notifications of the caller's tenant as they are raised (every staff role); only the
    /// given kinds, or all.
    async fn notification_raised(
        &self,
        ctx: &Context<'_>,
        kinds: Option<Vec<NotificationKind>>,
    ) -> Result<impl Stream<Item = ApiResult<Notification>> + use<>, ApiError> {
        let actor = actor(ctx)?.clone();
        actor.require(Role::Viewer)?;
        let domain = domain(ctx).clone();
        let only = kind_names(kinds).filter(|k| !k.is_empty());
        let rx = domain.events.subscribe(actor.tenant);
        Ok(event_stream(rx, move |event| match event {
            DomainEvent::NotificationRaised {
                notification_id,
                notification_kind,
            } if only.as_ref().is_none_or(|k| k.contains(&notification_kind)) => {
                let (domain, actor) = (domain.clone(), actor.clone());
                Some(async move {
                    notifications::get(&domain, &actor, notification_id)
                        .await
                        .map(Notification)
                        .map_err(ApiError::from)
                })
            }
            _ => None,
        }))
    }
}
