//! `POST /webhooks/{provider}`: inbound messages from Telnyx, Twilio and our generic JSON
//! format. The body is read raw, the destination resolves the tenant channel, the signature is
//! verified on the raw bytes with that channel's secret, and only then is anything stored; the
//! provider gets 2xx after the commit.

pub mod payload;
pub mod signature;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use clientele_domain::conversations::{self, Inbound, Ingested};
use clientele_domain::entities::conversation::Channel;
use clientele_domain::entities::tenant_channel;
use clientele_domain::{Domain, DomainError};
use payload::{InboundMessage, PayloadError};
use serde_json::json;
use signature::VerifyError;

const TOLERANCE_SECS: u64 = signature::DEFAULT_TOLERANCE_SECS;

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn bad_request(e: PayloadError) -> Response {
    reply(StatusCode::BAD_REQUEST, json!({ "error": e.to_string() }))
}

fn channel_of(m: &InboundMessage) -> Option<Channel> {
    serde_json::from_value(serde_json::Value::String(m.channel.as_str().to_string())).ok()
}

/// The URL the provider called, as Twilio signs it: the public scheme and host (from the
/// proxy headers when present) and the path with its query.
fn called_url(headers: &HeaderMap, uri: &Uri) -> String {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = get("x-forwarded-proto").unwrap_or("http");
    let host = get("x-forwarded-host")
        .or_else(|| get(header::HOST.as_str()))
        .unwrap_or("localhost");
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    format!("{scheme}://{host}{path}")
}

fn verify(
    provider: &str,
    channel: &tenant_channel::Model,
    headers: &HeaderMap,
    uri: &Uri,
    raw: &[u8],
    form: &[(String, String)],
) -> Result<(), VerifyError> {
    let header = |name: &str| headers.get(name).map(|v| v.as_bytes());
    let now = chrono::Utc::now().timestamp();
    let secret = channel.secret.as_deref().unwrap_or_default();
    match provider {
        "telnyx" => {
            let key = signature::telnyx_public_key(secret)
                .map_err(|_| VerifyError::Malformed("the channel's public key is not valid"))?;
            signature::verify_telnyx(
                &key,
                header(signature::TELNYX_SIGNATURE_HEADER),
                header(signature::TELNYX_TIMESTAMP_HEADER),
                raw,
                now,
                TOLERANCE_SECS,
            )
        }
        "twilio" => signature::verify_twilio(
            secret,
            &called_url(headers, uri),
            form,
            header(signature::TWILIO_SIGNATURE_HEADER),
        ),
        _ => signature::verify_generic(
            secret.as_bytes(),
            header(signature::GENERIC_SIGNATURE_HEADER),
            raw,
            now,
            TOLERANCE_SECS,
        ),
    }
}

pub async fn receive(
    domain: Domain,
    provider: String,
    headers: HeaderMap,
    uri: Uri,
    raw: Bytes,
) -> Response {
    let mut form = Vec::new();
    let parsed = match provider.as_str() {
        "generic" => payload::parse_generic(&raw).map(Some),
        "telnyx" => payload::parse_telnyx(&raw),
        "twilio" => match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&raw) {
            Ok(f) => {
                form = f;
                payload::parse_twilio(&form).map(Some)
            }
            Err(_) => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    json!({ "error": "body is not form-encoded" }),
                );
            }
        },
        _ => {
            return reply(
                StatusCode::NOT_FOUND,
                json!({ "error": "unknown provider" }),
            );
        }
    };
    let message = match parsed {
        Ok(Some(m)) => m,
        // Other event types (delivery receipts...) are acknowledged and ignored.
        Ok(None) => return reply(StatusCode::OK, json!({ "status": "ignored" })),
        Err(e) => return bad_request(e),
    };
    let route = match conversations::resolve_channel(&domain, &provider, &message.to).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            tracing::warn!(%provider, "inbound message for an unknown destination");
            return reply(
                StatusCode::NOT_FOUND,
                json!({ "error": "unknown destination" }),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot resolve the destination");
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": "try again" }),
            );
        }
    };
    if let Err(e) = verify(&provider, &route.channel, &headers, &uri, &raw, &form) {
        tracing::warn!(%provider, reason = %e, "webhook signature refused");
        return reply(StatusCode::UNAUTHORIZED, json!({ "error": e.to_string() }));
    }
    let Some(kind) = channel_of(&message) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "error": "unsupported channel" }),
        );
    };
    let inbound = Inbound {
        provider: provider.clone(),
        provider_message_id: message.provider_message_id,
        channel: kind,
        from: message.from,
        to: message.to,
        body: message.body,
        sent_at: message.received_at,
        sender_name: message.sender_name,
        avatar_url: message.avatar_url,
    };
    match conversations::ingest(&domain, &route, inbound).await {
        Ok(Ingested::Stored {
            conversation,
            message,
        }) => reply(
            StatusCode::OK,
            json!({ "status": "stored", "conversationId": conversation, "messageId": message }),
        ),
        Ok(Ingested::Duplicate) => reply(StatusCode::OK, json!({ "status": "duplicate" })),
        Err(DomainError::Invalid { field, message }) => reply(
            StatusCode::BAD_REQUEST,
            json!({ "error": format!("{field}: {message}") }),
        ),
        Err(e) => {
            // 5xx: the provider retries; ingestion is idempotent.
            tracing::error!(error = %e, %provider, "inbound message not stored");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": "not stored; retry" }),
            )
        }
    }
}
