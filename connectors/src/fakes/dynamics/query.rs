//! The fake's contact query: `modifiedon` filter, `Prefer: odata.maxpagesize`, keyset paging
//! cookie in `$skiptoken`, `@odata.nextLink`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{API, COLUMNS, error, ts};
use crate::fakes::core::{Core, StoredContact};

pub(super) fn record(s: &StoredContact, ext_column: Option<&str>) -> Value {
    let c = &s.contact;
    let values = [
        &c.first_name,
        &c.last_name,
        &c.email,
        &c.phone,
        &c.street,
        &c.city,
        &c.region,
        &c.postal_code,
        &c.country,
    ];
    let mut m = Map::new();
    m.insert(
        "@odata.etag".into(),
        json!(format!("W/\"{}\"", s.modified.timestamp())),
    );
    m.insert("contactid".into(), json!(s.remote_id));
    for (name, v) in COLUMNS.iter().zip(values) {
        m.insert((*name).into(), json!(v));
    }
    if let Some(col) = ext_column {
        m.insert(col.into(), json!(c.external_id));
    }
    m.insert("modifiedon".into(), json!(ts(s.modified)));
    Value::Object(m)
}

pub(super) fn page_size(core: &Core, headers: &HeaderMap) -> usize {
    let asked = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("odata.maxpagesize=").nth(1))
        .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(5000)
        .clamp(1, 5000);
    asked.min(core.opts.max_page_size.unwrap_or(u32::MAX)) as usize
}

pub(super) async fn list_contacts(
    State(core): State<Arc<Core>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if super::tracking::wanted(&headers, &q) {
        return super::tracking::track(&core, &headers, &q);
    }
    if let Some(ids) = q.get("$filter").and_then(|f| parse_lookup(f)) {
        return lookup(&core, &ids, &q);
    }
    let since = match q.get("$filter") {
        None => None,
        Some(f) => match f
            .strip_prefix("modifiedon ge ")
            .map(|v| (v, false))
            .or_else(|| f.strip_prefix("modifiedon gt ").map(|v| (v, true)))
            .and_then(|(v, strict)| Some((DateTime::parse_from_rfc3339(v.trim()).ok()?, strict)))
        {
            Some((t, strict)) => Some((t.with_timezone(&Utc), strict)),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "0x80060888",
                    "The fake filters on 'modifiedon ge' only.",
                );
            }
        },
    };
    // The paging cookie carries the last key served: "<modified>|<id>".
    let after: Option<(DateTime<Utc>, String)> = q.get("$skiptoken").and_then(|t| {
        let inner = t.split("pagingcookie=\"").nth(1)?.split('"').next()?;
        let (ts, id) = inner.split_once('|')?;
        Some((
            DateTime::parse_from_rfc3339(ts).ok()?.with_timezone(&Utc),
            id.to_owned(),
        ))
    });
    let ext_column = q.get("$select").and_then(|s| {
        s.split(',')
            .find(|c| c.starts_with("clientele"))
            .map(str::to_owned)
    });
    let size = page_size(&core, &headers);
    let st = core.lock();
    let mut rows: Vec<&StoredContact> = st
        .contacts
        .iter()
        .filter(|s| {
            !s.deleted
                && since.is_none_or(|(t, strict)| s.modified > t || (!strict && s.modified == t))
        })
        .filter(|s| {
            after
                .as_ref()
                .is_none_or(|(t, id)| (s.modified, &s.remote_id) > (*t, id))
        })
        .collect();
    rows.sort_by(|a, b| (a.modified, &a.remote_id).cmp(&(b.modified, &b.remote_id)));
    let more = rows.len() > size;
    let page: Vec<&StoredContact> = rows.into_iter().take(size).collect();
    let mut body = json!({
        "@odata.context": format!("{}{API}/$metadata#contacts", core.base()),
        "value": page.iter().map(|s| record(s, ext_column.as_deref())).collect::<Vec<_>>(),
    });
    if let (true, Some(last)) = (more, page.last()) {
        let cookie = format!(
            "<cookie pagenumber=\"2\" pagingcookie=\"{}|{}\" istracking=\"False\" />",
            ts(last.modified),
            last.remote_id
        );
        if let Ok(mut next) = url::Url::parse(&format!("{}{API}/contacts", core.base())) {
            {
                let mut pairs = next.query_pairs_mut();
                for k in ["$select", "$filter", "$orderby"] {
                    if let Some(v) = q.get(k) {
                        pairs.append_pair(k, v);
                    }
                }
                pairs.append_pair("$skiptoken", &cookie);
            }
            body["@odata.nextLink"] = json!(next.as_str());
        }
    }
    let mut resp = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("odata.maxpagesize={size}")) {
        resp.headers_mut().insert("preference-applied", v);
    }
    resp
}

/// `col eq 'a' or col eq 'b'` -> the values.
fn parse_lookup(filter: &str) -> Option<Vec<String>> {
    if !filter.contains(" eq '") {
        return None;
    }
    filter
        .split(" or ")
        .map(|part| {
            let literal = part.split_once(" eq ")?.1.trim();
            Some(
                literal
                    .strip_prefix('\'')?
                    .strip_suffix('\'')?
                    .replace("''", "'"),
            )
        })
        .collect()
}

fn lookup(core: &Core, ids: &[String], q: &HashMap<String, String>) -> Response {
    let ext_column = q.get("$select").and_then(|s| {
        s.split(',')
            .find(|c| c.starts_with("clientele"))
            .map(str::to_owned)
    });
    let st = core.lock();
    let value: Vec<Value> = ids
        .iter()
        .filter_map(|id| st.live_by_ext(id))
        .filter_map(|i| st.contacts.get(i))
        .map(|s| record(s, ext_column.as_deref()))
        .collect();
    Json(json!({ "@odata.context": format!("{}{API}/$metadata#contacts", core.base()), "value": value }))
        .into_response()
}
