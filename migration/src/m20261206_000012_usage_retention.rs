//! Usage and retention: monthly usage counters that must survive retention (clients created by
//! extraction), per-tenant retention policies, when a message body was purged, how many HTTP
//! requests a CRM sync run made, and the indexes the monthly usage query and the purge walk.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UsageCounters {
    Table,
    TenantId,
    Month,
    Metric,
    Channel,
    Amount,
}

#[derive(DeriveIden)]
enum RetentionPolicies {
    Table,
    TenantId,
    MessageBodyDays,
    DeletedClientDays,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    TenantId,
    CreatedAt,
    BodyPurgedAt,
}

#[derive(DeriveIden)]
enum SyncRuns {
    Table,
    TenantId,
    StartedAt,
    ApiCalls,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    TenantId,
    DeletedAt,
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
                    .table(UsageCounters::Table)
                    .col(uuid(UsageCounters::TenantId))
                    // `YYYY-MM` in the tenant's time zone.
                    .col(string_len(UsageCounters::Month, 7))
                    .col(string_len(UsageCounters::Metric, 48))
                    // '' when the metric has no channel (a NULL would defeat the key).
                    .col(string_len(UsageCounters::Channel, 16).default(""))
                    .col(big_integer(UsageCounters::Amount).default(0))
                    .primary_key(
                        Index::create()
                            .col(UsageCounters::TenantId)
                            .col(UsageCounters::Month)
                            .col(UsageCounters::Metric)
                            .col(UsageCounters::Channel),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_usage_counters_tenant")
                            .from(UsageCounters::Table, UsageCounters::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RetentionPolicies::Table)
                    .col(pk_uuid(RetentionPolicies::TenantId))
                    .col(integer_null(RetentionPolicies::MessageBodyDays))
                    .col(integer_null(RetentionPolicies::DeletedClientDays))
                    .col(timestamp_with_time_zone(RetentionPolicies::UpdatedAt))
                    .col(string(RetentionPolicies::UpdatedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_retention_policies_tenant")
                            .from(RetentionPolicies::Table, RetentionPolicies::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(timestamp_with_time_zone_null(Messages::BodyPurgedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SyncRuns::Table)
                    .add_column(integer(SyncRuns::ApiCalls).default(0))
                    .to_owned(),
            )
            .await?;
        // Monthly usage and the body purge read a tenant's messages by creation time.
        manager
            .create_index(
                Index::create()
                    .name("ix_messages_tenant_created")
                    .table(Messages::Table)
                    .col(Messages::TenantId)
                    .col(Messages::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // Monthly CRM API calls sum a tenant's runs by start time.
        manager
            .create_index(
                Index::create()
                    .name("ix_sync_runs_tenant_started")
                    .table(SyncRuns::Table)
                    .col(SyncRuns::TenantId)
                    .col(SyncRuns::StartedAt)
                    .to_owned(),
            )
            .await?;
        // The purge finds a tenant's clients deleted before a cutoff.
        manager
            .create_index(
                Index::create()
                    .name("ix_clients_tenant_deleted")
                    .table(Clients::Table)
                    .col(Clients::TenantId)
                    .col(Clients::DeletedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_clients_tenant_deleted", Clients::Table.into_iden()),
            ("ix_sync_runs_tenant_started", SyncRuns::Table.into_iden()),
            ("ix_messages_tenant_created", Messages::Table.into_iden()),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(SyncRuns::Table)
                    .drop_column(SyncRuns::ApiCalls)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(Messages::BodyPurgedAt)
                    .to_owned(),
            )
            .await?;
        for table in [
            RetentionPolicies::Table.into_iden(),
            UsageCounters::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
