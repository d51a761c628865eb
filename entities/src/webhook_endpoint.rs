//! `webhook_endpoints`: where a tenant's notifications are POSTed, which of them, and the
//! sealed secret that signs them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// Notification kinds sent (`client.intent_reached`...); empty: every kind.
    #[sea_orm(column_type = "Json")]
    pub event_kinds: crate::json::StringList,
    /// For `client.updated`: only when one of these client fields changed; empty: any.
    #[sea_orm(column_type = "Json")]
    pub client_fields: crate::json::StringList,
    pub active: bool,
    /// AES-256-GCM sealed signing secret, bound to tenant and endpoint id.
    pub secret_enc: String,
    /// Why the endpoint was switched off automatically (the receiver answered 410 Gone).
    pub disabled_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
