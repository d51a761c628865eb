//! Parsing of inbound webhook messages (Telnyx, Twilio, generic) into one neutral
//! [`InboundMessage`]. Pure: call it after the signature was verified on the raw body.
//!
//! Errors ([`PayloadError`]) name the field that is missing or wrong, and never echo any
//! part of the body. Limits: text at most [`MAX_TEXT_BYTES`], ids at most [`MAX_ID_CHARS`],
//! addresses at most [`MAX_ADDRESS_CHARS`], at most [`MAX_MEDIA`] media URLs (http or https,
//! at most [`MAX_URL_CHARS`] each). Ids, addresses and names are trimmed and may not contain
//! control characters; no field may contain NUL. Unknown fields are ignored.
//!
//! # Generic format
//!
//! `POST /webhooks/generic` with `Content-Type: application/json`, signed with the
//! `X-Clientele-Signature` header, and a body such as:
//!
//! ```json
//! {
//!   "id": "msg-20240611-0042",
//!   "channel": "whatsapp",
//!   "from": "+14155550123",
//!   "to": "+14155550100",
//!   "text": "Hi, is my order ready?",
//!   "name": "Ada Lovelace",
//!   "receivedAt": "2024-06-11T09:30:00Z"
//! }
//! ```
//!
//! | field | required | meaning |
//! | --- | --- | --- |
//! | `id` | yes | your unique id of the message (at most 200 characters); a resent message must keep its id |
//! | `channel` | yes | one of `sms`, `whatsapp`, `email`, `chat`, `web`, `telegram`, `facebook`, `zalo`, `voice` |
//! | `from` | yes | the sender: phone number, email address or the channel's user id |
//! | `to` | yes | the receiving number or inbox, which selects the tenant |
//! | `text` | yes | the message text, not empty, at most 64 KiB of UTF-8 |
//! | `name` | no | the sender's display name |
//! | `receivedAt` | no | when the message was received, RFC 3339 (e.g. `2024-06-11T09:30:00+02:00`) |
//! | `avatarUrl` | no | the sender's picture on the platform (http or https URL); kept on the conversation and its client |

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::fmt;

/// Most bytes of UTF-8 in a message text.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Most characters in a message id.
pub const MAX_ID_CHARS: usize = 200;
/// Most characters in a `from` or `to` address.
pub const MAX_ADDRESS_CHARS: usize = 320;
/// Most characters in a sender's display name.
pub const MAX_NAME_CHARS: usize = 200;
/// Most media attachments in one message.
pub const MAX_MEDIA: usize = 20;
/// Most characters in one media URL.
pub const MAX_URL_CHARS: usize = 2048;

/// The channel a message arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    Sms,
    Whatsapp,
    Email,
    Chat,
    Web,
    Telegram,
    Facebook,
    Zalo,
    Voice,
}

impl Channel {
    pub const ALL: [Channel; 9] = [
        Channel::Sms,
        Channel::Whatsapp,
        Channel::Email,
        Channel::Chat,
        Channel::Web,
        Channel::Telegram,
        Channel::Facebook,
        Channel::Zalo,
        Channel::Voice,
    ];

    /// The lower-case name (`"whatsapp"`), as in the generic format.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
            Channel::Email => "email",
            Channel::Chat => "chat",
            Channel::Web => "web",
            Channel::Telegram => "telegram",
            Channel::Facebook => "facebook",
            Channel::Zalo => "zalo",
            Channel::Voice => "voice",
        }
    }

    /// The channel named `name`, ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<Channel> {
        Channel::ALL
            .into_iter()
            .find(|channel| channel.as_str().eq_ignore_ascii_case(name))
    }
}

/// One inbound message, whichever provider delivered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundMessage {
    /// `"telnyx"`, `"twilio"` or `"generic"`.
    pub provider: &'static str,
    /// The provider's id of the message: the key to ignore a redelivery.
    pub provider_message_id: String,
    /// The sender (phone number without any `whatsapp:` prefix, address or user id).
    pub from: String,
    /// The receiving number or inbox: selects the tenant.
    pub to: String,
    /// The text; may be empty for a provider's media-only message.
    pub body: String,
    pub channel: Channel,
    pub received_at: Option<DateTime<Utc>>,
    pub sender_name: Option<String>,
    pub media_urls: Vec<String>,
    /// The sender's picture, when the platform supplies one (http or https).
    pub avatar_url: Option<String>,
}

/// Why a webhook body was refused (`400 Bad Request`). Names fields, never their values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// The body is not JSON; where parsing stopped.
    NotJson { line: usize, column: usize },
    /// A required field is absent (or `null`); its path, e.g. `data.payload.id`.
    Missing(String),
    /// A field is present but unusable: its path and what is wrong.
    Invalid {
        field: String,
        problem: &'static str,
    },
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::NotJson { line, column } => {
                write!(f, "body is not valid JSON (line {line}, column {column})")
            }
            PayloadError::Missing(field) => write!(f, "{field} is missing"),
            PayloadError::Invalid { field, problem } => write!(f, "{field} {problem}"),
        }
    }
}

impl std::error::Error for PayloadError {}

fn invalid(field: impl Into<String>, problem: &'static str) -> PayloadError {
    PayloadError::Invalid {
        field: field.into(),
        problem,
    }
}

/// Parses a Telnyx messaging webhook. `Ok(None)` for any event but `message.received`
/// (acknowledge it with 2xx and ignore it).
pub fn parse_telnyx(raw: &[u8]) -> Result<Option<InboundMessage>, PayloadError> {
    let root = parse_json(raw)?;
    let data = req_object(as_object(&root, "body")?, "", "data")?;
    if req_str(data, "data", "event_type")? != "message.received" {
        return Ok(None);
    }
    let payload = req_object(data, "data", "payload")?;
    let path = "data.payload";
    let id = clean_id("data.payload.id", req_str(payload, path, "id")?)?;
    let from_obj = req_object(payload, path, "from")?;
    let from = req_str(from_obj, "data.payload.from", "phone_number")?;
    let from = clean_address("data.payload.from.phone_number", from)?;
    let to = match get(payload, "to") {
        None => return Err(PayloadError::Missing("data.payload.to".into())),
        Some(Value::Array(list)) => list
            .first()
            .ok_or_else(|| invalid("data.payload.to", "is empty"))?,
        Some(_) => return Err(invalid("data.payload.to", "must be an array")),
    };
    let to = as_object(to, "data.payload.to[0]")?;
    let to = req_str(to, "data.payload.to[0]", "phone_number")?;
    let to = clean_address("data.payload.to[0].phone_number", to)?;

    let mut media_urls = Vec::new();
    match get(payload, "media") {
        None => {}
        Some(Value::Array(list)) if list.len() > MAX_MEDIA => {
            return Err(invalid("data.payload.media", "has too many items"));
        }
        Some(Value::Array(list)) => {
            for (i, item) in list.iter().enumerate() {
                let item_path = format!("data.payload.media[{i}]");
                let url = req_str(as_object(item, &item_path)?, &item_path, "url")?;
                media_urls.push(clean_url(format!("{item_path}.url"), url)?);
            }
        }
        Some(_) => return Err(invalid("data.payload.media", "must be an array")),
    }
    let body = match opt_str(payload, path, "text")? {
        Some(text) => clean_text("data.payload.text", text)?,
        None if !media_urls.is_empty() => String::new(),
        None => return Err(PayloadError::Missing("data.payload.text".into())),
    };
    let channel = match opt_str(payload, path, "type")? {
        Some(kind) if kind.eq_ignore_ascii_case("whatsapp") => Channel::Whatsapp,
        _ => Channel::Sms, // "SMS", "MMS"
    };
    let received_at = match opt_str(payload, path, "received_at")? {
        Some(at) => Some(timestamp("data.payload.received_at", at)?),
        None => match opt_str(data, "data", "occurred_at")? {
            Some(at) => Some(timestamp("data.occurred_at", at)?),
            None => None,
        },
    };
    Ok(Some(InboundMessage {
        provider: "telnyx",
        provider_message_id: id,
        from,
        to,
        body,
        channel,
        received_at,
        sender_name: None,
        media_urls,
        avatar_url: None,
    }))
}

/// Parses a Twilio incoming-message webhook from its decoded form parameters
/// (`serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw)`).
///
/// A `whatsapp:` (or `messenger:`) prefix on `From` or `To` sets the channel (else SMS) and
/// is stripped; `ProfileName` (WhatsApp) becomes the sender's name. The legacy
/// `SmsMessageSid` stands in for a missing `MessageSid`. Twilio sends no timestamp.
pub fn parse_twilio(form: &[(String, String)]) -> Result<InboundMessage, PayloadError> {
    let id = match form_get(form, "MessageSid")? {
        Some(id) => id,
        None => form_get(form, "SmsMessageSid")?
            .ok_or_else(|| PayloadError::Missing("MessageSid".into()))?,
    };
    let id = clean_id("MessageSid", id)?;
    let (from_channel, from) = split_channel_prefix(form_req(form, "From")?);
    let (to_channel, to) = split_channel_prefix(form_req(form, "To")?);
    let channel = from_channel.or(to_channel).unwrap_or(Channel::Sms);
    let from = clean_address("From", from)?;
    let to = clean_address("To", to)?;

    let media_count = match form_get(form, "NumMedia")? {
        None => 0,
        Some(count) => count
            .trim()
            .parse::<usize>()
            .map_err(|_| invalid("NumMedia", "must be a whole number"))?,
    };
    if media_count > MAX_MEDIA {
        return Err(invalid("NumMedia", "is too large"));
    }
    let mut media_urls = Vec::with_capacity(media_count);
    for i in 0..media_count {
        let field = format!("MediaUrl{i}");
        let url = form_get(form, &field)?.ok_or_else(|| PayloadError::Missing(field.clone()))?;
        media_urls.push(clean_url(field, url)?);
    }
    let body = match form_get(form, "Body")? {
        Some(text) => clean_text("Body", text)?,
        None if media_count > 0 => String::new(),
        None => return Err(PayloadError::Missing("Body".into())),
    };
    let sender_name = match form_get(form, "ProfileName")? {
        Some(name) => clean_name("ProfileName", name)?,
        None => None,
    };
    Ok(InboundMessage {
        provider: "twilio",
        provider_message_id: id,
        from,
        to,
        body,
        channel,
        received_at: None,
        sender_name,
        media_urls,
        avatar_url: None,
    })
}

/// Splits Twilio's `whatsapp:` / `messenger:` address prefix off, with the channel it means.
fn split_channel_prefix(address: &str) -> (Option<Channel>, &str) {
    if let Some((prefix, rest)) = address.split_once(':') {
        for (name, channel) in [
            ("whatsapp", Channel::Whatsapp),
            ("messenger", Channel::Facebook),
        ] {
            if prefix.eq_ignore_ascii_case(name) {
                return (Some(channel), rest);
            }
        }
    }
    (None, address)
}

/// Parses our generic JSON format (see the module documentation).
pub fn parse_generic(raw: &[u8]) -> Result<InboundMessage, PayloadError> {
    let root = parse_json(raw)?;
    let root = as_object(&root, "body")?;
    let id = clean_id("id", req_str(root, "", "id")?)?;
    let channel = req_str(root, "", "channel")?;
    let channel = Channel::from_name(channel.trim()).ok_or_else(|| {
        invalid(
            "channel",
            "is not one of sms, whatsapp, email, chat, web, telegram, facebook, zalo, voice",
        )
    })?;
    let from = clean_address("from", req_str(root, "", "from")?)?;
    let to = clean_address("to", req_str(root, "", "to")?)?;
    let body = clean_text("text", req_str(root, "", "text")?)?;
    if body.trim().is_empty() {
        return Err(invalid("text", "is empty"));
    }
    let sender_name = match opt_str(root, "", "name")? {
        Some(name) => clean_name("name", name)?,
        None => None,
    };
    let received_at = match opt_str(root, "", "receivedAt")? {
        Some(at) => Some(timestamp("receivedAt", at)?),
        None => None,
    };
    let avatar_url = match opt_str(root, "", "avatarUrl")? {
        Some(url) => Some(clean_url("avatarUrl".to_string(), url)?),
        None => None,
    };
    Ok(InboundMessage {
        provider: "generic",
        provider_message_id: id,
        from,
        to,
        body,
        channel,
        received_at,
        sender_name,
        media_urls: Vec::new(),
        avatar_url,
    })
}

fn parse_json(raw: &[u8]) -> Result<Value, PayloadError> {
    serde_json::from_slice(raw).map_err(|e| PayloadError::NotJson {
        line: e.line(),
        column: e.column(),
    })
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The field `key`, with `null` taken as absent.
fn get<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, PayloadError> {
    value
        .as_object()
        .ok_or_else(|| invalid(path, "must be a JSON object"))
}

fn req_object<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<&'a Map<String, Value>, PayloadError> {
    let child = get(object, key).ok_or_else(|| PayloadError::Missing(join(parent, key)))?;
    as_object(child, &join(parent, key))
}

fn opt_str<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<Option<&'a str>, PayloadError> {
    match get(object, key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(invalid(join(parent, key), "must be a string")),
    }
}

fn req_str<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<&'a str, PayloadError> {
    opt_str(object, parent, key)?.ok_or_else(|| PayloadError::Missing(join(parent, key)))
}

/// The only value of form field `key`; a field given twice is refused.
fn form_get<'a>(form: &'a [(String, String)], key: &str) -> Result<Option<&'a str>, PayloadError> {
    let mut values = form
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(invalid(key, "is given more than once"));
    }
    Ok(first)
}

fn form_req<'a>(form: &'a [(String, String)], key: &str) -> Result<&'a str, PayloadError> {
    form_get(form, key)?.ok_or_else(|| PayloadError::Missing(key.to_owned()))
}

/// A trimmed one-line value: not empty, at most `max` characters, no control characters.
fn clean_line(field: &str, value: &str, max: usize) -> Result<String, PayloadError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(field, "is empty"));
    }
    if value.chars().count() > max {
        return Err(invalid(field, "is too long"));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(value.to_owned())
}

fn clean_id(field: &str, value: &str) -> Result<String, PayloadError> {
    clean_line(field, value, MAX_ID_CHARS)
}

fn clean_address(field: &str, value: &str) -> Result<String, PayloadError> {
    clean_line(field, value, MAX_ADDRESS_CHARS)
}

/// A display name; blank means none.
fn clean_name(field: &str, value: &str) -> Result<Option<String>, PayloadError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    clean_line(field, value, MAX_NAME_CHARS).map(Some)
}

fn clean_url(field: String, value: &str) -> Result<String, PayloadError> {
    let url = clean_line(&field, value, MAX_URL_CHARS)?;
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(invalid(field, "is not an http(s) URL"));
    }
    Ok(url)
}

/// Message text, kept as sent (not trimmed): at most [`MAX_TEXT_BYTES`], no NUL.
fn clean_text(field: &str, value: &str) -> Result<String, PayloadError> {
    if value.len() > MAX_TEXT_BYTES {
        return Err(invalid(field, "is longer than 64 KiB"));
    }
    if value.contains('\0') {
        return Err(invalid(field, "contains a NUL character"));
    }
    Ok(value.to_owned())
}

fn timestamp(field: &str, value: &str) -> Result<DateTime<Utc>, PayloadError> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| invalid(field, "is not an RFC 3339 timestamp"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn telnyx_event(event_type: &str) -> Value {
        let mut event: Value = serde_json::from_str(TELNYX_RECEIVED).unwrap();
        event["data"]["event_type"] = json!(event_type);
        event
    }

    /// Modelled on Telnyx's documented `message.received` webhook (values made up).
    const TELNYX_RECEIVED: &str = r#"{"data": {
        "record_type": "event", "event_type": "message.received",
        "id": "2b1c7c2e-6f55-4c1e-9d1a-0c7b5a3e8f10", "occurred_at": "2024-06-11T09:30:01.250+00:00",
        "payload": {
            "record_type": "message", "direction": "inbound", "type": "MMS",
            "id": "40385f64-5717-4562-b3fc-2c963f66afa6",
            "from": {"phone_number": "+14155550123", "carrier": "Example Wireless", "line_type": "Wireless"},
            "to": [{"phone_number": "+14155550100", "status": "webhook_delivered", "line_type": "Long Code"}],
            "cc": [], "text": "Bonjour, c'est prêt ? 😀", "encoding": "UCS-2", "parts": 1,
            "media": [{"url": "https://media.example.net/a1.jpg", "content_type": "image/jpeg", "size": 2048}],
            "received_at": "2024-06-11T09:30:00.900+00:00"}},
        "meta": {"attempt": 1, "delivered_to": "https://hooks.example.org/webhooks/telnyx"}}"#;

    fn telnyx(value: &Value) -> Result<Option<InboundMessage>, PayloadError> {
        parse_telnyx(value.to_string().as_bytes())
    }

    fn err_text<T: fmt::Debug>(result: Result<T, PayloadError>) -> String {
        result.unwrap_err().to_string()
    }

    fn utc(rfc3339: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc())
    }

    /// Cases `target | JSON value | expected error`, one a line.
    fn cases(table: &str) -> impl Iterator<Item = (&str, Value, &str)> {
        table.lines().filter(|l| !l.trim().is_empty()).map(|line| {
            let parts: Vec<&str> = line.split(" | ").map(str::trim).collect();
            (parts[0], serde_json::from_str(parts[1]).unwrap(), parts[2])
        })
    }

    #[test]
    fn telnyx_message_received() {
        let expected = InboundMessage {
            provider: "telnyx",
            provider_message_id: "40385f64-5717-4562-b3fc-2c963f66afa6".into(),
            from: "+14155550123".into(),
            to: "+14155550100".into(),
            body: "Bonjour, c'est prêt ? 😀".into(),
            channel: Channel::Sms,
            received_at: utc("2024-06-11T09:30:00.900Z"),
            sender_name: None,
            media_urls: vec!["https://media.example.net/a1.jpg".into()],
            avatar_url: None,
        };
        assert_eq!(
            telnyx(&telnyx_event("message.received")),
            Ok(Some(expected))
        );
    }

    #[test]
    fn telnyx_other_events_are_ignored() {
        for event in ["message.sent", "message.finalized", "call.initiated"] {
            assert_eq!(telnyx(&telnyx_event(event)), Ok(None));
        }
        let minimal = json!({"data": {"event_type": "message.finalized"}}); // even without payload
        assert_eq!(telnyx(&minimal), Ok(None));
    }

    #[test]
    fn telnyx_optional_fields() {
        let mut event = telnyx_event("message.received");
        let payload = event["data"]["payload"].as_object_mut().unwrap();
        payload.remove("received_at");
        (payload["type"], payload["media"]) = (json!("SMS"), json!([]));
        let message = telnyx(&event).unwrap().unwrap();
        assert_eq!(message.received_at, utc("2024-06-11T09:30:01.250Z")); // data.occurred_at
        assert!(message.media_urls.is_empty());
        // Media-only MMS: no text.
        let mut event = telnyx_event("message.received");
        event["data"]["payload"]["text"] = Value::Null;
        assert_eq!(telnyx(&event).unwrap().unwrap().body, "");
        event["data"]["payload"]["type"] = json!("WHATSAPP");
        assert_eq!(telnyx(&event).unwrap().unwrap().channel, Channel::Whatsapp);
    }

    const TELNYX_BAD: &str = r#"
        /data/payload/from/phone_number | null | data.payload.from.phone_number is missing
        /data/payload/from | "+1415" | data.payload.from must be a JSON object
        /data/payload/to | [] | data.payload.to is empty
        /data/payload/to | {"phone_number": "+1"} | data.payload.to must be an array
        /data/payload/to/0/phone_number | 14155550100 | data.payload.to[0].phone_number must be a string
        /data/payload/id | "  " | data.payload.id is empty
        /data/payload/media/0/url | "ftp://x/y" | data.payload.media[0].url is not an http(s) URL
        /data/payload/received_at | "yesterday" | data.payload.received_at is not an RFC 3339 timestamp
        /data/payload/text | "a\u0000b" | data.payload.text contains a NUL character
        /data/event_type | 7 | data.event_type must be a string
        /data/payload | "x" | data.payload must be a JSON object"#;

    #[test]
    fn telnyx_malformed() {
        for (pointer, value, expected) in cases(TELNYX_BAD) {
            let mut event = telnyx_event("message.received");
            *event.pointer_mut(pointer).unwrap() = value;
            assert_eq!(err_text(telnyx(&event)), expected);
        }
        let mut event = telnyx_event("message.received");
        event["data"]["payload"]["media"] = json!([]);
        event["data"]["payload"]
            .as_object_mut()
            .unwrap()
            .remove("text");
        assert_eq!(err_text(telnyx(&event)), "data.payload.text is missing");
        let many = vec![json!({"url": "https://m/x"}); MAX_MEDIA + 1];
        event["data"]["payload"]["media"] = Value::Array(many);
        assert_eq!(
            err_text(telnyx(&event)),
            "data.payload.media has too many items"
        );
        assert_eq!(err_text(telnyx(&json!({"meta": {}}))), "data is missing");
        assert_eq!(
            err_text(telnyx(&json!([1, 2]))),
            "body must be a JSON object"
        );
        let truncated = parse_telnyx(b"{\"data\": ");
        assert_eq!(
            err_text(truncated),
            "body is not valid JSON (line 1, column 9)"
        );
        assert!(matches!(
            parse_telnyx(b"\xff\xfe"),
            Err(PayloadError::NotJson { .. })
        ));
    }

    fn form(raw: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(raw).unwrap()
    }

    /// Modelled on Twilio's documented incoming-message request (values made up).
    const TWILIO_SMS: &str = "ToCountry=US&ToState=CA&SmsMessageSid=SM0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f\
        &NumMedia=0&ToCity=SAN+FRANCISCO&FromZip=94105&SmsSid=SM0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f\
        &FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO&Body=Is+my+order+ready%3F+%F0%9F%98%80\
        &FromCountry=US&To=%2B14155550100&NumSegments=1&MessageSid=SM0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f\
        &AccountSid=AC00000000000000000000000000000000&From=%2B14155550123&ApiVersion=2010-04-01";
    const SID: &str = "SM0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f";

    #[test]
    fn twilio_sms() {
        let expected = InboundMessage {
            provider: "twilio",
            provider_message_id: SID.into(),
            from: "+14155550123".into(),
            to: "+14155550100".into(),
            body: "Is my order ready? 😀".into(),
            channel: Channel::Sms,
            received_at: None,
            sender_name: None,
            media_urls: Vec::new(),
            avatar_url: None,
        };
        assert_eq!(parse_twilio(&form(TWILIO_SMS)), Ok(expected));
    }

    #[test]
    fn twilio_whatsapp_with_media() {
        let raw = "SmsMessageSid=MM11112222333344445555666677778888&NumMedia=2&ProfileName=Ada+L.\
            &MessageType=image&WaId=14155550123&Body=&To=whatsapp%3A%2B14155550100\
            &MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC0%2FMessages%2FMM1%2FMedia%2FME0\
            &MediaContentType0=image%2Fjpeg&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2Fm%2FME1\
            &MessageSid=MM11112222333344445555666677778888&From=whatsapp%3A%2B14155550123";
        let message = parse_twilio(&form(raw)).unwrap();
        assert_eq!(
            (message.channel, message.body.as_str()),
            (Channel::Whatsapp, "")
        );
        assert_eq!(
            [&message.from, &message.to],
            ["+14155550123", "+14155550100"]
        );
        assert_eq!(message.sender_name.as_deref(), Some("Ada L."));
        assert_eq!(message.media_urls.len(), 2);
        assert!(message.media_urls[0].ends_with("/Media/ME0"));
    }

    #[test]
    fn twilio_malformed() {
        let without = |keys: &[&str]| -> Vec<(String, String)> {
            let mut form = form(TWILIO_SMS);
            form.retain(|(k, _)| !keys.contains(&k.as_str()));
            form
        };
        let with = |key: &str, value: &str| {
            let mut form = without(&[key]);
            form.push((key.to_owned(), value.to_owned()));
            parse_twilio(&form)
        };
        for key in ["From", "To", "Body"] {
            assert_eq!(
                err_text(parse_twilio(&without(&[key]))),
                format!("{key} is missing")
            );
        }
        // MessageSid falls back to the legacy SmsMessageSid.
        assert_eq!(
            parse_twilio(&without(&["MessageSid"]))
                .unwrap()
                .provider_message_id,
            SID
        );
        let no_id = parse_twilio(&without(&["MessageSid", "SmsMessageSid"]));
        assert_eq!(err_text(no_id), "MessageSid is missing");
        let twice = form(&format!("{TWILIO_SMS}&From=%2B1999"));
        assert_eq!(
            err_text(parse_twilio(&twice)),
            "From is given more than once"
        );
        assert_eq!(err_text(with("NumMedia", "1")), "MediaUrl0 is missing");
        assert_eq!(
            err_text(with("NumMedia", "two")),
            "NumMedia must be a whole number"
        );
        assert_eq!(err_text(with("NumMedia", "99")), "NumMedia is too large");
        let long = "a".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(err_text(with("Body", &long)), "Body is longer than 64 KiB");
        let long = "S".repeat(MAX_ID_CHARS + 1);
        assert_eq!(
            err_text(with("MessageSid", &long)),
            "MessageSid is too long"
        );
        assert_eq!(err_text(with("To", "whatsapp:")), "To is empty");
    }

    /// A full example of the generic format.
    const GENERIC: &str = r#"{"id": "msg-20240611-0042", "channel": "zalo", "from": "zalo-user-8812",
        "to": "support@shop.example", "text": "  Xin chào, đơn hàng của tôi đâu?\n",
        "name": " Nguyễn Văn A ", "receivedAt": "2024-06-11T16:30:00+07:00", "extra": {"ignored": true}}"#;

    fn generic(value: &Value) -> Result<InboundMessage, PayloadError> {
        parse_generic(value.to_string().as_bytes())
    }

    #[test]
    fn generic_full_and_minimal() {
        let expected = InboundMessage {
            provider: "generic",
            provider_message_id: "msg-20240611-0042".into(),
            from: "zalo-user-8812".into(),
            to: "support@shop.example".into(),
            body: "  Xin chào, đơn hàng của tôi đâu?\n".into(),
            channel: Channel::Zalo,
            received_at: utc("2024-06-11T09:30:00Z"),
            sender_name: Some("Nguyễn Văn A".into()),
            media_urls: Vec::new(),
            avatar_url: None,
        };
        assert_eq!(parse_generic(GENERIC.as_bytes()), Ok(expected));
        let minimal = br#"{"id": "1", "channel": "SMS", "from": "+1", "to": "+2", "text": "hi", "name": null}"#;
        let message = parse_generic(minimal).unwrap();
        let optional = (message.channel, message.sender_name, message.received_at);
        assert_eq!(optional, (Channel::Sms, None, None));
        for channel in Channel::ALL {
            assert_eq!(Channel::from_name(channel.as_str()), Some(channel));
        }
    }

    const GENERIC_BAD: &str = r#"
        channel | "carrier-pigeon" | channel is not one of sms, whatsapp, email, chat, web, telegram, facebook, zalo, voice
        text | " \n " | text is empty
        text | ["hi"] | text must be a string
        from | "line\nbreak" | from contains control characters
        name | 42 | name must be a string
        receivedAt | "2024-06-11 09:30" | receivedAt is not an RFC 3339 timestamp
        id | 12 | id must be a string
        id | null | id is missing"#;

    #[test]
    fn generic_malformed() {
        for field in ["id", "channel", "from", "to", "text"] {
            let mut sample: Value = serde_json::from_str(GENERIC).unwrap();
            sample.as_object_mut().unwrap().remove(field);
            assert_eq!(err_text(generic(&sample)), format!("{field} is missing"));
        }
        let long_to = (
            "to",
            json!("x".repeat(MAX_ADDRESS_CHARS + 1)),
            "to is too long",
        );
        for (field, value, expected) in cases(GENERIC_BAD).chain([long_to]) {
            let mut sample: Value = serde_json::from_str(GENERIC).unwrap();
            sample[field] = value;
            assert_eq!(err_text(generic(&sample)), expected);
        }
        let not_object = parse_generic(b"\"just a string\"");
        assert_eq!(err_text(not_object), "body must be a JSON object");
        assert_eq!(
            err_text(parse_generic(b"")),
            "body is not valid JSON (line 1, column 0)"
        );
    }

    #[test]
    fn errors_never_echo_the_body() {
        let secret = "SECRET-CONTENT-4242";
        let mut sample: Value = serde_json::from_str(GENERIC).unwrap();
        sample["channel"] = json!(secret);
        assert!(!err_text(generic(&sample)).contains(secret));
        let broken = format!("{{\"id\": \"{secret}\", oops}}");
        assert!(!err_text(parse_generic(broken.as_bytes())).contains(secret));
        let mut event = telnyx_event("message.received");
        event["data"]["payload"]["received_at"] = json!(secret);
        assert!(!err_text(telnyx(&event)).contains(secret));
    }
}
