//! `crm_links`: a client's record in one CRM connection. The client is dirty for that
//! connection while its `version` is above `synced_version`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "crm_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub connection_id: Uuid,
    pub client_id: Uuid,
    /// The CRM's id of the record, once it has one.
    pub remote_id: Option<String>,
    /// The client version the CRM has confirmed (0: never).
    pub synced_version: i64,
    pub last_synced_at: Option<DateTimeUtc>,
    /// The CRM's message when it refused the record.
    pub last_error: Option<String>,
    /// When the CRM reported the record deleted; such a client is not pushed again.
    pub remote_deleted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
