//! `messages`: what was said in a conversation, in either direction.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub conversation_id: Uuid,
    pub direction: Direction,
    pub author_kind: AuthorKind,
    pub author_id: Option<String>,
    /// `None` once erased or purged by retention.
    pub body: Option<String>,
    /// `telnyx`, `twilio`, `generic`, or `clientele` for messages recorded here.
    pub provider: String,
    /// Unique per tenant and provider: ingestion is idempotent.
    pub provider_message_id: Option<String>,
    pub sms_segments: Option<i32>,
    pub extraction_state: ExtractionState,
    /// When the message was sent (the provider's time for inbound messages).
    pub sent_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// When retention purged the body (`None` for a body still held, or erased by request).
    pub body_purged_at: Option<DateTimeUtc>,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[sea_orm(string_value = "inbound")]
    Inbound,
    #[sea_orm(string_value = "outbound")]
    Outbound,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    #[sea_orm(string_value = "customer")]
    Customer,
    #[sea_orm(string_value = "ai")]
    Ai,
    #[sea_orm(string_value = "agent")]
    Agent,
    #[sea_orm(string_value = "system")]
    System,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ExtractionState {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "done")]
    Done,
    #[sea_orm(string_value = "skipped")]
    Skipped,
    #[sea_orm(string_value = "failed")]
    Failed,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
