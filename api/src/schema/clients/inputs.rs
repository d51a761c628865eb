//! GraphQL inputs of the client record and their conversion to the domain's.

use super::types::{BotStatus, IdentityKind, PurchaseIntent, SaleStatus};
use crate::error::{ApiError, ApiResult};
use async_graphql::{Enum, InputObject, Json, MaybeUndefined};
use chrono::{DateTime, NaiveDate, Utc};
use clientele_domain::clients::{self, ClientInput, Patch};
use serde_json::Value;

fn set<T>(value: Option<T>) -> Patch<T> {
    value.map_or(Patch::Keep, Patch::Set)
}

fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(v),
    }
}

fn object(field: &str, value: Value) -> ApiResult<serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_input(field, "must be a JSON object")),
    }
}

#[derive(InputObject, Default)]
pub struct CreateClientInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Validated and stored in lower case; becomes the primary email identity.
    pub email: Option<String>,
    /// Any common format; read in the tenant's default region when it has no country code.
    pub phone: Option<String>,
    pub company: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub notes_text: Option<String>,
    /// A JSON object of custom fields.
    pub metadata: Option<Json<Value>>,
    pub external_id: Option<String>,
    /// One of the tenant's statuses (default: its first).
    pub status: Option<String>,
    pub purchase_intent: Option<PurchaseIntent>,
    pub interests: Option<Vec<String>>,
    /// At most five.
    pub traits: Option<Vec<String>>,
    pub needs: Option<Vec<String>>,
    pub sale_status: Option<SaleStatus>,
    pub funnel_stage: Option<String>,
    pub bot_status: Option<BotStatus>,
    pub sentiment: Option<String>,
    pub mystery_shopper: Option<bool>,
    pub contractor: Option<bool>,
    pub custom_config: Option<Json<Value>>,
}

impl CreateClientInput {
    pub fn into_domain(self) -> ApiResult<ClientInput> {
        Ok(ClientInput {
            first_name: set(self.first_name),
            last_name: set(self.last_name),
            email: set(self.email),
            phone: set(self.phone),
            company: set(self.company),
            street: set(self.street),
            city: set(self.city),
            state: set(self.state),
            zip: set(self.zip),
            country: set(self.country),
            date_of_birth: set(self.date_of_birth),
            notes: set(self.notes_text),
            external_id: set(self.external_id),
            status: set(self.status),
            purchase_intent: set(self.purchase_intent.map(Into::into)),
            interests: set(self.interests),
            traits: set(self.traits),
            needs: set(self.needs),
            sale_status: set(self.sale_status.map(Into::into)),
            funnel_stage: set(self.funnel_stage),
            bot_status: set(self.bot_status.map(Into::into)),
            sentiment: set(self.sentiment),
            mystery_shopper: set(self.mystery_shopper),
            contractor: set(self.contractor),
            custom_config: set(self
                .custom_config
                .map(|j| object("customConfig", j.0))
                .transpose()?),
            metadata_set: self
                .metadata
                .map(|j| object("metadata", j.0))
                .transpose()?
                .unwrap_or_default(),
            metadata_remove: Vec::new(),
        })
    }
}

/// Fields left out are kept; fields given as `null` are cleared.
#[derive(InputObject, Default)]
pub struct UpdateClientInput {
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub company: MaybeUndefined<String>,
    pub street: MaybeUndefined<String>,
    pub city: MaybeUndefined<String>,
    pub state: MaybeUndefined<String>,
    pub zip: MaybeUndefined<String>,
    pub country: MaybeUndefined<String>,
    pub date_of_birth: MaybeUndefined<NaiveDate>,
    pub notes_text: MaybeUndefined<String>,
    pub external_id: MaybeUndefined<String>,
    pub status: MaybeUndefined<String>,
    pub purchase_intent: MaybeUndefined<PurchaseIntent>,
    pub interests: MaybeUndefined<Vec<String>>,
    pub traits: MaybeUndefined<Vec<String>>,
    pub needs: MaybeUndefined<Vec<String>>,
    pub sale_status: MaybeUndefined<SaleStatus>,
    pub funnel_stage: MaybeUndefined<String>,
    pub bot_status: MaybeUndefined<BotStatus>,
    pub sentiment: MaybeUndefined<String>,
    pub mystery_shopper: MaybeUndefined<bool>,
    pub contractor: MaybeUndefined<bool>,
    /// Replaces the custom configuration (a JSON object).
    pub custom_config: MaybeUndefined<Json<Value>>,
    /// Metadata keys to set (a JSON object; a key set to null is removed). Other keys stay.
    pub set_metadata: Option<Json<Value>>,
    /// Metadata keys to remove.
    pub remove_metadata: Option<Vec<String>>,
}

impl UpdateClientInput {
    pub fn into_domain(self) -> ApiResult<ClientInput> {
        let custom_config = match self.custom_config {
            MaybeUndefined::Undefined => Patch::Keep,
            MaybeUndefined::Null => Patch::Clear,
            MaybeUndefined::Value(j) => Patch::Set(object("customConfig", j.0)?),
        };
        Ok(ClientInput {
            first_name: patch(self.first_name),
            last_name: patch(self.last_name),
            email: patch(self.email),
            phone: patch(self.phone),
            company: patch(self.company),
            street: patch(self.street),
            city: patch(self.city),
            state: patch(self.state),
            zip: patch(self.zip),
            country: patch(self.country),
            date_of_birth: patch(self.date_of_birth),
            notes: patch(self.notes_text),
            external_id: patch(self.external_id),
            status: patch(self.status),
            purchase_intent: patch(self.purchase_intent.map_value(Into::into)),
            interests: patch(self.interests),
            traits: patch(self.traits),
            needs: patch(self.needs),
            sale_status: patch(self.sale_status.map_value(Into::into)),
            funnel_stage: patch(self.funnel_stage),
            bot_status: patch(self.bot_status.map_value(Into::into)),
            sentiment: patch(self.sentiment),
            mystery_shopper: patch(self.mystery_shopper),
            contractor: patch(self.contractor),
            custom_config,
            metadata_set: self
                .set_metadata
                .map(|j| object("setMetadata", j.0))
                .transpose()?
                .unwrap_or_default(),
            metadata_remove: self.remove_metadata.unwrap_or_default(),
        })
    }
}

/// The same change applied to many clients.
#[derive(InputObject, Default, Clone)]
pub struct BulkClientInput {
    pub status: Option<String>,
    pub purchase_intent: MaybeUndefined<PurchaseIntent>,
    pub funnel_stage: MaybeUndefined<String>,
    pub sale_status: Option<SaleStatus>,
    pub bot_status: Option<BotStatus>,
    pub mystery_shopper: Option<bool>,
    pub contractor: Option<bool>,
}

impl BulkClientInput {
    pub fn to_domain(&self) -> ClientInput {
        ClientInput {
            status: set(self.status.clone()),
            purchase_intent: patch(self.purchase_intent.map_value(Into::into)),
            funnel_stage: patch(self.funnel_stage.clone()),
            sale_status: set(self.sale_status.map(Into::into)),
            bot_status: set(self.bot_status.map(Into::into)),
            mystery_shopper: set(self.mystery_shopper),
            contractor: set(self.contractor),
            ..Default::default()
        }
    }
}

#[derive(InputObject, Default, Clone)]
pub struct ClientFilter {
    /// Matches name, email, phone (typed in any format), company, external id and metadata
    /// values.
    pub search: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub last_contact_after: Option<DateTime<Utc>>,
    pub last_contact_before: Option<DateTime<Utc>>,
    pub has_email: Option<bool>,
    pub has_phone: Option<bool>,
    /// Clients with an identity on any of these platforms (`web`, `telegram`, `whatsapp`...,
    /// or `email` / `phone`).
    pub platforms: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    pub intents: Option<Vec<PurchaseIntent>>,
    pub sale_statuses: Option<Vec<SaleStatus>>,
    pub funnel_stages: Option<Vec<String>>,
    pub sensitive: Option<bool>,
    pub mystery_shopper: Option<bool>,
    /// Deleted clients too.
    pub include_deleted: Option<bool>,
    /// Only deleted clients.
    pub only_deleted: Option<bool>,
}

impl From<ClientFilter> for clients::ClientFilter {
    fn from(f: ClientFilter) -> Self {
        clients::ClientFilter {
            search: f.search,
            created_after: f.created_after,
            created_before: f.created_before,
            last_contact_after: f.last_contact_after,
            last_contact_before: f.last_contact_before,
            has_email: f.has_email,
            has_phone: f.has_phone,
            platforms: f.platforms.unwrap_or_default(),
            statuses: f.statuses.unwrap_or_default(),
            intents: f
                .intents
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            sale_statuses: f
                .sale_statuses
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            funnel_stages: f.funnel_stages.unwrap_or_default(),
            sensitive: f.sensitive,
            mystery_shopper: f.mystery_shopper,
            include_deleted: f.include_deleted.unwrap_or(false),
            only_deleted: f.only_deleted.unwrap_or(false),
            ids: Vec::new(),
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientSortField {
    LastActive,
    #[default]
    Created,
    Name,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    Asc,
    #[default]
    Desc,
}

#[derive(InputObject, Clone, Copy, Default)]
pub struct ClientOrder {
    #[graphql(default)]
    pub field: ClientSortField,
    #[graphql(default)]
    pub direction: SortDirection,
}

impl From<ClientOrder> for clients::ClientOrder {
    fn from(o: ClientOrder) -> Self {
        clients::ClientOrder {
            field: match o.field {
                ClientSortField::LastActive => clients::SortField::LastActive,
                ClientSortField::Created => clients::SortField::Created,
                ClientSortField::Name => clients::SortField::Name,
            },
            descending: o.direction == SortDirection::Desc,
        }
    }
}

#[derive(InputObject)]
pub struct IdentityInput {
    pub kind: IdentityKind,
    /// Required for chat sessions and platform user ids (`web`, `telegram`...).
    pub platform: Option<String>,
    pub value: String,
    /// Make it the client's primary of its kind.
    #[graphql(default)]
    pub primary: bool,
}

#[derive(InputObject)]
pub struct MeetingInput {
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub location: Option<String>,
    pub notes: Option<String>,
}

#[derive(InputObject)]
pub struct SurveyResponseInput {
    pub survey: String,
    pub score: Option<i32>,
    /// Question -> answer (a JSON object).
    pub answers: Json<Value>,
    pub submitted_at: Option<DateTime<Utc>>,
}
