//! Database migrations of Clientele. Every migration runs on SQLite and PostgreSQL; each lives in
//! its own file named for what it adds.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_tenants_and_clients;
mod m20261122_000002_client_record;
mod m20261122_000003_conversations;
mod m20261122_000004_client_list_indexes;
mod m20261122_000005_conversation_activity;
mod m20261205_000006_duplicate_suggestions;
mod m20261206_000008_crm_sync;
mod m20261206_000009_assistants;
mod m20261206_000010_identity_and_tracking;
mod m20261206_000011_notifications;
mod m20261206_000012_usage_retention;
mod m20261206_000013_usage_counter_slots;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_tenants_and_clients::Migration),
            Box::new(m20261122_000002_client_record::Migration),
            Box::new(m20261122_000003_conversations::Migration),
            Box::new(m20261122_000004_client_list_indexes::Migration),
            Box::new(m20261122_000005_conversation_activity::Migration),
            Box::new(m20261205_000006_duplicate_suggestions::Migration),
            Box::new(m20261206_000008_crm_sync::Migration),
            Box::new(m20261206_000009_assistants::Migration),
            Box::new(m20261206_000010_identity_and_tracking::Migration),
            Box::new(m20261206_000012_usage_retention::Migration),
            Box::new(m20261206_000011_notifications::Migration),
            Box::new(m20261206_000013_usage_counter_slots::Migration),
        ]
    }
}
