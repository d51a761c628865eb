//! Conversations and messages over GraphQL, and the `messageAdded` subscription.

use super::clients::types::{Client, connection};
use super::loaders::{ClientLoader, loader};
use super::{actor, domain, event_stream, parse_id};
use crate::error::{ApiError, ApiResult};
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, Enum, ID, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use clientele_domain::entities::{conversation as thread, message};
use clientele_domain::pagination::PageArgs;
use clientele_domain::{ClientId, DomainEvent, channels, clients, conversations};
use futures_util::Stream;

mirror_enum!(
    /// The channel a conversation happens on.
    ConversationChannel = thread::Channel { Email, Sms, Chat, Voice, Whatsapp, Telegram, Facebook, Zalo, Web }
);
mirror_enum!(ConversationStatus = thread::ConversationStatus { Active, Closed });
mirror_enum!(MessageDirection = message::Direction { Inbound, Outbound });
mirror_enum!(
    AuthorKind = message::AuthorKind {
        Customer,
        Ai,
        Agent,
        System
    }
);

/// One thread with one person on one channel.
pub struct Conversation(pub thread::Model);

#[Object]
impl Conversation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn channel(&self) -> ConversationChannel {
        self.0.channel.into()
    }
    /// The other side: E.164 phone, email, session or platform user id.
    async fn channel_identifier(&self) -> &str {
        &self.0.channel_identifier
    }
    /// Our side: the receiving number or inbox.
    async fn inbox(&self) -> Option<&str> {
        self.0.inbox.as_deref()
    }
    async fn status(&self) -> ConversationStatus {
        self.0.status.into()
    }
    async fn ai_guide(&self) -> Option<&str> {
        self.0.ai_guide.as_deref()
    }
    /// The name the sender gave the provider.
    async fn contact_name(&self) -> Option<&str> {
        self.0.contact_name.as_deref()
    }
    /// An admin's sensitivity override for this thread (null = as the client).
    async fn sensitivity_override(&self) -> Option<bool> {
        self.0.sensitivity_override
    }
    async fn last_message_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_message_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The linked client, once matched.
    async fn client(&self, ctx: &Context<'_>) -> ApiResult<Option<Client>> {
        let Some(id) = self.0.client_id else {
            return Ok(None);
        };
        let loader = loader::<ClientLoader>(ctx)?;
        Ok(loader.load_one(id).await?.map(Client))
    }
    /// Messages, oldest first (`last: 20` for the latest twenty).
    #[graphql(
        complexity = "first.or(last).unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, Message, EmptyFields, EmptyFields>> {
        let page = conversations::messages(
            domain(ctx),
            actor(ctx)?,
            self.0.id,
            &PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await?;
        Ok(connection(page.map(Message)))
    }
}

pub struct Message(pub message::Model);

#[Object]
impl Message {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn conversation_id(&self) -> ID {
        ID(self.0.conversation_id.to_string())
    }
    async fn direction(&self) -> MessageDirection {
        self.0.direction.into()
    }
    async fn author_kind(&self) -> AuthorKind {
        self.0.author_kind.into()
    }
    async fn author_id(&self) -> Option<&str> {
        self.0.author_id.as_deref()
    }
    /// Null once erased or purged.
    async fn body(&self) -> Option<&str> {
        self.0.body.as_deref()
    }
    async fn provider(&self) -> &str {
        &self.0.provider
    }
    async fn provider_message_id(&self) -> Option<&str> {
        self.0.provider_message_id.as_deref()
    }
    /// SMS segments (GSM-7 160/153, UCS-2 70/67 characters); null on other channels.
    async fn sms_segments(&self) -> Option<i32> {
        self.0.sms_segments
    }
    async fn sent_at(&self) -> DateTime<Utc> {
        self.0.sent_at
    }
}

/// A receiving number or inbox of the tenant, per provider (the secret is never shown).
#[derive(SimpleObject)]
pub struct TenantChannel {
    pub id: ID,
    /// `generic`, `telnyx`, `twilio`.
    pub provider: String,
    /// The receiving number (E.164) or inbox id.
    pub address: String,
    pub channel: ConversationChannel,
    pub created_at: DateTime<Utc>,
}

impl From<clientele_domain::entities::tenant_channel::Model> for TenantChannel {
    fn from(c: clientele_domain::entities::tenant_channel::Model) -> Self {
        TenantChannel {
            id: ID(c.id.to_string()),
            provider: c.provider,
            address: c.address,
            channel: c.channel.into(),
            created_at: c.created_at,
        }
    }
}

#[derive(Default)]
pub struct ConversationQuery;

#[Object]
impl ConversationQuery {
    /// The tenant's receiving numbers and inboxes (admins).
    async fn tenant_channels(&self, ctx: &Context<'_>) -> ApiResult<Vec<TenantChannel>> {
        let list = channels::list(domain(ctx), actor(ctx)?).await?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    async fn conversation(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Conversation>> {
        let id = parse_id("id", &id)?;
        Ok(Some(Conversation(
            conversations::get(domain(ctx), actor(ctx)?, id).await?,
        )))
    }
}

#[derive(Default)]
pub struct ConversationMutation;

#[Object]
impl ConversationMutation {
    /// Registers a receiving number or inbox for inbound webhooks (admins): `secret` is the
    /// provider's signing secret (generic HMAC secret, Twilio auth token) or public key
    /// (Telnyx, base64).
    async fn add_tenant_channel(
        &self,
        ctx: &Context<'_>,
        provider: String,
        address: String,
        channel: ConversationChannel,
        secret: String,
    ) -> ApiResult<TenantChannel> {
        let saved = channels::add(
            domain(ctx),
            actor(ctx)?,
            channels::NewChannel {
                provider,
                address,
                channel: channel.into(),
                secret: Some(secret),
            },
        )
        .await?;
        Ok(saved.into())
    }

    /// Starts a conversation with `to` on `channel` (phones are read in the tenant's region),
    /// or resumes the active one with that person if its last message is within 30 days.
    async fn start_conversation(
        &self,
        ctx: &Context<'_>,
        channel: ConversationChannel,
        to: String,
    ) -> ApiResult<Conversation> {
        Ok(Conversation(
            conversations::start(domain(ctx), actor(ctx)?, channel.into(), &to).await?,
        ))
    }

    /// Records an outbound message and hands it to the delivery service.
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        body: String,
        author_kind: Option<AuthorKind>,
    ) -> ApiResult<Message> {
        let id = parse_id("conversationId", &conversation_id)?;
        let kind = author_kind.unwrap_or(AuthorKind::Agent);
        Ok(Message(
            conversations::send(domain(ctx), actor(ctx)?, id, &body, kind.into()).await?,
        ))
    }

    /// Links a conversation to a client by hand.
    async fn link_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        client_id: ID,
    ) -> ApiResult<Conversation> {
        let id = parse_id("conversationId", &conversation_id)?;
        let client = ClientId(parse_id("clientId", &client_id)?);
        Ok(Conversation(
            conversations::link(domain(ctx), actor(ctx)?, id, client).await?,
        ))
    }
}

#[derive(Default)]
pub struct ConversationSubscription;

#[Subscription]
impl ConversationSubscription {
    /// Each new message of the caller's tenant; only those of one conversation or one client
    /// when given. A subscriber that falls too far behind receives `RATE_LIMITED` and the
    /// subscription ends.
    async fn message_added(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
        client_id: Option<ID>,
    ) -> Result<impl Stream<Item = ApiResult<Message>> + use<>, ApiError> {
        let actor = actor(ctx)?.clone();
        let domain = domain(ctx).clone();
        let conversation = conversation_id
            .as_ref()
            .map(|id| parse_id("conversationId", id))
            .transpose()?;
        let client = client_id
            .as_ref()
            .map(|id| parse_id("clientId", id))
            .transpose()?;
        if let Some(c) = conversation {
            conversations::get(&domain, &actor, c).await?;
        }
        let client = match client {
            Some(c) => Some(clients::get(&domain, &actor, ClientId(c)).await?.id),
            None => None,
        };
        let rx = domain.events.subscribe(actor.tenant);
        Ok(event_stream(rx, move |event| match event {
            DomainEvent::MessageAdded {
                conversation_id,
                client_id,
                message_id,
            } if conversation.is_none_or(|c| c == conversation_id)
                && client.is_none_or(|c| client_id.map(|x| x.0) == Some(c)) =>
            {
                let (domain, actor) = (domain.clone(), actor.clone());
                Some(async move {
                    Ok(Message(
                        conversations::message(&domain, &actor, message_id).await?,
                    ))
                })
            }
            _ => None,
        }))
    }
}
