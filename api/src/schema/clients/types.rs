//! GraphQL output types of the client record.

use crate::error::ApiResult;
use crate::schema::loaders::{
    IdentityLoader, MeetingLoader, NoteLoader, PreferencesLoader, SurveyLoader, loader,
};
use crate::schema::{actor, domain};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{ComplexObject, Context, Enum, ID, Json, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use clientele_domain::ClientId;
use clientele_domain::clients::fields;
use clientele_domain::entities::client::{self as entity};
use clientele_domain::entities::{
    client_identity, client_note, meeting, survey_response, timeline_event,
};
use clientele_domain::pagination::{Page, PageArgs};
use clientele_domain::timeline;

mirror_enum!(
    /// Where a client record came from.
    ClientSource = entity::ClientSource { Manual, Extracted, Import, Crm }
);
mirror_enum!(
    /// How close a client is to buying.
    PurchaseIntent = entity::PurchaseIntent { Browsing, Comparing, ReadyToBuy }
);
mirror_enum!(
    SaleStatus = entity::SaleStatus {
        None,
        Pending,
        Signed,
        Sold
    }
);
mirror_enum!(
    /// Who answers this client: the assistant, nobody for now, or a human agent.
    BotStatus = entity::BotStatus { Active, Paused, Agent }
);
mirror_enum!(
    IdentityKind = client_identity::IdentityKind {
        Email,
        Phone,
        ChatSession,
        PlatformUser
    }
);
mirror_enum!(
    TimelineKind = timeline_event::TimelineKind {
        Created,
        Updated,
        StatusChanged,
        IntentChanged,
        FunnelStageChanged,
        SaleStatusChanged,
        SensitivityChanged,
        PreferencesChanged,
        IdentityAdded,
        IdentityRemoved,
        NoteAdded,
        NoteEdited,
        NoteDeleted,
        Meeting,
        Survey,
        Deleted,
        Restored,
        Erased,
        Merged,
        Imported,
        ConversationStarted,
        Message,
        ConversationUpdated,
        CrmSynced,
        IdentitySuggested,
        IdentityConfirmed,
        IdentityRejected,
    }
);
mirror_enum!(
    ActorKind = timeline_event::ActorKind {
        User,
        Ai,
        System,
        Crm
    }
);

/// A person the business talks to: one deduplicated record.
pub struct Client(pub entity::Model);

#[Object]
impl Client {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    /// "First Last", or the email, phone or company when there is no name.
    async fn display_name(&self) -> String {
        fields::display_name(&self.0)
    }
    /// Primary email, lower case.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Primary phone in E.164 (`+14165551234`).
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// The person's picture, when a platform supplied one.
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }
    async fn company(&self) -> Option<&str> {
        self.0.company.as_deref()
    }
    async fn street(&self) -> Option<&str> {
        self.0.street.as_deref()
    }
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    async fn state(&self) -> Option<&str> {
        self.0.state.as_deref()
    }
    async fn zip(&self) -> Option<&str> {
        self.0.zip.as_deref()
    }
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }
    async fn date_of_birth(&self) -> Option<NaiveDate> {
        self.0.date_of_birth
    }
    /// Free-text notes field of the record (see `notes` for authored notes).
    async fn notes_text(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Custom metadata (a JSON object).
    async fn metadata(&self) -> Json<serde_json::Value> {
        Json(serde_json::Value::Object(self.0.metadata.0.clone()))
    }
    /// The id this person has in another system.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn source(&self) -> ClientSource {
        self.0.source.into()
    }
    /// One of the tenant's statuses.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn purchase_intent(&self) -> Option<PurchaseIntent> {
        self.0.purchase_intent.map(Into::into)
    }
    async fn interests(&self) -> &[String] {
        &self.0.interests.0
    }
    /// At most five.
    async fn traits(&self) -> &[String] {
        &self.0.traits.0
    }
    async fn needs(&self) -> &[String] {
        &self.0.needs.0
    }
    async fn sale_status(&self) -> SaleStatus {
        self.0.sale_status.into()
    }
    /// One of the tenant's funnel stages.
    async fn funnel_stage(&self) -> Option<&str> {
        self.0.funnel_stage.as_deref()
    }
    async fn bot_status(&self) -> BotStatus {
        self.0.bot_status.into()
    }
    async fn sentiment(&self) -> Option<&str> {
        self.0.sentiment.as_deref()
    }
    /// Set by admins; a sensitive client's threads are never answered automatically.
    async fn sensitive(&self) -> bool {
        self.0.sensitive
    }
    /// Excluded from analytics.
    async fn mystery_shopper(&self) -> bool {
        self.0.mystery_shopper
    }
    /// Routed to a human agent.
    async fn contractor(&self) -> bool {
        self.0.contractor
    }
    /// Per-client custom configuration (a JSON object).
    async fn custom_config(&self) -> Json<serde_json::Value> {
        Json(serde_json::Value::Object(self.0.custom_config.0.clone()))
    }
    async fn first_seen_at(&self) -> Option<DateTime<Utc>> {
        self.0.first_seen_at
    }
    async fn last_active_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_active_at
    }
    /// Bumped on every change; pass it back as `expectedVersion` to update safely.
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Set while the client is soft-deleted (restorable).
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
    /// Set when the person's data was erased; the record is an anonymised tombstone.
    async fn erased_at(&self) -> Option<DateTime<Utc>> {
        self.0.erased_at
    }

    /// Emails, phones, chat sessions and platform ids, primary first.
    async fn identities(&self, ctx: &Context<'_>) -> ApiResult<Vec<Identity>> {
        let loader = loader::<IdentityLoader>(ctx)?;
        Ok(loader
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Identity)
            .collect())
    }

    /// Authored notes, newest first.
    async fn notes(&self, ctx: &Context<'_>) -> ApiResult<Vec<Note>> {
        let loader = loader::<NoteLoader>(ctx)?;
        Ok(loader
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Note)
            .collect())
    }

    /// Meetings, latest first.
    async fn meetings(&self, ctx: &Context<'_>) -> ApiResult<Vec<Meeting>> {
        let loader = loader::<MeetingLoader>(ctx)?;
        let list = loader.load_one(self.0.id).await?.unwrap_or_default();
        Ok(list.into_iter().map(Meeting).collect())
    }

    async fn survey_responses(&self, ctx: &Context<'_>) -> ApiResult<Vec<SurveyResponse>> {
        let loader = loader::<SurveyLoader>(ctx)?;
        let list = loader.load_one(self.0.id).await?.unwrap_or_default();
        Ok(list.into_iter().map(SurveyResponse).collect())
    }

    /// Communication preferences (any channel, any time when none are set).
    async fn preferences(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<crate::schema::preferences::Preferences> {
        let loader = loader::<PreferencesLoader>(ctx)?;
        Ok(loader.load_one(self.0.id).await?.unwrap_or_default().into())
    }

    /// The client's conversations on every channel, most recent first.
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
    ) -> ApiResult<
        Connection<String, crate::schema::conversations::Conversation, EmptyFields, EmptyFields>,
    > {
        let page = clientele_domain::conversations::of_client(
            domain(ctx),
            actor(ctx)?,
            ClientId(self.0.id),
            &PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await?;
        Ok(connection(
            page.map(crate::schema::conversations::Conversation),
        ))
    }

    /// The client's record in each CRM connection: remote id, the version the CRM
    /// confirmed, the CRM's last error.
    async fn crm_links(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::schema::crm::CrmLink>> {
        crate::schema::crm::links_of(ctx, ClientId(self.0.id)).await
    }

    /// Everything that happened to this client, newest first.
    #[graphql(
        complexity = "first.or(last).unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        kinds: Option<Vec<TimelineKind>>,
    ) -> ApiResult<Connection<String, TimelineEvent, EmptyFields, EmptyFields>> {
        let kinds: Vec<timeline_event::TimelineKind> = kinds
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let page = timeline::list(
            domain(ctx),
            actor(ctx)?,
            ClientId(self.0.id),
            &kinds,
            &PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await?;
        Ok(connection(page.map(TimelineEvent)))
    }

    /// Every funnel-stage change, oldest first, with who made it.
    async fn funnel_history(&self, ctx: &Context<'_>) -> ApiResult<Vec<TimelineEvent>> {
        let events =
            timeline::funnel_history(domain(ctx), actor(ctx)?, ClientId(self.0.id)).await?;
        Ok(events.into_iter().map(TimelineEvent).collect())
    }
}

/// A Relay connection from a domain page.
pub fn connection<T: async_graphql::OutputType>(
    page: Page<T>,
) -> Connection<String, T, EmptyFields, EmptyFields> {
    let mut c = Connection::new(page.has_previous_page, page.has_next_page);
    c.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, node)| Edge::new(cursor, node)),
    );
    c
}

/// How a client is reached or recognised on a channel.
pub struct Identity(pub client_identity::Model);

#[Object]
impl Identity {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> IdentityKind {
        self.0.kind.into()
    }
    /// `web`, `telegram`, `whatsapp`...; null for emails and phones.
    async fn platform(&self) -> Option<&str> {
        (!self.0.platform.is_empty()).then_some(self.0.platform.as_str())
    }
    /// Normalised: lower-case email, E.164 phone, the platform's id.
    async fn value(&self) -> &str {
        &self.0.value
    }
    async fn primary(&self) -> bool {
        self.0.is_primary
    }
    async fn verified(&self) -> bool {
        self.0.verified
    }
    async fn source(&self) -> &str {
        &self.0.source
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct Note(pub client_note::Model);

#[Object]
impl Note {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn author_id(&self) -> &str {
        &self.0.author_id
    }
    async fn author_name(&self) -> &str {
        &self.0.author_name
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct Meeting(pub meeting::Model);

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum MeetingState {
    Scheduled,
    Past,
}

#[Object]
impl Meeting {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.ends_at
    }
    async fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Scheduled until it starts, past afterwards.
    async fn state(&self) -> MeetingState {
        if self.0.starts_at > Utc::now() {
            MeetingState::Scheduled
        } else {
            MeetingState::Past
        }
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
}

pub struct SurveyResponse(pub survey_response::Model);

#[Object]
impl SurveyResponse {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn survey(&self) -> &str {
        &self.0.survey
    }
    async fn score(&self) -> Option<i32> {
        self.0.score
    }
    /// Question -> answer.
    async fn answers(&self) -> Json<serde_json::Value> {
        Json(self.0.answers.clone())
    }
    async fn submitted_at(&self) -> DateTime<Utc> {
        self.0.submitted_at
    }
}

pub struct TimelineEvent(pub timeline_event::Model);

#[Object]
impl TimelineEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> TimelineKind {
        self.0.kind.into()
    }
    async fn actor_kind(&self) -> ActorKind {
        self.0.actor_kind.into()
    }
    async fn actor_id(&self) -> Option<&str> {
        self.0.actor_id.as_deref()
    }
    async fn actor_name(&self) -> Option<&str> {
        self.0.actor_name.as_deref()
    }
    /// What changed, e.g. `{"field": "status", "before": "new", "after": "qualified"}`.
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
}

/// Counts for a dashboard; mystery shoppers and deleted clients are left out.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ClientStats {
    pub total: u64,
    /// Created since the start of this month in the tenant's time zone.
    pub new_this_month: u64,
    #[graphql(skip)]
    pub inner: clientele_domain::clients::ClientStats,
}

#[derive(SimpleObject)]
pub struct CountBy {
    /// The platform, intent or status; null for "none".
    pub key: Option<String>,
    pub count: u64,
}

#[ComplexObject]
impl ClientStats {
    async fn by_platform(&self) -> Vec<CountBy> {
        self.inner
            .by_platform
            .iter()
            .map(|(k, n)| CountBy {
                key: Some(k.clone()),
                count: *n,
            })
            .collect()
    }
    async fn by_intent(&self) -> Vec<CountBy> {
        self.inner
            .by_intent
            .iter()
            .map(|(k, n)| CountBy {
                key: k.clone(),
                count: *n,
            })
            .collect()
    }
    async fn by_status(&self) -> Vec<CountBy> {
        self.inner
            .by_status
            .iter()
            .map(|(k, n)| CountBy {
                key: Some(k.clone()),
                count: *n,
            })
            .collect()
    }
}
