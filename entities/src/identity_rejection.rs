//! `identity_rejections`: "this sender is not that client", as staff or the assistant service
//! answered it. The same identifier is never suggested or linked automatically to that client
//! again.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_rejections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub channel: crate::conversation::Channel,
    /// The sender's identifier as conversations store it (E.164, lower-case email, ...).
    pub identifier: String,
    /// The thread where the answer was given.
    pub conversation_id: Option<Uuid>,
    /// Who answered: `{"kind": ..., "id": ..., "name": ...}`.
    pub decided_by: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
