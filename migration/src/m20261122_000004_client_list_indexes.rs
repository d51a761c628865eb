//! An index for the common filtered client list (status and intent of live clients), found
//! by the 100,000-client benchmark: counting a filtered list no longer reads rows it drops.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Partial indexes are written the same way on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_clients_live_status_intent ON clients (tenant_id, status, purchase_intent) \
                 WHERE merged_into_id IS NULL AND deleted_at IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ix_clients_live_status_intent")
            .await?;
        Ok(())
    }
}
