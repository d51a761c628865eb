//! `clients`: one deduplicated record per person a tenant talks to.

use crate::json::{JsonObject, StringList};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Normalised (lower-case) primary email.
    pub email: Option<String>,
    /// Primary phone in E.164.
    pub phone: Option<String>,
    pub company: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub date_of_birth: Option<Date>,
    pub notes: Option<String>,
    #[sea_orm(column_type = "Json")]
    pub metadata: JsonObject,
    /// The id this person has in another system (a CRM, an import).
    pub external_id: Option<String>,
    pub source: ClientSource,
    pub status: String,
    pub purchase_intent: Option<PurchaseIntent>,
    #[sea_orm(column_type = "Json")]
    pub interests: StringList,
    #[sea_orm(column_type = "Json")]
    pub traits: StringList,
    #[sea_orm(column_type = "Json")]
    pub needs: StringList,
    pub sale_status: SaleStatus,
    pub funnel_stage: Option<String>,
    pub bot_status: BotStatus,
    pub sentiment: Option<String>,
    pub sensitive: bool,
    pub mystery_shopper: bool,
    pub contractor: bool,
    #[sea_orm(column_type = "Json")]
    pub custom_config: JsonObject,
    pub first_seen_at: Option<DateTimeUtc>,
    pub last_active_at: Option<DateTimeUtc>,
    /// `last_active_at`, or `created_at` for a client never heard from: the sort key of
    /// "last active".
    pub activity_at: Option<DateTimeUtc>,
    /// Lower-cased display name: the sort key of "name".
    pub sort_name: String,
    /// Lower-cased concatenation of the searchable fields, maintained on every write.
    pub search_text: String,
    /// Set when this record was merged into another; lookups resolve to that one.
    pub merged_into_id: Option<Uuid>,
    /// Set when the person's data was erased (data-protection request); the row is a tombstone.
    pub erased_at: Option<DateTimeUtc>,
    /// Bumped on every change: optimistic locking and the CRM dirty check.
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// A picture of the person a platform supplied (https URL).
    pub avatar_url: Option<String>,
}

/// Where a client record came from.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ClientSource {
    #[sea_orm(string_value = "manual")]
    Manual,
    #[sea_orm(string_value = "extracted")]
    Extracted,
    #[sea_orm(string_value = "import")]
    Import,
    #[sea_orm(string_value = "crm")]
    Crm,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PurchaseIntent {
    #[sea_orm(string_value = "browsing")]
    Browsing,
    #[sea_orm(string_value = "comparing")]
    Comparing,
    #[sea_orm(string_value = "ready_to_buy")]
    ReadyToBuy,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum SaleStatus {
    #[sea_orm(string_value = "none")]
    None,
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "signed")]
    Signed,
    #[sea_orm(string_value = "sold")]
    Sold,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum BotStatus {
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "paused")]
    Paused,
    #[sea_orm(string_value = "agent")]
    Agent,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
