//! Fake Salesforce REST API: OAuth (no `expires_in`), sObject Collections upsert by external id
//! (200 per call), SOQL `query`/`queryAll` with `nextRecordsUrl` paging over a snapshot, Task
//! upsert by external id, JSON-array errors, `Sforce-Limit-Info`, 403 `REQUEST_LIMIT_EXCEEDED`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router, middleware};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use super::core::{Core, Flavor, Rejection, Usage, email_rejected, gate};
use super::server::{self, FakeServer};
use super::{FailKind, FakeActivity, FakeOptions};
use crate::model::CrmContact;
use crate::provider::Provider;

const FIELDS: &[&str] = &[
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "MailingStreet",
    "MailingCity",
    "MailingState",
    "MailingPostalCode",
    "MailingCountry",
];

/// A fake Salesforce org.
pub struct FakeSalesforce(FakeServer);

impl std::ops::Deref for FakeSalesforce {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.0
    }
}

struct Sf {
    core: Arc<Core>,
    queries: Mutex<HashMap<String, Arc<Vec<Value>>>>,
}

impl FakeSalesforce {
    /// Start with the published limits ([`FakeOptions::salesforce`]).
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeOptions::salesforce()).await
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
                provider: Provider::Salesforce,
                token_body,
                issues_refresh: true,
                contact_id: |n| format!("003{n:015}"),
                activity_id: |n| format!("00T{n:015}"),
            },
        );
        let sf = Arc::new(Sf {
            core: core.clone(),
            queries: Mutex::new(HashMap::new()),
        });
        let api = Router::new()
            .route(
                "/services/data/{ver}/composite/sobjects/Contact/{field}",
                patch(upsert_collection),
            )
            .route("/services/data/{ver}/query", get(query))
            .route("/services/data/{ver}/queryAll", get(query_all))
            .route("/services/data/{ver}/query/{locator}", get(query_more))
            .route(
                "/services/data/{ver}/sobjects/Task/{field}/{value}",
                patch(upsert_task),
            )
            .with_state(sf)
            .layer(middleware::from_fn_with_state(core.clone(), gate));
        let router = Router::new()
            .route("/services/oauth2/token", post(server::token))
            .route("/services/oauth2/authorize", get(server::authorize))
            .with_state(core.clone())
            .merge(api);
        Ok(FakeSalesforce(FakeServer::spawn(core, router).await?))
    }
}

fn errors(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!([{ "message": message, "errorCode": code }])),
    )
        .into_response()
}

fn reject(r: Rejection, _u: &Usage) -> Response {
    match r {
        Rejection::Unauthorized | Rejection::Injected(FailKind::Unauthorized) => errors(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        ),
        Rejection::Daily | Rejection::Injected(FailKind::DailyLimit) => errors(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        ),
        Rejection::Burst { .. }
        | Rejection::Concurrency
        | Rejection::Injected(FailKind::RateLimit) => errors(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentPerOrgLongTxn Limit exceeded.",
        ),
        Rejection::Injected(FailKind::ServerError | FailKind::SlowResponse) => errors(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_UNAVAILABLE",
            "Server temporarily unavailable",
        ),
    }
}

fn decorate(resp: &mut Response, u: &Usage) {
    let value = format!(
        "api-usage={}/{}",
        u.daily_used,
        u.daily_limit.unwrap_or(15_000)
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert("sforce-limit-info", v);
    }
}

fn token_body(
    access: &str,
    refresh: Option<&str>,
    _ttl: Option<std::time::Duration>,
    base: &str,
) -> Value {
    let mut body = json!({
        "access_token": access,
        "scope": "api refresh_token",
        "instance_url": base,
        "id": format!("{base}/id/00Dxx0000000001/005xx0000000001"),
        "token_type": "Bearer",
        "issued_at": Utc::now().timestamp_millis().to_string(),
        "signature": "fake-signature",
    });
    if let Some(r) = refresh {
        body["refresh_token"] = Value::String(r.to_owned());
    }
    body
}

fn text(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn contact_from_wire(m: &Map<String, Value>, external_id: String) -> CrmContact {
    CrmContact {
        external_id,
        first_name: text(m, "FirstName"),
        last_name: text(m, "LastName"),
        email: text(m, "Email"),
        phone: text(m, "Phone"),
        street: text(m, "MailingStreet"),
        city: text(m, "MailingCity"),
        region: text(m, "MailingState"),
        postal_code: text(m, "MailingPostalCode"),
        country: text(m, "MailingCountry"),
        ..Default::default()
    }
}

async fn upsert_collection(
    State(sf): State<Arc<Sf>>,
    Path((_ver, field)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let Some(records) = body.get("records").and_then(Value::as_array) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "records is required",
        );
    };
    if records.len() > 200 {
        return errors(
            StatusCode::BAD_REQUEST,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        );
    }
    let mut st = sf.core.lock();
    st.stats.upsert_calls += 1;
    st.stats.max_batch = st.stats.max_batch.max(records.len());
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let Some(m) = record.as_object() else {
            out.push(json!({"success": false, "created": false, "errors": [{"statusCode": "JSON_PARSER_ERROR", "message": "record is not an object", "fields": []}]}));
            continue;
        };
        let Some(ext) = text(m, &field).filter(|s| !s.is_empty()) else {
            out.push(json!({"success": false, "created": false, "errors": [{"statusCode": "MISSING_ARGUMENT", "message": format!("{field} not specified"), "fields": [field]}]}));
            continue;
        };
        let c = contact_from_wire(m, ext);
        let exists = st.live_by_ext(&c.external_id).is_some();
        let failure = if !exists && c.last_name.as_deref().is_none_or(str::is_empty) {
            Some((
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [LastName]".to_owned(),
                "LastName",
            ))
        } else if email_rejected(&st, c.email.as_deref()) {
            let email = c.email.clone().unwrap_or_default();
            Some((
                "INVALID_EMAIL_ADDRESS",
                format!("Email: invalid email address: {email}"),
                "Email",
            ))
        } else {
            None
        };
        if let Some((code, message, f)) = failure {
            out.push(json!({"success": false, "created": false, "errors": [{"statusCode": code, "message": message, "fields": [f]}]}));
            continue;
        }
        let (id, created) = sf.core.upsert_contact(&mut st, &c);
        out.push(json!({ "id": id, "success": true, "errors": [], "created": created }));
    }
    Json(Value::Array(out)).into_response()
}

fn format_ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// `SystemModstamp >= X` -> (X, false); `SystemModstamp > X` -> (X, true).
fn parse_since(soql: &str) -> Result<Option<(DateTime<Utc>, bool)>, ()> {
    let Some(rest) = soql.split("WHERE SystemModstamp ").nth(1) else {
        return Ok(None);
    };
    let (strict, rest) = match rest.strip_prefix(">=") {
        Some(r) => (false, r),
        None => (true, rest.strip_prefix('>').ok_or(())?),
    };
    let literal = rest.split_whitespace().next().ok_or(())?;
    DateTime::parse_from_rfc3339(literal)
        .map(|d| Some((d.with_timezone(&Utc), strict)))
        .map_err(|_| ())
}

fn page_size(sf: &Sf, headers: &HeaderMap) -> usize {
    let asked = headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("batchSize=").nth(1))
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(2000)
        .clamp(200, 2000);
    asked.min(sf.core.opts.max_page_size.unwrap_or(u32::MAX)) as usize
}

fn run_query(sf: &Sf, ver: &str, soql: &str, all: bool, headers: &HeaderMap) -> Response {
    if !soql.contains("FROM Contact") {
        return errors(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "the fake only queries Contact",
        );
    }
    let Ok(since) = parse_since(soql) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "unexpected token in WHERE clause",
        );
    };
    let ext_field = soql
        .split(" FROM ")
        .next()
        .and_then(|sel| sel.split(',').map(str::trim).find(|f| f.ends_with("__c")))
        .unwrap_or("Clientele_Id__c")
        .to_owned();
    let mut rows: Vec<_> = {
        let st = sf.core.lock();
        st.contacts
            .iter()
            .filter(|s| all || !s.deleted)
            .filter(|s| {
                since.is_none_or(|(t, strict)| s.modified > t || (!strict && s.modified == t))
            })
            .cloned()
            .collect()
    };
    rows.sort_by(|a, b| (a.modified, &a.remote_id).cmp(&(b.modified, &b.remote_id)));
    let records: Vec<Value> = rows
        .iter()
        .map(|s| {
            let mut m = Map::new();
            m.insert("attributes".into(), json!({"type": "Contact", "url": format!("/services/data/{ver}/sobjects/Contact/{}", s.remote_id)}));
            m.insert("Id".into(), json!(s.remote_id));
            m.insert(ext_field.clone(), json!(s.contact.external_id));
            let c = &s.contact;
            let values = [&c.first_name, &c.last_name, &c.email, &c.phone, &c.street, &c.city, &c.region, &c.postal_code, &c.country];
            for (name, v) in FIELDS.iter().zip(values) {
                m.insert((*name).into(), json!(v));
            }
            m.insert("IsDeleted".into(), json!(s.deleted));
            m.insert("SystemModstamp".into(), json!(format_ts(s.modified)));
            Value::Object(m)
        })
        .collect();
    let locator = format!("01gFAKE{}", uuid::Uuid::now_v7().simple());
    let size = page_size(sf, headers);
    let first = serve_page(ver, &locator, &records, 0, size);
    if records.len() > size
        && let Ok(mut q) = sf.queries.lock()
    {
        q.insert(locator, Arc::new(records));
    }
    first
}

fn serve_page(ver: &str, locator: &str, records: &[Value], offset: usize, size: usize) -> Response {
    let end = (offset + size).min(records.len());
    let done = end >= records.len();
    let mut body = json!({
        "totalSize": records.len(),
        "done": done,
        "records": records.get(offset..end).unwrap_or_default(),
    });
    if !done {
        body["nextRecordsUrl"] = json!(format!("/services/data/{ver}/query/{locator}-{end}"));
    }
    Json(body).into_response()
}

async fn query(
    State(sf): State<Arc<Sf>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    run_query(
        &sf,
        &ver,
        q.get("q").map(String::as_str).unwrap_or_default(),
        false,
        &headers,
    )
}

async fn query_all(
    State(sf): State<Arc<Sf>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    run_query(
        &sf,
        &ver,
        q.get("q").map(String::as_str).unwrap_or_default(),
        true,
        &headers,
    )
}

async fn query_more(
    State(sf): State<Arc<Sf>>,
    Path((ver, locator)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some((id, offset)) = locator.rsplit_once('-') else {
        return errors(
            StatusCode::NOT_FOUND,
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        );
    };
    let Ok(offset) = offset.parse::<usize>() else {
        return errors(
            StatusCode::NOT_FOUND,
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        );
    };
    let records = sf.queries.lock().ok().and_then(|q| q.get(id).cloned());
    match records {
        Some(records) => serve_page(&ver, id, &records, offset, page_size(&sf, &headers)),
        None => errors(
            StatusCode::NOT_FOUND,
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        ),
    }
}

async fn upsert_task(
    State(sf): State<Arc<Sf>>,
    Path((ver, _field, key)): Path<(String, String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let who = body
        .get("WhoId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut st = sf.core.lock();
    if let Some(existing) = st.activities.iter().find(|a| a.dedupe_key == key) {
        let id = existing.remote_id.clone();
        return (
            StatusCode::OK,
            Json(json!({"id": id, "success": true, "errors": [], "created": false})),
        )
            .into_response();
    }
    if st.live_by_id(&who).is_none() {
        return (StatusCode::BAD_REQUEST, Json(json!([{"message": "Who ID: id value of incorrect type", "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["WhoId"]}]))).into_response();
    }
    let id = (sf.core.flavor.activity_id)(Core::next_seq(&mut st));
    st.activities.push(FakeActivity {
        remote_id: id.clone(),
        contact_remote_id: who,
        dedupe_key: key,
        subject: body
            .get("Subject")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        body: body
            .get("Description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    });
    let mut resp = (
        StatusCode::CREATED,
        Json(json!({"id": id, "success": true, "errors": [], "created": true})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/services/data/{ver}/sobjects/Task/{id}")) {
        resp.headers_mut().insert("location", v);
    }
    resp
}
