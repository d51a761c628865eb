//! Assistants: a tenant's assistants (name, system prompt, channels served), the default
//! assistant per channel, and the assistant assigned to a conversation.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Assistants {
    Table,
    Id,
    TenantId,
    Name,
    SystemPrompt,
    Channels,
    CreatedAutomatically,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AssistantDefaults {
    Table,
    Id,
    TenantId,
    Channel,
    AssistantId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    TenantId,
    AssistantId,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Assistants::Table)
                    .col(pk_uuid(Assistants::Id))
                    .col(uuid(Assistants::TenantId))
                    .col(string_len(Assistants::Name, 100))
                    .col(text(Assistants::SystemPrompt))
                    .col(json(Assistants::Channels))
                    .col(boolean(Assistants::CreatedAutomatically).default(false))
                    .col(timestamp_with_time_zone_null(Assistants::ArchivedAt))
                    .col(timestamp_with_time_zone(Assistants::CreatedAt))
                    .col(timestamp_with_time_zone(Assistants::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_assistants_tenant")
                            .from(Assistants::Table, Assistants::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Names are unique per tenant: the fallback assistant of a channel is created once
        // (insert-or-fetch on this key) even when two requests need it at the same time.
        manager
            .create_index(
                Index::create()
                    .name("ux_assistants_tenant_name")
                    .table(Assistants::Table)
                    .col(Assistants::TenantId)
                    .col(Assistants::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AssistantDefaults::Table)
                    .col(pk_uuid(AssistantDefaults::Id))
                    .col(uuid(AssistantDefaults::TenantId))
                    .col(string_len(AssistantDefaults::Channel, 16))
                    .col(uuid(AssistantDefaults::AssistantId))
                    .col(timestamp_with_time_zone(AssistantDefaults::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_assistant_defaults_tenant")
                            .from(AssistantDefaults::Table, AssistantDefaults::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_assistant_defaults_assistant")
                            .from(AssistantDefaults::Table, AssistantDefaults::AssistantId)
                            .to(Assistants::Table, Assistants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One default per tenant and channel.
        manager
            .create_index(
                Index::create()
                    .name("ux_assistant_defaults_channel")
                    .table(AssistantDefaults::Table)
                    .col(AssistantDefaults::TenantId)
                    .col(AssistantDefaults::Channel)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // SQLite cannot add a foreign key to an existing table: a deleted assistant's
        // assignments are cleared in the same transaction that deletes it, and selection
        // ignores an assigned id that no longer resolves.
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .add_column(ColumnDef::new(Conversations::AssistantId).uuid().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_conversations_assistant")
                    .table(Conversations::Table)
                    .col(Conversations::TenantId)
                    .col(Conversations::AssistantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_conversations_assistant")
                    .table(Conversations::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .drop_column(Conversations::AssistantId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AssistantDefaults::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Assistants::Table).to_owned())
            .await
    }
}
