//! Identity checks and tracking controls.
//!
//! - `conversations.suggested_client_id` / `identity_status`: a new thread from an identifier
//!   that belongs to a client, on a channel that asks for confirmation, carries that client as
//!   a suggestion until staff or the assistant service confirm or reject it.
//! - `identity_rejections`: answers "this sender is not that client", remembered so the same
//!   identifier is never suggested (or linked automatically) to that client again.
//! - tenants / tenant_channels: automatic client creation on or off (and since when), the
//!   known-sender check, which extractors run; a channel's values override the tenant's.
//! - `clients.avatar_url`, `conversations.contact_avatar_url`: a picture a platform supplied
//!   (kept on the thread until it has a client).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Conversations {
    Table,
    SuggestedClientId,
    IdentityStatus,
    ContactAvatarUrl,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    AutoCreateClients,
    AutoCreateSince,
    KnownSenderCheck,
    Extractors,
}

#[derive(DeriveIden)]
enum TenantChannels {
    Table,
    AutoCreateClients,
    AutoCreateSince,
    DefaultRegion,
    KnownSenderCheck,
    Extractors,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    AvatarUrl,
}

#[derive(DeriveIden)]
enum IdentityRejections {
    Table,
    Id,
    TenantId,
    ClientId,
    Channel,
    Identifier,
    ConversationId,
    DecidedBy,
    CreatedAt,
}

async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + 'static,
    col: ColumnDef,
) -> Result<(), DbErr> {
    // One column per statement: SQLite alters one column at a time.
    manager
        .alter_table(Table::alter().table(table).add_column(col).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            uuid_null(Conversations::SuggestedClientId),
            string_len_null(Conversations::IdentityStatus, 16),
            text_null(Conversations::ContactAvatarUrl),
        ] {
            add_column(manager, Conversations::Table, col).await?;
        }
        for col in [
            boolean(Tenants::AutoCreateClients).default(true).to_owned(),
            timestamp_with_time_zone_null(Tenants::AutoCreateSince),
            string_len(Tenants::KnownSenderCheck, 16)
                .default("link")
                .to_owned(),
            json_null(Tenants::Extractors),
        ] {
            add_column(manager, Tenants::Table, col).await?;
        }
        for col in [
            boolean_null(TenantChannels::AutoCreateClients),
            timestamp_with_time_zone_null(TenantChannels::AutoCreateSince),
            string_len_null(TenantChannels::DefaultRegion, 2),
            string_len_null(TenantChannels::KnownSenderCheck, 16),
            json_null(TenantChannels::Extractors),
        ] {
            add_column(manager, TenantChannels::Table, col).await?;
        }
        add_column(manager, Clients::Table, text_null(Clients::AvatarUrl)).await?;

        manager
            .create_table(
                Table::create()
                    .table(IdentityRejections::Table)
                    .col(pk_uuid(IdentityRejections::Id))
                    .col(uuid(IdentityRejections::TenantId))
                    .col(uuid(IdentityRejections::ClientId))
                    .col(string_len(IdentityRejections::Channel, 16))
                    .col(string(IdentityRejections::Identifier))
                    .col(uuid_null(IdentityRejections::ConversationId))
                    .col(json(IdentityRejections::DecidedBy))
                    .col(timestamp_with_time_zone(IdentityRejections::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_identity_rejections_tenant")
                            .from(IdentityRejections::Table, IdentityRejections::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_identity_rejections_client")
                            .from(IdentityRejections::Table, IdentityRejections::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_identity_rejections")
                    .table(IdentityRejections::Table)
                    .col(IdentityRejections::TenantId)
                    .col(IdentityRejections::Channel)
                    .col(IdentityRejections::Identifier)
                    .col(IdentityRejections::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdentityRejections::Table).to_owned())
            .await?;
        for (table, cols) in [
            (
                Conversations::Table.into_iden(),
                vec![
                    Conversations::SuggestedClientId.into_iden(),
                    Conversations::IdentityStatus.into_iden(),
                    Conversations::ContactAvatarUrl.into_iden(),
                ],
            ),
            (
                Tenants::Table.into_iden(),
                vec![
                    Tenants::AutoCreateClients.into_iden(),
                    Tenants::AutoCreateSince.into_iden(),
                    Tenants::KnownSenderCheck.into_iden(),
                    Tenants::Extractors.into_iden(),
                ],
            ),
            (
                TenantChannels::Table.into_iden(),
                vec![
                    TenantChannels::AutoCreateClients.into_iden(),
                    TenantChannels::AutoCreateSince.into_iden(),
                    TenantChannels::DefaultRegion.into_iden(),
                    TenantChannels::KnownSenderCheck.into_iden(),
                    TenantChannels::Extractors.into_iden(),
                ],
            ),
            (
                Clients::Table.into_iden(),
                vec![Clients::AvatarUrl.into_iden()],
            ),
        ] {
            for col in cols {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table.clone())
                            .drop_column(col)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
