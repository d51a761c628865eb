//! `tenants`: one row per business using Clientele.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Short unique name used by operators (`clientele token --tenant SLUG`).
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 region used to read phone numbers written without a country code.
    pub default_region: String,
    /// IANA time zone of the business (reports such as "new this month").
    pub timezone: String,
    pub created_at: DateTimeUtc,
    /// The client statuses this tenant uses, in display order.
    #[sea_orm(column_type = "Json")]
    pub client_statuses: crate::json::StringList,
    /// The funnel stages this tenant uses, in order.
    #[sea_orm(column_type = "Json")]
    pub funnel_stages: crate::json::StringList,
    /// Whether extraction creates clients for unknown senders.
    pub auto_create_clients: bool,
    /// When automatic creation was last turned on: messages received before it create none.
    /// `None` = since always.
    pub auto_create_since: Option<DateTimeUtc>,
    /// What happens when a new thread's sender belongs to a client.
    pub known_sender_check: KnownSenderCheck,
    /// The extractors that run (`email`, `phone`, `name`, `company`, `address`, `intent`);
    /// `None` = all.
    #[sea_orm(column_type = "Json", nullable)]
    pub extractors: Option<crate::json::StringList>,
}

/// What happens when a new thread's sender identifier belongs to an existing client.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum KnownSenderCheck {
    /// Link the thread to that client at once.
    #[sea_orm(string_value = "link")]
    Link,
    /// Suggest the client on the thread until someone confirms or rejects it.
    #[sea_orm(string_value = "confirm")]
    Confirm,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
