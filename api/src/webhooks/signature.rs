//! Signature verification of inbound webhooks, over the raw request bytes.
//!
//! Pure functions: no clock reads (`now` is a parameter, in unix seconds) and no I/O.
//! Header values are taken as raw bytes (`headers.get(NAME).map(|v| v.as_bytes())`), so a
//! header that is not valid text is reported as [`VerifyError::Malformed`].
//!
//! - **Telnyx**: `telnyx-signature-ed25519` is the base64 Ed25519 signature of
//!   `"{telnyx-timestamp}|{raw body}"`, checked with the account's public key (base64 of the
//!   32 raw bytes, as the portal shows it); the timestamp must lie within the tolerance.
//! - **Twilio**: `X-Twilio-Signature` is base64(HMAC-SHA1(auth token, URL + each POST parameter
//!   sorted by name, name and value concatenated with no delimiters)). The URL is the full
//!   public URL Twilio called; as Twilio's own validators do, the URL with and without the
//!   scheme's default port (`:443`/`:80`) are both accepted.
//! - **Generic**: `X-Clientele-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//!   "{t}.{raw body}")>`, Stripe-style; several `v1=` entries may be given (secret rotation),
//!   one matching is enough; the timestamp must lie within the tolerance.
//!
//! HMAC comparisons are constant time (`Mac::verify_slice`). Error messages never contain
//! secrets, signatures or body content.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
use std::fmt;

/// Header carrying Telnyx's base64 Ed25519 signature.
pub const TELNYX_SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
/// Header carrying the unix time (seconds) Telnyx signed at.
pub const TELNYX_TIMESTAMP_HEADER: &str = "telnyx-timestamp";
/// Header carrying Twilio's base64 HMAC-SHA1 signature.
pub const TWILIO_SIGNATURE_HEADER: &str = "x-twilio-signature";
/// Header carrying our generic `t=...,v1=...` signature.
pub const GENERIC_SIGNATURE_HEADER: &str = "x-clientele-signature";
/// Default allowed distance between a signed timestamp and now, either way (5 minutes).
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// Why a webhook signature was refused. Every variant maps to `401 Unauthorized`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// A required header is absent or empty (the header's name).
    Missing(&'static str),
    /// A header is present but not of the expected form (what is wrong with it).
    Malformed(&'static str),
    /// The signed timestamp is too old or too far in the future.
    Expired,
    /// The signature does not match the body (or the key/secret is another one).
    Mismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Missing(header) => write!(f, "missing {header} header"),
            VerifyError::Malformed(what) => write!(f, "malformed signature: {what}"),
            VerifyError::Expired => f.write_str("signature timestamp is outside the tolerance"),
            VerifyError::Mismatch => f.write_str("signature does not match"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// A Telnyx public key that is not 32 base64-encoded bytes of a valid Ed25519 point.
/// A configuration error: check keys when configuration is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidPublicKey(&'static str);

impl fmt::Display for InvalidPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid Ed25519 public key: {}", self.0)
    }
}

impl std::error::Error for InvalidPublicKey {}

/// Parses a Telnyx public key as the portal shows it: base64 of the 32 raw key bytes.
pub fn telnyx_public_key(base64_key: &str) -> Result<VerifyingKey, InvalidPublicKey> {
    let bytes = BASE64
        .decode(base64_key.trim())
        .map_err(|_| InvalidPublicKey("not base64"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| InvalidPublicKey("not 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| InvalidPublicKey("not a curve point"))
}

/// Verifies a Telnyx webhook: the Ed25519 signature of `"{timestamp}|{raw_body}"`.
///
/// `signature` and `timestamp` are the values of [`TELNYX_SIGNATURE_HEADER`] and
/// [`TELNYX_TIMESTAMP_HEADER`]. The signature is checked first, then the timestamp, so
/// [`VerifyError::Expired`] is only reported for an authentic but stale or early request.
pub fn verify_telnyx(
    public_key: &VerifyingKey,
    signature: Option<&[u8]>,
    timestamp: Option<&[u8]>,
    raw_body: &[u8],
    now: i64,
    tolerance_secs: u64,
) -> Result<(), VerifyError> {
    let signature = header_text(signature, TELNYX_SIGNATURE_HEADER)?;
    let timestamp_text = header_text(timestamp, TELNYX_TIMESTAMP_HEADER)?;
    let timestamp = parse_unix(timestamp_text).ok_or(VerifyError::Malformed(
        "telnyx-timestamp is not a unix timestamp",
    ))?;
    let signature: [u8; 64] = BASE64
        .decode(signature)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(VerifyError::Malformed(
            "telnyx-signature-ed25519 is not a base64 Ed25519 signature",
        ))?;
    let signature = Signature::from_bytes(&signature);

    let mut message = Vec::with_capacity(timestamp_text.len() + 1 + raw_body.len());
    message.extend_from_slice(timestamp_text.as_bytes());
    message.push(b'|');
    message.extend_from_slice(raw_body);
    public_key
        .verify_strict(&message, &signature)
        .map_err(|_| VerifyError::Mismatch)?;
    check_fresh(timestamp, now, tolerance_secs)
}

/// Computes Twilio's `X-Twilio-Signature` for `url` and the POST parameters `params`.
pub fn sign_twilio(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    BASE64.encode(twilio_mac(auth_token, url, params).finalize().into_bytes())
}

/// Verifies Twilio's `X-Twilio-Signature` (`signature`) for a form-encoded POST.
///
/// `url` is the full public URL Twilio called (scheme, host, path and query string, as
/// configured in Twilio); `params` the decoded form parameters, in any order.
pub fn verify_twilio(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: Option<&[u8]>,
) -> Result<(), VerifyError> {
    let signature = header_text(signature, TWILIO_SIGNATURE_HEADER)?;
    let expected = BASE64
        .decode(signature)
        .ok()
        .filter(|bytes| bytes.len() == 20)
        .ok_or(VerifyError::Malformed(
            "x-twilio-signature is not a base64 HMAC-SHA1",
        ))?;
    let mut candidates = vec![url.to_owned()];
    candidates.extend(url_with_other_port_form(url));
    let mut matched = false;
    for candidate in &candidates {
        matched |= twilio_mac(auth_token, candidate, params)
            .verify_slice(&expected)
            .is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

fn twilio_mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Byte-wise (case-sensitive) order by name; repeated names by value, as Twilio's SDKs do.
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The URL with the scheme's default port added if it has none, or removed if it has it.
fn url_with_other_port_form(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    let authority = match authority[host_end..].rfind(':') {
        Some(colon) if &authority[host_end + colon + 1..] == default_port => {
            authority[..host_end + colon].to_owned()
        }
        Some(_) => return None,
        None => format!("{authority}:{default_port}"),
    };
    Some(format!("{scheme}://{authority}{tail}"))
}

/// Computes the generic [`GENERIC_SIGNATURE_HEADER`] value for `body` signed at `timestamp`:
/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
pub fn sign_generic(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    clientele_domain::signature::header(secret, timestamp, body)
}

/// Verifies the generic `X-Clientele-Signature` header (`header`) over `raw_body`.
pub fn verify_generic(
    secret: &[u8],
    header: Option<&[u8]>,
    raw_body: &[u8],
    now: i64,
    tolerance_secs: u64,
) -> Result<(), VerifyError> {
    let header = header_text(header, GENERIC_SIGNATURE_HEADER)?;
    let mut timestamp_text = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(VerifyError::Malformed("expected t=<unix>,v1=<hex>"))?;
        match key.trim() {
            "t" if timestamp_text.is_some() => {
                return Err(VerifyError::Malformed("t= is given more than once"));
            }
            "t" => timestamp_text = Some(value.trim()),
            "v1" => {
                let bytes = hex::decode(value.trim())
                    .ok()
                    .filter(|bytes| bytes.len() == 32)
                    .ok_or(VerifyError::Malformed("v1= is not a hex HMAC-SHA256"))?;
                signatures.push(bytes);
            }
            _ => {} // other schemes (v0, future versions) are ignored
        }
    }
    let timestamp_text = timestamp_text.ok_or(VerifyError::Malformed("t= is missing"))?;
    let timestamp =
        parse_unix(timestamp_text).ok_or(VerifyError::Malformed("t= is not a unix timestamp"))?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed("v1= is missing"));
    }
    let mac = generic_mac(secret, timestamp_text, raw_body);
    let mut matched = false;
    for signature in &signatures {
        matched |= mac.clone().verify_slice(signature).is_ok();
    }
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    check_fresh(timestamp, now, tolerance_secs)
}

fn generic_mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    clientele_domain::signature::mac(secret, timestamp, body)
}

/// The header's value as text; absent, empty or blank counts as missing.
fn header_text<'a>(value: Option<&'a [u8]>, name: &'static str) -> Result<&'a str, VerifyError> {
    let value = value.ok_or(VerifyError::Missing(name))?;
    let text = std::str::from_utf8(value)
        .map_err(|_| VerifyError::Malformed("header is not valid text"))?
        .trim();
    if text.is_empty() {
        Err(VerifyError::Missing(name))
    } else {
        Ok(text)
    }
}

/// Unix seconds: ASCII digits only (no sign, no fraction), at most 12 of them.
fn parse_unix(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn check_fresh(timestamp: i64, now: i64, tolerance_secs: u64) -> Result<(), VerifyError> {
    if timestamp.abs_diff(now) > tolerance_secs {
        Err(VerifyError::Expired)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::VerifyError::{Expired, Malformed, Mismatch, Missing};
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    const NOW: i64 = 1_700_000_000;
    const TX_BODY: &[u8] = br#"{"data":{"event_type":"message.received","id":"evt-1"}}"#;
    /// Public key and signature of `"1700000000|" + TX_BODY` for the seed `[7; 32]`,
    /// computed independently (Python `cryptography`'s Ed25519).
    const TX_KEY: &str = "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=";
    const TX_SIG: &str =
        "eCqvZ1Ygh8n9dshLRflnjG3oWvkH8jc6k0b6g1j6Xr/ePjyZ1HOlt5KY8DM0Z5zQQtiNwaHEWBlVmtUspaJLCg==";
    const TS: &str = "1700000000";

    /// Verifies with the test key; an empty header value stands for an absent header.
    fn telnyx(sig: &str, ts: &str, body: &[u8], now: i64) -> Result<(), VerifyError> {
        let key = telnyx_public_key(TX_KEY).unwrap();
        fn header(value: &str) -> Option<&[u8]> {
            (!value.is_empty()).then_some(value.as_bytes())
        }
        verify_telnyx(
            &key,
            header(sig),
            header(ts),
            body,
            now,
            DEFAULT_TOLERANCE_SECS,
        )
    }

    fn telnyx_sign(seed: u8, ts: i64, body: &[u8]) -> String {
        let message = [format!("{ts}|").as_bytes(), body].concat();
        BASE64.encode(
            SigningKey::from_bytes(&[seed; 32])
                .sign(&message)
                .to_bytes(),
        )
    }

    #[test]
    fn telnyx_known_answer() {
        let signing = SigningKey::from_bytes(&[7; 32]);
        assert_eq!(BASE64.encode(signing.verifying_key().as_bytes()), TX_KEY);
        assert_eq!(telnyx_sign(7, NOW, TX_BODY), TX_SIG);
        assert_eq!(telnyx(TX_SIG, TS, TX_BODY, NOW), Ok(()));
        // Within the tolerance on either side.
        assert_eq!(telnyx(TX_SIG, TS, TX_BODY, NOW + 300), Ok(()));
        assert_eq!(telnyx(TX_SIG, TS, TX_BODY, NOW - 300), Ok(()));
    }

    #[test]
    fn telnyx_rejects_tampering_and_wrong_key() {
        let tampered = br#"{"data":{"event_type":"message.received","id":"evt-2"}}"#;
        assert_eq!(telnyx(TX_SIG, TS, tampered, NOW), Err(Mismatch));
        // The timestamp is part of the signed payload.
        assert_eq!(telnyx(TX_SIG, "1700000001", TX_BODY, NOW), Err(Mismatch));
        let other_key = telnyx_sign(8, NOW, TX_BODY);
        assert_eq!(telnyx(&other_key, TS, TX_BODY, NOW), Err(Mismatch));
    }

    #[test]
    fn telnyx_rejects_stale_and_future_timestamps() {
        for at in [NOW - 301, NOW + 301] {
            let sig = telnyx_sign(7, at, TX_BODY);
            assert_eq!(telnyx(&sig, &at.to_string(), TX_BODY, NOW), Err(Expired));
        }
    }

    #[test]
    fn telnyx_missing_and_malformed_headers() {
        assert_eq!(
            telnyx("", TS, TX_BODY, NOW),
            Err(Missing(TELNYX_SIGNATURE_HEADER))
        );
        assert_eq!(
            telnyx("  ", TS, TX_BODY, NOW),
            Err(Missing(TELNYX_SIGNATURE_HEADER))
        );
        assert_eq!(
            telnyx(TX_SIG, "", TX_BODY, NOW),
            Err(Missing(TELNYX_TIMESTAMP_HEADER))
        );
        for bad_ts in [
            "-1700000000",
            "1700000000.5",
            "soon",
            "99999999999999999999",
        ] {
            let result = telnyx(TX_SIG, bad_ts, TX_BODY, NOW);
            assert_eq!(
                result,
                Err(Malformed("telnyx-timestamp is not a unix timestamp"))
            );
        }
        for bad_sig in ["not base64!", "AAAA", &TX_SIG[4..]] {
            assert!(matches!(
                telnyx(bad_sig, TS, TX_BODY, NOW),
                Err(Malformed(_))
            ));
        }
        let key = telnyx_public_key(TX_KEY).unwrap();
        let result = verify_telnyx(&key, Some(b"\xff\xfe"), Some(b"1"), TX_BODY, NOW, 300);
        assert_eq!(result, Err(Malformed("header is not valid text")));
    }

    #[test]
    fn telnyx_public_key_parsing() {
        assert!(telnyx_public_key(&format!(" {TX_KEY}\n")).is_ok());
        assert_eq!(
            telnyx_public_key("%%%"),
            Err(InvalidPublicKey("not base64"))
        );
        assert_eq!(
            telnyx_public_key("AAAA"),
            Err(InvalidPublicKey("not 32 bytes"))
        );
    }

    const TW_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    /// The parameters of Twilio's documented example.
    fn twilio_example(caller: &str) -> Vec<(String, String)> {
        let params = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", caller),
            ("Digits", "1234"),
        ];
        let params = params
            .into_iter()
            .chain([("From", caller), ("To", "+18005551212")]);
        params.map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    fn twilio(url: &str, params: &[(String, String)], sig: &str) -> Result<(), VerifyError> {
        verify_twilio("12345", url, params, Some(sig.as_bytes()))
    }

    #[test]
    fn twilio_documented_examples() {
        // Twilio's published examples (auth token "12345"), in two versions of its docs.
        let examples = [
            ("+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            ("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        ];
        for (caller, expected) in examples {
            let mut params = twilio_example(caller);
            assert_eq!(sign_twilio("12345", TW_URL, &params), expected);
            params.reverse(); // the order of the form does not matter
            assert_eq!(twilio(TW_URL, &params, expected), Ok(()));
        }
    }

    #[test]
    fn twilio_independent_hmac_and_port_variants() {
        let params = twilio_example("+14158675309");
        // Independently: URL + sorted name/value pairs, HMAC-SHA1, base64.
        let pairs = "CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309";
        let data = format!("{TW_URL}{pairs}To+18005551212");
        let mut mac = Hmac::<Sha1>::new_from_slice(b"12345").unwrap();
        mac.update(data.as_bytes());
        let signature = BASE64.encode(mac.finalize().into_bytes());
        assert_eq!(signature, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        // Signed with an explicit default port, verified against the configured URL, and back.
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        let signed_with_port = sign_twilio("12345", with_port, &params);
        assert_eq!(twilio(TW_URL, &params, &signed_with_port), Ok(()));
        assert_eq!(twilio(with_port, &params, &signature), Ok(()));
        let variant = |url: &str| url_with_other_port_form(url);
        assert_eq!(
            variant("http://[::1]:80/x").as_deref(),
            Some("http://[::1]/x")
        );
        assert_eq!(
            variant("http://[::1]/x").as_deref(),
            Some("http://[::1]:80/x")
        );
        assert_eq!(variant("https://h:8443/x"), None);
        assert_eq!(variant("https://h").as_deref(), Some("https://h:443"));
    }

    #[test]
    fn twilio_rejects_tampering_wrong_token_and_bad_headers() {
        let sig = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        let mut params = twilio_example("+14158675309");
        let wrong_token = verify_twilio("12346", TW_URL, &params, Some(sig.as_bytes()));
        assert_eq!(wrong_token, Err(Mismatch));
        let other_url = "https://mycompany.com/myapp.php?foo=1&bar=3";
        assert_eq!(twilio(other_url, &params, sig), Err(Mismatch));
        params[2].1 = "1235".to_owned();
        assert_eq!(twilio(TW_URL, &params, sig), Err(Mismatch));
        params[2].1 = "1234".to_owned();
        params.push(("Body".to_owned(), String::new())); // an added parameter counts
        assert_eq!(twilio(TW_URL, &params, sig), Err(Mismatch));
        let missing = verify_twilio("12345", TW_URL, &params, None);
        assert_eq!(missing, Err(Missing(TWILIO_SIGNATURE_HEADER)));
        for bad in ["%%%", "AAAA"] {
            let expected = Malformed("x-twilio-signature is not a base64 HMAC-SHA1");
            assert_eq!(twilio(TW_URL, &params, bad), Err(expected));
        }
    }

    const GN_BODY: &[u8] = br#"{"id":"m-1","text":"hello"}"#;
    /// HMAC-SHA256("whsec_test", "1700000000." + GN_BODY), computed independently (Python).
    const GN_HEX: &str = "de850351983493d35e82681ed60eab4d1fa213407fbd8f5c931786a15aa03e20";

    fn generic(header: &str, body: &[u8], now: i64) -> Result<(), VerifyError> {
        verify_generic(b"whsec_test", Some(header.as_bytes()), body, now, 300)
    }

    #[test]
    fn generic_known_answer_and_round_trip() {
        let header = sign_generic(b"whsec_test", NOW, GN_BODY);
        assert_eq!(header, format!("t=1700000000,v1={GN_HEX}"));
        assert_eq!(generic(&header, GN_BODY, NOW + 299), Ok(()));
        // Spaces, several signatures (rotation) and unknown schemes are accepted.
        let zeros = "00".repeat(32);
        let rotated = format!("t=1700000000, v0=abc, v1={zeros}, v1={GN_HEX}");
        assert_eq!(generic(&rotated, GN_BODY, NOW), Ok(()));
    }

    #[test]
    fn generic_rejects_tampering_wrong_secret_and_replays() {
        let header = sign_generic(b"whsec_test", NOW, GN_BODY);
        let tampered = br#"{"id":"m-1","text":"hellO"}"#;
        assert_eq!(generic(&header, tampered, NOW), Err(Mismatch));
        let other = sign_generic(b"whsec_other", NOW, GN_BODY);
        assert_eq!(generic(&other, GN_BODY, NOW), Err(Mismatch));
        // A re-labelled timestamp: the signature covers it.
        let relabelled = format!("t=1700000100,v1={GN_HEX}");
        assert_eq!(generic(&relabelled, GN_BODY, NOW + 100), Err(Mismatch));
        assert_eq!(generic(&header, GN_BODY, NOW + 301), Err(Expired));
        assert_eq!(generic(&header, GN_BODY, NOW - 301), Err(Expired));
    }

    #[test]
    fn generic_missing_and_malformed_headers() {
        let missing = verify_generic(b"s", None, GN_BODY, NOW, 300);
        assert_eq!(missing, Err(Missing(GENERIC_SIGNATURE_HEADER)));
        let v1 = format!("v1={GN_HEX}");
        let cases = [
            ("garbage".to_owned(), "expected t=<unix>,v1=<hex>"),
            (v1.clone(), "t= is missing"),
            (format!("t={TS}"), "v1= is missing"),
            (format!("t={TS},{v1},t={TS}"), "t= is given more than once"),
            (format!("t=yesterday,{v1}"), "t= is not a unix timestamp"),
            (format!("t={TS},v1=zz"), "v1= is not a hex HMAC-SHA256"),
            (
                format!("t={TS},v1={}", &GN_HEX[2..]),
                "v1= is not a hex HMAC-SHA256",
            ),
        ];
        for (header, problem) in cases {
            assert_eq!(
                generic(&header, GN_BODY, NOW),
                Err(Malformed(problem)),
                "{header}"
            );
        }
    }

    #[test]
    fn error_messages_name_no_secret() {
        let messages = [
            Missing(TWILIO_SIGNATURE_HEADER).to_string(),
            Malformed("t= is missing").to_string(),
            Expired.to_string(),
            Mismatch.to_string(),
        ];
        assert_eq!(messages[0], "missing x-twilio-signature header");
        assert_eq!(messages[1], "malformed signature: t= is missing");
        assert!(
            messages
                .iter()
                .all(|m| !m.contains("12345") && !m.contains("whsec"))
        );
    }
}
