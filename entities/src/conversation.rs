//! `conversations`: one thread with one person on one channel.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The linked client; `None` until matched.
    pub client_id: Option<Uuid>,
    pub channel: Channel,
    /// Who the conversation is with on that channel: E.164 phone, lower-case email, session
    /// or platform user id.
    pub channel_identifier: String,
    /// Our side: the receiving number or inbox.
    pub inbox: Option<String>,
    pub status: ConversationStatus,
    /// Guidance for the assistant answering this thread.
    pub ai_guide: Option<String>,
    /// An admin's override of the client's sensitivity for this thread (`None` = inherit).
    pub sensitivity_override: Option<bool>,
    /// The name the sender gave the provider, if any.
    pub contact_name: Option<String>,
    /// The assistant assigned to this thread (`None` = the channel's default answers).
    pub assistant_id: Option<Uuid>,
    /// The sender's picture, when the platform supplied one.
    pub contact_avatar_url: Option<String>,
    pub last_message_at: Option<DateTimeUtc>,
    /// The client the sender's identifier belongs to, waiting for confirmation (see
    /// [`IdentityStatus`]); `None` when no check applies.
    pub suggested_client_id: Option<Uuid>,
    /// Where the identity check of this thread stands; `None` when none applies.
    pub identity_status: Option<IdentityStatus>,
    /// The last message, or the start for a thread without messages: what lists sort on.
    pub activity_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[sea_orm(string_value = "email")]
    Email,
    #[sea_orm(string_value = "sms")]
    Sms,
    #[sea_orm(string_value = "chat")]
    Chat,
    #[sea_orm(string_value = "voice")]
    Voice,
    #[sea_orm(string_value = "whatsapp")]
    Whatsapp,
    #[sea_orm(string_value = "telegram")]
    Telegram,
    #[sea_orm(string_value = "facebook")]
    Facebook,
    #[sea_orm(string_value = "zalo")]
    Zalo,
    #[sea_orm(string_value = "web")]
    Web,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "closed")]
    Closed,
}

/// The check "is this sender the client their number belongs to?" on a new thread.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    /// The thread carries `suggested_client_id`, not yet linked.
    #[sea_orm(string_value = "suggested")]
    Suggested,
    /// Staff or the assistant service confirmed it: the thread is linked to the client.
    #[sea_orm(string_value = "confirmed")]
    Confirmed,
    /// The sender is not that client: kept apart, and remembered.
    #[sea_orm(string_value = "rejected")]
    Rejected,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
