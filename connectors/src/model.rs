//! Neutral CRM records exchanged with the rest of Clientele.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A contact as Clientele sees it, independent of any CRM's field names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmContact {
    /// Clientele's client id (the CRM's external id / alternate key / unique property).
    /// Empty on pulled records that were created in the CRM rather than by Clientele.
    pub external_id: String,
    /// The CRM's own id, once known.
    pub remote_id: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Primary email.
    pub email: Option<String>,
    /// Primary phone (E.164 when Clientele sends it).
    pub phone: Option<String>,
    /// Company name.
    pub company: Option<String>,
    /// Street line.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Lifecycle status (lead status / lifecycle stage), free text.
    pub status: Option<String>,
    /// When the CRM last modified the record (pulled records only).
    pub updated_at: Option<DateTime<Utc>>,
}

/// Neutral field names, used by [`crate::Capabilities::fields`] and the merge rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContactField {
    /// [`CrmContact::first_name`]
    FirstName,
    /// [`CrmContact::last_name`]
    LastName,
    /// [`CrmContact::email`]
    Email,
    /// [`CrmContact::phone`]
    Phone,
    /// [`CrmContact::company`]
    Company,
    /// [`CrmContact::street`]
    Street,
    /// [`CrmContact::city`]
    City,
    /// [`CrmContact::region`]
    Region,
    /// [`CrmContact::postal_code`]
    PostalCode,
    /// [`CrmContact::country`]
    Country,
    /// [`CrmContact::status`]
    Status,
}

impl ContactField {
    /// Every neutral field.
    pub const ALL: [ContactField; 11] = [
        ContactField::FirstName,
        ContactField::LastName,
        ContactField::Email,
        ContactField::Phone,
        ContactField::Company,
        ContactField::Street,
        ContactField::City,
        ContactField::Region,
        ContactField::PostalCode,
        ContactField::Country,
        ContactField::Status,
    ];

    /// Borrow this field of a contact.
    pub fn get(self, c: &CrmContact) -> Option<&str> {
        self.slot_ref(c).as_deref()
    }

    fn slot_ref(self, c: &CrmContact) -> &Option<String> {
        match self {
            ContactField::FirstName => &c.first_name,
            ContactField::LastName => &c.last_name,
            ContactField::Email => &c.email,
            ContactField::Phone => &c.phone,
            ContactField::Company => &c.company,
            ContactField::Street => &c.street,
            ContactField::City => &c.city,
            ContactField::Region => &c.region,
            ContactField::PostalCode => &c.postal_code,
            ContactField::Country => &c.country,
            ContactField::Status => &c.status,
        }
    }

    fn slot_mut(self, c: &mut CrmContact) -> &mut Option<String> {
        match self {
            ContactField::FirstName => &mut c.first_name,
            ContactField::LastName => &mut c.last_name,
            ContactField::Email => &mut c.email,
            ContactField::Phone => &mut c.phone,
            ContactField::Company => &mut c.company,
            ContactField::Street => &mut c.street,
            ContactField::City => &mut c.city,
            ContactField::Region => &mut c.region,
            ContactField::PostalCode => &mut c.postal_code,
            ContactField::Country => &mut c.country,
            ContactField::Status => &mut c.status,
        }
    }
}

/// The recommended pull merge rule, as data: for each field, the remote value is taken only
/// when the local value is blank (Clientele stays the source of truth for what it knows, the
/// CRM fills the gaps). Returns the merged contact and the fields the remote filled.
pub fn merge_remote_into_local(
    local: &CrmContact,
    remote: &CrmContact,
) -> (CrmContact, Vec<ContactField>) {
    let mut merged = local.clone();
    let mut filled = Vec::new();
    for field in ContactField::ALL {
        let local_blank = field.get(local).is_none_or(|v| v.trim().is_empty());
        let remote_value = field.get(remote).filter(|v| !v.trim().is_empty());
        if let (true, Some(value)) = (local_blank, remote_value) {
            *field.slot_mut(&mut merged) = Some(value.to_owned());
            filled.push(field);
        }
    }
    if merged.remote_id.is_none() {
        merged.remote_id = remote.remote_id.clone();
    }
    (merged, filled)
}

/// The result of upserting one contact, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// The CRM created a new record.
    Created {
        /// The CRM's id of the record.
        remote_id: String,
    },
    /// The CRM updated an existing record.
    Updated {
        /// The CRM's id of the record.
        remote_id: String,
    },
    /// The CRM refused this record; the others in the batch are unaffected.
    Failed {
        /// Clientele's id of the record.
        external_id: String,
        /// The CRM's message.
        message: String,
    },
}

impl UpsertOutcome {
    /// The remote id, unless the record failed.
    pub fn remote_id(&self) -> Option<&str> {
        match self {
            UpsertOutcome::Created { remote_id } | UpsertOutcome::Updated { remote_id } => {
                Some(remote_id)
            }
            UpsertOutcome::Failed { .. } => None,
        }
    }
}

/// An opaque, serialisable position in a CRM's change feed. Store it as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCursor(pub String);

/// One page of remote changes.
#[derive(Debug, Clone, Default)]
pub struct ChangePage {
    /// Created or modified contacts, oldest first.
    pub contacts: Vec<CrmContact>,
    /// Remote ids deleted in the CRM (only where the API reports deletes).
    pub deleted_remote_ids: Vec<String>,
    /// Where to continue; store it once this page is applied.
    pub next_cursor: SyncCursor,
    /// Whether another page is ready right now.
    pub has_more: bool,
}

/// An activity (conversation summary) to log on a contact.
#[derive(Debug, Clone)]
pub struct ActivityLog {
    /// The CRM's id of the contact.
    pub remote_contact_id: String,
    /// Unique per conversation update window: the same key is never logged twice.
    pub dedupe_key: String,
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

/// The activity as the CRM holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedActivity {
    /// The CRM's id of the activity.
    pub remote_id: String,
    /// False when the dedupe key had already been logged (nothing new was created).
    pub created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_fills_only_blank_local_fields() {
        let local = CrmContact {
            external_id: "c1".into(),
            first_name: Some("Ann".into()),
            email: Some(" ".into()),
            ..Default::default()
        };
        let remote = CrmContact {
            external_id: "c1".into(),
            remote_id: Some("r1".into()),
            first_name: Some("Anne".into()),
            email: Some("ann@example.com".into()),
            city: Some("Lyon".into()),
            ..Default::default()
        };
        let (merged, filled) = merge_remote_into_local(&local, &remote);
        assert_eq!(merged.first_name.as_deref(), Some("Ann"));
        assert_eq!(merged.email.as_deref(), Some("ann@example.com"));
        assert_eq!(merged.city.as_deref(), Some("Lyon"));
        assert_eq!(merged.remote_id.as_deref(), Some("r1"));
        assert_eq!(filled, vec![ContactField::Email, ContactField::City]);
    }
}
