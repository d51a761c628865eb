//! The `CrmConnector` trait and the data it exchanges about itself.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::Result;
use crate::http::LimitSnapshot;
use crate::model::{
    ActivityLog, ChangePage, ContactField, CrmContact, LoggedActivity, SyncCursor, UpsertOutcome,
};
use crate::provider::Provider;

/// OAuth tokens of a connection. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Bearer token.
    pub access_token: String,
    /// Refresh token (absent for client credentials).
    pub refresh_token: Option<String>,
    /// Expiry when the CRM says (Salesforce does not).
    pub expires_at: Option<DateTime<Utc>>,
    /// Salesforce: the instance to call.
    pub instance_url: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .field("instance_url", &self.instance_url)
            .finish()
    }
}

/// How to obtain the first tokens. `Debug` hides the code and verifier.
#[derive(Clone)]
pub enum AuthGrant {
    /// OAuth2 authorization code with PKCE (Salesforce, HubSpot).
    AuthorizationCode {
        /// The code from the callback.
        code: String,
        /// The redirect URI used in the authorization request.
        redirect_uri: String,
        /// The PKCE verifier matching the challenge sent.
        pkce_verifier: String,
    },
    /// OAuth2 client credentials (Dynamics 365).
    ClientCredentials,
}

impl std::fmt::Debug for AuthGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthGrant::AuthorizationCode { redirect_uri, .. } => f
                .debug_struct("AuthorizationCode")
                .field("redirect_uri", redirect_uri)
                .finish_non_exhaustive(),
            AuthGrant::ClientCredentials => f.write_str("ClientCredentials"),
        }
    }
}

/// How a provider records a logged activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActivityKind {
    /// Salesforce `Task` (with `WhoId`) or Dynamics `task` (regarding the contact).
    Task,
    /// HubSpot note associated with the contact.
    Note,
}

/// What a connector can do, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Records per upsert call.
    pub batch_size: usize,
    /// Neutral fields pushed and pulled.
    pub fields: Vec<ContactField>,
    /// Whether [`ChangePage::deleted_remote_ids`] is ever filled.
    pub supports_deletes: bool,
    /// How activities are recorded.
    pub activity_kind: ActivityKind,
    /// Default page size of the change feed.
    pub page_size: u32,
    /// Whether the user must go through an authorization URL (code flow).
    pub interactive_auth: bool,
}

/// One CRM behind one interface. Implementations do all HTTP through [`crate::http::Executor`].
#[async_trait]
pub trait CrmConnector: Send + Sync {
    /// Which CRM this is.
    fn provider(&self) -> Provider;

    /// Batch size, fields and other capabilities.
    fn capabilities(&self) -> Capabilities;

    /// Where to send the admin to consent (code flow), `None` for client credentials.
    fn authorization_url(&self, state: &str, pkce_challenge: &str) -> Option<Url>;

    /// Exchange a grant for tokens and keep them for later calls.
    async fn authorize(&self, grant: AuthGrant) -> Result<Tokens>;

    /// Refresh the access token now (also happens on its own on 401).
    async fn refresh(&self) -> Result<Tokens>;

    /// The current tokens (store them encrypted after authorize/refresh).
    async fn tokens(&self) -> Option<Tokens>;

    /// The rate-limit figures the CRM last reported (daily usage, window remaining).
    fn limits(&self) -> LimitSnapshot;

    /// Upsert contacts by external id, in the provider's batch size. One outcome per input,
    /// in input order. Rerunning with the same input creates no duplicates.
    async fn upsert_contacts(&self, contacts: &[CrmContact]) -> Result<Vec<UpsertOutcome>>;

    /// Changes after `cursor` (`None` = from the beginning), one page.
    async fn fetch_changes(&self, cursor: Option<SyncCursor>) -> Result<ChangePage>;

    /// Log an activity on a contact, at most once per dedupe key.
    async fn log_activity(&self, activity: &ActivityLog) -> Result<LoggedActivity>;
}
