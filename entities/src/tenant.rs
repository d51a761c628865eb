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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
