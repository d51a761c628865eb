//! Assistants over GraphQL: managing them (admins), assigning one to a conversation (agents),
//! and `assistantContext`, the one read an external assistant service makes to answer a
//! conversation.

use super::clients::types::Client;
use super::conversations::{AuthorKind, Conversation, ConversationChannel, MessageDirection};
use super::preferences::PolicyReason;
use super::{actor, domain, parse_id};
use crate::error::ApiResult;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use clientele_domain::assistants::context;
use clientele_domain::assistants::names::{NameMissing, NameSource as DomainNameSource};
use clientele_domain::assistants::{self, AssistantPatch, ChosenBy, NewAssistant};
use clientele_domain::entities::conversation::Channel;
use clientele_domain::entities::{assistant, message};

/// An assistant the tenant defined (or Clientele created for a channel that had none).
pub struct Assistant(pub assistant::Model);

#[Object]
impl Assistant {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Unique within the tenant.
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn system_prompt(&self) -> &str {
        &self.0.system_prompt
    }
    /// The channels it serves; it can be assigned to, and be the default of, only these.
    async fn channels(&self) -> Vec<ConversationChannel> {
        channels_of(&self.0)
    }
    /// Clientele created it with sensible defaults because a channel had no assistant.
    async fn created_automatically(&self) -> bool {
        self.0.created_automatically
    }
    /// Archived assistants are never chosen.
    async fn archived(&self) -> bool {
        self.0.archived_at.is_some()
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

fn channels_of(a: &assistant::Model) -> Vec<ConversationChannel> {
    assistants::rules::served(a)
        .into_iter()
        .map(Into::into)
        .collect()
}

/// The assistant answering a channel's conversations when none is assigned.
pub struct AssistantDefault {
    channel: Channel,
    assistant: Option<assistant::Model>,
}

#[Object]
impl AssistantDefault {
    async fn channel(&self) -> ConversationChannel {
        self.channel.into()
    }
    async fn assistant(&self) -> Option<Assistant> {
        self.assistant.clone().map(Assistant)
    }
}

/// How the assistant answering a conversation was chosen.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AssistantChoice {
    /// Assigned to the conversation.
    Assigned,
    /// The tenant's default for the conversation's channel.
    ChannelDefault,
    /// Created by Clientele with sensible defaults because the channel had no assistant (it
    /// is the channel's default from then on).
    CreatedDefault,
}

impl From<ChosenBy> for AssistantChoice {
    fn from(c: ChosenBy) -> Self {
        match c {
            ChosenBy::Assigned => AssistantChoice::Assigned,
            ChosenBy::ChannelDefault => AssistantChoice::ChannelDefault,
            ChosenBy::CreatedDefault => AssistantChoice::CreatedDefault,
        }
    }
}

/// The assistant that answers a conversation, with its prompt.
#[derive(SimpleObject)]
pub struct ContextAssistant {
    pub id: ID,
    pub name: String,
    pub prompt: String,
    pub chosen_by: AssistantChoice,
}

/// One message as the assistant reads it.
#[derive(SimpleObject)]
pub struct ContextMessage {
    pub id: ID,
    pub direction: MessageDirection,
    pub author_kind: AuthorKind,
    /// Null once erased.
    pub body: Option<String>,
    pub sent_at: DateTime<Utc>,
}

impl From<message::Model> for ContextMessage {
    fn from(m: message::Model) -> Self {
        ContextMessage {
            id: ID(m.id.to_string()),
            direction: m.direction.into(),
            author_kind: m.author_kind.into(),
            body: m.body,
            sent_at: m.sent_at,
        }
    }
}

/// How the client's name is known.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum NameSource {
    /// Extraction created the client from this person's own messages ("my name is ...").
    Extracted,
    /// A client staff entered or imported, linked by hand (or found through an email in the
    /// text).
    LinkedClient,
    /// The sender's phone number belongs to the client.
    MatchedByPhone,
    /// The sender's email, chat session or platform id belongs to the client.
    MatchedByIdentifier,
}

impl From<DomainNameSource> for NameSource {
    fn from(s: DomainNameSource) -> Self {
        match s {
            DomainNameSource::Extracted => NameSource::Extracted,
            DomainNameSource::LinkedClient => NameSource::LinkedClient,
            DomainNameSource::MatchedByPhone => NameSource::MatchedByPhone,
            DomainNameSource::MatchedByIdentifier => NameSource::MatchedByIdentifier,
        }
    }
}

/// The client's name and how it is known.
#[derive(SimpleObject)]
pub struct ClientName {
    pub first: Option<String>,
    pub last: Option<String>,
    pub full: Option<String>,
    pub source: NameSource,
    /// False while the client is only a suggested match for the sender.
    pub confirmed: bool,
}

/// The conversation's client as the assistant needs it.
#[derive(SimpleObject)]
pub struct ContextClient {
    pub id: ID,
    pub name: ClientName,
    pub sensitive: bool,
    pub contractor: bool,
    /// The full client record.
    pub record: Client,
}

/// The client the sender's identifier belongs to, waiting for confirmation: the assistant may
/// ask "is this Ada?" (then `confirmConversationIdentity` or `rejectConversationIdentity`).
#[derive(SimpleObject)]
pub struct SuggestedIdentity {
    pub id: ID,
    pub first_name: Option<String>,
}

/// Why the assistant should ask for the person's name.
#[derive(SimpleObject)]
pub struct NameMissingReason {
    /// `UNKNOWN_SENDER` (no client yet) or `NO_NAME_ON_RECORD`.
    pub code: String,
    pub message: String,
}

impl From<NameMissing> for NameMissingReason {
    fn from(m: NameMissing) -> Self {
        NameMissingReason {
            code: m.code().to_string(),
            message: m.message().to_string(),
        }
    }
}

/// Another conversation of the same client.
#[derive(SimpleObject)]
pub struct OtherChannel {
    pub conversation_id: ID,
    pub channel: ConversationChannel,
    pub channel_identifier: String,
    pub last_message_at: Option<DateTime<Utc>>,
    pub ai_guide: Option<String>,
    /// Its latest messages, oldest first.
    pub messages: Vec<ContextMessage>,
}

/// The automation policy for this conversation, now.
#[derive(SimpleObject)]
pub struct AssistantPolicy {
    pub may_auto_send: bool,
    pub may_contact_now: bool,
    /// The client asked for human review or never to receive automatic messages.
    pub human_review_required: bool,
    /// The conversation counts as sensitive (client or thread override).
    pub sensitive: bool,
    pub contact_window_open: bool,
    /// When a contact window next opens (null when one is open or none are set).
    pub next_window_opens_at: Option<DateTime<Utc>>,
    /// Do not answer: hand the conversation to an agent (contractors).
    pub route_to_agent: bool,
    /// Why the conversation goes to an agent (`CONTRACTOR`).
    pub route_reasons: Vec<PolicyReason>,
    /// Every reason of the decision (see `AutomationPolicy`).
    pub reasons: Vec<PolicyReason>,
}

impl From<context::AssistantPolicy> for AssistantPolicy {
    fn from(p: context::AssistantPolicy) -> Self {
        AssistantPolicy {
            may_auto_send: p.decision.may_auto_send,
            may_contact_now: p.decision.may_contact_now,
            human_review_required: p.human_review_required,
            sensitive: p.sensitive,
            contact_window_open: p.contact_window_open,
            next_window_opens_at: p.decision.next_window_opens_at,
            route_to_agent: p.route_to_agent,
            route_reasons: p.route_reasons.into_iter().map(Into::into).collect(),
            reasons: p.decision.reasons.into_iter().map(Into::into).collect(),
        }
    }
}

/// What an assistant needs to answer one conversation.
#[derive(SimpleObject)]
pub struct AssistantContext {
    pub conversation_id: ID,
    pub channel: ConversationChannel,
    pub channel_identifier: String,
    /// The name the sender gave the provider, if any (not verified).
    pub contact_name: Option<String>,
    pub conversation: Conversation,
    /// The latest messages (20 unless asked), oldest first.
    pub messages: Vec<ContextMessage>,
    /// Staff guidance for this conversation.
    pub ai_guide: Option<String>,
    pub assistant: ContextAssistant,
    /// The linked client; while an identity check waits, the suggested client with
    /// `name.confirmed: false` (and `suggestedClient` set). Null while the sender is unknown.
    pub client: Option<ContextClient>,
    /// Set while the sender's identifier suggests a client nobody confirmed yet.
    pub suggested_client: Option<SuggestedIdentity>,
    /// True when no first name is known: the assistant should ask for it.
    pub name_missing: bool,
    pub name_missing_reason: Option<NameMissingReason>,
    /// The first name to greet with: set only when known and, when an identity check
    /// applies, confirmed.
    pub address_as: Option<String>,
    /// The same client's other conversations, newest first (at most 5, 3 messages each);
    /// empty while the identity is only suggested.
    pub other_channels: Vec<OtherChannel>,
    pub policy: AssistantPolicy,
}

impl From<context::AssistantContext> for AssistantContext {
    fn from(c: context::AssistantContext) -> Self {
        let thread = c.conversation;
        let suggested_client = c.suggested.map(|s| SuggestedIdentity {
            id: ID(s.id.to_string()),
            first_name: s.first_name,
        });
        let client = match (c.client, c.name.name) {
            (Some(client), Some(name)) => Some(ContextClient {
                id: ID(client.id.to_string()),
                name: ClientName {
                    first: name.first,
                    last: name.last,
                    full: name.full,
                    source: name.source.into(),
                    confirmed: name.confirmed,
                },
                sensitive: client.sensitive,
                contractor: client.contractor,
                record: Client(client),
            }),
            _ => None,
        };
        AssistantContext {
            conversation_id: ID(thread.id.to_string()),
            channel: thread.channel.into(),
            channel_identifier: thread.channel_identifier.clone(),
            contact_name: thread.contact_name.clone(),
            ai_guide: thread.ai_guide.clone(),
            messages: c.messages.into_iter().map(Into::into).collect(),
            assistant: ContextAssistant {
                id: ID(c.assistant.assistant.id.to_string()),
                name: c.assistant.assistant.name,
                prompt: c.assistant.assistant.system_prompt,
                chosen_by: c.assistant.by.into(),
            },
            client,
            suggested_client,
            name_missing: c.name.missing.is_some(),
            name_missing_reason: c.name.missing.map(Into::into),
            address_as: c.name.address_as,
            other_channels: c
                .other_channels
                .into_iter()
                .map(|o| OtherChannel {
                    conversation_id: ID(o.conversation.id.to_string()),
                    channel: o.conversation.channel.into(),
                    channel_identifier: o.conversation.channel_identifier,
                    last_message_at: o.conversation.last_message_at,
                    ai_guide: o.conversation.ai_guide,
                    messages: o.messages.into_iter().map(Into::into).collect(),
                })
                .collect(),
            policy: c.policy.into(),
            conversation: Conversation(thread),
        }
    }
}

#[derive(InputObject)]
pub struct CreateAssistantInput {
    pub name: String,
    pub system_prompt: String,
    /// At least one.
    pub channels: Vec<ConversationChannel>,
}

/// Changes to an assistant; omitted fields stay as they are.
#[derive(InputObject, Default)]
pub struct UpdateAssistantInput {
    pub name: Option<String>,
    pub system_prompt: Option<String>,
    /// Channels it no longer serves lose it as their default.
    pub channels: Option<Vec<ConversationChannel>>,
    /// True archives (never chosen again, channel defaults dropped); false restores.
    pub archived: Option<bool>,
}

fn to_channels(channels: Vec<ConversationChannel>) -> Vec<Channel> {
    channels.into_iter().map(Into::into).collect()
}

#[derive(Default)]
pub struct AssistantQuery;

#[Object]
impl AssistantQuery {
    /// The tenant's assistants by name; archived ones with `includeArchived`.
    async fn assistants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] include_archived: bool,
    ) -> ApiResult<Vec<Assistant>> {
        let rows = assistants::list(domain(ctx), actor(ctx)?, include_archived).await?;
        Ok(rows.into_iter().map(Assistant).collect())
    }

    async fn assistant(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Assistant> {
        let id = parse_id("id", &id)?;
        Ok(Assistant(
            assistants::get(domain(ctx), actor(ctx)?, id).await?,
        ))
    }

    /// The default assistant per channel (channels without one are not listed).
    async fn assistant_defaults(&self, ctx: &Context<'_>) -> ApiResult<Vec<AssistantDefault>> {
        let d = domain(ctx);
        let actor = actor(ctx)?;
        let all = assistants::list(d, actor, true).await?;
        Ok(assistants::defaults(d, actor)
            .await?
            .into_iter()
            .map(|row| AssistantDefault {
                channel: row.channel,
                assistant: all.iter().find(|a| a.id == row.assistant_id).cloned(),
            })
            .collect())
    }

    /// Everything an assistant needs to answer a conversation: the latest `messages` (1 to
    /// 100, oldest first), the AI guide, the chosen assistant and its prompt, the client's
    /// name and how it is known (or that it is missing), the client's other channels and the
    /// automation policy. Agents (the assistant service) and viewers may read it.
    async fn assistant_context(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        #[graphql(default = 20)] messages: Option<i32>,
    ) -> ApiResult<AssistantContext> {
        let id = parse_id("conversationId", &conversation_id)?;
        let c = context::assemble(domain(ctx), actor(ctx)?, id, messages).await?;
        Ok(c.into())
    }
}

#[derive(Default)]
pub struct AssistantMutation;

#[Object]
impl AssistantMutation {
    /// Defines an assistant (admins).
    async fn create_assistant(
        &self,
        ctx: &Context<'_>,
        input: CreateAssistantInput,
    ) -> ApiResult<Assistant> {
        let saved = assistants::create(
            domain(ctx),
            actor(ctx)?,
            &NewAssistant {
                name: input.name,
                system_prompt: input.system_prompt,
                channels: to_channels(input.channels),
            },
        )
        .await?;
        Ok(Assistant(saved))
    }

    /// Changes an assistant (admins).
    async fn update_assistant(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateAssistantInput,
    ) -> ApiResult<Assistant> {
        let id = parse_id("id", &id)?;
        let saved = assistants::update(
            domain(ctx),
            actor(ctx)?,
            id,
            &AssistantPatch {
                name: input.name,
                system_prompt: input.system_prompt,
                channels: input.channels.map(to_channels),
                archived: input.archived,
            },
        )
        .await?;
        Ok(Assistant(saved))
    }

    /// Deletes an assistant (admins); conversations it was assigned to fall back to their
    /// channel's default. Returns the deleted id.
    async fn delete_assistant(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        let uuid = parse_id("id", &id)?;
        assistants::delete(domain(ctx), actor(ctx)?, uuid).await?;
        Ok(id)
    }

    /// Makes an assistant the default for a channel, or with a null `assistantId` removes the
    /// channel's default (admins). The assistant must serve the channel.
    async fn set_default_assistant(
        &self,
        ctx: &Context<'_>,
        channel: ConversationChannel,
        assistant_id: Option<ID>,
    ) -> ApiResult<AssistantDefault> {
        let id = assistant_id
            .as_ref()
            .map(|id| parse_id("assistantId", id))
            .transpose()?;
        let channel: Channel = channel.into();
        let assistant = assistants::set_default(domain(ctx), actor(ctx)?, channel, id).await?;
        Ok(AssistantDefault { channel, assistant })
    }

    /// Assigns an assistant to a conversation (agents). It must serve the conversation's
    /// channel and not be archived (else `BAD_USER_INPUT` on `assistantId`).
    async fn assign_assistant(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        assistant_id: ID,
    ) -> ApiResult<Conversation> {
        let conversation = parse_id("conversationId", &conversation_id)?;
        let assistant = parse_id("assistantId", &assistant_id)?;
        let saved = assistants::assign(domain(ctx), actor(ctx)?, conversation, assistant).await?;
        Ok(Conversation(saved))
    }

    /// Removes a conversation's assistant (agents): the channel's default answers again.
    async fn unassign_assistant(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
    ) -> ApiResult<Conversation> {
        let conversation = parse_id("conversationId", &conversation_id)?;
        let saved = assistants::unassign(domain(ctx), actor(ctx)?, conversation).await?;
        Ok(Conversation(saved))
    }
}
