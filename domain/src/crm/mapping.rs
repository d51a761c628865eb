//! Pure mapping between a client record and a neutral CRM contact, and the per-field rule that
//! merges a pulled contact into a client.
//!
//! The pull rule (documented in the README): for each mapped field, the CRM's value is taken
//! only when the client's is blank. What a person entered in Clientele, or what was extracted
//! from messages, is never overwritten by a pull. Emails and phones from the CRM are
//! normalised (lower-case, E.164 with the tenant's region); a value that does not normalise is
//! skipped and reported, never stored half-clean. The status is Clientele's own (every client
//! has one), so it is pushed but never pulled.

use crate::clients::FieldChange;
use crate::entities::client;
use crate::values::{Email, PhoneE164, Region};
use crate::{DomainError, DomainResult};
use chrono::{DateTime, Utc};
use clientele_connectors::{ContactField, CrmContact};
use serde_json::Value;
use uuid::Uuid;

/// The name of a field in settings and the API (camelCase, like the GraphQL client fields).
pub fn field_name(field: ContactField) -> &'static str {
    match field {
        ContactField::FirstName => "firstName",
        ContactField::LastName => "lastName",
        ContactField::Email => "email",
        ContactField::Phone => "phone",
        ContactField::Company => "company",
        ContactField::Street => "street",
        ContactField::City => "city",
        ContactField::Region => "state",
        ContactField::PostalCode => "zip",
        ContactField::Country => "country",
        ContactField::Status => "status",
    }
}

/// Reads a list of field names; unknown or repeated names are refused, naming `input`.
/// An empty list means every field.
pub fn parse_fields(input: &str, names: &[String]) -> DomainResult<Vec<ContactField>> {
    if names.is_empty() {
        return Ok(ContactField::ALL.to_vec());
    }
    let mut out = Vec::new();
    for name in names {
        let field = ContactField::ALL
            .into_iter()
            .find(|f| field_name(*f).eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                let known: Vec<&str> = ContactField::ALL.into_iter().map(field_name).collect();
                DomainError::invalid(
                    input,
                    format!("unknown field `{name}`; known: {}", known.join(", ")),
                )
            })?;
        if out.contains(&field) {
            return Err(DomainError::invalid(input, format!("`{name}` is repeated")));
        }
        out.push(field);
    }
    Ok(out)
}

/// Stored field names back to fields (names written by [`parse_fields`]).
pub fn stored_fields(names: &[String]) -> Vec<ContactField> {
    parse_fields("fields", names).unwrap_or_else(|_| ContactField::ALL.to_vec())
}

fn column(row: &client::Model, field: ContactField) -> Option<&str> {
    match field {
        ContactField::FirstName => row.first_name.as_deref(),
        ContactField::LastName => row.last_name.as_deref(),
        ContactField::Email => row.email.as_deref(),
        ContactField::Phone => row.phone.as_deref(),
        ContactField::Company => row.company.as_deref(),
        ContactField::Street => row.street.as_deref(),
        ContactField::City => row.city.as_deref(),
        ContactField::Region => row.state.as_deref(),
        ContactField::PostalCode => row.zip.as_deref(),
        ContactField::Country => row.country.as_deref(),
        ContactField::Status => Some(row.status.as_str()),
    }
}

fn column_mut(row: &mut client::Model, field: ContactField) -> Option<&mut Option<String>> {
    Some(match field {
        ContactField::FirstName => &mut row.first_name,
        ContactField::LastName => &mut row.last_name,
        ContactField::Email => &mut row.email,
        ContactField::Phone => &mut row.phone,
        ContactField::Company => &mut row.company,
        ContactField::Street => &mut row.street,
        ContactField::City => &mut row.city,
        ContactField::Region => &mut row.state,
        ContactField::PostalCode => &mut row.zip,
        ContactField::Country => &mut row.country,
        ContactField::Status => return None,
    })
}

fn slot(contact: &mut CrmContact, field: ContactField) -> &mut Option<String> {
    match field {
        ContactField::FirstName => &mut contact.first_name,
        ContactField::LastName => &mut contact.last_name,
        ContactField::Email => &mut contact.email,
        ContactField::Phone => &mut contact.phone,
        ContactField::Company => &mut contact.company,
        ContactField::Street => &mut contact.street,
        ContactField::City => &mut contact.city,
        ContactField::Region => &mut contact.region,
        ContactField::PostalCode => &mut contact.postal_code,
        ContactField::Country => &mut contact.country,
        ContactField::Status => &mut contact.status,
    }
}

/// The contact to push for a client: its id as the external id, the mapped fields only.
pub fn to_contact(
    row: &client::Model,
    fields: &[ContactField],
    remote_id: Option<&str>,
) -> CrmContact {
    let mut contact = CrmContact {
        external_id: row.id.to_string(),
        remote_id: remote_id.map(str::to_owned),
        ..CrmContact::default()
    };
    for &field in fields {
        *slot(&mut contact, field) = column(row, field)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
    }
    contact
}

/// The client id a pulled contact carries, when Clientele created it.
pub fn external_client_id(contact: &CrmContact) -> Option<Uuid> {
    Uuid::parse_str(contact.external_id.trim()).ok()
}

/// What a pull does to one client.
#[derive(Debug, Clone, PartialEq)]
pub struct PullMerge {
    pub next: client::Model,
    pub changes: Vec<FieldChange>,
    /// Fields whose CRM value could not be normalised, with the reason.
    pub skipped: Vec<(&'static str, String)>,
}

/// Merges a pulled contact into a client by the documented rule (blank fields only).
pub fn pull_into(
    row: &client::Model,
    remote: &CrmContact,
    fields: &[ContactField],
    region: Region,
) -> PullMerge {
    let mut next = row.clone();
    let mut changes = Vec::new();
    let mut skipped = Vec::new();
    for &field in fields {
        let Some(value) = remote_value(remote, field) else {
            continue;
        };
        let name = field_name(field);
        let Some(target) = column_mut(&mut next, field) else {
            continue;
        };
        if target.as_deref().is_some_and(|v| !v.trim().is_empty()) {
            continue;
        }
        let clean = match field {
            ContactField::Email => Email::parse(value).map(Email::into_string),
            ContactField::Phone => PhoneE164::parse(value, region).map(PhoneE164::into_string),
            _ => Ok(value.chars().take(500).collect()),
        };
        match clean {
            Ok(clean) => {
                changes.push(FieldChange {
                    field: name,
                    before: target.clone().map_or(Value::Null, Value::String),
                    after: Value::String(clean.clone()),
                });
                *target = Some(clean);
            }
            Err(reason) => skipped.push((name, reason)),
        }
    }
    PullMerge {
        next,
        changes,
        skipped,
    }
}

fn remote_value(remote: &CrmContact, field: ContactField) -> Option<&str> {
    field.get(remote).map(str::trim).filter(|v| !v.is_empty())
}

/// Whether a pulled contact carries anything a client can be found or created by.
pub fn identifiable(remote: &CrmContact) -> bool {
    [
        ContactField::Email,
        ContactField::Phone,
        ContactField::FirstName,
        ContactField::LastName,
    ]
    .into_iter()
    .any(|f| remote_value(remote, f).is_some())
}

/// The dedupe key of a conversation summary: one per connection, conversation and UTC day
/// of its latest message. A conversation active on three days is logged three times, each
/// day once, however often the job runs.
pub fn activity_key(conversation: Uuid, last_message_at: DateTime<Utc>) -> String {
    format!("{conversation}:{}", last_message_at.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TenantId;
    use crate::clients::{TenantRules, blank};
    use crate::entities::client::ClientSource;

    fn client() -> client::Model {
        let rules = TenantRules {
            region: Region::parse("CA").unwrap(),
            statuses: vec!["new".into()],
            funnel_stages: vec![],
        };
        blank(TenantId(Uuid::now_v7()), &rules, ClientSource::Manual)
    }

    #[test]
    fn field_names_parse_and_unknown_names_are_refused_by_input_name() {
        let fields = parse_fields("fields", &["email".into(), "ZIP".into()]).unwrap();
        assert_eq!(fields, vec![ContactField::Email, ContactField::PostalCode]);
        assert_eq!(
            parse_fields("fields", &[]).unwrap(),
            ContactField::ALL.to_vec()
        );
        match parse_fields("input.fields", &["shoeSize".into()]) {
            Err(DomainError::Invalid { field, message }) => {
                assert_eq!(field, "input.fields");
                assert!(message.contains("shoeSize"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_fields("fields", &["email".into(), "Email".into()]).is_err());
    }

    #[test]
    fn push_carries_the_client_id_and_only_mapped_non_blank_fields() {
        let mut row = client();
        row.first_name = Some("Ada".into());
        row.email = Some("ada@example.com".into());
        row.company = Some("  ".into());
        row.zip = Some("M5V 2T6".into());
        let c = to_contact(
            &row,
            &[
                ContactField::FirstName,
                ContactField::Company,
                ContactField::PostalCode,
            ],
            Some("r1"),
        );
        assert_eq!(c.external_id, row.id.to_string());
        assert_eq!(c.remote_id.as_deref(), Some("r1"));
        assert_eq!(c.first_name.as_deref(), Some("Ada"));
        assert_eq!(c.email, None, "email is not mapped");
        assert_eq!(c.company, None, "blank is not sent");
        assert_eq!(c.postal_code.as_deref(), Some("M5V 2T6"));
        assert_eq!(external_client_id(&c), Some(row.id));
    }

    #[test]
    fn pull_fills_blanks_only_and_never_overwrites() {
        let mut row = client();
        row.first_name = Some("Ada".into());
        let remote = CrmContact {
            first_name: Some("Adeline".into()),
            last_name: Some("Lovelace".into()),
            email: Some(" ADA@Example.COM ".into()),
            phone: Some("(416) 555-1234".into()),
            status: Some("customer".into()),
            ..CrmContact::default()
        };
        let merge = pull_into(
            &row,
            &remote,
            &ContactField::ALL,
            Region::parse("CA").unwrap(),
        );
        assert_eq!(merge.next.first_name.as_deref(), Some("Ada"));
        assert_eq!(merge.next.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(merge.next.email.as_deref(), Some("ada@example.com"));
        assert_eq!(merge.next.phone.as_deref(), Some("+14165551234"));
        assert_eq!(merge.next.status, "new", "status is never pulled");
        let changed: Vec<_> = merge.changes.iter().map(|c| c.field).collect();
        assert_eq!(changed, vec!["lastName", "email", "phone"]);
        assert!(merge.skipped.is_empty());
    }

    #[test]
    fn pull_skips_values_that_do_not_normalise_and_unmapped_fields() {
        let row = client();
        let remote = CrmContact {
            email: Some("not an email".into()),
            phone: Some("12".into()),
            city: Some("Toronto".into()),
            company: Some("Acme".into()),
            ..CrmContact::default()
        };
        let fields = [ContactField::Email, ContactField::Phone, ContactField::City];
        let merge = pull_into(&row, &remote, &fields, Region::parse("CA").unwrap());
        assert_eq!(merge.next.email, None);
        assert_eq!(merge.next.phone, None);
        assert_eq!(merge.next.city.as_deref(), Some("Toronto"));
        assert_eq!(merge.next.company, None, "company is not mapped");
        let skipped: Vec<_> = merge.skipped.iter().map(|s| s.0).collect();
        assert_eq!(skipped, vec!["email", "phone"]);
    }

    #[test]
    fn activity_keys_are_per_conversation_and_utc_day() {
        let conv = Uuid::now_v7();
        let morning = "2026-03-01T08:00:00Z".parse().unwrap();
        let evening = "2026-03-01T23:59:00Z".parse().unwrap();
        let next_day = "2026-03-02T00:01:00Z".parse().unwrap();
        assert_eq!(activity_key(conv, morning), activity_key(conv, evening));
        assert_ne!(activity_key(conv, evening), activity_key(conv, next_day));
        assert_ne!(
            activity_key(conv, morning),
            activity_key(Uuid::now_v7(), morning)
        );
    }

    #[test]
    fn a_contact_without_name_email_or_phone_is_not_identifiable() {
        assert!(!identifiable(&CrmContact {
            company: Some("Acme".into()),
            ..CrmContact::default()
        }));
        assert!(identifiable(&CrmContact {
            last_name: Some("Lovelace".into()),
            ..CrmContact::default()
        }));
    }
}
