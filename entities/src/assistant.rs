//! `assistants`: an assistant a tenant defines to answer conversations (name, system prompt,
//! the channels it serves).

use crate::json::StringList;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assistants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Unique per tenant.
    pub name: String,
    pub system_prompt: String,
    /// The conversation channels served, by their `snake_case` names (`"sms"`).
    pub channels: StringList,
    /// Clientele created it because a channel had no assistant.
    pub created_automatically: bool,
    /// Archived assistants are kept but never chosen.
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
