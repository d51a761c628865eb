//! CRM sync: connections per tenant (settings, encrypted secrets, pull cursor), the link of
//! each client to its remote record per connection (remote id, the client version the CRM
//! has confirmed, last error), sync runs, and the activities already logged (so a conversation
//! summary is never logged twice).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CrmConnections {
    Table,
    Id,
    TenantId,
    Provider,
    Name,
    Status,
    ClientId,
    SecretsEnc,
    ApiBaseUrl,
    TokenUrl,
    AuthUrl,
    AzureTenant,
    Scopes,
    Direction,
    PushImmediately,
    Schedule,
    Fields,
    ExternalIdField,
    LogActivities,
    PullCursor,
    OauthState,
    LastError,
    LastSyncedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CrmLinks {
    Table,
    Id,
    TenantId,
    ConnectionId,
    ClientId,
    RemoteId,
    SyncedVersion,
    LastSyncedAt,
    LastError,
    RemoteDeletedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SyncRuns {
    Table,
    Id,
    TenantId,
    ConnectionId,
    Kind,
    Status,
    Pushed,
    Pulled,
    Logged,
    Failed,
    Error,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum CrmActivities {
    Table,
    Id,
    TenantId,
    ConnectionId,
    DedupeKey,
    ConversationId,
    ClientId,
    RemoteId,
    LoggedAt,
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

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CrmConnections::Table)
                    .col(pk_uuid(CrmConnections::Id))
                    .col(uuid(CrmConnections::TenantId))
                    .col(string_len(CrmConnections::Provider, 32))
                    .col(string(CrmConnections::Name))
                    .col(string_len(CrmConnections::Status, 32))
                    .col(string(CrmConnections::ClientId))
                    .col(text_null(CrmConnections::SecretsEnc))
                    .col(text_null(CrmConnections::ApiBaseUrl))
                    .col(text_null(CrmConnections::TokenUrl))
                    .col(text_null(CrmConnections::AuthUrl))
                    .col(string_null(CrmConnections::AzureTenant))
                    .col(json(CrmConnections::Scopes))
                    .col(string_len(CrmConnections::Direction, 8))
                    .col(boolean(CrmConnections::PushImmediately))
                    .col(string_null(CrmConnections::Schedule))
                    .col(json(CrmConnections::Fields))
                    .col(string_null(CrmConnections::ExternalIdField))
                    .col(boolean(CrmConnections::LogActivities))
                    .col(text_null(CrmConnections::PullCursor))
                    .col(string_null(CrmConnections::OauthState))
                    .col(text_null(CrmConnections::LastError))
                    .col(timestamp_with_time_zone_null(CrmConnections::LastSyncedAt))
                    .col(string(CrmConnections::CreatedBy))
                    .col(timestamp_with_time_zone(CrmConnections::CreatedAt))
                    .col(timestamp_with_time_zone(CrmConnections::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_crm_connections_tenant",
                        (CrmConnections::Table, CrmConnections::TenantId),
                        (Tenants::Table, Tenants::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_crm_connections_tenant")
                    .table(CrmConnections::Table)
                    .col(CrmConnections::TenantId)
                    .col(CrmConnections::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_crm_connections_oauth_state")
                    .table(CrmConnections::Table)
                    .col(CrmConnections::OauthState)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CrmLinks::Table)
                    .col(pk_uuid(CrmLinks::Id))
                    .col(uuid(CrmLinks::TenantId))
                    .col(uuid(CrmLinks::ConnectionId))
                    .col(uuid(CrmLinks::ClientId))
                    .col(string_null(CrmLinks::RemoteId))
                    .col(big_integer(CrmLinks::SyncedVersion))
                    .col(timestamp_with_time_zone_null(CrmLinks::LastSyncedAt))
                    .col(text_null(CrmLinks::LastError))
                    .col(timestamp_with_time_zone_null(CrmLinks::RemoteDeletedAt))
                    .col(timestamp_with_time_zone(CrmLinks::CreatedAt))
                    .col(timestamp_with_time_zone(CrmLinks::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_crm_links_connection",
                        (CrmLinks::Table, CrmLinks::ConnectionId),
                        (CrmConnections::Table, CrmConnections::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_crm_links_client",
                        (CrmLinks::Table, CrmLinks::ClientId),
                        (Clients::Table, Clients::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, second) in [
            ("ux_crm_links_client", CrmLinks::ClientId),
            ("ux_crm_links_remote", CrmLinks::RemoteId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(CrmLinks::Table)
                        .col(CrmLinks::ConnectionId)
                        .col(second)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_crm_links_client")
                    .table(CrmLinks::Table)
                    .col(CrmLinks::TenantId)
                    .col(CrmLinks::ClientId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SyncRuns::Table)
                    .col(pk_uuid(SyncRuns::Id))
                    .col(uuid(SyncRuns::TenantId))
                    .col(uuid(SyncRuns::ConnectionId))
                    .col(string_len(SyncRuns::Kind, 16))
                    .col(string_len(SyncRuns::Status, 16))
                    .col(integer(SyncRuns::Pushed))
                    .col(integer(SyncRuns::Pulled))
                    .col(integer(SyncRuns::Logged))
                    .col(integer(SyncRuns::Failed))
                    .col(text_null(SyncRuns::Error))
                    .col(timestamp_with_time_zone(SyncRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(SyncRuns::FinishedAt))
                    .foreign_key(&mut fk(
                        "fk_sync_runs_connection",
                        (SyncRuns::Table, SyncRuns::ConnectionId),
                        (CrmConnections::Table, CrmConnections::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sync_runs_connection")
                    .table(SyncRuns::Table)
                    .col(SyncRuns::ConnectionId)
                    .col(SyncRuns::StartedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CrmActivities::Table)
                    .col(pk_uuid(CrmActivities::Id))
                    .col(uuid(CrmActivities::TenantId))
                    .col(uuid(CrmActivities::ConnectionId))
                    .col(string(CrmActivities::DedupeKey))
                    .col(uuid(CrmActivities::ConversationId))
                    .col(uuid(CrmActivities::ClientId))
                    .col(string(CrmActivities::RemoteId))
                    .col(timestamp_with_time_zone(CrmActivities::LoggedAt))
                    .foreign_key(&mut fk(
                        "fk_crm_activities_connection",
                        (CrmActivities::Table, CrmActivities::ConnectionId),
                        (CrmConnections::Table, CrmConnections::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_crm_activities_key")
                    .table(CrmActivities::Table)
                    .col(CrmActivities::ConnectionId)
                    .col(CrmActivities::DedupeKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CrmActivities::Table.into_iden(),
            SyncRuns::Table.into_iden(),
            CrmLinks::Table.into_iden(),
            CrmConnections::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
