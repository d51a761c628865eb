//! Conversations and their messages, and the tenant channels that route inbound messages.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TenantChannels {
    Table,
    Id,
    TenantId,
    Provider,
    Address,
    Channel,
    Secret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
    TenantId,
    ClientId,
    Channel,
    ChannelIdentifier,
    Inbox,
    Status,
    AiGuide,
    SensitivityOverride,
    ContactName,
    LastMessageAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    TenantId,
    ConversationId,
    Direction,
    AuthorKind,
    AuthorId,
    Body,
    Provider,
    ProviderMessageId,
    SmsSegments,
    ExtractionState,
    SentAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TenantChannels::Table)
                    .col(pk_uuid(TenantChannels::Id))
                    .col(uuid(TenantChannels::TenantId))
                    .col(string_len(TenantChannels::Provider, 32))
                    .col(string(TenantChannels::Address))
                    .col(string_len(TenantChannels::Channel, 16))
                    .col(text_null(TenantChannels::Secret))
                    .col(timestamp_with_time_zone(TenantChannels::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tenant_channels_tenant")
                            .from(TenantChannels::Table, TenantChannels::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A receiving number or inbox belongs to one tenant: it is how inbound messages find theirs.
        manager
            .create_index(
                Index::create()
                    .name("ux_tenant_channels_provider_address")
                    .table(TenantChannels::Table)
                    .col(TenantChannels::Provider)
                    .col(TenantChannels::Address)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Conversations::Table)
                    .col(pk_uuid(Conversations::Id))
                    .col(uuid(Conversations::TenantId))
                    .col(uuid_null(Conversations::ClientId))
                    .col(string_len(Conversations::Channel, 16))
                    .col(string(Conversations::ChannelIdentifier))
                    .col(string_null(Conversations::Inbox))
                    .col(string_len(Conversations::Status, 16))
                    .col(text_null(Conversations::AiGuide))
                    .col(boolean_null(Conversations::SensitivityOverride))
                    .col(string_null(Conversations::ContactName))
                    .col(timestamp_with_time_zone_null(Conversations::LastMessageAt))
                    .col(timestamp_with_time_zone(Conversations::CreatedAt))
                    .col(timestamp_with_time_zone(Conversations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversations_tenant")
                            .from(Conversations::Table, Conversations::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversations_client")
                            .from(Conversations::Table, Conversations::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_conversations_identifier",
                vec![
                    Conversations::TenantId,
                    Conversations::Channel,
                    Conversations::ChannelIdentifier,
                    Conversations::LastMessageAt,
                ],
            ),
            (
                "ix_conversations_client",
                vec![
                    Conversations::TenantId,
                    Conversations::ClientId,
                    Conversations::LastMessageAt,
                ],
            ),
            (
                "ix_conversations_recent",
                vec![
                    Conversations::TenantId,
                    Conversations::LastMessageAt,
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

        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(pk_uuid(Messages::Id))
                    .col(uuid(Messages::TenantId))
                    .col(uuid(Messages::ConversationId))
                    .col(string_len(Messages::Direction, 16))
                    .col(string_len(Messages::AuthorKind, 16))
                    .col(string_null(Messages::AuthorId))
                    .col(text_null(Messages::Body))
                    .col(string_len(Messages::Provider, 32))
                    .col(string_null(Messages::ProviderMessageId))
                    .col(integer_null(Messages::SmsSegments))
                    .col(string_len(Messages::ExtractionState, 16))
                    .col(timestamp_with_time_zone(Messages::SentAt))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_messages_tenant")
                            .from(Messages::Table, Messages::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_messages_conversation")
                            .from(Messages::Table, Messages::ConversationId)
                            .to(Conversations::Table, Conversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Ingestion is idempotent: one message per provider message id and tenant.
        manager
            .create_index(
                Index::create()
                    .name("ux_messages_provider_id")
                    .table(Messages::Table)
                    .col(Messages::TenantId)
                    .col(Messages::Provider)
                    .col(Messages::ProviderMessageId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_messages_conversation_time")
                    .table(Messages::Table)
                    .col(Messages::TenantId)
                    .col(Messages::ConversationId)
                    .col(Messages::SentAt)
                    .col(Messages::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Messages::Table.into_iden(),
            Conversations::Table.into_iden(),
            TenantChannels::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
