//! A small OAuth2 token client over the executor (code + PKCE, refresh, client credentials).

use chrono::Utc;
use reqwest::Method;
use serde::Deserialize;
use url::Url;

use super::{ApiRequest, Executor};
use crate::connector::Tokens;
use crate::{CrmError, Result};

/// Which grant to send to the token endpoint.
#[derive(Clone)]
pub enum GrantKind {
    /// Authorization code with PKCE.
    AuthorizationCode {
        /// The code.
        code: String,
        /// The redirect URI of the authorization request.
        redirect_uri: String,
        /// The PKCE verifier.
        pkce_verifier: String,
    },
    /// Refresh token.
    RefreshToken(String),
    /// Client credentials with a scope.
    ClientCredentials,
}

impl From<crate::connector::AuthGrant> for GrantKind {
    fn from(g: crate::connector::AuthGrant) -> Self {
        match g {
            crate::connector::AuthGrant::AuthorizationCode {
                code,
                redirect_uri,
                pkce_verifier,
            } => GrantKind::AuthorizationCode {
                code,
                redirect_uri,
                pkce_verifier,
            },
            crate::connector::AuthGrant::ClientCredentials => GrantKind::ClientCredentials,
        }
    }
}

/// Where and how a connection gets tokens.
#[derive(Clone)]
pub struct TokenEndpoint {
    /// Token URL.
    pub url: Url,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Scope sent with client credentials (Dynamics `{org}/.default`).
    pub scope: Option<String>,
    /// Whether refresh means client credentials again (Dynamics) rather than a refresh token.
    pub refresh_with_client_credentials: bool,
}

/// The token endpoint's success body (fields common to the three CRMs).
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    /// Bearer token.
    pub access_token: String,
    /// New refresh token (HubSpot, Salesforce code flow).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Lifetime in seconds (absent on Salesforce).
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// Salesforce instance.
    #[serde(default)]
    pub instance_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl TokenResponse {
    /// Into tokens, keeping the previous refresh token when none is returned.
    pub fn into_tokens(self, previous: Option<&Tokens>) -> Tokens {
        Tokens {
            access_token: self.access_token,
            refresh_token: self
                .refresh_token
                .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
            expires_at: self
                .expires_in
                .map(|s| Utc::now() + chrono::Duration::seconds(s)),
            instance_url: self
                .instance_url
                .or_else(|| previous.and_then(|p| p.instance_url.clone())),
        }
    }
}

impl TokenEndpoint {
    /// The grant that renews the access token.
    pub fn refresh_grant(&self, current: Option<&Tokens>) -> Result<GrantKind> {
        if self.refresh_with_client_credentials {
            return Ok(GrantKind::ClientCredentials);
        }
        current
            .and_then(|t| t.refresh_token.clone())
            .map(GrantKind::RefreshToken)
            .ok_or_else(|| CrmError::NeedsReauthorization("no refresh token stored".into()))
    }

    fn form(&self, grant: &GrantKind) -> Vec<(String, String)> {
        let mut form = vec![
            ("client_id".to_owned(), self.client_id.clone()),
            ("client_secret".to_owned(), self.client_secret.clone()),
        ];
        match grant {
            GrantKind::AuthorizationCode {
                code,
                redirect_uri,
                pkce_verifier,
            } => {
                form.push(("grant_type".into(), "authorization_code".into()));
                form.push(("code".into(), code.clone()));
                form.push(("redirect_uri".into(), redirect_uri.clone()));
                form.push(("code_verifier".into(), pkce_verifier.clone()));
            }
            GrantKind::RefreshToken(rt) => {
                form.push(("grant_type".into(), "refresh_token".into()));
                form.push(("refresh_token".into(), rt.clone()));
            }
            GrantKind::ClientCredentials => {
                form.push(("grant_type".into(), "client_credentials".into()));
                if let Some(scope) = &self.scope {
                    form.push(("scope".into(), scope.clone()));
                }
            }
        }
        form
    }

    /// Call the token endpoint through `exec` (retries, tracing) and parse the answer.
    pub async fn request(
        &self,
        exec: &Executor,
        grant: GrantKind,
        previous: Option<&Tokens>,
    ) -> Result<Tokens> {
        let renewing = !matches!(grant, GrantKind::AuthorizationCode { .. });
        let req =
            ApiRequest::new("oauth.token", Method::POST, self.url.clone()).form(self.form(&grant));
        let resp = match exec.send(&req).await {
            Ok(resp) => resp,
            Err(CrmError::Unauthorized(_)) if renewing => {
                return Err(CrmError::NeedsReauthorization(
                    "token endpoint rejected the client".into(),
                ));
            }
            Err(e) => return Err(e),
        };
        if resp.is_success() {
            return Ok(resp.json::<TokenResponse>()?.into_tokens(previous));
        }
        let err: TokenError = resp.json().unwrap_or(TokenError {
            error: format!("http_{}", resp.status.as_u16()),
            error_description: None,
        });
        let message = match &err.error_description {
            Some(d) => format!("{}: {d}", err.error),
            None => err.error.clone(),
        };
        let reauth = matches!(
            err.error.as_str(),
            "invalid_grant" | "invalid_client" | "unauthorized_client"
        );
        if reauth && renewing {
            Err(CrmError::NeedsReauthorization(message))
        } else {
            Err(CrmError::Permanent(format!("token endpoint: {message}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_parse_for_each_crm() {
        let sf: TokenResponse = serde_json::from_str(
            r#"{"access_token":"a","scope":"web api","instance_url":"https://na15.example","id":"x","token_type":"Bearer"}"#,
        )
        .expect("salesforce");
        let prev = Tokens {
            access_token: "old".into(),
            refresh_token: Some("rt".into()),
            expires_at: None,
            instance_url: None,
        };
        let t = sf.into_tokens(Some(&prev));
        assert_eq!(t.refresh_token.as_deref(), Some("rt"));
        assert!(t.expires_at.is_none());
        assert_eq!(t.instance_url.as_deref(), Some("https://na15.example"));
        let hs: TokenResponse = serde_json::from_str(
            r#"{"token_type":"bearer","access_token":"b","refresh_token":"r2","expires_in":1800,"hub_id":1}"#,
        )
        .expect("hubspot");
        let t = hs.into_tokens(Some(&prev));
        assert_eq!(t.refresh_token.as_deref(), Some("r2"));
        assert!(t.expires_at.is_some_and(|e| e > Utc::now()));
    }

    #[test]
    fn refresh_grant_needs_a_refresh_token() {
        let ep = TokenEndpoint {
            url: Url::parse("http://127.0.0.1/token").expect("url"),
            client_id: "id".into(),
            client_secret: "secret".into(),
            scope: None,
            refresh_with_client_credentials: false,
        };
        assert!(matches!(
            ep.refresh_grant(None),
            Err(CrmError::NeedsReauthorization(_))
        ));
        let form = ep.form(&GrantKind::RefreshToken("rt".into()));
        assert!(form.contains(&("grant_type".into(), "refresh_token".into())));
    }
}
