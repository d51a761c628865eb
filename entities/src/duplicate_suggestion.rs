//! `duplicate_suggestions`: a contact fact found in a message about one client that belongs to
//! another client. Kept as evidence for staff; never merged automatically.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "duplicate_suggestions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The client the message is about.
    pub client_id: Uuid,
    /// The client that already holds the fact.
    pub other_client_id: Uuid,
    /// `email` or `phone`.
    pub kind: String,
    /// The normalised value both point to.
    pub value: String,
    /// The extraction rule that found the fact.
    pub rule: String,
    pub message_id: Option<Uuid>,
    /// `{messageId, conversationId, span, rule}`.
    pub evidence: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
