//! The fake's change tracking: a round lists everything changed after the delta token (all live
//! records for the first round), changed records first and `$deletedEntity` entries last, paged
//! with a keyset cookie, and ends with an `@odata.deltaLink` for the next round.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::API;
use super::query::{page_size, record};
use crate::fakes::core::{Core, StoredContact};

/// Whether a query asks for change tracking.
pub(super) fn wanted(headers: &HeaderMap, q: &HashMap<String, String>) -> bool {
    let prefer = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    prefer.contains("odata.track-changes")
        || q.contains_key("$deltatoken")
        || q.get("$skiptoken").is_some_and(|t| t.contains("track="))
}

type Key = (bool, u64, String);

fn key(s: &StoredContact) -> Key {
    (s.deleted, s.version, s.remote_id.clone())
}

/// `(from, to, last key)` of the round being paged.
fn round(q: &HashMap<String, String>, current: u64) -> (u64, u64, Option<Key>) {
    if let Some(cookie) = q.get("$skiptoken")
        && let Some(inner) = cookie
            .split("track=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
    {
        let parts: Vec<&str> = inner.split('|').collect();
        if let [from, to, deleted, version, id] = parts.as_slice() {
            let last = Some((
                *deleted == "1",
                version.parse().unwrap_or(0),
                (*id).to_owned(),
            ));
            return (
                from.parse().unwrap_or(0),
                to.parse().unwrap_or(current),
                last,
            );
        }
    }
    let from = q
        .get("$deltatoken")
        .and_then(|t| t.split('!').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (from, current, None)
}

pub(super) fn track(core: &Core, headers: &HeaderMap, q: &HashMap<String, String>) -> Response {
    let ext_column = q.get("$select").and_then(|s| {
        s.split(',')
            .find(|c| c.starts_with("clientele"))
            .map(str::to_owned)
    });
    let size = page_size(core, headers);
    let st = core.lock();
    let (from, to, last) = round(q, st.change_seq);
    let mut rows: Vec<&StoredContact> = st
        .contacts
        .iter()
        .filter(|s| s.version > from && s.version <= to)
        .filter(|s| from > 0 || !s.deleted)
        .filter(|s| last.as_ref().is_none_or(|l| key(s) > *l))
        .collect();
    rows.sort_by_key(|s| key(s));
    let more = rows.len() > size;
    rows.truncate(size);
    let deleted_context = format!("{}{API}/$metadata#contacts/$deletedEntity", core.base());
    let value: Vec<Value> = rows
        .iter()
        .map(|s| {
            if s.deleted {
                json!({ "@odata.context": deleted_context, "id": s.remote_id, "reason": "deleted" })
            } else {
                record(s, ext_column.as_deref())
            }
        })
        .collect();
    let mut body = json!({
        "@odata.context": format!("{}{API}/$metadata#contacts/$delta", core.base()),
        "value": value,
    });
    let link = |extra: (&str, String)| -> Option<String> {
        let mut url = url::Url::parse(&format!("{}{API}/contacts", core.base())).ok()?;
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(select) = q.get("$select") {
                pairs.append_pair("$select", select);
            }
            pairs.append_pair(extra.0, &extra.1);
        }
        Some(url.to_string())
    };
    match (more, rows.last()) {
        (true, Some(last)) => {
            let (d, v, id) = key(last);
            let cookie = format!(
                "<cookie pagenumber=\"2\" track=\"{from}|{to}|{}|{v}|{id}\" />",
                u8::from(d)
            );
            body["@odata.nextLink"] = json!(link(("$skiptoken", cookie)));
        }
        _ => {
            let token = format!("{to}!{}", Utc::now().format("%m/%d/%Y %H:%M:%S"));
            body["@odata.deltaLink"] = json!(link(("$deltatoken", token)));
        }
    }
    let mut resp = Json(body).into_response();
    resp.headers_mut().insert(
        "preference-applied",
        HeaderValue::from_static("odata.track-changes"),
    );
    resp
}
