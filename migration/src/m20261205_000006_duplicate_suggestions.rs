//! `duplicate_suggestions`: a fact found in a message that belongs to another client than the
//! one the message is about. Extraction never merges on its own; it stores the evidence here
//! and staff decide. Also an index for the sweep that finds messages still pending extraction.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DuplicateSuggestions {
    Table,
    Id,
    TenantId,
    ClientId,
    OtherClientId,
    Kind,
    Value,
    Rule,
    MessageId,
    Evidence,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    ExtractionState,
    CreatedAt,
}

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DuplicateSuggestions::Table)
                    .col(pk_uuid(DuplicateSuggestions::Id))
                    .col(uuid(DuplicateSuggestions::TenantId))
                    .col(uuid(DuplicateSuggestions::ClientId))
                    .col(uuid(DuplicateSuggestions::OtherClientId))
                    .col(string_len(DuplicateSuggestions::Kind, 16))
                    .col(string(DuplicateSuggestions::Value))
                    .col(string_len(DuplicateSuggestions::Rule, 64))
                    .col(uuid_null(DuplicateSuggestions::MessageId))
                    .col(json(DuplicateSuggestions::Evidence))
                    .col(timestamp_with_time_zone(DuplicateSuggestions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dup_suggestions_tenant")
                            .from(DuplicateSuggestions::Table, DuplicateSuggestions::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dup_suggestions_client")
                            .from(DuplicateSuggestions::Table, DuplicateSuggestions::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dup_suggestions_other")
                            .from(
                                DuplicateSuggestions::Table,
                                DuplicateSuggestions::OtherClientId,
                            )
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One suggestion per pair and value: a fact repeated in later messages adds nothing.
        manager
            .create_index(
                Index::create()
                    .name("ux_dup_suggestions_pair_value")
                    .table(DuplicateSuggestions::Table)
                    .col(DuplicateSuggestions::TenantId)
                    .col(DuplicateSuggestions::ClientId)
                    .col(DuplicateSuggestions::OtherClientId)
                    .col(DuplicateSuggestions::Value)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_dup_suggestions_other")
                    .table(DuplicateSuggestions::Table)
                    .col(DuplicateSuggestions::TenantId)
                    .col(DuplicateSuggestions::OtherClientId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_messages_extraction_pending")
                    .table(Messages::Table)
                    .col(Messages::ExtractionState)
                    .col(Messages::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_messages_extraction_pending")
                    .table(Messages::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(DuplicateSuggestions::Table).to_owned())
            .await
    }
}
