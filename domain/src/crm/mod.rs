//! CRM connections of a tenant: connect (OAuth2 code + PKCE, or client credentials), settings,
//! pause, disconnect, test, and the sync runs and client links admins look at. The sync itself
//! lives in [`sync`]; the neutral mapping and the pull rule in [`mapping`].
//!
//! Secrets (client secret, tokens, the PKCE verifier of an authorization in progress) are
//! sealed with AES-256-GCM under the installation's CRM key, with the tenant and connection
//! id as associated data: a ciphertext copied to another row does not open. The key comes
//! from `CLIENTELE_CRM_KEY`, else one is generated on first use and kept in the database.

pub mod mapping;
pub mod sync;

use crate::entities::crm_connection::{self, ConnectionStatus, SyncDirection};
use crate::entities::json::StringList;
use crate::entities::sync_run::{self, SyncKind};
use crate::entities::{client, crm_link};
use crate::pagination::{Cursor, Ordering, Page, PageArgs, SortKey};
use crate::{Actor, ClientId, Domain, DomainError, DomainEvent, DomainResult, TenantId, audit};
use clientele_connectors::{
    AuthGrant, ConnectionConfig, CrmConnector, HttpPolicy, Pkce, Provider, SecretBox, Tokens,
    credential_aad,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::str::FromStr;
use std::sync::Arc;
use tokio::sync::OnceCell;
use url::Url;
use uuid::Uuid;

/// How this installation talks to CRMs.
#[derive(Clone)]
pub struct CrmSettings {
    /// Base64 AES-256 key sealing connection secrets (`None`: kept in the database).
    pub key: Option<String>,
    /// Timeouts, retries and backoff of every CRM call.
    pub http: HttpPolicy,
    /// Where providers send the admin back after consent (`{public URL}/oauth/callback`).
    pub redirect_uri: String,
    sealer: Arc<OnceCell<Arc<SecretBox>>>,
}

impl CrmSettings {
    pub fn new(key: Option<String>, http: HttpPolicy, redirect_uri: String) -> Self {
        Self {
            key,
            http,
            redirect_uri,
            sealer: Arc::new(OnceCell::new()),
        }
    }
}

impl Default for CrmSettings {
    fn default() -> Self {
        Self::new(
            None,
            HttpPolicy::default(),
            "http://127.0.0.1:8080/oauth/callback".into(),
        )
    }
}

const KEY_SETTING: &str = "crm_secret_key";

pub(crate) async fn sealer(d: &Domain) -> DomainResult<Arc<SecretBox>> {
    d.crm
        .sealer
        .get_or_try_init(|| async {
            let key = match &d.crm.key {
                Some(key) => key.clone(),
                None => {
                    crate::instance::get_or_create(&d.db, KEY_SETTING, SecretBox::generate_key)
                        .await?
                }
            };
            SecretBox::from_base64_key(&key)
                .map(Arc::new)
                .map_err(|e| DomainError::invalid("crm_key", e.to_string()))
        })
        .await
        .cloned()
}

/// What is sealed in `secrets_enc`.
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct Secrets {
    pub client_secret: String,
    #[serde(default)]
    pub tokens: Option<Tokens>,
    #[serde(default)]
    pub pkce_verifier: Option<String>,
}

fn aad(row: &crm_connection::Model) -> Vec<u8> {
    credential_aad(&row.tenant_id.to_string(), &row.id.to_string())
}

async fn seal(d: &Domain, row: &crm_connection::Model, secrets: &Secrets) -> DomainResult<String> {
    let plain = serde_json::to_string(secrets).map_err(|e| DomainError::Conflict(e.to_string()))?;
    sealer(d)
        .await?
        .encrypt_str(&plain, &aad(row))
        .map_err(|e| DomainError::Conflict(format!("cannot seal connection secrets: {e}")))
}

pub(crate) async fn open_secrets(d: &Domain, row: &crm_connection::Model) -> DomainResult<Secrets> {
    let sealed = row
        .secrets_enc
        .as_deref()
        .ok_or_else(|| DomainError::invalid("connection", "has no credentials; reconnect it"))?;
    let plain = sealer(d).await?.decrypt_str(sealed, &aad(row)).map_err(|_| {
        DomainError::invalid(
            "connection",
            "its credentials cannot be decrypted (another CRM key, or not this connection's); reconnect it",
        )
    })?;
    serde_json::from_str(&plain).map_err(|_| {
        DomainError::invalid(
            "connection",
            "its stored credentials are unreadable; reconnect it",
        )
    })
}

/// A new connection as an admin describes it.
#[derive(Clone, Debug, Default)]
pub struct NewConnection {
    pub provider: String,
    pub name: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    pub api_base_url: Option<String>,
    pub token_url: Option<String>,
    pub auth_url: Option<String>,
    /// Dynamics 365: the Azure AD tenant (id or domain).
    pub azure_tenant: Option<String>,
    pub scopes: Vec<String>,
    pub settings: ConnectionSettings,
}

/// Settings an admin may change at any time. `None` keeps the current value; a new
/// connection starts from push + pull, push-immediately on, every field, activities on.
#[derive(Clone, Debug, Default)]
pub struct ConnectionSettings {
    pub name: Option<String>,
    pub direction: Option<SyncDirection>,
    pub push_immediately: Option<bool>,
    /// A cron expression (UTC); an empty string removes the schedule.
    pub schedule: Option<String>,
    /// Mapped fields; an empty list maps every field.
    pub fields: Option<Vec<String>>,
    /// Salesforce / Dynamics upsert key field; an empty string removes it.
    pub external_id_field: Option<String>,
    pub log_activities: Option<bool>,
}

/// A connection and, for OAuth providers, the URL the admin opens to consent.
#[derive(Clone, Debug)]
pub struct Connected {
    pub connection: crm_connection::Model,
    pub authorization_url: Option<String>,
}

fn parse_provider(input: &str) -> DomainResult<Provider> {
    let wanted = input.trim().to_lowercase();
    Provider::ALL
        .into_iter()
        .find(|p| p.name() == wanted || (wanted == "dynamics" && *p == Provider::Dynamics365))
        .ok_or_else(|| {
            let known: Vec<&str> = Provider::ALL.into_iter().map(Provider::name).collect();
            DomainError::invalid(
                "provider",
                format!("unknown provider `{input}`; known: {}", known.join(", ")),
            )
        })
}

pub(crate) fn provider_of(row: &crm_connection::Model) -> DomainResult<Provider> {
    parse_provider(&row.provider)
}

fn url_setting(field: &str, value: Option<&str>) -> DomainResult<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let url =
        Url::parse(value).map_err(|e| DomainError::invalid(field, format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(DomainError::invalid(
            field,
            "must be an http(s) URL with a host",
        ));
    }
    Ok(Some(url.to_string()))
}

/// Accepts the 5-field cron form (`min hour dom mon dow`) and the `cron` crate's 6/7-field
/// form, as the job runtime reads them.
pub fn validate_schedule(expr: &str) -> DomainResult<()> {
    let trimmed = expr.trim();
    let full = if trimmed.split_whitespace().count() == 5 {
        format!("0 {trimmed}")
    } else {
        trimmed.to_owned()
    };
    cron::Schedule::from_str(&full)
        .map(|_| ())
        .map_err(|e| DomainError::invalid("schedule", format!("is not a cron expression: {e}")))
}

fn required(field: &str, value: &str, max: usize) -> DomainResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Applies settings onto a row, validating each (errors name the input field).
fn apply_settings(
    row: &mut crm_connection::Model,
    settings: ConnectionSettings,
) -> DomainResult<()> {
    if let Some(name) = settings.name {
        row.name = required("name", &name, 120)?;
    }
    if let Some(direction) = settings.direction {
        row.direction = direction;
    }
    if let Some(on) = settings.push_immediately {
        row.push_immediately = on;
    }
    if let Some(schedule) = settings.schedule {
        let schedule = schedule.trim();
        row.schedule = if schedule.is_empty() {
            None
        } else {
            validate_schedule(schedule)?;
            Some(schedule.to_owned())
        };
    }
    if let Some(fields) = settings.fields {
        let parsed = mapping::parse_fields("fields", &fields)?;
        row.fields = StringList(
            parsed
                .into_iter()
                .map(|f| mapping::field_name(f).to_owned())
                .collect(),
        );
    }
    if let Some(field) = settings.external_id_field {
        let field = field.trim();
        if field.len() > 100 || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(DomainError::invalid(
                "externalIdField",
                "is an API field name (letters, digits, underscores)",
            ));
        }
        row.external_id_field = (!field.is_empty()).then(|| field.to_owned());
    }
    if let Some(on) = settings.log_activities {
        row.log_activities = on;
    }
    Ok(())
}

/// The connector of a stored connection, with its decrypted secrets.
pub(crate) async fn connector_for(
    d: &Domain,
    row: &crm_connection::Model,
) -> DomainResult<(Box<dyn CrmConnector>, Secrets)> {
    let secrets = open_secrets(d, row).await?;
    let mut config =
        ConnectionConfig::new(provider_of(row)?, &row.client_id, &secrets.client_secret)
            .http(d.crm.http.clone())
            .redirect_uri(d.crm.redirect_uri.clone())
            .scopes(row.scopes.0.clone());
    for (value, set) in [
        (
            &row.api_base_url,
            ConnectionConfig::api_base_url as fn(_, _) -> _,
        ),
        (&row.token_url, ConnectionConfig::token_url),
        (&row.auth_url, ConnectionConfig::auth_url),
    ] {
        if let Some(url) = value.as_deref().and_then(|u| Url::parse(u).ok()) {
            config = set(config, url);
        }
    }
    if let Some(tenant) = &row.azure_tenant {
        config = config.tenant(tenant.clone());
    }
    if let Some(field) = &row.external_id_field {
        config = config.external_id_field(field.clone());
    }
    if let Some(tokens) = &secrets.tokens {
        config = config.tokens(tokens.clone());
    }
    let connector =
        Provider::connect(config).map_err(|e| DomainError::invalid("connection", e.to_string()))?;
    Ok((connector, secrets))
}

/// Stores the connector's tokens when a refresh changed them.
pub(crate) async fn save_tokens(
    d: &Domain,
    row: &crm_connection::Model,
    connector: &dyn CrmConnector,
    secrets: &mut Secrets,
) -> DomainResult<()> {
    let tokens = connector.tokens().await;
    if tokens.is_none() || tokens == secrets.tokens {
        return Ok(());
    }
    secrets.tokens = tokens;
    let sealed = seal(d, row, secrets).await?;
    crm_connection::Entity::scoped_update(TenantId(row.tenant_id))
        .col_expr(crm_connection::Column::SecretsEnc, sealed.into())
        .filter(crm_connection::Column::Id.eq(row.id))
        .exec(&d.db)
        .await?;
    Ok(())
}

fn random_token() -> String {
    // A PKCE verifier is 32 random bytes, URL-safe: as good a `state` as any.
    Pkce::generate().verifier
}

/// Connects a CRM (admins). OAuth providers answer an authorization URL to open; the
/// connection becomes active when the provider redirects to `/oauth/callback`. Dynamics 365
/// (client credentials) is authorised at once.
pub async fn connect(d: &Domain, actor: &Actor, input: NewConnection) -> DomainResult<Connected> {
    audit::require_admin(&d.db, actor, "crm.connect", None).await?;
    let provider = parse_provider(&input.provider)?;
    let client_id = required("clientId", &input.client_id, 500)?;
    let client_secret = required("clientSecret", &input.client_secret, 2000)?;
    let azure_tenant = input
        .azure_tenant
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if provider == Provider::Dynamics365 {
        if azure_tenant.is_none() && input.token_url.is_none() {
            return Err(DomainError::invalid(
                "azureTenant",
                "is required for Dynamics 365 (or give tokenUrl)",
            ));
        }
        if input
            .api_base_url
            .as_deref()
            .is_none_or(|u| u.trim().is_empty())
        {
            return Err(DomainError::invalid(
                "apiBaseUrl",
                "is required for Dynamics 365 (the organisation URL)",
            ));
        }
    }
    let now = chrono::Utc::now();
    let mut row = crm_connection::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant.0,
        provider: provider.name().to_owned(),
        name: provider.to_string(),
        status: ConnectionStatus::PendingAuthorization,
        client_id,
        secrets_enc: None,
        api_base_url: url_setting("apiBaseUrl", input.api_base_url.as_deref())?,
        token_url: url_setting("tokenUrl", input.token_url.as_deref())?,
        auth_url: url_setting("authUrl", input.auth_url.as_deref())?,
        azure_tenant,
        scopes: StringList(
            input
                .scopes
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        ),
        direction: SyncDirection::Both,
        push_immediately: true,
        schedule: None,
        fields: StringList(
            clientele_connectors::ContactField::ALL
                .into_iter()
                .map(|f| mapping::field_name(f).to_owned())
                .collect(),
        ),
        external_id_field: None,
        log_activities: true,
        pull_cursor: None,
        oauth_state: None,
        last_error: None,
        last_synced_at: None,
        created_by: actor.user_id.clone(),
        created_at: now,
        updated_at: now,
    };
    apply_settings(&mut row, input.settings)?;
    let secrets = Secrets {
        client_secret,
        ..Secrets::default()
    };
    let connected = authorize_start(d, row, secrets, true).await?;
    audit::record(
        &d.db,
        actor,
        "crm.connect",
        Some(connected.connection.id),
        audit::Outcome::Allowed,
        json!({ "provider": connected.connection.provider, "status": connected.connection.status }),
    )
    .await?;
    Ok(connected)
}

/// Starts (or restarts) authorization: a PKCE pair and state for OAuth providers, the
/// client-credentials grant for the others. Writes the row (insert when `new`).
async fn authorize_start(
    d: &Domain,
    mut row: crm_connection::Model,
    mut secrets: Secrets,
    new: bool,
) -> DomainResult<Connected> {
    secrets.tokens = None;
    secrets.pkce_verifier = None;
    row.oauth_state = None;
    row.updated_at = chrono::Utc::now();
    let provider = provider_of(&row)?;
    // The connector needs sealed secrets to be built from the row; build it from memory.
    row.secrets_enc = Some(seal(d, &row, &secrets).await?);
    let (connector, _) = connector_for(d, &row).await?;
    let mut authorization_url = None;
    if connector.capabilities().interactive_auth {
        let pkce = Pkce::generate();
        let state = random_token();
        let url = connector
            .authorization_url(&state, &pkce.challenge)
            .ok_or_else(|| DomainError::invalid("provider", "has no authorization URL"))?;
        secrets.pkce_verifier = Some(pkce.verifier);
        row.oauth_state = Some(state);
        row.status = ConnectionStatus::PendingAuthorization;
        row.last_error = None;
        authorization_url = Some(url.to_string());
    } else {
        match connector.authorize(AuthGrant::ClientCredentials).await {
            Ok(tokens) => {
                secrets.tokens = Some(tokens);
                row.status = ConnectionStatus::Active;
                row.last_error = None;
            }
            Err(e) => {
                return Err(DomainError::invalid(
                    "clientSecret",
                    format!("{provider} refused the credentials: {e}"),
                ));
            }
        }
    }
    row.secrets_enc = Some(seal(d, &row, &secrets).await?);
    if new {
        crm_connection::Entity::insert(row.clone().into_active_model().reset_all())
            .exec_without_returning(&d.db)
            .await?;
    } else {
        write(d, &row).await?;
    }
    Ok(Connected {
        connection: row,
        authorization_url,
    })
}

/// Finishes an OAuth authorization: the provider redirected the admin's browser to
/// `/oauth/callback` with `state` and `code`. The state alone identifies the connection (it is
/// random, single-use, and bound to the PKCE verifier kept sealed with the connection).
pub async fn complete_authorization(
    d: &Domain,
    state: &str,
    code: &str,
) -> DomainResult<crm_connection::Model> {
    if state.trim().is_empty() {
        return Err(DomainError::invalid("state", "is required"));
    }
    if code.trim().is_empty() {
        return Err(DomainError::invalid("code", "is required"));
    }
    // The state is the only key here: no tenant is known before it is found.
    let mut row = crm_connection::Entity::find()
        .filter(crm_connection::Column::OauthState.eq(state))
        .one(&d.db)
        .await?
        .ok_or_else(|| DomainError::not_found("authorization"))?;
    let mut secrets = open_secrets(d, &row).await?;
    let verifier = secrets
        .pkce_verifier
        .take()
        .ok_or_else(|| DomainError::not_found("authorization"))?;
    let (connector, _) = connector_for(d, &row).await?;
    let grant = AuthGrant::AuthorizationCode {
        code: code.to_owned(),
        redirect_uri: d.crm.redirect_uri.clone(),
        pkce_verifier: verifier,
    };
    row.oauth_state = None;
    row.updated_at = chrono::Utc::now();
    match connector.authorize(grant).await {
        Ok(tokens) => {
            secrets.tokens = Some(tokens);
            row.status = ConnectionStatus::Active;
            row.last_error = None;
        }
        Err(e) => {
            row.status = ConnectionStatus::NeedsReauthorization;
            row.last_error = Some(format!("authorization failed: {e}"));
        }
    }
    row.secrets_enc = Some(seal(d, &row, &secrets).await?);
    write(d, &row).await?;
    // Everything the tenant has is dirty for a new connection: with push-immediately on it
    // goes now, otherwise with the first scheduled or triggered push.
    if row.status == ConnectionStatus::Active && row.push_immediately && row.direction.pushes() {
        queue_sync(d, TenantId(row.tenant_id), row.id, SyncKind::Push).await;
    }
    Ok(row)
}

/// Starts authorization again (after a revoked token, a new secret, or a failed consent).
pub async fn reauthorize(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    client_secret: Option<String>,
) -> DomainResult<Connected> {
    audit::require_admin(&d.db, actor, "crm.reauthorize", Some(id)).await?;
    let row = get(d, actor, id).await?;
    let mut secrets = match open_secrets(d, &row).await {
        Ok(s) => s,
        Err(_) if client_secret.is_some() => Secrets::default(),
        Err(e) => return Err(e),
    };
    if let Some(secret) = client_secret {
        secrets.client_secret = required("clientSecret", &secret, 2000)?;
    }
    let connected = authorize_start(d, row, secrets, false).await?;
    audit::record(
        &d.db,
        actor,
        "crm.reauthorize",
        Some(id),
        audit::Outcome::Allowed,
        json!({ "status": connected.connection.status }),
    )
    .await?;
    Ok(connected)
}

/// One connection of the actor's tenant (admins).
pub async fn get(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<crm_connection::Model> {
    actor.require(crate::Role::Admin)?;
    load(&d.db, actor.tenant, id).await
}

pub(crate) async fn load(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
) -> DomainResult<crm_connection::Model> {
    crm_connection::Entity::scoped(tenant)
        .filter(crm_connection::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("CRM connection"))
}

/// The tenant's connections, oldest first (admins).
pub async fn list(d: &Domain, actor: &Actor) -> DomainResult<Vec<crm_connection::Model>> {
    actor.require(crate::Role::Admin)?;
    Ok(crm_connection::Entity::scoped(actor.tenant)
        .order_by_asc(crm_connection::Column::CreatedAt)
        .order_by_asc(crm_connection::Column::Id)
        .all(&d.db)
        .await?)
}

async fn write(d: &Domain, row: &crm_connection::Model) -> DomainResult<()> {
    let active = row.clone().into_active_model().reset_all();
    crm_connection::Entity::scoped_update(TenantId(row.tenant_id))
        .set(active)
        .filter(crm_connection::Column::Id.eq(row.id))
        .exec(&d.db)
        .await?;
    Ok(())
}

/// Changes a connection's settings (admins).
pub async fn update(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    settings: ConnectionSettings,
) -> DomainResult<crm_connection::Model> {
    audit::require_admin(&d.db, actor, "crm.update", Some(id)).await?;
    let mut row = get(d, actor, id).await?;
    apply_settings(&mut row, settings)?;
    row.updated_at = chrono::Utc::now();
    write(d, &row).await?;
    audit::record(
        &d.db,
        actor,
        "crm.update",
        Some(id),
        audit::Outcome::Allowed,
        json!({ "direction": row.direction, "schedule": row.schedule, "fields": row.fields.0 }),
    )
    .await?;
    Ok(row)
}

/// Pauses (no job touches the CRM) or resumes a connection (admins).
pub async fn set_paused(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    paused: bool,
) -> DomainResult<crm_connection::Model> {
    let action = if paused { "crm.pause" } else { "crm.resume" };
    audit::require_admin(&d.db, actor, action, Some(id)).await?;
    let mut row = get(d, actor, id).await?;
    row.status = match (paused, row.status) {
        (true, ConnectionStatus::Active) => ConnectionStatus::Paused,
        (false, ConnectionStatus::Paused) => ConnectionStatus::Active,
        (_, status) if (status == ConnectionStatus::Paused) == paused => status,
        (_, status) => {
            return Err(DomainError::invalid(
                "id",
                format!(
                    "a {} connection cannot be {}",
                    status_name(status),
                    if paused { "paused" } else { "resumed" }
                ),
            ));
        }
    };
    row.updated_at = chrono::Utc::now();
    write(d, &row).await?;
    audit::record(
        &d.db,
        actor,
        action,
        Some(id),
        audit::Outcome::Allowed,
        json!({}),
    )
    .await?;
    if !paused && row.direction.pushes() {
        queue_sync(d, actor.tenant, id, SyncKind::Push).await;
    }
    Ok(row)
}

/// "the connection is needs-reauthorization: <why>", for refusals and failed tests.
fn state_of(row: &crm_connection::Model) -> String {
    let why = row.last_error.as_deref().map(|e| format!(": {e}"));
    format!(
        "the connection is {}{}",
        status_name(row.status),
        why.unwrap_or_default()
    )
}

fn status_name(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::PendingAuthorization => "pending-authorization",
        ConnectionStatus::Active => "active",
        ConnectionStatus::Paused => "paused",
        ConnectionStatus::NeedsReauthorization => "needs-reauthorization",
        ConnectionStatus::Disconnected => "disconnected",
    }
}

/// Disconnects: secrets are wiped at once; links and runs stay for the record (admins).
pub async fn disconnect(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
) -> DomainResult<crm_connection::Model> {
    audit::require_admin(&d.db, actor, "crm.disconnect", Some(id)).await?;
    let mut row = get(d, actor, id).await?;
    row.status = ConnectionStatus::Disconnected;
    row.secrets_enc = None;
    row.oauth_state = None;
    row.updated_at = chrono::Utc::now();
    write(d, &row).await?;
    audit::record(
        &d.db,
        actor,
        "crm.disconnect",
        Some(id),
        audit::Outcome::Allowed,
        json!({}),
    )
    .await?;
    Ok(row)
}

/// The answer of a connection test.
#[derive(Clone, Debug)]
pub struct TestOutcome {
    pub ok: bool,
    pub message: String,
}

/// Checks that the CRM answers with the stored credentials: reads one page of changes
/// without storing anything (admins). A revoked token marks the connection.
pub async fn test(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<TestOutcome> {
    let row = get(d, actor, id).await?;
    if !matches!(
        row.status,
        ConnectionStatus::Active | ConnectionStatus::Paused
    ) {
        return Ok(TestOutcome {
            ok: false,
            message: state_of(&row),
        });
    }
    let (connector, mut secrets) = match connector_for(d, &row).await {
        Ok(c) => c,
        Err(e) => {
            return Ok(TestOutcome {
                ok: false,
                message: e.to_string(),
            });
        }
    };
    let cursor = row
        .pull_cursor
        .clone()
        .map(clientele_connectors::SyncCursor);
    let result = connector.fetch_changes(cursor).await;
    save_tokens(d, &row, connector.as_ref(), &mut secrets).await?;
    Ok(match result {
        Ok(_) => TestOutcome {
            ok: true,
            message: format!("{} answered", row.provider),
        },
        Err(e) => {
            sync::note_failure(d, &row, &e).await?;
            TestOutcome {
                ok: false,
                message: e.to_string(),
            }
        }
    })
}

/// Hands a sync of `kind` to the job queue; a failure is logged (scheduled runs catch up).
pub(crate) async fn queue_sync(d: &Domain, tenant: TenantId, connection: Uuid, kind: SyncKind) {
    if let Err(error) = d.queue.crm_sync(tenant, connection, kind).await {
        tracing::warn!(%error, %connection, "could not enqueue a CRM sync");
    }
}

/// Enqueues a sync now (admins). Returns the job id, or `None` when one is already waiting.
pub async fn trigger(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    kind: SyncKind,
) -> DomainResult<Option<String>> {
    audit::require_admin(&d.db, actor, "crm.trigger_sync", Some(id)).await?;
    let row = get(d, actor, id).await?;
    if row.status != ConnectionStatus::Active {
        return Err(DomainError::invalid("connectionId", state_of(&row)));
    }
    let allowed = match kind {
        SyncKind::Push | SyncKind::Activities => row.direction.pushes(),
        SyncKind::Pull => row.direction.pulls(),
    };
    if !allowed {
        return Err(DomainError::invalid(
            "kind",
            "is not a direction this connection syncs",
        ));
    }
    if kind == SyncKind::Activities && !row.log_activities {
        return Err(DomainError::invalid(
            "kind",
            "activity logging is off for this connection",
        ));
    }
    d.queue
        .crm_sync(actor.tenant, id, kind)
        .await
        .map_err(|e| DomainError::Conflict(format!("could not enqueue the sync: {e}")))
}

/// After a client was created: push it at once through every active connection that asks
/// for it. Failures are logged; the client stays dirty and the next push takes it.
pub async fn client_created(d: &Domain, tenant: TenantId) {
    let connections = match crm_connection::Entity::scoped(tenant)
        .filter(crm_connection::Column::Status.eq(ConnectionStatus::Active))
        .filter(crm_connection::Column::PushImmediately.eq(true))
        .all(&d.db)
        .await
    {
        Ok(rows) => rows,
        Err(error) => {
            tracing::warn!(%error, "could not read CRM connections after a client was created");
            return;
        }
    };
    for row in connections.into_iter().filter(|r| r.direction.pushes()) {
        queue_sync(d, tenant, row.id, SyncKind::Push).await;
    }
}

/// Every active connection with a schedule, across tenants (read by the job runtime's cron
/// tick, which works for all tenants).
pub async fn scheduled(db: &impl ConnectionTrait) -> DomainResult<Vec<crm_connection::Model>> {
    Ok(crm_connection::Entity::find()
        .filter(crm_connection::Column::Status.eq(ConnectionStatus::Active))
        .filter(crm_connection::Column::Schedule.is_not_null())
        .all(db)
        .await?)
}

const RUNS_NEWEST_FIRST: Ordering<sync_run::Column> = Ordering {
    name: "started",
    column: Some(sync_run::Column::StartedAt),
    descending: true,
};

/// A connection's sync runs, newest first (admins).
pub async fn runs(
    d: &Domain,
    actor: &Actor,
    connection: Uuid,
    page: &PageArgs,
) -> DomainResult<Page<sync_run::Model>> {
    get(d, actor, connection).await?;
    let page = page.resolve(RUNS_NEWEST_FIRST.name)?;
    let query = sync_run::Entity::scoped(actor.tenant)
        .filter(sync_run::Column::ConnectionId.eq(connection));
    let rows = page
        .apply(query, &RUNS_NEWEST_FIRST, sync_run::Column::Id)
        .limit(page.limit + 1)
        .all(&d.db)
        .await?;
    Ok(page.into_page(rows, |row| Cursor {
        ordering: RUNS_NEWEST_FIRST.name.into(),
        key: SortKey::Time(row.started_at),
        id: row.id,
    }))
}

/// One sync run (admins).
pub async fn run(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<sync_run::Model> {
    actor.require(crate::Role::Admin)?;
    sync_run::Entity::scoped(actor.tenant)
        .filter(sync_run::Column::Id.eq(id))
        .one(&d.db)
        .await?
        .ok_or_else(|| DomainError::not_found("sync run"))
}

/// A client's link per connection (everyone who may read the client).
pub async fn links_of(
    d: &Domain,
    actor: &Actor,
    client: ClientId,
) -> DomainResult<Vec<crm_link::Model>> {
    let row: client::Model = crate::clients::get(d, actor, client).await?;
    Ok(crm_link::Entity::scoped(actor.tenant)
        .filter(crm_link::Column::ClientId.eq(row.id))
        .order_by_asc(crm_link::Column::CreatedAt)
        .all(&d.db)
        .await?)
}

pub(crate) fn publish_run(d: &Domain, run: &sync_run::Model) {
    d.events.publish(
        TenantId(run.tenant_id),
        DomainEvent::SyncRunUpdated {
            connection_id: run.connection_id,
            run_id: run.id,
        },
    );
}
