//! `notifications`: the outbox. One row per notification, written in the transaction of the
//! change it reports; `published_at` is set once subscribers have been told.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// `client.intent_reached`, `message.keyword_matched`, `message.needs_human`,
    /// `client.updated`.
    pub kind: String,
    pub client_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    /// What happened (the `data` of the webhook body).
    pub payload: Json,
    pub published_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
