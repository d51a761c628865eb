//! The handle of a running fake: start/stop, token endpoint and test controls.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json, Router};
use serde_json::json;
use tokio::sync::oneshot;
use url::Url;

use super::core::{Core, overlay};
use super::{
    FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_REDIRECT_URI, FailKind, FakeActivity, FakeStats,
};
use crate::config::{ConnectionConfig, HttpPolicy};
use crate::connector::Tokens;
use crate::crypto::s256_challenge;
use crate::model::CrmContact;
use crate::provider::Provider;

/// A running fake CRM. Dropping it stops the server.
pub struct FakeServer {
    pub(crate) core: Arc<Core>,
    base: Url,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl FakeServer {
    /// Bind 127.0.0.1:0 and serve `router` (API routes already gated).
    pub(crate) async fn spawn(core: Arc<Core>, router: Router) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let base = Url::parse(&format!("http://{addr}/"))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let _ = core
            .base_url
            .set(base.as_str().trim_end_matches('/').to_owned());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(FakeServer {
            core,
            base,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> Url {
        self.base.clone()
    }

    fn join(&self, path: &str) -> Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    /// A configuration pointing at this fake, with [`HttpPolicy::fast`] and no tokens.
    pub fn connection_config(&self) -> ConnectionConfig {
        let cfg = ConnectionConfig::new(
            self.core.flavor.provider,
            FAKE_CLIENT_ID,
            FAKE_CLIENT_SECRET,
        )
        .http(HttpPolicy::fast())
        .redirect_uri(FAKE_REDIRECT_URI)
        .api_base_url(self.base_url());
        match self.core.flavor.provider {
            Provider::Salesforce => cfg
                .token_url(self.join("/services/oauth2/token"))
                .auth_url(self.join("/services/oauth2/authorize")),
            Provider::HubSpot => cfg
                .token_url(self.join("/oauth/v1/token"))
                .auth_url(self.join("/oauth/authorize")),
            Provider::Dynamics365 => cfg
                .tenant("fake-tenant")
                .token_url(self.join("/fake-tenant/oauth2/v2.0/token")),
        }
    }

    /// Tokens valid on this fake, as if an admin had just connected.
    pub fn issue_tokens(&self) -> Tokens {
        let mut st = self.core.lock();
        let (access, refresh) = self.core.mint(&mut st, self.core.flavor.issues_refresh);
        Tokens {
            access_token: access,
            refresh_token: refresh,
            expires_at: self
                .core
                .opts
                .token_ttl
                .and_then(|t| chrono::Duration::from_std(t).ok())
                .map(|t| chrono::Utc::now() + t),
            instance_url: (self.core.flavor.provider == Provider::Salesforce)
                .then(|| self.core.base()),
        }
    }

    /// Simulate the admin consenting at the authorization URL: a code bound to `pkce_challenge`.
    pub fn approve(&self, pkce_challenge: &str) -> String {
        let mut st = self.core.lock();
        let code = format!("fake-code-{}", Core::next_seq(&mut st));
        st.codes.insert(code.clone(), pkce_challenge.to_owned());
        code
    }

    /// Invalidate every access token now (the next API call gets the provider's 401).
    pub fn expire_tokens(&self) {
        self.core.lock().access.clear();
    }

    /// Revoke refresh tokens (and, for client credentials, the client secret).
    pub fn revoke_refresh_token(&self) {
        let mut st = self.core.lock();
        st.refresh.clear();
        st.revoked = true;
    }

    /// Make the next `n` API requests fail with `kind`.
    pub fn fail_next(&self, n: usize, kind: FailKind) {
        self.core
            .lock()
            .fail_queue
            .extend(std::iter::repeat_n(kind, n));
    }

    /// Request counters.
    pub fn stats(&self) -> FakeStats {
        self.core.lock().stats.clone()
    }

    /// Live (not deleted) contacts, with `remote_id` and `updated_at` set.
    pub fn contacts(&self) -> Vec<CrmContact> {
        self.core
            .lock()
            .contacts
            .iter()
            .filter(|s| !s.deleted)
            .map(|s| {
                let mut c = s.contact.clone();
                c.remote_id = Some(s.remote_id.clone());
                c.updated_at = Some(s.modified);
                c
            })
            .collect()
    }

    /// Logged activities.
    pub fn activities(&self) -> Vec<FakeActivity> {
        self.core.lock().activities.clone()
    }

    /// A change made by a CRM user: updates the record with `contact.remote_id` (set fields
    /// only), or creates one. Returns the remote id.
    pub fn insert_remote_change(&self, contact: CrmContact) -> String {
        let mut st = self.core.lock();
        let now = self.core.stamp(&mut st);
        let version = st.change_seq;
        if let Some(id) = &contact.remote_id
            && let Some(index) = st.live_by_id(id)
        {
            if !contact.external_id.is_empty() {
                st.by_ext.insert(contact.external_id.clone(), index);
            }
            if let Some(s) = st.contacts.get_mut(index) {
                overlay(&mut s.contact, &contact);
                if !contact.external_id.is_empty() {
                    s.contact.external_id = contact.external_id.clone();
                }
                s.modified = now;
                s.version = version;
            }
            return id.clone();
        }
        self.core
            .upsert_contact(
                &mut st,
                &CrmContact {
                    remote_id: None,
                    ..contact
                },
            )
            .0
    }

    /// Delete a contact as a CRM user would. Returns whether it existed.
    pub fn delete_remote(&self, remote_id: &str) -> bool {
        let mut st = self.core.lock();
        let now = self.core.stamp(&mut st);
        let version = st.change_seq;
        let Some(index) = st.live_by_id(remote_id) else {
            return false;
        };
        let mut external_id = String::new();
        if let Some(s) = st.contacts.get_mut(index) {
            s.deleted = true;
            s.modified = now;
            s.version = version;
            external_id = s.contact.external_id.clone();
        }
        if st.by_ext.get(&external_id) == Some(&index) {
            st.by_ext.remove(&external_id);
        }
        true
    }

    /// Refuse records whose email contains `pattern`, with the provider's validation error.
    pub fn reject_email(&self, pattern: &str) {
        self.core.lock().reject_email.push(pattern.to_owned());
    }
}

/// Token endpoint shared by the fakes (code + PKCE, refresh, client credentials).
pub(crate) async fn token(
    State(core): State<Arc<Core>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let mut st = core.lock();
    st.stats.token_requests += 1;
    let error = |status: StatusCode, code: &str, description: &str| {
        (
            status,
            Json(json!({ "error": code, "error_description": description })),
        )
            .into_response()
    };
    if field("client_id") != FAKE_CLIENT_ID || field("client_secret") != FAKE_CLIENT_SECRET {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "invalid client credentials",
        );
    }
    let (access, refresh) = match field("grant_type") {
        "authorization_code" => {
            let Some(challenge) = st.codes.remove(field("code")) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "invalid authorization code",
                );
            };
            if s256_challenge(field("code_verifier")) != challenge {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE verification failed",
                );
            }
            core.mint(&mut st, core.flavor.issues_refresh)
        }
        "refresh_token" => {
            let rt = field("refresh_token").to_owned();
            if st.revoked || !st.refresh.contains(&rt) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "expired access/refresh token",
                );
            }
            st.stats.refreshes += 1;
            let (access, _) = core.mint(&mut st, false);
            // HubSpot returns the same refresh token; Salesforce returns none.
            let keep = (core.flavor.provider == Provider::HubSpot).then_some(rt);
            (access, keep)
        }
        "client_credentials" => {
            if st.revoked {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "AADSTS7000215: Invalid client secret provided.",
                );
            }
            st.client_credential_grants += 1;
            if st.client_credential_grants > 1 {
                st.stats.refreshes += 1;
            }
            core.mint(&mut st, false)
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "unsupported grant",
            );
        }
    };
    let body = (core.flavor.token_body)(
        &access,
        refresh.as_deref(),
        core.opts.token_ttl,
        &core.base(),
    );
    Json(body).into_response()
}

/// Authorization page: redirects straight back with a code, as if the admin consented.
pub(crate) async fn authorize(
    State(core): State<Arc<Core>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (Some(redirect), Some(challenge)) = (q.get("redirect_uri"), q.get("code_challenge")) else {
        return (
            StatusCode::BAD_REQUEST,
            "missing redirect_uri or code_challenge",
        )
            .into_response();
    };
    let code = {
        let mut st = core.lock();
        let code = format!("fake-code-{}", Core::next_seq(&mut st));
        st.codes.insert(code.clone(), challenge.clone());
        code
    };
    let Ok(mut url) = Url::parse(redirect) else {
        return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response();
    };
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair(
            "state",
            q.get("state").map(String::as_str).unwrap_or_default(),
        );
    Redirect::to(url.as_str()).into_response()
}
