//! Signatures of outbound webhooks.
//!
//! Every request carries `Clientele-Signature: t=<unix seconds>,v1=<hex>` where `<hex>` is
//! HMAC-SHA256 keyed with the endpoint's secret over `"<t>.<raw body>"`. A receiver:
//! 1. splits the header on `,` and reads `t` and every `v1` (there may be several while a
//!    secret is rotated);
//! 2. refuses a `t` further than its replay window (5 minutes is usual) from its own clock;
//! 3. computes HMAC-SHA256(secret, t + "." + raw body bytes) and compares it in constant time
//!    with each `v1`; one equal value accepts the request.
//!
//! Keep the raw body: re-serialising the JSON changes the bytes and breaks the signature.

use hmac::Mac;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Clientele-Signature";
/// The header carrying the notification kind (`client.intent_reached`...).
pub const EVENT_HEADER: &str = "Clientele-Event";
/// The header carrying the delivery id (the same on every attempt of one delivery).
pub const DELIVERY_HEADER: &str = "Clientele-Delivery";

/// Hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret` (the scheme of
/// [`crate::signature`], shared with inbound generic webhooks).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    crate::signature::hex_signature(secret.as_bytes(), timestamp, body)
}

/// The `Clientele-Signature` header value for `body` sent at `timestamp`.
pub fn header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    crate::signature::header(secret.as_bytes(), timestamp, body)
}

/// Why a signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    Malformed,
    /// The timestamp is outside the replay window.
    Stale,
    Mismatch,
}

/// Verifies a `Clientele-Signature` header as a receiver should (see the module docs):
/// `now` and `tolerance_secs` bound the replay window.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.push(v),
            _ => {}
        }
    }
    let t = timestamp.ok_or(VerifyError::Malformed)?;
    if candidates.is_empty() {
        return Err(VerifyError::Malformed);
    }
    if (now - t).abs() > tolerance_secs {
        return Err(VerifyError::Stale);
    }
    for candidate in candidates {
        let Ok(expected) = hex::decode(candidate) else {
            continue;
        };
        let mac = crate::signature::mac(secret.as_bytes(), &t.to_string(), body);
        // `verify_slice` compares in constant time.
        if mac.verify_slice(&expected).is_ok() {
            return Ok(());
        }
    }
    Err(VerifyError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"1"}"#;

    #[test]
    fn signature_matches_an_independent_computation() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test",
        //   b"1700000000.{\"id\":\"1\"}", hashlib.sha256).hexdigest())'
        assert_eq!(
            signature("whsec_test", 1_700_000_000, BODY),
            "11bf4466ea17c3df3fd743af0b435368e16b7a05eb8eced85e8c4670767bdec5"
        );
        assert_eq!(
            header("whsec_test", 1_700_000_000, BODY),
            "t=1700000000,v1=11bf4466ea17c3df3fd743af0b435368e16b7a05eb8eced85e8c4670767bdec5"
        );
    }

    #[test]
    fn verification_accepts_the_signed_body_only_within_the_window() {
        let h = header("s3cret", 1_000, BODY);
        assert_eq!(verify("s3cret", &h, BODY, 1_100, 300), Ok(()));
        assert_eq!(
            verify("s3cret", &h, br#"{"id":"2"}"#, 1_100, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("other", &h, BODY, 1_100, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("s3cret", &h, BODY, 1_400, 300),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify("s3cret", "v1=abc", BODY, 1_000, 300),
            Err(VerifyError::Malformed)
        );
        // Any one of several v1 values may match (rotation).
        let both = format!("{h},v1=00ff");
        assert_eq!(verify("s3cret", &both, BODY, 1_000, 300), Ok(()));
    }
}
