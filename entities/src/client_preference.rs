//! `client_preferences`: how and when a person wants to be contacted (one row per client,
//! absent until set).

use crate::json::StringList;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "client_preferences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: Uuid,
    pub tenant_id: Uuid,
    /// `email`, `sms`, `phone`.
    #[sea_orm(column_type = "Json")]
    pub preferred_channels: StringList,
    /// Contact windows as stored by the domain (days, start, end, time zone).
    pub contact_windows: Json,
    pub never_auto_send: bool,
    pub human_review_required: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
