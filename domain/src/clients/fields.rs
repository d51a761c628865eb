//! The editable fields of a client: what a caller may send, how each value is validated and
//! normalised, and how a change is applied and described (pure; no IO).

use crate::entities::client::{self, BotStatus, PurchaseIntent, SaleStatus};
use crate::entities::json::{JsonObject, StringList};
use crate::values::{Email, PhoneE164, Region, clean_text};
use crate::{DomainError, DomainResult};
use chrono::NaiveDate;
use serde_json::{Value, json};

pub const MAX_TRAITS: usize = 5;
const MAX_LIST: usize = 50;
const MAX_METADATA_KEYS: usize = 100;
const MAX_METADATA_VALUE_BYTES: usize = 4096;

/// One field of an update: leave it, clear it, or set it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

/// Everything a person can edit on a client, as typed. Used for create (where `Keep` and
/// `Clear` both mean "empty") and update.
#[derive(Clone, Debug, Default)]
pub struct ClientInput {
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub company: Patch<String>,
    pub street: Patch<String>,
    pub city: Patch<String>,
    pub state: Patch<String>,
    pub zip: Patch<String>,
    pub country: Patch<String>,
    pub date_of_birth: Patch<NaiveDate>,
    pub notes: Patch<String>,
    pub external_id: Patch<String>,
    pub status: Patch<String>,
    pub purchase_intent: Patch<PurchaseIntent>,
    pub interests: Patch<Vec<String>>,
    pub traits: Patch<Vec<String>>,
    pub needs: Patch<Vec<String>>,
    pub sale_status: Patch<SaleStatus>,
    pub funnel_stage: Patch<String>,
    pub bot_status: Patch<BotStatus>,
    pub sentiment: Patch<String>,
    pub mystery_shopper: Patch<bool>,
    pub contractor: Patch<bool>,
    pub custom_config: Patch<serde_json::Map<String, Value>>,
    /// Metadata keys to set (others are kept).
    pub metadata_set: serde_json::Map<String, Value>,
    /// Metadata keys to remove.
    pub metadata_remove: Vec<String>,
}

/// What a tenant allows for its configurable fields.
#[derive(Clone, Debug)]
pub struct TenantRules {
    pub region: Region,
    pub statuses: Vec<String>,
    pub funnel_stages: Vec<String>,
}

/// One field that changed, for the timeline and merge reports.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: Value,
    pub after: Value,
}

fn text(field: &str, value: &str, max: usize) -> DomainResult<Option<String>> {
    clean_text(value, max).map_err(|m| DomainError::invalid(field, m))
}

fn email(value: &str) -> DomainResult<Option<String>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    Email::parse(value)
        .map(|e| Some(e.into_string()))
        .map_err(|m| DomainError::invalid("email", m))
}

fn phone(value: &str, region: Region) -> DomainResult<Option<String>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    PhoneE164::parse(value, region)
        .map(|p| Some(p.into_string()))
        .map_err(|m| DomainError::invalid("phone", m))
}

/// Trims, drops blanks and case-insensitive duplicates, and bounds a list of short labels.
pub fn label_list(field: &str, values: &[String], max_items: usize) -> DomainResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let Some(v) = text(field, value, 100)? else {
            continue;
        };
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&v)) {
            out.push(v);
        }
    }
    if out.len() > max_items {
        return Err(DomainError::invalid(
            field,
            format!("at most {max_items} are allowed, got {}", out.len()),
        ));
    }
    Ok(out)
}

fn one_of(field: &str, value: &str, allowed: &[String]) -> DomainResult<String> {
    let v = value.trim();
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(v))
        .cloned()
        .ok_or_else(|| {
            if allowed.is_empty() {
                DomainError::invalid(field, "this tenant has not defined any; define them first")
            } else {
                DomainError::invalid(
                    field,
                    format!("{v:?} is not one of: {}", allowed.join(", ")),
                )
            }
        })
}

fn date_of_birth(d: NaiveDate) -> DomainResult<NaiveDate> {
    let today = chrono::Utc::now().date_naive();
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    if d > today || d < earliest {
        return Err(DomainError::invalid(
            "dateOfBirth",
            "must be between 1900-01-01 and today",
        ));
    }
    Ok(d)
}

fn check_object_value(field: &str, key: &str, value: &Value) -> DomainResult<()> {
    if key.trim().is_empty() || key.chars().count() > 64 {
        return Err(DomainError::invalid(field, "keys are 1 to 64 characters"));
    }
    if value.to_string().len() > MAX_METADATA_VALUE_BYTES {
        return Err(DomainError::invalid(
            field,
            format!("the value of {key:?} is larger than {MAX_METADATA_VALUE_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Applies `patch` to one field of the model, recording a change when the value differs.
macro_rules! apply {
    ($row:ident, $changes:ident, $field:ident, $name:literal, $new:expr) => {{
        let new = $new;
        if $row.$field != new {
            $changes.push(FieldChange {
                field: $name,
                before: json!($row.$field),
                after: json!(new),
            });
            $row.$field = new;
        }
    }};
}

fn resolve<T, U>(
    patch: Patch<T>,
    current: &Option<U>,
    parse: impl FnOnce(T) -> DomainResult<Option<U>>,
) -> DomainResult<Option<U>>
where
    U: Clone,
{
    match patch {
        Patch::Keep => Ok(current.clone()),
        Patch::Clear => Ok(None),
        Patch::Set(v) => parse(v),
    }
}

fn list(
    patch: Patch<Vec<String>>,
    current: &StringList,
    field: &str,
    max: usize,
) -> DomainResult<StringList> {
    match patch {
        Patch::Keep => Ok(current.clone()),
        Patch::Clear => Ok(StringList::default()),
        Patch::Set(v) => Ok(StringList(label_list(field, &v, max)?)),
    }
}

/// Validates `input` against the tenant's rules and applies it to `row`, returning the changes
/// in field order. Nothing is applied when any value is invalid.
pub fn apply_input(
    row: &client::Model,
    input: ClientInput,
    rules: &TenantRules,
) -> DomainResult<(client::Model, Vec<FieldChange>)> {
    let mut next = row.clone();
    let mut changes = Vec::new();
    let region = rules.region;

    apply!(
        next,
        changes,
        first_name,
        "firstName",
        resolve(input.first_name, &row.first_name, |v| text(
            "firstName",
            &v,
            100
        ))?
    );
    apply!(
        next,
        changes,
        last_name,
        "lastName",
        resolve(input.last_name, &row.last_name, |v| text(
            "lastName", &v, 100
        ))?
    );
    apply!(
        next,
        changes,
        email,
        "email",
        resolve(input.email, &row.email, |v| email(&v))?
    );
    apply!(
        next,
        changes,
        phone,
        "phone",
        resolve(input.phone, &row.phone, |v| phone(&v, region))?
    );
    apply!(
        next,
        changes,
        company,
        "company",
        resolve(input.company, &row.company, |v| text("company", &v, 200))?
    );
    apply!(
        next,
        changes,
        street,
        "street",
        resolve(input.street, &row.street, |v| text("street", &v, 200))?
    );
    apply!(
        next,
        changes,
        city,
        "city",
        resolve(input.city, &row.city, |v| text("city", &v, 100))?
    );
    apply!(
        next,
        changes,
        state,
        "state",
        resolve(input.state, &row.state, |v| text("state", &v, 100))?
    );
    apply!(
        next,
        changes,
        zip,
        "zip",
        resolve(input.zip, &row.zip, |v| {
            Ok(text("zip", &v, 16)?.map(|z| z.to_uppercase()))
        })?
    );
    apply!(
        next,
        changes,
        country,
        "country",
        resolve(input.country, &row.country, |v| text("country", &v, 100))?
    );
    apply!(
        next,
        changes,
        date_of_birth,
        "dateOfBirth",
        resolve(input.date_of_birth, &row.date_of_birth, |d| date_of_birth(
            d
        )
        .map(Some))?
    );
    apply!(
        next,
        changes,
        notes,
        "notes",
        resolve(input.notes, &row.notes, |v| text("notes", &v, 10_000))?
    );
    apply!(
        next,
        changes,
        external_id,
        "externalId",
        resolve(input.external_id, &row.external_id, |v| text(
            "externalId",
            &v,
            200
        ))?
    );
    let status = match input.status {
        Patch::Keep => row.status.clone(),
        Patch::Clear => rules
            .statuses
            .first()
            .cloned()
            .unwrap_or_else(|| "new".into()),
        Patch::Set(v) => one_of("status", &v, &rules.statuses)?,
    };
    apply!(next, changes, status, "status", status);
    apply!(
        next,
        changes,
        purchase_intent,
        "purchaseIntent",
        resolve(input.purchase_intent, &row.purchase_intent, |v| Ok(Some(v)))?
    );
    apply!(
        next,
        changes,
        interests,
        "interests",
        list(input.interests, &row.interests, "interests", MAX_LIST)?
    );
    apply!(
        next,
        changes,
        traits,
        "traits",
        list(input.traits, &row.traits, "traits", MAX_TRAITS)?
    );
    apply!(
        next,
        changes,
        needs,
        "needs",
        list(input.needs, &row.needs, "needs", MAX_LIST)?
    );
    let sale_status = match input.sale_status {
        Patch::Keep => row.sale_status,
        Patch::Clear => SaleStatus::None,
        Patch::Set(v) => v,
    };
    apply!(next, changes, sale_status, "saleStatus", sale_status);
    apply!(
        next,
        changes,
        funnel_stage,
        "funnelStage",
        resolve(input.funnel_stage, &row.funnel_stage, |v| {
            one_of("funnelStage", &v, &rules.funnel_stages).map(Some)
        })?
    );
    let bot_status = match input.bot_status {
        Patch::Keep => row.bot_status,
        Patch::Clear => BotStatus::Active,
        Patch::Set(v) => v,
    };
    apply!(next, changes, bot_status, "botStatus", bot_status);
    apply!(
        next,
        changes,
        sentiment,
        "sentiment",
        resolve(input.sentiment, &row.sentiment, |v| text(
            "sentiment",
            &v,
            32
        ))?
    );
    let flag = |p: Patch<bool>, current: bool| match p {
        Patch::Keep => current,
        Patch::Clear => false,
        Patch::Set(v) => v,
    };
    apply!(
        next,
        changes,
        mystery_shopper,
        "mysteryShopper",
        flag(input.mystery_shopper, row.mystery_shopper)
    );
    apply!(
        next,
        changes,
        contractor,
        "contractor",
        flag(input.contractor, row.contractor)
    );
    let custom_config = match input.custom_config {
        Patch::Keep => row.custom_config.clone(),
        Patch::Clear => JsonObject::default(),
        Patch::Set(map) => {
            if Value::Object(map.clone()).to_string().len() > 64 * 1024 {
                return Err(DomainError::invalid(
                    "customConfig",
                    "is larger than 64 KiB",
                ));
            }
            JsonObject(map)
        }
    };
    apply!(next, changes, custom_config, "customConfig", custom_config);

    let mut metadata = row.metadata.0.clone();
    for key in &input.metadata_remove {
        metadata.remove(key);
    }
    for (key, value) in input.metadata_set {
        check_object_value("metadata", &key, &value)?;
        if value.is_null() {
            metadata.remove(&key);
        } else {
            metadata.insert(key, value);
        }
    }
    if metadata.len() > MAX_METADATA_KEYS {
        return Err(DomainError::invalid(
            "metadata",
            format!("at most {MAX_METADATA_KEYS} keys are allowed"),
        ));
    }
    apply!(next, changes, metadata, "metadata", JsonObject(metadata));

    Ok((next, changes))
}

/// A client must keep something that identifies the person.
pub fn ensure_identifiable(row: &client::Model) -> DomainResult<()> {
    let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    if has(&row.first_name)
        || has(&row.last_name)
        || has(&row.email)
        || has(&row.phone)
        || has(&row.company)
        || has(&row.external_id)
    {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "input",
            "a client needs at least a name, email, phone, company or external id",
        ))
    }
}

/// "First Last", or the email, phone or company when there is no name.
pub fn display_name(row: &client::Model) -> String {
    let name = [row.first_name.as_deref(), row.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !name.is_empty() {
        return name;
    }
    [
        row.email.as_deref(),
        row.phone.as_deref(),
        row.company.as_deref(),
    ]
    .into_iter()
    .flatten()
    .next()
    .unwrap_or_default()
    .to_string()
}

/// Lower-cased text the search box matches: names, email, phone (also as bare digits, so
/// any typed format finds it), company, external id and metadata values.
pub fn search_text(row: &client::Model) -> String {
    let digits: Option<String> = row
        .phone
        .as_ref()
        .map(|p| p.chars().filter(char::is_ascii_digit).collect());
    let mut parts: Vec<String> = [
        &row.first_name,
        &row.last_name,
        &row.email,
        &row.phone,
        &digits,
        &row.company,
        &row.external_id,
    ]
    .into_iter()
    .flatten()
    .map(|s| s.to_lowercase())
    .collect();
    for value in row.metadata.0.values() {
        match value {
            Value::String(s) => parts.push(s.to_lowercase()),
            Value::Number(n) => parts.push(n.to_string()),
            _ => {}
        }
    }
    parts.join(" ")
}

/// Recomputes the derived columns (search text, sort name) after a change.
pub fn refresh_derived(row: &mut client::Model) {
    row.search_text = search_text(row);
    row.sort_name = display_name(row).to_lowercase();
}
