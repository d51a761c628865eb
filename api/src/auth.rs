//! Bearer tokens: JWTs naming the user, tenant and role. HS256 with a shared secret by default;
//! RS256 with a configured public key (and, to mint, its private key) as an option.

use chrono::Utc;
use clientele_domain::{Actor, Role, TenantId};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// What a token says about its holder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The user's display name.
    pub name: String,
    /// The tenant the token is for.
    pub tenant: Uuid,
    /// `viewer`, `agent` or `admin`.
    pub role: String,
    pub iat: i64,
    pub exp: i64,
}

/// Why a request is not authenticated. The messages are safe to show to the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("a bearer token is required (Authorization: Bearer <token>)")]
    Missing,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
}

/// Verifies (and, when it holds a signing key, mints) tokens.
#[derive(Clone)]
pub struct Tokens {
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print keys.
        f.debug_struct("Tokens")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// HS256 with a shared secret (at least 32 bytes).
    pub fn hs256(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < 32 {
            return Err("must be at least 32 bytes long".into());
        }
        Ok(Tokens {
            algorithm: Algorithm::HS256,
            decoding: DecodingKey::from_secret(secret),
            encoding: Some(EncodingKey::from_secret(secret)),
        })
    }

    /// RS256 verifying with `public_pem`; minting needs `private_pem`.
    pub fn rs256(public_pem: &[u8], private_pem: Option<&[u8]>) -> Result<Self, String> {
        let decoding = DecodingKey::from_rsa_pem(public_pem)
            .map_err(|e| format!("is not an RSA public key in PEM form ({e})"))?;
        let encoding = private_pem
            .map(|pem| {
                EncodingKey::from_rsa_pem(pem)
                    .map_err(|e| format!("is not an RSA private key in PEM form ({e})"))
            })
            .transpose()?;
        Ok(Tokens {
            algorithm: Algorithm::RS256,
            decoding,
            encoding,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Mints a token for a user of `tenant` with `role`, valid for `ttl`.
    pub fn mint(
        &self,
        tenant: TenantId,
        user_id: &str,
        name: &str,
        role: Role,
        ttl: Duration,
    ) -> Result<String, String> {
        let key = self.encoding.as_ref().ok_or(
            "no signing key is configured (RS256 needs CLIENTELE_JWT_PRIVATE_KEY_FILE to mint)",
        )?;
        let now = Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).map_err(|_| "ttl is too long".to_string())?;
        let claims = Claims {
            sub: user_id.to_string(),
            name: name.to_string(),
            tenant: tenant.0,
            role: role.as_str().to_string(),
            iat: now,
            exp: now.saturating_add(ttl),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, key).map_err(|e| e.to_string())
    }

    /// Verifies a token and returns the actor it names.
    pub fn verify(&self, token: &str) -> Result<Actor, AuthError> {
        let mut validation = Validation::new(self.algorithm);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid,
            },
        )?;
        let claims = data.claims;
        let role = claims
            .role
            .parse::<Role>()
            .map_err(|_| AuthError::Invalid)?;
        Ok(Actor {
            user_id: claims.sub,
            name: claims.name,
            tenant: TenantId(claims.tenant),
            role,
        })
    }

    /// Reads an `Authorization` header value (`Bearer <token>`, scheme case-insensitive).
    pub fn authenticate(&self, header: Option<&str>) -> Result<Actor, AuthError> {
        let header = header.map(str::trim).filter(|h| !h.is_empty());
        let Some(header) = header else {
            return Err(AuthError::Missing);
        };
        let (scheme, token) = header.split_once(' ').ok_or(AuthError::Invalid)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Invalid);
        }
        self.verify(token.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::hs256(&[7u8; 32]).unwrap()
    }

    #[test]
    fn minted_tokens_verify() {
        let t = TenantId::new();
        let token = tokens()
            .mint(t, "u1", "Ada", Role::Agent, Duration::from_secs(60))
            .unwrap();
        let actor = tokens()
            .authenticate(Some(&format!("Bearer {token}")))
            .unwrap();
        assert_eq!(actor.tenant, t);
        assert_eq!(actor.role, Role::Agent);
        assert_eq!(actor.name, "Ada");
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Tokens::hs256(b"short").is_err());
    }

    #[test]
    fn forged_and_missing_tokens_fail() {
        let other = Tokens::hs256(&[8u8; 32]).unwrap();
        let token = other
            .mint(
                TenantId::new(),
                "u1",
                "Eve",
                Role::Admin,
                Duration::from_secs(60),
            )
            .unwrap();
        assert_eq!(tokens().verify(&token), Err(AuthError::Invalid));
        assert_eq!(tokens().authenticate(None), Err(AuthError::Missing));
        assert_eq!(
            tokens().authenticate(Some("Basic abc")),
            Err(AuthError::Invalid)
        );
        assert_eq!(tokens().verify("not.a.jwt"), Err(AuthError::Invalid));
    }

    #[test]
    fn expired_tokens_fail_as_expired() {
        let t = tokens();
        let claims = Claims {
            sub: "u1".into(),
            name: "Ada".into(),
            tenant: Uuid::nil(),
            role: "admin".into(),
            iat: 0,
            exp: Utc::now().timestamp() - 3600,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&[7u8; 32]),
        )
        .unwrap();
        assert_eq!(t.verify(&token), Err(AuthError::Expired));
    }

    #[test]
    fn unknown_roles_are_invalid() {
        let claims = Claims {
            sub: "u1".into(),
            name: "Ada".into(),
            tenant: Uuid::nil(),
            role: "root".into(),
            iat: 0,
            exp: Utc::now().timestamp() + 3600,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&[7u8; 32]),
        )
        .unwrap();
        assert_eq!(tokens().verify(&token), Err(AuthError::Invalid));
    }
}
