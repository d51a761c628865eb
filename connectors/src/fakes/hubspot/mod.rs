//! Fake HubSpot CRM v3: OAuth (30-minute tokens, same refresh token back), contacts
//! `batch/upsert` (100 per call, 207 with per-record errors), search on `lastmodifieddate`
//! (200 per page, 400 past the result cap), notes with association type 202 and a unique dedupe
//! property (409 `Existing ID`), 429 policy bodies and `X-HubSpot-RateLimit-*` headers.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use super::core::{Core, Flavor, Rejection, StoredContact, Usage, email_rejected, gate};
use super::server::{self, FakeServer};
use super::{FailKind, FakeOptions};
use crate::model::CrmContact;
use crate::provider::Provider;

mod notes;

const PROPS: &[&str] = &[
    "firstname",
    "lastname",
    "email",
    "phone",
    "company",
    "address",
    "city",
    "state",
    "zip",
    "country",
    "hs_lead_status",
];

/// A fake HubSpot portal.
pub struct FakeHubSpot(FakeServer);

impl std::ops::Deref for FakeHubSpot {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.0
    }
}

impl FakeHubSpot {
    /// Start with the published limits ([`FakeOptions::hubspot`]).
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeOptions::hubspot()).await
    }

    /// Start with custom options.
    pub async fn start_with(opts: FakeOptions) -> std::io::Result<Self> {
        let core = Core::new(
            opts,
            Flavor {
                reject,
                decorate,
                tick: TimeDelta::milliseconds(1),
                distinct_stamps: true,
                provider: Provider::HubSpot,
                token_body,
                issues_refresh: true,
                contact_id: |n| (700_000_000_000 + n).to_string(),
                activity_id: |n| (470_000_000_000 + n).to_string(),
            },
        );
        let api = Router::new()
            .route("/crm/v3/objects/contacts/batch/upsert", post(batch_upsert))
            .route("/crm/v3/objects/contacts/search", post(search))
            .route("/crm/v3/objects/notes/search", post(notes::search_notes))
            .route("/crm/v3/objects/notes", post(notes::create_note))
            .layer(middleware::from_fn_with_state(core.clone(), gate));
        let router = Router::new()
            .route("/oauth/v1/token", post(server::token))
            .route("/oauth/authorize", get(server::authorize))
            .merge(api)
            .with_state(core.clone());
        Ok(FakeHubSpot(FakeServer::spawn(core, router).await?))
    }
}

fn error(status: StatusCode, category: &str, message: &str) -> Response {
    let body = json!({
        "status": "error",
        "message": message,
        "correlationId": uuid::Uuid::now_v7().to_string(),
        "category": category,
    });
    (status, Json(body)).into_response()
}

fn rate_limited(policy: &str, message: &str, u: &Usage) -> Response {
    let body = json!({
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": uuid::Uuid::now_v7().to_string(),
        "policyName": policy,
        "groupName": "publicapi:oauth-api-calls-ten-secondly:0:0",
    });
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    decorate(&mut resp, u);
    resp
}

fn reject(r: Rejection, u: &Usage) -> Response {
    match r {
        Rejection::Unauthorized | Rejection::Injected(FailKind::Unauthorized) => {
            let body = json!({
                "status": "error",
                "message": "The OAuth token used to make this call expired 75 second(s) ago.",
                "correlationId": uuid::Uuid::now_v7().to_string(),
                "category": "EXPIRED_AUTHENTICATION",
                "context": { "expire time": [Utc::now().to_rfc3339()] },
            });
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
        Rejection::Daily | Rejection::Injected(FailKind::DailyLimit) => {
            rate_limited("DAILY", "You have reached your daily limit.", u)
        }
        Rejection::Burst { .. }
        | Rejection::Concurrency
        | Rejection::Injected(FailKind::RateLimit) => rate_limited(
            "TEN_SECONDLY_ROLLING",
            "You have reached your ten_secondly_rolling limit.",
            u,
        ),
        Rejection::Injected(FailKind::ServerError | FailKind::SlowResponse) => {
            error(StatusCode::BAD_GATEWAY, "INTERNAL_ERROR", "internal error")
        }
    }
}

fn decorate(resp: &mut Response, u: &Usage) {
    let mut put = |name: &'static str, v: Option<u64>| {
        if let Some(v) = v
            && let Ok(v) = HeaderValue::from_str(&v.to_string())
        {
            resp.headers_mut().insert(name, v);
        }
    };
    put("x-hubspot-ratelimit-max", u.window_max.map(u64::from));
    put(
        "x-hubspot-ratelimit-remaining",
        u.window_remaining.map(u64::from),
    );
    put(
        "x-hubspot-ratelimit-interval-milliseconds",
        u.window.map(|w| w.as_millis() as u64),
    );
    put("x-hubspot-ratelimit-daily", u.daily_limit);
    put(
        "x-hubspot-ratelimit-daily-remaining",
        u.daily_limit.map(|l| l.saturating_sub(u.daily_used)),
    );
}

fn token_body(
    access: &str,
    refresh: Option<&str>,
    ttl: Option<std::time::Duration>,
    _base: &str,
) -> Value {
    json!({
        "token_type": "bearer",
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": ttl.map_or(1800, |t| t.as_secs()),
        "hub_id": 1_234_567,
        "scopes": ["crm.objects.contacts.read", "crm.objects.contacts.write"],
        "token_use": "access_token",
    })
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn prop(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn contact_from_props(m: &Map<String, Value>, external_id: String) -> CrmContact {
    let p = |k| prop(m, k);
    CrmContact {
        external_id,
        first_name: p("firstname"),
        last_name: p("lastname"),
        email: p("email"),
        phone: p("phone"),
        company: p("company"),
        street: p("address"),
        city: p("city"),
        region: p("state"),
        postal_code: p("zip"),
        country: p("country"),
        status: p("hs_lead_status"),
        ..Default::default()
    }
}

fn object(s: &StoredContact, wanted: &[String], ext_property: &str) -> Value {
    let c = &s.contact;
    let values = [
        &c.first_name,
        &c.last_name,
        &c.email,
        &c.phone,
        &c.company,
        &c.street,
        &c.city,
        &c.region,
        &c.postal_code,
        &c.country,
        &c.status,
    ];
    let mut props = Map::new();
    for (name, v) in PROPS.iter().zip(values) {
        if wanted.iter().any(|w| w == name) {
            props.insert((*name).into(), json!(v));
        }
    }
    if wanted.iter().any(|w| w == ext_property) {
        props.insert(ext_property.into(), json!(c.external_id));
    }
    props.insert("hs_object_id".into(), json!(s.remote_id));
    props.insert("lastmodifieddate".into(), json!(ts(s.modified)));
    json!({
        "id": s.remote_id,
        "properties": props,
        "createdAt": ts(s.modified),
        "updatedAt": ts(s.modified),
        "archived": false,
    })
}

async fn batch_upsert(State(core): State<Arc<Core>>, Json(body): Json<Value>) -> Response {
    let Some(inputs) = body.get("inputs").and_then(Value::as_array) else {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Invalid input JSON: inputs is required",
        );
    };
    if inputs.len() > 100 {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Batch input limit of 100 exceeded",
        );
    }
    let mut st = core.lock();
    st.stats.upsert_calls += 1;
    st.stats.max_batch = st.stats.max_batch.max(inputs.len());
    if core.opts.all_or_nothing_batches {
        let bad = inputs.iter().find_map(|i| {
            let email = i.get("properties")?.get("email")?.as_str()?;
            email_rejected(&st, Some(email)).then(|| email.to_owned())
        });
        if let Some(email) = bad {
            return error(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                &invalid_email_message(&email),
            );
        }
    }
    let (mut results, mut errors) = (Vec::new(), Vec::new());
    for input in inputs {
        let id_property = input
            .get("idProperty")
            .and_then(Value::as_str)
            .unwrap_or("hs_object_id")
            .to_owned();
        let id = input
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let props = input
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let c = contact_from_props(&props, id.clone());
        if email_rejected(&st, c.email.as_deref()) {
            let email = c.email.clone().unwrap_or_default();
            errors.push(json!({
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": invalid_email_message(&email),
                "context": { "ids": [id] },
                "errors": [],
                "links": {},
            }));
            continue;
        }
        let (remote_id, created) = core.upsert_contact(&mut st, &c);
        let Some(stored) = st.live_by_id(&remote_id).and_then(|i| st.contacts.get(i)) else {
            continue;
        };
        let mut wanted: Vec<String> = props.keys().cloned().collect();
        wanted.push(id_property.clone());
        let mut obj = object(stored, &wanted, &id_property);
        obj["new"] = json!(created);
        results.push(obj);
    }
    let now = ts(Utc::now());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    let mut body =
        json!({ "status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now });
    if !errors.is_empty() {
        body["numErrors"] = json!(errors.len());
        body["errors"] = Value::Array(errors);
    }
    (status, Json(body)).into_response()
}

fn invalid_email_message(email: &str) -> String {
    let detail = json!([{
        "isValid": false,
        "message": format!("Email address {email} is invalid"),
        "error": "INVALID_EMAIL",
        "name": "email",
    }]);
    format!("Property values were not valid: {detail}")
}

fn filter_value(body: &Value) -> Option<(String, String, String)> {
    let f = body.get("filterGroups")?.get(0)?.get("filters")?.get(0)?;
    Some((
        f.get("propertyName")?.as_str()?.to_owned(),
        f.get("operator")?.as_str()?.to_owned(),
        f.get("value")?.as_str()?.to_owned(),
    ))
}

async fn search(State(core): State<Arc<Core>>, Json(body): Json<Value>) -> Response {
    let limit = body.get("limit").and_then(Value::as_u64).unwrap_or(10);
    if limit > 200 {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "limit must be at most 200",
        );
    }
    let limit = limit.min(u64::from(core.opts.max_page_size.unwrap_or(200))) as usize;
    let after: usize = body
        .get("after")
        .and_then(Value::as_str)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    if after + limit > core.opts.search_cap as usize {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            &format!(
                "Paging past {} results is not supported; narrow the filter",
                core.opts.search_cap
            ),
        );
    }
    let bound = match filter_value(&body) {
        None => None,
        Some((name, op, value)) if name == "lastmodifieddate" => {
            let t = value
                .parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_millis)
                .or_else(|| {
                    DateTime::parse_from_rfc3339(&value)
                        .ok()
                        .map(|d| d.with_timezone(&Utc))
                });
            match t {
                Some(t) => Some((op, t)),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "VALIDATION_ERROR",
                        "invalid filter value",
                    );
                }
            }
        }
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                "the fake filters on lastmodifieddate only",
            );
        }
    };
    let wanted: Vec<String> = body
        .get("properties")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let ext_property = wanted
        .iter()
        .find(|w| w.starts_with("clientele"))
        .cloned()
        .unwrap_or_default();
    let st = core.lock();
    let mut rows: Vec<&StoredContact> = st
        .contacts
        .iter()
        .filter(|s| !s.deleted)
        .filter(|s| match &bound {
            None => true,
            Some((op, t)) if op == "GT" => s.modified > *t,
            Some((_, t)) => s.modified >= *t,
        })
        .collect();
    rows.sort_by(|a, b| (a.modified, &a.remote_id).cmp(&(b.modified, &b.remote_id)));
    let total = rows.len();
    let page: Vec<Value> = rows
        .iter()
        .skip(after)
        .take(limit)
        .map(|s| object(s, &wanted, &ext_property))
        .collect();
    let mut out = json!({ "total": total, "results": page });
    if after + limit < total {
        let next = (after + limit).to_string();
        out["paging"] = json!({ "next": { "after": next, "link": format!("?after={next}") } });
    }
    Json(out).into_response()
}
