//! HubSpot CRM v3 wire types and their mapping to neutral records.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::model::{ActivityLog, ContactField, CrmContact};

/// Neutral field -> contact property.
pub const FIELD_MAP: &[(ContactField, &str)] = &[
    (ContactField::FirstName, "firstname"),
    (ContactField::LastName, "lastname"),
    (ContactField::Email, "email"),
    (ContactField::Phone, "phone"),
    (ContactField::Company, "company"),
    (ContactField::Street, "address"),
    (ContactField::City, "city"),
    (ContactField::Region, "state"),
    (ContactField::PostalCode, "zip"),
    (ContactField::Country, "country"),
    (ContactField::Status, "hs_lead_status"),
];

/// Association type id of note -> contact.
pub const NOTE_TO_CONTACT: u32 = 202;

/// Property holding the activity dedupe key on notes (a unique-value custom property).
pub const NOTE_DEDUPE_PROPERTY: &str = "clientele_dedupe_key";

/// Properties of a contact (the external id property included, so results echo it).
pub fn contact_properties(c: &CrmContact, ext_property: &str) -> Value {
    let mut m = Map::new();
    m.insert(ext_property.into(), Value::String(c.external_id.clone()));
    for (field, name) in FIELD_MAP {
        if let Some(v) = field.get(c) {
            m.insert((*name).into(), Value::String(v.to_owned()));
        }
    }
    Value::Object(m)
}

/// `POST /crm/v3/objects/contacts/batch/upsert` body.
pub fn batch_upsert_body(chunk: &[CrmContact], ext_property: &str) -> Value {
    let inputs: Vec<Value> = chunk
        .iter()
        .map(|c| {
            json!({
                "idProperty": ext_property,
                "id": c.external_id,
                "properties": contact_properties(c, ext_property),
            })
        })
        .collect();
    json!({ "inputs": inputs })
}

/// An object in batch or search results.
#[derive(Debug, Deserialize)]
pub struct SimpleObject {
    /// HubSpot id.
    pub id: String,
    /// Properties (values may be null).
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// Upsert: whether it was created.
    #[serde(default)]
    pub new: Option<bool>,
    /// Last update.
    #[serde(rename = "updatedAt", default)]
    pub updated_at: Option<String>,
}

/// One error of a 207 batch response or an error body.
#[derive(Debug, Deserialize)]
pub struct BatchError {
    /// Message.
    #[serde(default)]
    pub message: String,
    /// e.g. `VALIDATION_ERROR`.
    #[serde(default)]
    pub category: String,
    /// Which inputs it concerns (`ids`/`id` -> values).
    #[serde(default)]
    pub context: Map<String, Value>,
}

impl BatchError {
    /// The input ids named in `context`.
    pub fn ids(&self) -> Vec<String> {
        ["ids", "id"]
            .iter()
            .filter_map(|k| self.context.get(*k))
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    }
}

/// A batch response (200 or 207).
#[derive(Debug, Deserialize)]
pub struct BatchResponse {
    /// Saved objects.
    #[serde(default)]
    pub results: Vec<SimpleObject>,
    /// Per-record errors (207).
    #[serde(default)]
    pub errors: Vec<BatchError>,
}

/// The error body of a failed call.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    /// Message.
    #[serde(default)]
    pub message: String,
    /// Category.
    #[serde(default)]
    pub category: String,
}

/// Describe an error body as `CATEGORY: message`.
pub fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if !e.message.is_empty() => format!("{}: {}", e.category, e.message),
        _ => "unexpected HubSpot error body".into(),
    }
}

/// The id in a 409 conflict message (`... Existing ID: 3401`).
pub fn existing_id(message: &str) -> Option<String> {
    let rest = message.split("Existing ID:").nth(1)?.trim();
    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty()).then_some(id)
}

/// Search request on `lastmodifieddate` (oldest first).
pub fn search_body(
    since: Option<DateTime<Utc>>,
    limit: u32,
    after: Option<&str>,
    ext_property: &str,
    strict: bool,
) -> Value {
    let mut props: Vec<&str> = FIELD_MAP.iter().map(|(_, n)| *n).collect();
    props.extend([ext_property, "lastmodifieddate"]);
    let mut body = json!({
        "sorts": [{ "propertyName": "lastmodifieddate", "direction": "ASCENDING" }],
        "properties": props,
        "limit": limit,
    });
    if let Some(since) = since {
        body["filterGroups"] = json!([{ "filters": [{
            "propertyName": "lastmodifieddate",
            "operator": if strict { "GT" } else { "GTE" },
            "value": since.timestamp_millis().to_string(),
        }]}]);
    }
    if let Some(after) = after {
        body["after"] = Value::String(after.to_owned());
    }
    body
}

/// Search paging.
#[derive(Debug, Deserialize)]
pub struct Paging {
    /// Next page.
    #[serde(default)]
    pub next: Option<NextPage>,
}

/// `paging.next`.
#[derive(Debug, Deserialize)]
pub struct NextPage {
    /// Offset token.
    pub after: String,
}

/// A search response.
#[derive(Debug, Deserialize)]
pub struct SearchResponse {
    /// Results.
    #[serde(default)]
    pub results: Vec<SimpleObject>,
    /// Paging.
    #[serde(default)]
    pub paging: Option<Paging>,
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Parse HubSpot's RFC 3339 timestamps (or epoch milliseconds).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            s.parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_millis)
        })
}

/// A searched object as `(contact, modified)`.
pub fn contact_from_object(
    o: &SimpleObject,
    ext_property: &str,
) -> Option<(CrmContact, DateTime<Utc>)> {
    let modified = text(&o.properties, "lastmodifieddate")
        .or_else(|| o.updated_at.clone())
        .and_then(|s| parse_timestamp(&s))?;
    let mut c = CrmContact {
        external_id: text(&o.properties, ext_property).unwrap_or_default(),
        remote_id: Some(o.id.clone()),
        updated_at: Some(modified),
        ..Default::default()
    };
    let slots: [(&str, &mut Option<String>); 11] = [
        ("firstname", &mut c.first_name),
        ("lastname", &mut c.last_name),
        ("email", &mut c.email),
        ("phone", &mut c.phone),
        ("company", &mut c.company),
        ("address", &mut c.street),
        ("city", &mut c.city),
        ("state", &mut c.region),
        ("zip", &mut c.postal_code),
        ("country", &mut c.country),
        ("hs_lead_status", &mut c.status),
    ];
    for (key, slot) in slots {
        *slot = text(&o.properties, key);
    }
    Some((c, modified))
}

/// `POST /crm/v3/objects/notes` body, associated with the contact (type 202).
pub fn note_body(a: &ActivityLog) -> Value {
    json!({
        "properties": {
            "hs_timestamp": a.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "hs_note_body": format!("{}\n\n{}", a.subject, a.body),
            NOTE_DEDUPE_PROPERTY: a.dedupe_key,
        },
        "associations": [{
            "to": { "id": a.remote_contact_id },
            "types": [{ "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_CONTACT }],
        }],
    })
}

/// Search for a note by dedupe key.
pub fn note_search_body(dedupe_key: &str) -> Value {
    json!({
        "filterGroups": [{ "filters": [{
            "propertyName": NOTE_DEDUPE_PROPERTY, "operator": "EQ", "value": dedupe_key,
        }]}],
        "properties": [NOTE_DEDUPE_PROPERTY],
        "limit": 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_207_and_maps_errors_to_inputs() {
        let r: BatchResponse = serde_json::from_str(
            r#"{"status":"COMPLETE","numErrors":1,"results":[{"id":"51","new":true,
            "properties":{"clientele_id":"c-1","email":"a@example.com"},"createdAt":"x","updatedAt":"x","archived":false}],
            "errors":[{"status":"error","category":"VALIDATION_ERROR","message":"Email address b@ is invalid",
            "context":{"ids":["c-2"]},"errors":[],"links":{}}]}"#,
        )
        .expect("207");
        assert_eq!(r.results[0].new, Some(true));
        assert_eq!(r.errors[0].ids(), vec!["c-2".to_string()]);
        assert_eq!(
            error_message(br#"{"status":"error","message":"You have reached your daily limit.","category":"RATE_LIMITS"}"#),
            "RATE_LIMITS: You have reached your daily limit."
        );
        assert_eq!(
            existing_id("Contact already exists. Existing ID: 3401").as_deref(),
            Some("3401")
        );
        assert_eq!(existing_id("nope"), None);
    }

    #[test]
    fn search_request_and_results() {
        let since = parse_timestamp("2026-03-12T07:34:24.559Z").expect("ts");
        let body = search_body(Some(since), 200, Some("200"), "clientele_id", false);
        assert_eq!(body["filterGroups"][0]["filters"][0]["operator"], "GTE");
        assert_eq!(
            body["filterGroups"][0]["filters"][0]["value"],
            "1773300864559"
        );
        assert_eq!(body["sorts"][0]["direction"], "ASCENDING");
        assert_eq!(body["after"], "200");
        let page: SearchResponse = serde_json::from_str(
            r#"{"total":55,"results":[{"id":"713492963559","properties":{"company":"Test Company Inc",
            "email":"t@example.com","firstname":"Updated","jobtitle":null,"lastmodifieddate":"2026-03-12T10:04:17.969Z",
            "lastname":"Contact","phone":"+1234567890"},"updatedAt":"2026-03-12T10:04:17.969Z","archived":false}],
            "paging":{"next":{"after":"100","link":"?after=100"}}}"#,
        )
        .expect("search");
        let (c, ts) = contact_from_object(&page.results[0], "clientele_id").expect("contact");
        assert_eq!(c.company.as_deref(), Some("Test Company Inc"));
        assert_eq!(c.external_id, "");
        assert_eq!(ts, parse_timestamp("2026-03-12T10:04:17.969Z").expect("ts"));
        assert_eq!(
            page.paging.and_then(|p| p.next).map(|n| n.after).as_deref(),
            Some("100")
        );
    }

    #[test]
    fn note_is_associated_with_type_202() {
        let a = ActivityLog {
            remote_contact_id: "713492963559".into(),
            dedupe_key: "conv-1:w1".into(),
            subject: "Summary".into(),
            body: "Talked".into(),
            occurred_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let b = note_body(&a);
        assert_eq!(b["associations"][0]["types"][0]["associationTypeId"], 202);
        assert_eq!(b["properties"][NOTE_DEDUPE_PROPERTY], "conv-1:w1");
        assert_eq!(b["properties"]["hs_timestamp"], "1970-01-01T00:00:00.000Z");
    }
}
