//! `tenant_channels`: a tenant's receiving numbers and inboxes per provider, and the secret
//! that provider signs webhooks with. Inbound messages find their tenant here.

use crate::conversation::Channel;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_channels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// `telnyx`, `twilio`, `generic`.
    pub provider: String,
    /// The receiving number (E.164) or inbox id.
    pub address: String,
    pub channel: Channel,
    /// The provider's signing secret or public key.
    pub secret: Option<String>,
    pub created_at: DateTimeUtc,
    /// Overrides of the tenant's tracking controls for this number or inbox (`None` =
    /// the tenant's value).
    pub auto_create_clients: Option<bool>,
    pub auto_create_since: Option<DateTimeUtc>,
    pub default_region: Option<String>,
    pub known_sender_check: Option<crate::tenant::KnownSenderCheck>,
    #[sea_orm(column_type = "Json", nullable)]
    pub extractors: Option<crate::json::StringList>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::tenant_scoped!(Entity, Column::TenantId);
