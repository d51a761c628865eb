//! How to reach one CRM connection: credentials, endpoints and HTTP policy.

use std::time::Duration;

use url::Url;

use crate::connector::Tokens;
use crate::provider::Provider;

/// Timeouts, retries and backoff of the HTTP executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPolicy {
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Retries after the first attempt, for transient errors and burst rate limits.
    pub max_retries: u32,
    /// First backoff step; attempt `n` waits up to `base * 2^n` (full jitter).
    pub backoff_base: Duration,
    /// Upper bound of one backoff step.
    pub backoff_cap: Duration,
    /// Longest wait for one `Retry-After`: a longer value is shortened to this (the retry may
    /// then meet another 429, and after `max_retries` the caller gets `RateLimited` with the
    /// server's value to reschedule on). Tests set it tiny so fakes can answer faithful
    /// whole-second `Retry-After`s without slowing the suite.
    pub max_retry_after: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 5,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl HttpPolicy {
    /// A policy for tests against local fakes: short timeouts, many quick retries, and
    /// `Retry-After` values clamped to a few milliseconds.
    pub fn fast() -> Self {
        HttpPolicy {
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            max_retries: 30,
            backoff_base: Duration::from_millis(1),
            backoff_cap: Duration::from_millis(20),
            max_retry_after: Duration::from_millis(20),
        }
    }
}

/// Everything needed to talk to one connection. Secrets are held in memory only; encrypt them
/// with [`crate::SecretBox`] before storing.
#[derive(Clone)]
pub struct ConnectionConfig {
    /// Which CRM.
    pub provider: Provider,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// API base (Salesforce instance, HubSpot API host, Dynamics org URL); `None` = provider default
    /// (Salesforce: the `instance_url` of the token response).
    pub api_base_url: Option<Url>,
    /// Token endpoint; `None` = provider default.
    pub token_url: Option<Url>,
    /// Authorization endpoint; `None` = provider default.
    pub auth_url: Option<Url>,
    /// Azure AD tenant (Dynamics).
    pub tenant: Option<String>,
    /// Scopes; empty = provider default.
    pub scopes: Vec<String>,
    /// Tokens from a previous authorisation (decrypted from storage).
    pub tokens: Option<Tokens>,
    /// HTTP behaviour.
    pub http: HttpPolicy,
    /// Page size of change feeds; `None` = provider default.
    pub page_size: Option<u32>,
    /// HubSpot search result cap per query (10,000); lower it to exercise window restarts.
    pub search_window_cap: u32,
    /// Field holding Clientele's id in the CRM; `None` = provider default
    /// (`Clientele_Id__c`, `clientele_id`, `clientele_externalid`).
    pub external_id_field: Option<String>,
    /// OAuth redirect URI (`.../oauth/callback`) sent in authorization URLs.
    pub redirect_uri: Option<String>,
    /// Dynamics: pull with change tracking (deltas that report deletes) instead of `modifiedon`;
    /// the table must have change tracking enabled.
    pub change_tracking: bool,
}

impl std::fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("api_base_url", &self.api_base_url.as_ref().map(Url::as_str))
            .field("token_url", &self.token_url.as_ref().map(Url::as_str))
            .field("tenant", &self.tenant)
            .field("has_tokens", &self.tokens.is_some())
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl ConnectionConfig {
    /// A configuration with provider defaults.
    pub fn new(
        provider: Provider,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        ConnectionConfig {
            provider,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            api_base_url: None,
            token_url: None,
            auth_url: None,
            tenant: None,
            scopes: Vec::new(),
            tokens: None,
            http: HttpPolicy::default(),
            page_size: None,
            search_window_cap: 10_000,
            external_id_field: None,
            redirect_uri: None,
            change_tracking: false,
        }
    }

    /// Override the API base URL (sandbox, local fake, Dynamics org URL).
    pub fn api_base_url(mut self, url: Url) -> Self {
        self.api_base_url = Some(url);
        self
    }

    /// Dynamics: the organisation URL (same as [`Self::api_base_url`]).
    pub fn org_url(self, url: Url) -> Self {
        self.api_base_url(url)
    }

    /// Override the token endpoint.
    pub fn token_url(mut self, url: Url) -> Self {
        self.token_url = Some(url);
        self
    }

    /// Override the authorization endpoint.
    pub fn auth_url(mut self, url: Url) -> Self {
        self.auth_url = Some(url);
        self
    }

    /// Azure AD tenant id (Dynamics).
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Replace the scopes.
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Start with tokens from a previous authorisation.
    pub fn tokens(mut self, tokens: Tokens) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Replace the HTTP policy.
    pub fn http(mut self, http: HttpPolicy) -> Self {
        self.http = http;
        self
    }

    /// Page size of change feeds.
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size.max(1));
        self
    }

    /// Result cap of one HubSpot search window.
    pub fn search_window_cap(mut self, cap: u32) -> Self {
        self.search_window_cap = cap.max(1);
        self
    }

    /// Field holding Clientele's id in the CRM.
    pub fn external_id_field(mut self, field: impl Into<String>) -> Self {
        self.external_id_field = Some(field.into());
        self
    }

    /// OAuth redirect URI used in authorization URLs.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// Dynamics: use change tracking (reports deletes) for the change feed.
    pub fn change_tracking(mut self, on: bool) -> Self {
        self.change_tracking = on;
        self
    }

    /// The configured token URL, or `default`.
    pub(crate) fn token_url_or(&self, default: &str) -> crate::Result<Url> {
        match &self.token_url {
            Some(u) => Ok(u.clone()),
            None => parse_url(default),
        }
    }

    /// The authorization URL for the code flow with PKCE (S256).
    pub(crate) fn code_flow_url(
        &self,
        default: &str,
        scopes: &[String],
        state: &str,
        pkce_challenge: &str,
    ) -> Option<Url> {
        let mut url = match &self.auth_url {
            Some(u) => u.clone(),
            None => Url::parse(default).ok()?,
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", &self.client_id);
            if let Some(r) = &self.redirect_uri {
                q.append_pair("redirect_uri", r);
            }
            if !scopes.is_empty() {
                q.append_pair("scope", &scopes.join(" "));
            }
            q.append_pair("state", state);
            q.append_pair("code_challenge", pkce_challenge);
            q.append_pair("code_challenge_method", "S256");
        }
        Some(url)
    }

    /// The configured API base, or `default`.
    pub(crate) fn api_base_or(&self, default: &str) -> crate::Result<Url> {
        match &self.api_base_url {
            Some(u) => Ok(u.clone()),
            None => parse_url(default),
        }
    }
}

/// Parse a URL that this crate builds itself, as a configuration error when malformed.
pub(crate) fn parse_url(s: &str) -> crate::Result<Url> {
    Url::parse(s).map_err(|e| crate::CrmError::Config(format!("bad URL: {e}")))
}
