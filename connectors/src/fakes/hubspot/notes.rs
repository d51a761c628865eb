//! The fake's notes: search by the unique dedupe property, create with association type 202,
//! 409 `Existing ID` on a repeated key.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{error, filter_value, prop};
use crate::fakes::FakeActivity;
use crate::fakes::core::Core;

const NOTE_KEY: &str = "clientele_dedupe_key";

fn note_object(a: &FakeActivity) -> Value {
    json!({ "id": a.remote_id, "properties": { NOTE_KEY: a.dedupe_key, "hs_object_id": a.remote_id }, "archived": false })
}

pub(super) async fn search_notes(
    State(core): State<Arc<Core>>,
    Json(body): Json<Value>,
) -> Response {
    let Some((name, _, value)) = filter_value(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "filter required",
        );
    };
    let st = core.lock();
    let found: Vec<Value> = st
        .activities
        .iter()
        .filter(|a| name == NOTE_KEY && a.dedupe_key == value)
        .map(note_object)
        .collect();
    Json(json!({ "total": found.len(), "results": found })).into_response()
}

pub(super) async fn create_note(
    State(core): State<Arc<Core>>,
    Json(body): Json<Value>,
) -> Response {
    let props = body
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let key = prop(&props, NOTE_KEY).unwrap_or_default();
    let assoc = body.get("associations").and_then(|a| a.get(0));
    let to = assoc
        .and_then(|a| a.get("to"))
        .and_then(|t| t.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let type_id = assoc
        .and_then(|a| a.get("types"))
        .and_then(|t| t.get(0))
        .and_then(|t| t.get("associationTypeId"))
        .and_then(Value::as_u64);
    let mut st = core.lock();
    if !key.is_empty()
        && let Some(existing) = st.activities.iter().find(|a| a.dedupe_key == key)
    {
        let msg = format!("Note already exists. Existing ID: {}", existing.remote_id);
        return error(StatusCode::CONFLICT, "CONFLICT", &msg);
    }
    if type_id != Some(202) || st.live_by_id(&to).is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "One or more associations are invalid",
        );
    }
    let text = prop(&props, "hs_note_body").unwrap_or_default();
    let (subject, rest) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let id = (core.flavor.activity_id)(Core::next_seq(&mut st));
    let activity = FakeActivity {
        remote_id: id,
        contact_remote_id: to,
        dedupe_key: key,
        subject: subject.to_owned(),
        body: rest.to_owned(),
    };
    let out = note_object(&activity);
    st.activities.push(activity);
    (StatusCode::CREATED, Json(out)).into_response()
}
