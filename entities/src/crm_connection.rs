//! `crm_connections`: one tenant's connection to a CRM account, its sync settings, its
//! encrypted secrets and where its pull stopped.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "crm_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Registry name of the provider (`salesforce`, `hubspot`, `dynamics365`).
    pub provider: String,
    pub name: String,
    pub status: ConnectionStatus,
    /// The OAuth client id (not secret).
    pub client_id: String,
    /// AES-256-GCM sealed JSON of the client secret, tokens and pending PKCE verifier, bound
    /// to this row (tenant and connection id are the associated data).
    pub secrets_enc: Option<String>,
    pub api_base_url: Option<String>,
    pub token_url: Option<String>,
    pub auth_url: Option<String>,
    /// Dynamics 365: the Azure AD tenant of the client-credentials grant.
    pub azure_tenant: Option<String>,
    #[sea_orm(column_type = "Json")]
    pub scopes: crate::json::StringList,
    pub direction: SyncDirection,
    /// Push a new client as soon as it is committed.
    pub push_immediately: bool,
    /// Cron expression of scheduled push + pull (`None`: on demand only).
    pub schedule: Option<String>,
    /// Mapped contact fields (names of the connectors crate's `ContactField`).
    #[sea_orm(column_type = "Json")]
    pub fields: crate::json::StringList,
    /// Salesforce / Dynamics field holding Clientele's id (upsert key).
    pub external_id_field: Option<String>,
    /// Log conversation summaries as CRM activities.
    pub log_activities: bool,
    /// Opaque position in the CRM's change feed.
    pub pull_cursor: Option<String>,
    /// The `state` of an authorization in progress.
    pub oauth_state: Option<String>,
    /// Why the connection needs attention (re-authorization, configuration).
    pub last_error: Option<String>,
    pub last_synced_at: Option<DateTimeUtc>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum ConnectionStatus {
    /// Waiting for the admin to consent at the provider (OAuth code flow).
    #[sea_orm(string_value = "pending_authorization")]
    PendingAuthorization,
    #[sea_orm(string_value = "active")]
    Active,
    /// Paused by an admin: no job touches the CRM.
    #[sea_orm(string_value = "paused")]
    Paused,
    /// The refresh token was revoked or the secret is wrong: an admin must reconnect.
    #[sea_orm(string_value = "needs_reauthorization")]
    NeedsReauthorization,
    /// Disconnected: secrets wiped, kept for its history.
    #[sea_orm(string_value = "disconnected")]
    Disconnected,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum SyncDirection {
    #[sea_orm(string_value = "push")]
    Push,
    #[sea_orm(string_value = "pull")]
    Pull,
    #[sea_orm(string_value = "both")]
    Both,
}

impl SyncDirection {
    pub fn pushes(self) -> bool {
        matches!(self, SyncDirection::Push | SyncDirection::Both)
    }

    pub fn pulls(self) -> bool {
        matches!(self, SyncDirection::Pull | SyncDirection::Both)
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
