//! SeaORM entities of Clientele and the small types they share.
//!
//! Every tenant-owned entity offers exactly one way to start a query: `Entity::scoped(tenant)`
//! (and `Entity::scoped_update(tenant)` for bulk updates). Domain code never calls
//! `Entity::find()` on a tenant-owned entity directly, so forgetting the tenant is hard.

pub mod client;
pub mod ids;
pub mod instance_setting;
pub mod tenant;

pub use ids::{ClientId, TenantId};
