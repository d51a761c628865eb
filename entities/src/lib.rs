//! SeaORM entities of Clientele and the small types they share.
//!
//! Every tenant-owned entity offers exactly one way to start a query: `Entity::scoped(tenant)`
//! (and `Entity::scoped_update(tenant)` for bulk updates). Domain code never calls
//! `Entity::find()` on a tenant-owned entity directly, so forgetting the tenant is hard.

pub mod assistant;
pub mod assistant_default;
pub mod audit_log;
pub mod client;
pub mod client_identity;
pub mod client_note;
pub mod client_preference;
pub mod conversation;
pub mod crm_activity;
pub mod crm_connection;
pub mod crm_link;
pub mod duplicate_suggestion;
pub mod identity_rejection;
pub mod ids;
pub mod instance_setting;
pub mod json;
pub mod meeting;
pub mod message;
pub mod notification;
pub mod notification_rule;
pub mod retention_policy;
pub mod survey_response;
pub mod sync_run;
pub mod tenant;
pub mod tenant_channel;
pub mod timeline_event;
pub mod usage_counter;
pub mod webhook_delivery;
pub mod webhook_endpoint;

pub use ids::{ClientId, TenantId};

/// Gives a tenant-owned entity its one way to start queries: `Entity::scoped(tenant)` and
/// `Entity::scoped_update(tenant)`, `Entity::scoped_delete(tenant)`.
#[macro_export]
macro_rules! tenant_scoped {
    ($entity:ty, $column:expr) => {
        impl $entity {
            /// The only way to start a query: already restricted to one tenant.
            pub fn scoped(tenant: $crate::TenantId) -> sea_orm::Select<$entity> {
                use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
                <$entity>::find().filter($column.eq(tenant.0))
            }

            /// The only way to start a bulk update: already restricted to one tenant.
            pub fn scoped_update(tenant: $crate::TenantId) -> sea_orm::UpdateMany<$entity> {
                use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
                <$entity>::update_many().filter($column.eq(tenant.0))
            }

            /// The only way to start a bulk delete: already restricted to one tenant.
            pub fn scoped_delete(tenant: $crate::TenantId) -> sea_orm::DeleteMany<$entity> {
                use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
                <$entity>::delete_many().filter($column.eq(tenant.0))
            }
        }
    };
}
