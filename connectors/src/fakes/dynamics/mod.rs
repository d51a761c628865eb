//! Fake Dataverse Web API: Azure AD client credentials, contact upsert by alternate key
//! (`PATCH contacts(key='v')`, 201/200 with `return=representation`, otherwise 204 +
//! `OData-EntityId`; `If-Match`/`If-None-Match`), duplicate detection 500 `0x80040333`,
//! `modifiedon` queries with `Prefer: odata.maxpagesize` and `@odata.nextLink`, tasks bound with
//! `@odata.bind`, service protection 429 with `Retry-After` (6,000 requests / 5 min, 52
//! concurrent), empty-bodied 401.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use super::core::{Core, Flavor, Rejection, Usage, email_rejected, gate};
use super::server::{self, FakeServer};
use super::{FailKind, FakeActivity, FakeOptions};
use crate::model::CrmContact;
use crate::provider::Provider;

mod query;
mod tracking;

const API: &str = "/api/data/v9.2";
const COLUMNS: &[&str] = &[
    "firstname",
    "lastname",
    "emailaddress1",
    "telephone1",
    "address1_line1",
    "address1_city",
    "address1_stateorprovince",
    "address1_postalcode",
    "address1_country",
];

/// A fake Dataverse environment.
pub struct FakeDynamics(FakeServer);

impl std::ops::Deref for FakeDynamics {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.0
    }
}

impl FakeDynamics {
    /// Start with the published service protection limits ([`FakeOptions::dynamics`]).
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeOptions::dynamics()).await
    }

    /// Start with custom options.
    pub async fn start_with(opts: FakeOptions) -> std::io::Result<Self> {
        let core = Core::new(
            opts,
            Flavor {
                reject,
                decorate,
                tick: TimeDelta::seconds(1),
                distinct_stamps: false,
                provider: Provider::Dynamics365,
                token_body,
                issues_refresh: false,
                contact_id: |n| format!("00000000-0000-4000-8000-{n:012x}"),
                activity_id: |n| format!("00000000-0000-4000-9000-{n:012x}"),
            },
        );
        let api = Router::new()
            .route(&format!("{API}/contacts"), get(query::list_contacts))
            .route(
                &format!("{API}/contacts/Microsoft.Dynamics.CRM.UpsertMultiple"),
                post(upsert_multiple),
            )
            .route(
                &format!("{API}/{{segment}}"),
                get(get_record).patch(upsert_record),
            )
            .layer(middleware::from_fn_with_state(core.clone(), gate));
        let router = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(server::token))
            .merge(api)
            .with_state(core.clone());
        Ok(FakeDynamics(FakeServer::spawn(core, router).await?))
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

fn too_many(code: &str, message: &str, retry_after_secs: u64) -> Response {
    let mut resp = error(StatusCode::TOO_MANY_REQUESTS, code, message);
    resp.headers_mut()
        .insert("retry-after", HeaderValue::from(retry_after_secs.max(1)));
    resp
}

fn reject(r: Rejection, u: &Usage) -> Response {
    let window = u.window.map_or(300, |w| w.as_secs().max(1));
    match r {
        Rejection::Unauthorized | Rejection::Injected(FailKind::Unauthorized) => {
            let mut resp = StatusCode::UNAUTHORIZED.into_response();
            resp.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static(
                    "Bearer authorization_uri=https://login.microsoftonline.com/fake-tenant/oauth2/authorize",
                ),
            );
            resp
        }
        Rejection::Burst { retry_after } => too_many(
            "0x80072322",
            &format!(
                "Number of requests exceeded the limit of {} over time window of {window} seconds.",
                u.window_max.unwrap_or(6000)
            ),
            retry_after.as_secs_f64().ceil() as u64,
        ),
        Rejection::Concurrency => too_many(
            "0x80072326",
            "Number of concurrent requests exceeded the limit of 52.",
            1,
        ),
        Rejection::Injected(FailKind::RateLimit) => too_many(
            "0x80072322",
            "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
            1,
        ),
        Rejection::Daily | Rejection::Injected(FailKind::DailyLimit) => too_many(
            "0x80072321",
            "Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window of 300 seconds.",
            1,
        ),
        Rejection::Injected(FailKind::ServerError | FailKind::SlowResponse) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "0x80040216",
            "An unexpected error occurred.",
        ),
    }
}

fn decorate(resp: &mut Response, u: &Usage) {
    resp.headers_mut()
        .insert("odata-version", HeaderValue::from_static("4.0"));
    if let Some(left) = u.window_remaining {
        resp.headers_mut().insert(
            "x-ms-ratelimit-burst-remaining-xrm-requests",
            HeaderValue::from(left),
        );
    }
}

fn token_body(
    access: &str,
    _refresh: Option<&str>,
    ttl: Option<std::time::Duration>,
    _base: &str,
) -> Value {
    let secs = ttl.map_or(3599, |t| t.as_secs());
    json!({ "token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": access })
}

/// `contacts(key='value')` -> ("contacts", "key", "value"); `contacts(guid)` -> ("contacts", "", guid).
fn parse_segment(segment: &str) -> Option<(String, String, String)> {
    let (set, rest) = segment.split_once('(')?;
    let inner = rest.strip_suffix(')')?;
    match inner.split_once('=') {
        Some((key, literal)) => {
            let value = literal
                .strip_prefix('\'')?
                .strip_suffix('\'')?
                .replace("''", "'");
            Some((set.to_owned(), key.to_owned(), value))
        }
        None => Some((set.to_owned(), String::new(), inner.to_owned())),
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn text(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn wants_representation(headers: &HeaderMap) -> bool {
    headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("return=representation"))
}

fn header_is(headers: &HeaderMap, name: &str, value: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
}

fn saved(
    core: &Core,
    set: &str,
    id_field: &str,
    id: &str,
    created: bool,
    headers: &HeaderMap,
) -> Response {
    if wants_representation(headers) {
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let body = json!({
            "@odata.context": format!("{}{API}/$metadata#{set}({id_field})/$entity", core.base()),
            "@odata.etag": format!("W/\"{}\"", Utc::now().timestamp_millis()),
            id_field: id,
        });
        return (status, Json(body)).into_response();
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}{API}/{set}({id})", core.base())) {
        resp.headers_mut().insert("odata-entityid", v);
    }
    resp
}

async fn upsert_record(
    State(core): State<Arc<Core>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some((set, key, value)) = parse_segment(&segment) else {
        return error(
            StatusCode::BAD_REQUEST,
            "0x80060888",
            "Bad Request - Error in query syntax.",
        );
    };
    let body = body.as_object().cloned().unwrap_or_default();
    match set.as_str() {
        "contacts" if !key.is_empty() => upsert_contact(&core, key, value, &body, &headers),
        "tasks" if !key.is_empty() => create_task(&core, value, &body, &headers),
        _ => error(
            StatusCode::NOT_FOUND,
            "0x8006088a",
            "Resource not found for the segment.",
        ),
    }
}

fn upsert_contact(
    core: &Core,
    key: String,
    value: String,
    body: &Map<String, Value>,
    headers: &HeaderMap,
) -> Response {
    let mut st = core.lock();
    st.stats.upsert_calls += 1;
    st.stats.max_batch = st.stats.max_batch.max(1);
    let exists = st.live_by_ext(&value).is_some();
    if exists && header_is(headers, "if-none-match", "*") {
        return error(
            StatusCode::PRECONDITION_FAILED,
            "0x80040237",
            "A record with matching key values already exists.",
        );
    }
    if !exists && header_is(headers, "if-match", "*") {
        return error(
            StatusCode::NOT_FOUND,
            "0x80040217",
            &format!("contact With Ids = {key}={value} Does Not Exist"),
        );
    }
    let c = contact_from_body(body, value.clone());
    if email_rejected(&st, c.email.as_deref()) {
        let email = c.email.clone().unwrap_or_default();
        return error(
            StatusCode::BAD_REQUEST,
            "0x80040203",
            &format!("Invalid email address: {email}"),
        );
    }
    let detect = core.opts.duplicate_detection
        && header_is(headers, "mscrm.suppressduplicatedetection", "false");
    if detect
        && c.email.is_some()
        && st
            .contacts
            .iter()
            .any(|s| !s.deleted && s.contact.external_id != value && s.contact.email == c.email)
    {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "0x80040333", DUPLICATE);
    }
    let (id, created) = core.upsert_contact(&mut st, &c);
    drop(st);
    saved(core, "contacts", "contactid", &id, created, headers)
}

fn contact_from_body(body: &Map<String, Value>, external_id: String) -> CrmContact {
    CrmContact {
        external_id,
        first_name: text(body, "firstname"),
        last_name: text(body, "lastname"),
        email: text(body, "emailaddress1"),
        phone: text(body, "telephone1"),
        street: text(body, "address1_line1"),
        city: text(body, "address1_city"),
        region: text(body, "address1_stateorprovince"),
        postal_code: text(body, "address1_postalcode"),
        country: text(body, "address1_country"),
        ..Default::default()
    }
}

const DUPLICATE: &str =
    "A record was not created or updated because a duplicate of the current record already exists.";

/// `UpsertMultiple`: all or nothing; 200 with no usable body.
async fn upsert_multiple(
    State(core): State<Arc<Core>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(targets) = body.get("Targets").and_then(Value::as_array) else {
        return error(
            StatusCode::BAD_REQUEST,
            "0x80040203",
            "Targets is required.",
        );
    };
    if targets.len() > 1000 {
        return error(
            StatusCode::BAD_REQUEST,
            "0x80040203",
            "Too many records in Targets (max 1000).",
        );
    }
    let mut contacts = Vec::with_capacity(targets.len());
    for t in targets {
        let id = t
            .get("@odata.id")
            .and_then(Value::as_str)
            .and_then(parse_segment);
        let (Some((_, _, ext)), Some(m)) = (id, t.as_object()) else {
            return error(
                StatusCode::BAD_REQUEST,
                "0x80040203",
                "Each target needs @odata.id with an alternate key.",
            );
        };
        contacts.push(contact_from_body(m, ext));
    }
    let mut st = core.lock();
    st.stats.upsert_calls += 1;
    st.stats.max_batch = st.stats.max_batch.max(contacts.len());
    if let Some(bad) = contacts
        .iter()
        .find(|c| email_rejected(&st, c.email.as_deref()))
    {
        let email = bad.email.clone().unwrap_or_default();
        return error(
            StatusCode::BAD_REQUEST,
            "0x80040203",
            &format!("Invalid email address: {email}"),
        );
    }
    if core.opts.duplicate_detection
        && header_is(&headers, "mscrm.suppressduplicatedetection", "false")
    {
        let clash = contacts.iter().enumerate().any(|(i, c)| {
            c.email.is_some()
                && (contacts[..i]
                    .iter()
                    .any(|o| o.email == c.email && o.external_id != c.external_id)
                    || st.contacts.iter().any(|s| {
                        !s.deleted
                            && s.contact.external_id != c.external_id
                            && s.contact.email == c.email
                    }))
        });
        if clash {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "0x80040333", DUPLICATE);
        }
    }
    for c in &contacts {
        core.upsert_contact(&mut st, c);
    }
    let context = format!(
        "{}{API}/$metadata#Microsoft.Dynamics.CRM.UpsertMultipleResponse",
        core.base()
    );
    Json(json!({ "@odata.context": context })).into_response()
}

fn create_task(
    core: &Core,
    key: String,
    body: &Map<String, Value>,
    headers: &HeaderMap,
) -> Response {
    let mut st = core.lock();
    if let Some(existing) = st.activities.iter().find(|a| a.dedupe_key == key) {
        if header_is(headers, "if-none-match", "*") {
            return error(
                StatusCode::PRECONDITION_FAILED,
                "0x80040237",
                "A record with matching key values already exists.",
            );
        }
        let id = existing.remote_id.clone();
        drop(st);
        return saved(core, "tasks", "activityid", &id, false, headers);
    }
    let bind = text(body, "regardingobjectid_contact_task@odata.bind").unwrap_or_default();
    let contact = bind
        .strip_prefix("/contacts(")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_default()
        .to_owned();
    if st.live_by_id(&contact).is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "0x80040217",
            &format!("contact With Id = {contact} Does Not Exist"),
        );
    }
    let id = (core.flavor.activity_id)(Core::next_seq(&mut st));
    st.activities.push(FakeActivity {
        remote_id: id.clone(),
        contact_remote_id: contact,
        dedupe_key: key,
        subject: text(body, "subject").unwrap_or_default(),
        body: text(body, "description").unwrap_or_default(),
    });
    drop(st);
    saved(core, "tasks", "activityid", &id, true, headers)
}

async fn get_record(State(core): State<Arc<Core>>, Path(segment): Path<String>) -> Response {
    let Some((set, _key, value)) = parse_segment(&segment) else {
        return error(
            StatusCode::BAD_REQUEST,
            "0x80060888",
            "Bad Request - Error in query syntax.",
        );
    };
    let st = core.lock();
    match set.as_str() {
        "tasks" => match st
            .activities
            .iter()
            .find(|a| a.dedupe_key == value || a.remote_id == value)
        {
            Some(a) => Json(json!({ "activityid": a.remote_id })).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "0x80040217",
                &format!("task With Ids = {value} Does Not Exist"),
            ),
        },
        _ => error(
            StatusCode::NOT_FOUND,
            "0x8006088a",
            "Resource not found for the segment.",
        ),
    }
}
