//! Notifications: per-tenant rules (keyword phrases, the purchase-intent level that alerts),
//! outbound webhook endpoints (URL, filters, sealed signing secret), the notification outbox
//! (written in the transaction of the change it reports) and one delivery row per endpoint
//! and notification (status, attempts, last error, next attempt).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NotificationRules {
    Table,
    Id,
    TenantId,
    Name,
    Kind,
    Phrases,
    IntentLevel,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    TenantId,
    Url,
    Description,
    EventKinds,
    ClientFields,
    Active,
    SecretEnc,
    DisabledReason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    TenantId,
    Kind,
    ClientId,
    ConversationId,
    MessageId,
    Payload,
    PublishedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    TenantId,
    EndpointId,
    NotificationId,
    Status,
    Attempts,
    LastError,
    LastStatusCode,
    NextAttemptAt,
    DeliveredAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
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
                    .table(NotificationRules::Table)
                    .col(pk_uuid(NotificationRules::Id))
                    .col(uuid(NotificationRules::TenantId))
                    .col(string(NotificationRules::Name))
                    .col(string_len(NotificationRules::Kind, 16))
                    .col(json(NotificationRules::Phrases))
                    .col(string_len_null(NotificationRules::IntentLevel, 16))
                    .col(boolean(NotificationRules::Active))
                    .col(timestamp_with_time_zone(NotificationRules::CreatedAt))
                    .col(timestamp_with_time_zone(NotificationRules::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_notification_rules_tenant",
                        (NotificationRules::Table, NotificationRules::TenantId),
                        (Tenants::Table, Tenants::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_notification_rules_tenant")
                    .table(NotificationRules::Table)
                    .col(NotificationRules::TenantId)
                    .col(NotificationRules::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_uuid(WebhookEndpoints::Id))
                    .col(uuid(WebhookEndpoints::TenantId))
                    .col(text(WebhookEndpoints::Url))
                    .col(string_null(WebhookEndpoints::Description))
                    .col(json(WebhookEndpoints::EventKinds))
                    .col(json(WebhookEndpoints::ClientFields))
                    .col(boolean(WebhookEndpoints::Active))
                    .col(text(WebhookEndpoints::SecretEnc))
                    .col(text_null(WebhookEndpoints::DisabledReason))
                    .col(string(WebhookEndpoints::CreatedBy))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_webhook_endpoints_tenant",
                        (WebhookEndpoints::Table, WebhookEndpoints::TenantId),
                        (Tenants::Table, Tenants::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_endpoints_tenant")
                    .table(WebhookEndpoints::Table)
                    .col(WebhookEndpoints::TenantId)
                    .col(WebhookEndpoints::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::TenantId))
                    .col(string_len(Notifications::Kind, 32))
                    .col(uuid_null(Notifications::ClientId))
                    .col(uuid_null(Notifications::ConversationId))
                    .col(uuid_null(Notifications::MessageId))
                    .col(json(Notifications::Payload))
                    .col(timestamp_with_time_zone_null(Notifications::PublishedAt))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_notifications_tenant",
                        (Notifications::Table, Notifications::TenantId),
                        (Tenants::Table, Tenants::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_notifications_tenant")
                    .table(Notifications::Table)
                    .col(Notifications::TenantId)
                    .col(Notifications::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // The relay looks for notifications not yet announced.
        manager
            .create_index(
                Index::create()
                    .name("ix_notifications_unpublished")
                    .table(Notifications::Table)
                    .col(Notifications::PublishedAt)
                    .col(Notifications::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::TenantId))
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(uuid(WebhookDeliveries::NotificationId))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::NextAttemptAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::DeliveredAt,
                    ))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookDeliveries::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_webhook_deliveries_endpoint",
                        (WebhookDeliveries::Table, WebhookDeliveries::EndpointId),
                        (WebhookEndpoints::Table, WebhookEndpoints::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhook_deliveries_notification",
                        (WebhookDeliveries::Table, WebhookDeliveries::NotificationId),
                        (Notifications::Table, Notifications::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_endpoint")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::TenantId)
                    .col(WebhookDeliveries::EndpointId)
                    .col(WebhookDeliveries::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_notification")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::NotificationId)
                    .to_owned(),
            )
            .await?;
        // The relay looks for pending deliveries that are due.
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookDeliveries::Table.into_iden(),
            Notifications::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
            NotificationRules::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
