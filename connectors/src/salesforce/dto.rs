//! Salesforce REST wire types and their mapping to neutral records.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::model::{ActivityLog, ContactField, CrmContact};

/// Neutral field -> Contact field. Contacts have no company text (that is an Account lookup)
/// and no status, so those are not synced.
pub const FIELD_MAP: &[(ContactField, &str)] = &[
    (ContactField::FirstName, "FirstName"),
    (ContactField::LastName, "LastName"),
    (ContactField::Email, "Email"),
    (ContactField::Phone, "Phone"),
    (ContactField::Street, "MailingStreet"),
    (ContactField::City, "MailingCity"),
    (ContactField::Region, "MailingState"),
    (ContactField::PostalCode, "MailingPostalCode"),
    (ContactField::Country, "MailingCountry"),
];

/// One record of an sObject Collections upsert body (`attributes`, external id, set fields).
pub fn contact_record(c: &CrmContact, ext_field: &str) -> Value {
    let mut m = Map::new();
    m.insert("attributes".into(), json!({ "type": "Contact" }));
    m.insert(ext_field.into(), Value::String(c.external_id.clone()));
    for (field, name) in FIELD_MAP {
        if let Some(v) = field.get(c) {
            m.insert((*name).into(), Value::String(v.to_owned()));
        }
    }
    Value::Object(m)
}

/// An error inside a collections result.
#[derive(Debug, Deserialize)]
pub struct SaveError {
    /// e.g. `REQUIRED_FIELD_MISSING`.
    #[serde(rename = "statusCode", default)]
    pub status_code: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
}

/// One result of `PATCH /composite/sobjects/{type}/{extIdField}`, aligned with the input.
#[derive(Debug, Deserialize)]
pub struct SaveResult {
    /// Record id on success.
    #[serde(default)]
    pub id: Option<String>,
    /// Whether it was saved.
    pub success: bool,
    /// Errors when not.
    #[serde(default)]
    pub errors: Vec<SaveError>,
    /// True when created, false when updated.
    #[serde(default)]
    pub created: Option<bool>,
}

/// An element of Salesforce's error arrays.
#[derive(Debug, Deserialize)]
pub struct ApiError {
    /// e.g. `INVALID_SESSION_ID`.
    #[serde(rename = "errorCode", default)]
    pub error_code: String,
    /// Message.
    #[serde(default)]
    pub message: String,
}

/// Join an error array into one message (`CODE: message; ...`).
pub fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<Vec<ApiError>>(body) {
        Ok(errors) if !errors.is_empty() => errors
            .iter()
            .map(|e| format!("{}: {}", e.error_code, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        _ => "unexpected Salesforce error body".into(),
    }
}

/// Join save errors into one message.
pub fn save_error_message(errors: &[SaveError]) -> String {
    if errors.is_empty() {
        return "record not saved".into();
    }
    errors
        .iter()
        .map(|e| format!("{}: {}", e.status_code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A SOQL query page.
#[derive(Debug, Deserialize)]
pub struct QueryPage {
    /// Whether this is the last page.
    pub done: bool,
    /// Path of the next page.
    #[serde(rename = "nextRecordsUrl", default)]
    pub next_records_url: Option<String>,
    /// Records.
    #[serde(default)]
    pub records: Vec<Map<String, Value>>,
}

/// Salesforce timestamps: `2026-05-01T07:25:37.000+0000`.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Format a SOQL dateTime literal (`2026-05-01T07:25:37.000Z`, no quotes).
pub fn soql_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The SOQL of the change feed.
pub fn changes_soql(ext_field: &str, since: Option<DateTime<Utc>>, strict: bool) -> String {
    let mut fields: Vec<&str> = vec!["Id", ext_field];
    fields.extend(FIELD_MAP.iter().map(|(_, n)| *n));
    fields.extend(["IsDeleted", "SystemModstamp"]);
    let filter = since
        .map(|s| {
            let op = if strict { ">" } else { ">=" };
            format!(" WHERE SystemModstamp {op} {}", soql_datetime(s))
        })
        .unwrap_or_default();
    format!(
        "SELECT {} FROM Contact{filter} ORDER BY SystemModstamp ASC, Id ASC",
        fields.join(", ")
    )
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A queried record: `(contact, modified, deleted)`; `None` when it lacks `Id`/`SystemModstamp`.
pub fn contact_from_record(
    m: &Map<String, Value>,
    ext_field: &str,
) -> Option<(CrmContact, DateTime<Utc>, bool)> {
    let id = text(m, "Id")?;
    let modified = parse_timestamp(&text(m, "SystemModstamp")?)?;
    let deleted = m.get("IsDeleted").and_then(Value::as_bool).unwrap_or(false);
    let mut c = CrmContact {
        external_id: text(m, ext_field).unwrap_or_default(),
        remote_id: Some(id),
        updated_at: Some(modified),
        ..Default::default()
    };
    let slots: [(&str, &mut Option<String>); 9] = [
        ("FirstName", &mut c.first_name),
        ("LastName", &mut c.last_name),
        ("Email", &mut c.email),
        ("Phone", &mut c.phone),
        ("MailingStreet", &mut c.street),
        ("MailingCity", &mut c.city),
        ("MailingState", &mut c.region),
        ("MailingPostalCode", &mut c.postal_code),
        ("MailingCountry", &mut c.country),
    ];
    for (key, slot) in slots {
        *slot = text(m, key);
    }
    Some((c, modified, deleted))
}

/// Body of the Task upserted for an activity.
pub fn task_body(a: &ActivityLog) -> Value {
    json!({
        "WhoId": a.remote_contact_id,
        "Subject": a.subject,
        "Description": a.body,
        "ActivityDate": a.occurred_at.format("%Y-%m-%d").to_string(),
        "Status": "Completed",
        "TaskSubtype": "Task",
    })
}

/// Body of `PATCH /sobjects/{type}/{field}/{value}`.
#[derive(Debug, Deserialize)]
pub struct UpsertResult {
    /// Record id.
    pub id: String,
    /// True when created.
    #[serde(default)]
    pub created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_recorded_timestamps_and_query_page() {
        let t = parse_timestamp("2026-05-01T07:25:37.000+0000").expect("ts");
        assert_eq!(soql_datetime(t), "2026-05-01T07:25:37.000Z");
        let page: QueryPage = serde_json::from_str(
            r#"{"totalSize":2086,"done":false,"nextRecordsUrl":"/services/data/v59.0/query/0r8xx5R2yF2gs3VASQ-2000",
            "records":[{"attributes":{"type":"Contact","url":"/x"},"Id":"003A","LastName":"Doe","Email":null,
            "Clientele_Id__c":"c-1","IsDeleted":false,"SystemModstamp":"2026-05-01T07:25:37.000+0000"}]}"#,
        )
        .expect("page");
        assert!(!page.done);
        let (c, ts, deleted) =
            contact_from_record(&page.records[0], "Clientele_Id__c").expect("record");
        assert_eq!(c.remote_id.as_deref(), Some("003A"));
        assert_eq!(c.external_id, "c-1");
        assert_eq!(c.last_name.as_deref(), Some("Doe"));
        assert_eq!(c.email, None);
        assert_eq!(ts, t);
        assert!(!deleted);
    }

    #[test]
    fn builds_collection_records_and_reads_errors() {
        let c = CrmContact {
            external_id: "c-9".into(),
            last_name: Some("Roe".into()),
            city: Some("Oslo".into()),
            company: Some("Acme".into()),
            ..Default::default()
        };
        let v = contact_record(&c, "Clientele_Id__c");
        assert_eq!(v["attributes"]["type"], "Contact");
        assert_eq!(v["Clientele_Id__c"], "c-9");
        assert_eq!(v["MailingCity"], "Oslo");
        assert!(v.get("FirstName").is_none());
        let results: Vec<SaveResult> = serde_json::from_str(
            r#"[{"success":false,"errors":[{"statusCode":"JSON_PARSER_ERROR","message":"Nested object","fields":[]}],"created":false},
               {"id":"003B","success":true,"errors":[],"created":true}]"#,
        )
        .expect("results");
        assert_eq!(
            save_error_message(&results[0].errors),
            "JSON_PARSER_ERROR: Nested object"
        );
        assert_eq!(results[1].created, Some(true));
        let msg = error_message(
            br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
        );
        assert_eq!(msg, "INVALID_SESSION_ID: Session expired or invalid");
        let soql = changes_soql("Clientele_Id__c", Some(t_epoch()), false);
        assert!(soql.contains("WHERE SystemModstamp >= 1970-01-01T00:00:00.000Z"));
        assert!(soql.contains("ORDER BY SystemModstamp ASC"));
    }

    fn t_epoch() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }
}
