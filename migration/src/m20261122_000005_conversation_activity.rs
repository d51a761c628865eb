//! Conversations get `activity_at` (the last message, or the start for a thread without
//! messages yet), never null, so lists sort and page on one indexed column.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Conversations {
    Table,
    TenantId,
    ClientId,
    ActivityAt,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite cannot add a NOT NULL column with a non-constant default: add it with a
        // constant one, then fill it.
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .add_column(
                        ColumnDef::new(Conversations::ActivityAt)
                            .timestamp_with_time_zone()
                            .not_null()
                            .default("1970-01-01T00:00:00Z"),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE conversations SET activity_at = COALESCE(last_message_at, created_at)",
        )
        .await?;
        for name in ["ix_conversations_recent", "ix_conversations_client"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(Conversations::Table)
                        .to_owned(),
                )
                .await?;
        }
        for (name, cols) in [
            (
                "ix_conversations_activity",
                vec![
                    Conversations::TenantId,
                    Conversations::ActivityAt,
                    Conversations::Id,
                ],
            ),
            (
                "ix_conversations_client_activity",
                vec![
                    Conversations::TenantId,
                    Conversations::ClientId,
                    Conversations::ActivityAt,
                    Conversations::Id,
                ],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Conversations::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "ix_conversations_activity",
            "ix_conversations_client_activity",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(Conversations::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .drop_column(Conversations::ActivityAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
