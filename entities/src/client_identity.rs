//! `client_identities`: how a person is reached or recognised on a channel. Unique per tenant
//! on (kind, platform, value); matching and merging work on these.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_identities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub kind: IdentityKind,
    /// `web`, `telegram`, `whatsapp`, `facebook`, `zalo`...; empty for emails and phones.
    pub platform: String,
    /// Normalised: lower-case email, E.164 phone, the platform's id as given.
    pub value: String,
    pub is_primary: bool,
    pub verified: bool,
    pub source: String,
    pub created_at: DateTimeUtc,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum IdentityKind {
    #[sea_orm(string_value = "email")]
    Email,
    #[sea_orm(string_value = "phone")]
    Phone,
    #[sea_orm(string_value = "chat_session")]
    ChatSession,
    #[sea_orm(string_value = "platform_user")]
    PlatformUser,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
