//! `timeline_events`: everything that happened to a client, newest first.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "timeline_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub kind: TimelineKind,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    /// What changed: `{"field": ..., "before": ..., "after": ...}` and the like.
    pub payload: Json,
    pub occurred_at: DateTimeUtc,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum TimelineKind {
    #[sea_orm(string_value = "created")]
    Created,
    #[sea_orm(string_value = "updated")]
    Updated,
    #[sea_orm(string_value = "status_changed")]
    StatusChanged,
    #[sea_orm(string_value = "intent_changed")]
    IntentChanged,
    #[sea_orm(string_value = "funnel_stage_changed")]
    FunnelStageChanged,
    #[sea_orm(string_value = "sale_status_changed")]
    SaleStatusChanged,
    #[sea_orm(string_value = "sensitivity_changed")]
    SensitivityChanged,
    #[sea_orm(string_value = "preferences_changed")]
    PreferencesChanged,
    #[sea_orm(string_value = "identity_added")]
    IdentityAdded,
    #[sea_orm(string_value = "identity_removed")]
    IdentityRemoved,
    #[sea_orm(string_value = "note_added")]
    NoteAdded,
    #[sea_orm(string_value = "note_edited")]
    NoteEdited,
    #[sea_orm(string_value = "note_deleted")]
    NoteDeleted,
    #[sea_orm(string_value = "meeting")]
    Meeting,
    #[sea_orm(string_value = "survey")]
    Survey,
    #[sea_orm(string_value = "deleted")]
    Deleted,
    #[sea_orm(string_value = "restored")]
    Restored,
    #[sea_orm(string_value = "erased")]
    Erased,
    #[sea_orm(string_value = "merged")]
    Merged,
    #[sea_orm(string_value = "imported")]
    Imported,
    #[sea_orm(string_value = "conversation_started")]
    ConversationStarted,
    #[sea_orm(string_value = "message")]
    Message,
    /// A linked conversation's status, AI guide or sensitivity override changed.
    #[sea_orm(string_value = "conversation_updated")]
    ConversationUpdated,
    #[sea_orm(string_value = "crm_synced")]
    CrmSynced,
    /// A new thread's sender was suggested as this client ("is this Ada?").
    #[sea_orm(string_value = "identity_suggested")]
    IdentitySuggested,
    /// Someone confirmed a thread's sender is this client.
    #[sea_orm(string_value = "identity_confirmed")]
    IdentityConfirmed,
    /// Someone answered that a thread's sender is not this client.
    #[sea_orm(string_value = "identity_rejected")]
    IdentityRejected,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ActorKind {
    #[sea_orm(string_value = "user")]
    User,
    #[sea_orm(string_value = "ai")]
    Ai,
    #[sea_orm(string_value = "system")]
    System,
    #[sea_orm(string_value = "crm")]
    Crm,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
