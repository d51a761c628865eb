//! The timestamped HMAC-SHA256 signature Clientele uses both ways: on inbound generic
//! webhooks (`X-Clientele-Signature`, checked by the API) and on outbound notification
//! webhooks (`Clientele-Signature`, see [`crate::notifications::signing`]).
//!
//! The value is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The MAC over `"<timestamp>.<body>"` keyed with `secret`, ready to finalise or verify
/// (in constant time, with `verify_slice`).
pub fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The hex signature of `body` at `timestamp`.
pub fn hex_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    hex::encode(
        mac(secret, &timestamp.to_string(), body)
            .finalize()
            .into_bytes(),
    )
}

/// The header value `t=<timestamp>,v1=<hex>`.
pub fn header(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex_signature(secret, timestamp, body)
    )
}
