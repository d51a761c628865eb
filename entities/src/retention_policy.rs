//! `retention_policies`: how long a tenant keeps message bodies and soft-deleted clients.
//! No row, or a null number of days, means keep forever (the default).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "retention_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Message bodies older than this many days are purged (`None` = kept forever).
    pub message_body_days: Option<i32>,
    /// Clients soft-deleted more than this many days ago are removed (`None` = kept forever).
    pub deleted_client_days: Option<i32>,
    pub updated_at: DateTimeUtc,
    /// The admin who last changed the policy.
    pub updated_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
