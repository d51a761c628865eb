//! `notification_rules`: what raises a notification in one tenant besides the built-in
//! events: keyword phrases in inbound messages, or the purchase-intent level that alerts.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub kind: RuleKind,
    /// Keyword rules: the phrases, normalised (lower case, single spaces).
    #[sea_orm(column_type = "Json")]
    pub phrases: crate::json::StringList,
    /// Intent rules: the level whose reaching alerts.
    pub intent_level: Option<crate::client::PurchaseIntent>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum RuleKind {
    /// An inbound message contains one of the phrases.
    #[sea_orm(string_value = "keyword")]
    Keyword,
    /// A client's purchase intent reaches the level.
    #[sea_orm(string_value = "intent")]
    Intent,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
