//! `clients`: one deduplicated record per person a tenant talks to.

use crate::TenantId;
use sea_orm::entity::prelude::*;
use sea_orm::{Select, UpdateMany};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
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
    pub source: ClientSource,
    /// Lower-cased concatenation of the searchable fields, maintained on every write.
    pub search_text: String,
    /// Bumped on every change: optimistic locking and the CRM dirty check.
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

/// Where a client record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
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

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// The only way to start a query on clients: already restricted to one tenant.
    pub fn scoped(tenant: TenantId) -> Select<Entity> {
        Entity::find().filter(Column::TenantId.eq(tenant.0))
    }

    /// The only way to start a bulk update on clients: already restricted to one tenant.
    pub fn scoped_update(tenant: TenantId) -> UpdateMany<Entity> {
        Entity::update_many().filter(Column::TenantId.eq(tenant.0))
    }
}
