//! Secrets at rest (AES-256-GCM bound to tenant and connection) and PKCE.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{CrmError, Result};

const NONCE_LEN: usize = 12;

/// Encrypts CRM credentials for storage. Ciphertexts are `base64(nonce || ciphertext+tag)`;
/// the associated data binds them to their row, so a ciphertext copied elsewhere fails.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key redacted>)")
    }
}

impl SecretBox {
    /// Build from a base64 (standard alphabet) 32-byte key, as found in configuration.
    pub fn from_base64_key(key_b64: &str) -> Result<Self> {
        let bytes = STANDARD
            .decode(key_b64.trim())
            .map_err(|_| CrmError::Config("encryption key is not base64".into()))?;
        if bytes.len() != 32 {
            return Err(CrmError::Config("encryption key must be 32 bytes".into()));
        }
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CrmError::Config("encryption key must be 32 bytes".into()))?;
        Ok(SecretBox {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(key)),
        })
    }

    /// A fresh random key, base64-encoded, for configuration.
    pub fn generate_key() -> String {
        STANDARD.encode(Aes256Gcm::generate_key(OsRng))
    }

    /// Encrypt `plaintext` bound to `aad`.
    pub fn encrypt_str(&self, plaintext: &str, aad: &[u8]) -> Result<String> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad,
                },
            )
            .map_err(|_| CrmError::Config("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    /// Decrypt a value produced by [`Self::encrypt_str`] with the same `aad`.
    pub fn decrypt_str(&self, ciphertext: &str, aad: &[u8]) -> Result<String> {
        let raw = STANDARD
            .decode(ciphertext.trim())
            .map_err(|_| CrmError::Config("ciphertext is not base64".into()))?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(CrmError::Config("ciphertext too short".into()));
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| CrmError::Config("ciphertext too short".into()))?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad })
            .map_err(|_| CrmError::Config("ciphertext does not decrypt for this row".into()))?;
        String::from_utf8(plain).map_err(|_| CrmError::Config("plaintext is not UTF-8".into()))
    }
}

/// Associated data binding a credential to its tenant and connection.
pub fn credential_aad(tenant_id: &str, connection_id: &str) -> Vec<u8> {
    format!("clientele:crm-credential:v1:{tenant_id}:{connection_id}").into_bytes()
}

/// A PKCE pair (RFC 7636, S256).
#[derive(Clone)]
pub struct Pkce {
    /// Kept secret until the token exchange.
    pub verifier: String,
    /// Sent in the authorization URL.
    pub challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// A fresh random verifier (43 characters) and its S256 challenge.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self::from_verifier(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The pair for a known verifier.
    pub fn from_verifier(verifier: String) -> Self {
        let challenge = s256_challenge(&verifier);
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// `BASE64URL(SHA256(verifier))` without padding.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(
            pkce.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let fresh = Pkce::generate();
        assert_eq!(fresh.verifier.len(), 43);
        assert_eq!(fresh.challenge, s256_challenge(&fresh.verifier));
    }

    #[test]
    fn secret_round_trips_and_is_bound_to_its_row() {
        let sb = SecretBox::from_base64_key(&SecretBox::generate_key()).expect("key");
        let aad = credential_aad("tenant-a", "conn-1");
        let ct = sb
            .encrypt_str("refresh-token-value", &aad)
            .expect("encrypt");
        assert!(!ct.contains("refresh-token-value"));
        assert_eq!(
            sb.decrypt_str(&ct, &aad).expect("decrypt"),
            "refresh-token-value"
        );
        assert!(
            sb.decrypt_str(&ct, &credential_aad("tenant-a", "conn-2"))
                .is_err()
        );
        assert!(
            sb.decrypt_str(&ct, &credential_aad("tenant-b", "conn-1"))
                .is_err()
        );
        let other = SecretBox::from_base64_key(&SecretBox::generate_key()).expect("key");
        assert!(other.decrypt_str(&ct, &aad).is_err());
        assert_ne!(
            ct,
            sb.encrypt_str("refresh-token-value", &aad)
                .expect("encrypt")
        );
    }

    #[test]
    fn bad_keys_are_config_errors() {
        assert!(SecretBox::from_base64_key("not base64!").is_err());
        assert!(SecretBox::from_base64_key(&STANDARD.encode([0u8; 16])).is_err());
    }
}
