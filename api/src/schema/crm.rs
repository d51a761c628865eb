//! CRM connections over GraphQL (admins): connect, settings, pause, disconnect, test,
//! trigger a sync, sync runs and their live updates; and each client's link per connection.

use super::clients::types::connection;
use super::{actor, domain, event_stream, parse_id};
use crate::error::{ApiError, ApiResult};
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use clientele_domain::crm::{self, ConnectionSettings, NewConnection};
use clientele_domain::entities::{crm_connection, crm_link, sync_run};
use clientele_domain::pagination::PageArgs;
use clientele_domain::{DomainEvent, Role};
use futures_util::Stream;

mirror_enum!(
    /// `PENDING_AUTHORIZATION`: waiting for the admin's consent at the provider (open
    /// `authorizationUrl`). `NEEDS_REAUTHORIZATION`: the CRM refused the stored credentials
    /// (see `lastError`); jobs stop until an admin calls `reauthorizeCrmConnection`.
    CrmConnectionStatus = crm_connection::ConnectionStatus {
        PendingAuthorization,
        Active,
        Paused,
        NeedsReauthorization,
        Disconnected
    }
);
mirror_enum!(
    /// What a connection syncs: Clientele to the CRM, the CRM to Clientele, or both.
    SyncDirection = crm_connection::SyncDirection { Push, Pull, Both }
);
mirror_enum!(
    SyncKind = sync_run::SyncKind {
        Push,
        Pull,
        Activities
    }
);
mirror_enum!(
    /// `PARTIAL`: finished, but the CRM refused some records (see each client's `crmLinks`).
    SyncRunStatus = sync_run::RunStatus {
        Running,
        Succeeded,
        Partial,
        Failed
    }
);

/// A CRM provider Clientele can connect to.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum CrmProvider {
    Salesforce,
    Hubspot,
    #[graphql(name = "DYNAMICS365")]
    Dynamics365,
}

impl CrmProvider {
    fn name(self) -> &'static str {
        match self {
            CrmProvider::Salesforce => "salesforce",
            CrmProvider::Hubspot => "hubspot",
            CrmProvider::Dynamics365 => "dynamics365",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            CrmProvider::Salesforce,
            CrmProvider::Hubspot,
            CrmProvider::Dynamics365,
        ]
        .into_iter()
        .find(|p| p.name() == name)
    }
}

/// One tenant's connection to a CRM account. Secrets never leave the server.
pub struct CrmConnection(crm_connection::Model);

#[Object]
impl CrmConnection {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn provider(&self) -> Option<CrmProvider> {
        CrmProvider::from_name(&self.0.provider)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn status(&self) -> CrmConnectionStatus {
        self.0.status.into()
    }
    /// Why the connection needs attention.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn client_id(&self) -> &str {
        &self.0.client_id
    }
    async fn api_base_url(&self) -> Option<&str> {
        self.0.api_base_url.as_deref()
    }
    async fn direction(&self) -> SyncDirection {
        self.0.direction.into()
    }
    /// New clients are pushed as soon as they are saved.
    async fn push_immediately(&self) -> bool {
        self.0.push_immediately
    }
    /// Cron expression (UTC) of scheduled push + pull; null: on demand only.
    async fn schedule(&self) -> Option<&str> {
        self.0.schedule.as_deref()
    }
    /// Mapped client fields (`firstName`, `lastName`, `email`, `phone`, `company`, `street`,
    /// `city`, `state`, `zip`, `country`, `status`).
    async fn fields(&self) -> &[String] {
        &self.0.fields.0
    }
    async fn external_id_field(&self) -> Option<&str> {
        self.0.external_id_field.as_deref()
    }
    /// Conversation summaries are logged on the CRM contact.
    async fn log_activities(&self) -> bool {
        self.0.log_activities
    }
    async fn last_synced_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_synced_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Sync runs, newest first.
    #[graphql(
        complexity = "first.or(last).unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, SyncRun, EmptyFields, EmptyFields>> {
        let page = crm::runs(
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
        Ok(connection(page.map(SyncRun)))
    }
}

/// One push, pull or activity run.
pub struct SyncRun(sync_run::Model);

#[Object]
impl SyncRun {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn connection_id(&self) -> ID {
        ID(self.0.connection_id.to_string())
    }
    async fn kind(&self) -> SyncKind {
        self.0.kind.into()
    }
    async fn status(&self) -> SyncRunStatus {
        self.0.status.into()
    }
    /// Records the CRM confirmed (push) or that were applied (pull).
    async fn pushed(&self) -> i32 {
        self.0.pushed
    }
    async fn pulled(&self) -> i32 {
        self.0.pulled
    }
    /// Conversation summaries logged.
    async fn logged(&self) -> i32 {
        self.0.logged
    }
    /// Records refused by the CRM or skipped on pull.
    async fn failed(&self) -> i32 {
        self.0.failed
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// HTTP requests the run sent to the CRM (retries and token refreshes included); summed
    /// per month in `usage`.
    async fn api_calls(&self) -> i32 {
        self.0.api_calls
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// Milliseconds from start to finish (null while running).
    async fn duration_ms(&self) -> Option<i64> {
        self.0
            .finished_at
            .map(|f| (f - self.0.started_at).num_milliseconds())
    }
}

/// A client's record in one CRM connection.
pub struct CrmLink(crm_link::Model);

#[Object]
impl CrmLink {
    async fn connection_id(&self) -> ID {
        ID(self.0.connection_id.to_string())
    }
    /// The CRM's id of the record.
    async fn remote_id(&self) -> Option<&str> {
        self.0.remote_id.as_deref()
    }
    /// The client version the CRM has confirmed; below the client's `version` means a push
    /// is pending.
    async fn synced_version(&self) -> i64 {
        self.0.synced_version
    }
    async fn last_synced_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_synced_at
    }
    /// The CRM's message when it refused the record.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When the CRM reported the record deleted (it is not pushed again).
    async fn remote_deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.remote_deleted_at
    }
}

/// A client's links, for `Client.crmLinks`.
pub(crate) async fn links_of(
    ctx: &Context<'_>,
    client: clientele_domain::ClientId,
) -> ApiResult<Vec<CrmLink>> {
    Ok(crm::links_of(domain(ctx), actor(ctx)?, client)
        .await?
        .into_iter()
        .map(CrmLink)
        .collect())
}

/// Settings of a connection; omitted fields keep their value.
#[derive(InputObject, Default)]
pub struct CrmSettingsInput {
    pub name: Option<String>,
    pub direction: Option<SyncDirection>,
    pub push_immediately: Option<bool>,
    /// Cron expression in UTC (`*/15 * * * *`); an empty string removes the schedule.
    pub schedule: Option<String>,
    /// Mapped client fields; an empty list maps every field.
    pub fields: Option<Vec<String>>,
    /// Salesforce / Dynamics field holding Clientele's id; an empty string removes it.
    pub external_id_field: Option<String>,
    pub log_activities: Option<bool>,
}

impl From<CrmSettingsInput> for ConnectionSettings {
    fn from(i: CrmSettingsInput) -> Self {
        ConnectionSettings {
            name: i.name,
            direction: i.direction.map(Into::into),
            push_immediately: i.push_immediately,
            schedule: i.schedule,
            fields: i.fields,
            external_id_field: i.external_id_field,
            log_activities: i.log_activities,
        }
    }
}

/// A new connection. Base URLs default to the provider's; override them for sandboxes.
#[derive(InputObject)]
pub struct ConnectCrmInput {
    pub provider: CrmProvider,
    pub client_id: String,
    pub client_secret: String,
    /// API base (Dynamics 365: the organisation URL, required).
    pub api_base_url: Option<String>,
    pub token_url: Option<String>,
    pub auth_url: Option<String>,
    /// Dynamics 365: the Azure AD tenant of the client-credentials grant.
    pub azure_tenant: Option<String>,
    #[graphql(default)]
    pub scopes: Vec<String>,
    #[graphql(default)]
    pub settings: CrmSettingsInput,
}

/// A connection and, for OAuth providers, where the admin consents.
#[derive(SimpleObject)]
pub struct ConnectCrmPayload {
    pub connection: CrmConnection,
    /// Open it in a browser; the provider redirects to `/oauth/callback`, which activates
    /// the connection. Null for client-credential providers (Dynamics 365), already active.
    pub authorization_url: Option<String>,
}

impl From<crm::Connected> for ConnectCrmPayload {
    fn from(c: crm::Connected) -> Self {
        ConnectCrmPayload {
            connection: CrmConnection(c.connection),
            authorization_url: c.authorization_url,
        }
    }
}

#[derive(SimpleObject)]
pub struct CrmTestResult {
    pub ok: bool,
    pub message: String,
}

#[derive(SimpleObject)]
pub struct TriggerSyncPayload {
    /// The queued job (see `job(id)`); null when the same sync was already waiting.
    pub job_id: Option<ID>,
}

#[derive(Default)]
pub struct CrmQuery;

#[Object]
impl CrmQuery {
    /// The tenant's CRM connections (admins).
    async fn crm_connections(&self, ctx: &Context<'_>) -> ApiResult<Vec<CrmConnection>> {
        Ok(crm::list(domain(ctx), actor(ctx)?)
            .await?
            .into_iter()
            .map(CrmConnection)
            .collect())
    }

    async fn crm_connection(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CrmConnection> {
        let id = parse_id("id", &id)?;
        Ok(CrmConnection(crm::get(domain(ctx), actor(ctx)?, id).await?))
    }

    async fn sync_run(&self, ctx: &Context<'_>, id: ID) -> ApiResult<SyncRun> {
        let id = parse_id("id", &id)?;
        Ok(SyncRun(crm::run(domain(ctx), actor(ctx)?, id).await?))
    }
}

#[derive(Default)]
pub struct CrmMutation;

#[Object]
impl CrmMutation {
    /// Connects a CRM (admins).
    async fn connect_crm(
        &self,
        ctx: &Context<'_>,
        input: ConnectCrmInput,
    ) -> ApiResult<ConnectCrmPayload> {
        let new = NewConnection {
            provider: input.provider.name().to_owned(),
            name: None,
            client_id: input.client_id,
            client_secret: input.client_secret,
            api_base_url: input.api_base_url,
            token_url: input.token_url,
            auth_url: input.auth_url,
            azure_tenant: input.azure_tenant,
            scopes: input.scopes,
            settings: input.settings.into(),
        };
        Ok(crm::connect(domain(ctx), actor(ctx)?, new).await?.into())
    }

    /// Starts authorization again (revoked token, new secret, failed consent) (admins).
    async fn reauthorize_crm_connection(
        &self,
        ctx: &Context<'_>,
        id: ID,
        client_secret: Option<String>,
    ) -> ApiResult<ConnectCrmPayload> {
        let id = parse_id("id", &id)?;
        Ok(
            crm::reauthorize(domain(ctx), actor(ctx)?, id, client_secret)
                .await?
                .into(),
        )
    }

    async fn update_crm_connection(
        &self,
        ctx: &Context<'_>,
        id: ID,
        settings: CrmSettingsInput,
    ) -> ApiResult<CrmConnection> {
        let id = parse_id("id", &id)?;
        Ok(CrmConnection(
            crm::update(domain(ctx), actor(ctx)?, id, settings.into()).await?,
        ))
    }

    async fn pause_crm_connection(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CrmConnection> {
        let id = parse_id("id", &id)?;
        Ok(CrmConnection(
            crm::set_paused(domain(ctx), actor(ctx)?, id, true).await?,
        ))
    }

    async fn resume_crm_connection(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CrmConnection> {
        let id = parse_id("id", &id)?;
        Ok(CrmConnection(
            crm::set_paused(domain(ctx), actor(ctx)?, id, false).await?,
        ))
    }

    /// Wipes the connection's secrets and stops syncing; history stays (admins).
    async fn disconnect_crm(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CrmConnection> {
        let id = parse_id("id", &id)?;
        Ok(CrmConnection(
            crm::disconnect(domain(ctx), actor(ctx)?, id).await?,
        ))
    }

    /// Checks that the CRM accepts the stored credentials (admins).
    async fn test_crm_connection(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CrmTestResult> {
        let id = parse_id("id", &id)?;
        let outcome = crm::test(domain(ctx), actor(ctx)?, id).await?;
        Ok(CrmTestResult {
            ok: outcome.ok,
            message: outcome.message,
        })
    }

    /// Queues a sync now (admins); follow it with `syncRunUpdated`.
    async fn trigger_sync(
        &self,
        ctx: &Context<'_>,
        connection_id: ID,
        kind: SyncKind,
    ) -> ApiResult<TriggerSyncPayload> {
        let id = parse_id("connectionId", &connection_id)?;
        let job = crm::trigger(domain(ctx), actor(ctx)?, id, kind.into()).await?;
        Ok(TriggerSyncPayload {
            job_id: job.map(ID),
        })
    }
}

#[derive(Default)]
pub struct CrmSubscription;

#[Subscription]
impl CrmSubscription {
    /// Sync runs as they start, progress and finish (admins); one connection's, or all.
    async fn sync_run_updated(
        &self,
        ctx: &Context<'_>,
        connection_id: Option<ID>,
    ) -> Result<impl Stream<Item = ApiResult<SyncRun>> + use<>, ApiError> {
        let actor = actor(ctx)?.clone();
        actor.require(Role::Admin)?;
        let domain = domain(ctx).clone();
        let only = match connection_id {
            Some(id) => {
                let id = parse_id("connectionId", &id)?;
                crm::get(&domain, &actor, id).await?;
                Some(id)
            }
            None => None,
        };
        let rx = domain.events.subscribe(actor.tenant);
        Ok(event_stream(rx, move |event| match event {
            DomainEvent::SyncRunUpdated {
                connection_id,
                run_id,
            } if only.is_none_or(|c| c == connection_id) => {
                let (domain, actor) = (domain.clone(), actor.clone());
                Some(async move {
                    crm::run(&domain, &actor, run_id)
                        .await
                        .map(SyncRun)
                        .map_err(ApiError::from)
                })
            }
            _ => None,
        }))
    }
}
