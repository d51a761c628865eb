//! Conversations and messages over GraphQL, and the `messageAdded` subscription.

use super::clients::types::{Client, connection};
use super::loaders::{ClientLoader, loader};
use super::preferences::AutomationPolicy;
use super::{actor, domain, event_stream, parse_id};
use crate::error::{ApiError, ApiResult};
use async_graphql::connection::{Connection, ConnectionNameType, Edge, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
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
    /// Where the check "is this sender the client their identifier belongs to?" stands:
    /// `SUGGESTED` (see `suggestedClient`; not linked yet), `CONFIRMED` (linked), `REJECTED`
    /// (kept apart, and remembered).
    IdentityStatus = thread::IdentityStatus {
        Suggested,
        Confirmed,
        Rejected
    }
);
mirror_enum!(
    /// Where an inbound message is in extraction: `PENDING` until the extraction job ran,
    /// `DONE` after, `SKIPPED` for messages extraction does not read (outbound, erased).
    ExtractionState = message::ExtractionState {
        Pending,
        Done,
        Skipped,
        Failed
    }
);
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
    /// The sender's picture, when the platform supplied one.
    async fn contact_avatar_url(&self) -> Option<&str> {
        self.0.contact_avatar_url.as_deref()
    }
    /// The identity check of this thread; null when none applies (the sender was unknown,
    /// or the channel links known senders at once).
    async fn identity_status(&self) -> Option<IdentityStatus> {
        self.0.identity_status.map(Into::into)
    }
    /// The client the sender's identifier belongs to, while the thread waits for
    /// `confirmConversationIdentity` or `rejectConversationIdentity` ("is this Ada?").
    async fn suggested_client(&self, ctx: &Context<'_>) -> ApiResult<Option<Client>> {
        let (Some(thread::IdentityStatus::Suggested), Some(id)) =
            (self.0.identity_status, self.0.suggested_client_id)
        else {
            return Ok(None);
        };
        let loader = loader::<ClientLoader>(ctx)?;
        Ok(loader.load_one(id).await?.map(Client))
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
    /// The assistant assigned to this conversation; null when the channel's default answers
    /// (`assistantContext` names the assistant that answers either way).
    async fn assistant(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<super::assistants::Assistant>> {
        let assigned =
            clientele_domain::assistants::assigned(domain(ctx), actor(ctx)?, &self.0).await?;
        Ok(assigned.map(super::assistants::Assistant))
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
    /// When the tenant's retention policy purged the body (null while it is kept, and for a
    /// body erased by a data-protection request).
    async fn body_purged_at(&self) -> Option<DateTime<Utc>> {
        self.0.body_purged_at
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
    async fn extraction_state(&self) -> ExtractionState {
        self.0.extraction_state.into()
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
    /// The tracking controls in force for messages arriving here.
    pub tracking: super::tracking::Tracking,
    /// This channel's own values (null: the tenant's).
    pub tracking_overrides: super::tracking::TrackingOverrides,
}

impl TenantChannel {
    pub fn new(
        c: clientele_domain::entities::tenant_channel::Model,
        tenant: &clientele_domain::entities::tenant::Model,
    ) -> Self {
        TenantChannel {
            tracking: clientele_domain::tracking::effective(tenant, Some(&c)).into(),
            tracking_overrides: super::tracking::TrackingOverrides::of(&c),
            id: ID(c.id.to_string()),
            provider: c.provider,
            address: c.address,
            channel: c.channel.into(),
            created_at: c.created_at,
        }
    }
}

/// What the conversation list shows; everything is optional.
#[derive(InputObject, Default)]
pub struct ConversationFilter {
    /// The other side's identifier (phones in any format: "(416) 555-12" finds
    /// +14165551234), the contact name, or the linked client's name, email, phone or company.
    pub search: Option<String>,
    pub channels: Option<Vec<ConversationChannel>>,
    pub statuses: Option<Vec<ConversationStatus>>,
    /// Last activity (last message, or the start) at or after this instant.
    pub active_after: Option<DateTime<Utc>>,
    /// Last activity before this instant.
    pub active_before: Option<DateTime<Utc>>,
    /// Linked to a client (true) or waiting for one (false).
    pub has_client: Option<bool>,
}

impl From<ConversationFilter> for conversations::list::ConversationFilter {
    fn from(f: ConversationFilter) -> Self {
        conversations::list::ConversationFilter {
            search: f.search,
            channels: f
                .channels
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            statuses: f
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            active_after: f.active_after,
            active_before: f.active_before,
            has_client: f.has_client,
        }
    }
}

pub struct ConversationListInfo {
    filter: conversations::list::ConversationFilter,
}

#[Object]
impl ConversationListInfo {
    /// How many conversations match the filter, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<u64> {
        Ok(conversations::list::count(domain(ctx), actor(ctx)?, &self.filter).await?)
    }
}

/// The tenant-wide list is `ConversationList`; a client's conversations are a plain
/// `ConversationConnection`.
pub struct ConversationListName;

impl ConnectionNameType for ConversationListName {
    fn type_name<T: async_graphql::OutputType>() -> String {
        "ConversationList".into()
    }
}

pub type ConversationList =
    Connection<String, Conversation, ConversationListInfo, EmptyFields, ConversationListName>;

#[derive(Default)]
pub struct ConversationQuery;

#[Object]
impl ConversationQuery {
    /// The tenant's receiving numbers and inboxes (admins).
    async fn tenant_channels(&self, ctx: &Context<'_>) -> ApiResult<Vec<TenantChannel>> {
        let (d, actor) = (domain(ctx), actor(ctx)?);
        let list = channels::list(d, actor).await?;
        let tenant = clientele_domain::tenants::get(&d.db, actor.tenant).await?;
        Ok(list
            .into_iter()
            .map(|c| TenantChannel::new(c, &tenant))
            .collect())
    }

    async fn conversation(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Conversation>> {
        let id = parse_id("id", &id)?;
        Ok(Some(Conversation(
            conversations::get(domain(ctx), actor(ctx)?, id).await?,
        )))
    }

    /// The tenant's conversations, most recently active first; `first`/`last` between 1 and
    /// 100. The same filter as query parameters exports CSV: `GET /exports/conversations.csv`.
    #[graphql(
        complexity = "first.or(last).unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ConversationFilter>,
    ) -> ApiResult<ConversationList> {
        let filter: conversations::list::ConversationFilter = filter.unwrap_or_default().into();
        let page = conversations::list::list(
            domain(ctx),
            actor(ctx)?,
            &filter,
            &PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await?;
        let mut connection = Connection::with_additional_fields(
            page.has_previous_page,
            page.has_next_page,
            ConversationListInfo { filter },
        );
        connection.edges.extend(
            page.items
                .into_iter()
                .map(|(cursor, row)| Edge::new(cursor, Conversation(row))),
        );
        Ok(connection)
    }

    /// May automation answer this conversation at `at` (default: now)? The client's
    /// preferences and sensitivity with this thread's override, and the reasons.
    async fn conversation_policy(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        at: Option<DateTime<Utc>>,
    ) -> ApiResult<AutomationPolicy> {
        let id = parse_id("conversationId", &conversation_id)?;
        let decision = conversations::settings::policy(
            domain(ctx),
            actor(ctx)?,
            id,
            at.unwrap_or_else(Utc::now),
        )
        .await?;
        Ok(decision.into())
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
        let tenant = clientele_domain::tenants::get(&domain(ctx).db, actor(ctx)?.tenant).await?;
        Ok(TenantChannel::new(saved, &tenant))
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

    /// Closes or reopens a conversation (agents). A closed thread is not resumed: the next
    /// message from that person starts a new one.
    async fn set_conversation_status(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        status: ConversationStatus,
    ) -> ApiResult<Conversation> {
        let id = parse_id("conversationId", &conversation_id)?;
        Ok(Conversation(
            conversations::settings::set_status(domain(ctx), actor(ctx)?, id, status.into())
                .await?,
        ))
    }

    /// Sets the guide for the assistant answering this conversation; null or blank clears it
    /// (agents; at most 8,000 characters).
    async fn set_conversation_ai_guide(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        ai_guide: Option<String>,
    ) -> ApiResult<Conversation> {
        let id = parse_id("conversationId", &conversation_id)?;
        Ok(Conversation(
            conversations::settings::set_guide(domain(ctx), actor(ctx)?, id, ai_guide.as_deref())
                .await?,
        ))
    }

    /// Overrides the client's sensitivity for this conversation (admins; refusals are
    /// audited): false lets automation answer a sensitive client here, true treats the thread
    /// as sensitive, null follows the client again.
    async fn set_conversation_sensitivity_override(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        sensitivity_override: Option<bool>,
    ) -> ApiResult<Conversation> {
        let id = parse_id("conversationId", &conversation_id)?;
        Ok(Conversation(
            conversations::settings::set_sensitivity_override(
                domain(ctx),
                actor(ctx)?,
                id,
                sensitivity_override,
            )
            .await?,
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

    /// Confirms that the thread's sender is its suggested client (agents; the assistant
    /// service after asking "is this Ada?"): the thread is linked to the client.
    async fn confirm_conversation_identity(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
    ) -> ApiResult<Conversation> {
        let id = parse_id("conversationId", &conversation_id)?;
        Ok(Conversation(
            conversations::identity::confirm(domain(ctx), actor(ctx)?, id).await?,
        ))
    }

    /// Answers that the thread's sender is not its suggested client (agents; the assistant
    /// service): the thread stays apart, and that identifier is never suggested or linked
    /// automatically to that client again.
    async fn reject_conversation_identity(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
    ) -> ApiResult<Conversation> {
        let id = parse_id("conversationId", &conversation_id)?;
        Ok(Conversation(
            conversations::identity::reject(domain(ctx), actor(ctx)?, id).await?,
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
                    let cell = conversations::shared_message(actor.tenant, message_id);
                    let row = cell
                        .get_or_try_init(|| conversations::message(&domain, &actor, message_id))
                        .await?;
                    Ok(Message(row.clone()))
                })
            }
            _ => None,
        }))
    }
}
