//! Dataverse Web API wire types and their mapping to neutral records.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::model::{ActivityLog, ContactField, CrmContact};

/// Neutral field -> contact column. Contacts have no company text (a `parentcustomerid`
/// lookup) and a numeric status, so those are not synced.
pub const FIELD_MAP: &[(ContactField, &str)] = &[
    (ContactField::FirstName, "firstname"),
    (ContactField::LastName, "lastname"),
    (ContactField::Email, "emailaddress1"),
    (ContactField::Phone, "telephone1"),
    (ContactField::Street, "address1_line1"),
    (ContactField::City, "address1_city"),
    (ContactField::Region, "address1_stateorprovince"),
    (ContactField::PostalCode, "address1_postalcode"),
    (ContactField::Country, "address1_country"),
];

/// An OData string literal (single quotes doubled).
pub fn odata_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `contacts(key='value')`: the alternate-key address of a record.
pub fn alternate_key_segment(entity_set: &str, key: &str, value: &str) -> String {
    format!("{entity_set}({key}={})", odata_literal(value))
}

/// Body of a contact upsert.
pub fn contact_body(c: &CrmContact, ext_column: &str) -> Value {
    let mut m = Map::new();
    m.insert(ext_column.into(), Value::String(c.external_id.clone()));
    for (field, name) in FIELD_MAP {
        if let Some(v) = field.get(c) {
            m.insert((*name).into(), Value::String(v.to_owned()));
        }
    }
    Value::Object(m)
}

/// `POST contacts/Microsoft.Dynamics.CRM.UpsertMultiple` body: each target addressed by its
/// alternate key in `@odata.id`.
pub fn upsert_multiple_body(chunk: &[CrmContact], ext_column: &str) -> Value {
    let targets: Vec<Value> = chunk
        .iter()
        .map(|c| {
            let mut m = Map::new();
            m.insert(
                "@odata.type".into(),
                json!("Microsoft.Dynamics.CRM.contact"),
            );
            m.insert(
                "@odata.id".into(),
                json!(alternate_key_segment(
                    "contacts",
                    ext_column,
                    &c.external_id
                )),
            );
            for (field, name) in FIELD_MAP {
                if let Some(v) = field.get(c) {
                    m.insert((*name).into(), Value::String(v.to_owned()));
                }
            }
            Value::Object(m)
        })
        .collect();
    json!({ "Targets": targets })
}

/// `$filter` finding contacts by external id (`col eq 'a' or col eq 'b'`).
pub fn lookup_filter(ext_column: &str, ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("{ext_column} eq {}", odata_literal(id)))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The error body `{"error":{"code","message"}}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Inner error.
#[derive(Debug, Deserialize)]
pub struct ErrorDetail {
    /// e.g. `0x80040333`.
    #[serde(default)]
    pub code: String,
    /// Message.
    #[serde(default)]
    pub message: String,
}

/// Describe an error body as `code: message`.
pub fn error_message(status: u16, body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => format!("{}: {}", e.error.code, e.error.message),
        Err(_) => format!("HTTP {status}"),
    }
}

/// The GUID in an `OData-EntityId` header (`.../contacts(7eb6...)`).
pub fn entity_id_from_header(value: &str) -> Option<String> {
    let start = value.rfind('(')? + 1;
    let end = value.rfind(')')?;
    let id = value.get(start..end)?;
    (!id.is_empty() && !id.contains('=')).then(|| id.to_owned())
}

/// Dataverse timestamps: `2026-03-12T10:04:17Z`.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
}

/// An OData filter literal for a timestamp.
pub fn odata_datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `$select` of the change feed.
pub fn select(ext_column: &str) -> String {
    let mut cols = vec!["contactid", ext_column, "modifiedon"];
    cols.extend(FIELD_MAP.iter().map(|(_, n)| *n));
    cols.join(",")
}

/// A change-tracking page: records, `$deletedEntity` entries, then a next or delta link.
#[derive(Debug, Deserialize)]
pub struct TrackedPage {
    /// Changed records and deleted entities.
    #[serde(default)]
    pub value: Vec<Map<String, Value>>,
    /// More of this round.
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    /// Where the next round starts.
    #[serde(rename = "@odata.deltaLink", default)]
    pub delta_link: Option<String>,
}

/// The id of a `$deletedEntity` entry (`{"id": .., "reason": "deleted"}`).
pub fn deleted_id(m: &Map<String, Value>) -> Option<String> {
    (m.get("reason").and_then(Value::as_str) == Some("deleted"))
        .then(|| text(m, "id"))
        .flatten()
}

/// A collection page.
#[derive(Debug, Deserialize)]
pub struct Page {
    /// Records.
    #[serde(default)]
    pub value: Vec<Map<String, Value>>,
    /// Next page (full URL, used as is).
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A record as `(contact, modified)`.
pub fn contact_from_record(
    m: &Map<String, Value>,
    ext_column: &str,
) -> Option<(CrmContact, DateTime<Utc>)> {
    let id = text(m, "contactid")?;
    let modified = parse_timestamp(&text(m, "modifiedon")?)?;
    let mut c = CrmContact {
        external_id: text(m, ext_column).unwrap_or_default(),
        remote_id: Some(id),
        updated_at: Some(modified),
        ..Default::default()
    };
    let slots: [(&str, &mut Option<String>); 9] = [
        ("firstname", &mut c.first_name),
        ("lastname", &mut c.last_name),
        ("emailaddress1", &mut c.email),
        ("telephone1", &mut c.phone),
        ("address1_line1", &mut c.street),
        ("address1_city", &mut c.city),
        ("address1_stateorprovince", &mut c.region),
        ("address1_postalcode", &mut c.postal_code),
        ("address1_country", &mut c.country),
    ];
    for (key, slot) in slots {
        *slot = text(m, key);
    }
    Some((c, modified))
}

/// Body of the task logged for an activity, bound to the contact.
pub fn task_body(a: &ActivityLog, dedupe_column: &str) -> Value {
    json!({
        "subject": a.subject,
        "description": a.body,
        "scheduledend": odata_datetime(a.occurred_at),
        dedupe_column: a.dedupe_key,
        "regardingobjectid_contact_task@odata.bind": format!("/contacts({})", a.remote_contact_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_literals_and_entity_ids() {
        assert_eq!(
            alternate_key_segment("contacts", "k", "o'neil"),
            "contacts(k='o''neil')"
        );
        assert_eq!(
            entity_id_from_header(
                "https://org.example/api/data/v9.0/accounts(7eb682f1-ca75-e511-80d4-00155d2a68d1)"
            )
            .as_deref(),
            Some("7eb682f1-ca75-e511-80d4-00155d2a68d1")
        );
        assert_eq!(entity_id_from_header("contacts(k='x')"), None);
        assert_eq!(
            error_message(500, br#"{"error":{"code":"0x80040333","message":"A record was not created or updated because a duplicate of the current record already exists."}}"#),
            "0x80040333: A record was not created or updated because a duplicate of the current record already exists."
        );
        assert_eq!(error_message(401, b""), "HTTP 401");
    }

    #[test]
    fn upsert_multiple_addresses_targets_by_alternate_key() {
        let c = CrmContact {
            external_id: "c'1".into(),
            first_name: Some("Ann".into()),
            ..Default::default()
        };
        let body = upsert_multiple_body(std::slice::from_ref(&c), "clientele_externalid");
        let t = &body["Targets"][0];
        assert_eq!(t["@odata.type"], "Microsoft.Dynamics.CRM.contact");
        assert_eq!(t["@odata.id"], "contacts(clientele_externalid='c''1')");
        assert_eq!(t["firstname"], "Ann");
        assert_eq!(lookup_filter("k", &["a", "b'c"]), "k eq 'a' or k eq 'b''c'");
    }

    #[test]
    fn parses_recorded_page() {
        let page: Page = serde_json::from_str(
            r#"{"@odata.context":"x","value":[{"@odata.etag":"W/\"72201545\"","contactid":"49b0be2e-d01c-ed11-b83e-000d3a572421",
            "firstname":"Yvonne","modifiedon":"2026-03-12T10:04:17Z","clientele_externalid":"c-1"}],
            "@odata.nextLink":"https://org.example/api/data/v9.2/contacts?$select=fullname&$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E"}"#,
        )
        .expect("page");
        let (c, ts) = contact_from_record(&page.value[0], "clientele_externalid").expect("contact");
        assert_eq!(c.first_name.as_deref(), Some("Yvonne"));
        assert_eq!(c.external_id, "c-1");
        assert_eq!(odata_datetime(ts), "2026-03-12T10:04:17.000Z");
        assert!(page.next_link.is_some_and(|l| l.contains("$skiptoken")));
    }

    #[test]
    fn parses_recorded_delta_with_delete() {
        let page: TrackedPage = serde_json::from_str(
            r#"{"@odata.context":"x/$delta","@odata.deltaLink":"https://org.example/api/data/v9.0/accounts?$deltatoken=919058%2108",
            "value":[{"@odata.etag":"W/\"915244\"","name":"Monte Orton","accountid":"60c4e274"},
            {"@odata.context":"x/$metadata#accounts/$deletedEntity","id":"2e451703-c686-e711-80e5-00155db19e6d","reason":"deleted"}]}"#,
        )
        .expect("delta");
        assert!(page.next_link.is_none() && page.delta_link.is_some());
        assert_eq!(deleted_id(&page.value[0]), None);
        assert_eq!(
            deleted_id(&page.value[1]).as_deref(),
            Some("2e451703-c686-e711-80e5-00155db19e6d")
        );
    }

    #[test]
    fn task_binds_the_contact() {
        let a = ActivityLog {
            remote_contact_id: "49b0be2e".into(),
            dedupe_key: "k1".into(),
            subject: "s".into(),
            body: "b".into(),
            occurred_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let b = task_body(&a, "clientele_dedupekey");
        assert_eq!(
            b["regardingobjectid_contact_task@odata.bind"],
            "/contacts(49b0be2e)"
        );
        assert_eq!(b["clientele_dedupekey"], "k1");
    }
}
