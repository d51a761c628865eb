//! The foundation: tenants, installation settings and the first slice of clients.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Slug,
    Name,
    DefaultRegion,
    Timezone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum InstanceSettings {
    Table,
    Key,
    Value,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    TenantId,
    FirstName,
    LastName,
    Email,
    Phone,
    Company,
    Source,
    SearchText,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(pk_uuid(Tenants::Id))
                    .col(string_len_uniq(Tenants::Slug, 64))
                    .col(string(Tenants::Name))
                    .col(string_len(Tenants::DefaultRegion, 2))
                    .col(string_len(Tenants::Timezone, 64))
                    .col(timestamp_with_time_zone(Tenants::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InstanceSettings::Table)
                    .col(string_len(InstanceSettings::Key, 64).primary_key())
                    .col(text(InstanceSettings::Value))
                    .col(timestamp_with_time_zone(InstanceSettings::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Clients::Table)
                    .col(pk_uuid(Clients::Id))
                    .col(uuid(Clients::TenantId))
                    .col(string_null(Clients::FirstName))
                    .col(string_null(Clients::LastName))
                    .col(string_null(Clients::Email))
                    .col(string_len_null(Clients::Phone, 16))
                    .col(string_null(Clients::Company))
                    .col(string_len(Clients::Source, 16))
                    .col(text(Clients::SearchText))
                    .col(big_integer(Clients::Version))
                    .col(timestamp_with_time_zone(Clients::CreatedAt))
                    .col(timestamp_with_time_zone(Clients::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Clients::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_clients_tenant")
                            .from(Clients::Table, Clients::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // Keyset pagination walks (tenant_id, id); UUIDv7 ids are time-ordered.
        manager
            .create_index(
                Index::create()
                    .name("ix_clients_tenant_id")
                    .table(Clients::Table)
                    .col(Clients::TenantId)
                    .col(Clients::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_clients_tenant_email")
                    .table(Clients::Table)
                    .col(Clients::TenantId)
                    .col(Clients::Email)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_clients_tenant_phone")
                    .table(Clients::Table)
                    .col(Clients::TenantId)
                    .col(Clients::Phone)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Clients::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(InstanceSettings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Tenants::Table).to_owned())
            .await
    }
}
