//! The whole client record: contact and CRM fields, identities, preferences, notes, meetings,
//! survey responses, the timeline, the audit log, and the substring-search index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    ClientStatuses,
    FunnelStages,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    TenantId,
    Street,
    City,
    State,
    Zip,
    Country,
    DateOfBirth,
    Notes,
    Metadata,
    ExternalId,
    Status,
    PurchaseIntent,
    Interests,
    Traits,
    Needs,
    SaleStatus,
    FunnelStage,
    BotStatus,
    Sentiment,
    Sensitive,
    MysteryShopper,
    Contractor,
    CustomConfig,
    FirstSeenAt,
    LastActiveAt,
    ActivityAt,
    SortName,
    MergedIntoId,
    ErasedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ClientIdentities {
    Table,
    Id,
    TenantId,
    ClientId,
    Kind,
    Platform,
    Value,
    IsPrimary,
    Verified,
    Source,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ClientPreferences {
    Table,
    ClientId,
    TenantId,
    PreferredChannels,
    ContactWindows,
    NeverAutoSend,
    HumanReviewRequired,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ClientNotes {
    Table,
    Id,
    TenantId,
    ClientId,
    AuthorId,
    AuthorName,
    Body,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Meetings {
    Table,
    Id,
    TenantId,
    ClientId,
    Title,
    StartsAt,
    EndsAt,
    Location,
    Notes,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
    Id,
    TenantId,
    ClientId,
    Survey,
    Score,
    Answers,
    SubmittedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TimelineEvents {
    Table,
    Id,
    TenantId,
    ClientId,
    Kind,
    ActorKind,
    ActorId,
    ActorName,
    Payload,
    OccurredAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    TenantId,
    ActorId,
    ActorName,
    ActorRole,
    Action,
    TargetId,
    Outcome,
    Detail,
    CreatedAt,
}

fn tenant_fk(from: impl IntoIden + 'static, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from, Alias::new("tenant_id"))
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn client_fk(from: impl IntoIden + 'static, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from, Alias::new("client_id"))
        .to(Clients::Table, Clients::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
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
        add_column(
            manager,
            Tenants::Table,
            json(Tenants::ClientStatuses)
                .default(r#"["new","active","qualified","customer","lost"]"#)
                .to_owned(),
        )
        .await?;
        add_column(
            manager,
            Tenants::Table,
            json(Tenants::FunnelStages).default("[]").to_owned(),
        )
        .await?;

        for col in [
            string_null(Clients::Street),
            string_null(Clients::City),
            string_null(Clients::State),
            string_len_null(Clients::Zip, 16),
            string_null(Clients::Country),
            date_null(Clients::DateOfBirth),
            text_null(Clients::Notes),
            json(Clients::Metadata).default("{}").to_owned(),
            string_null(Clients::ExternalId),
            string_len(Clients::Status, 64).default("new").to_owned(),
            string_len_null(Clients::PurchaseIntent, 16),
            json(Clients::Interests).default("[]").to_owned(),
            json(Clients::Traits).default("[]").to_owned(),
            json(Clients::Needs).default("[]").to_owned(),
            string_len(Clients::SaleStatus, 16)
                .default("none")
                .to_owned(),
            string_len_null(Clients::FunnelStage, 64),
            string_len(Clients::BotStatus, 16)
                .default("active")
                .to_owned(),
            string_len_null(Clients::Sentiment, 32),
            boolean(Clients::Sensitive).default(false).to_owned(),
            boolean(Clients::MysteryShopper).default(false).to_owned(),
            boolean(Clients::Contractor).default(false).to_owned(),
            json(Clients::CustomConfig).default("{}").to_owned(),
            timestamp_with_time_zone_null(Clients::FirstSeenAt),
            timestamp_with_time_zone_null(Clients::LastActiveAt),
            timestamp_with_time_zone_null(Clients::ActivityAt),
            string(Clients::SortName).default("").to_owned(),
            uuid_null(Clients::MergedIntoId),
            timestamp_with_time_zone_null(Clients::ErasedAt),
        ] {
            add_column(manager, Clients::Table, col).await?;
        }
        let db = manager.get_connection();
        // Rows from the first migration: activity defaults to creation.
        db.execute_unprepared("UPDATE clients SET activity_at = created_at, first_seen_at = created_at WHERE activity_at IS NULL")
            .await?;

        for (name, cols) in [
            (
                "ix_clients_tenant_activity",
                vec![Clients::ActivityAt, Clients::Id],
            ),
            (
                "ix_clients_tenant_created",
                vec![Clients::CreatedAt, Clients::Id],
            ),
            (
                "ix_clients_tenant_sort_name",
                vec![Clients::SortName, Clients::Id],
            ),
            ("ix_clients_tenant_external_id", vec![Clients::ExternalId]),
            ("ix_clients_tenant_status", vec![Clients::Status]),
        ] {
            let mut index = Index::create();
            index
                .name(name)
                .table(Clients::Table)
                .col(Clients::TenantId);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ClientIdentities::Table)
                    .col(pk_uuid(ClientIdentities::Id))
                    .col(uuid(ClientIdentities::TenantId))
                    .col(uuid(ClientIdentities::ClientId))
                    .col(string_len(ClientIdentities::Kind, 16))
                    .col(string_len(ClientIdentities::Platform, 32))
                    .col(string(ClientIdentities::Value))
                    .col(boolean(ClientIdentities::IsPrimary))
                    .col(boolean(ClientIdentities::Verified))
                    .col(string_len(ClientIdentities::Source, 16))
                    .col(timestamp_with_time_zone(ClientIdentities::CreatedAt))
                    .foreign_key(&mut tenant_fk(
                        ClientIdentities::Table,
                        "fk_identities_tenant",
                    ))
                    .foreign_key(&mut client_fk(
                        ClientIdentities::Table,
                        "fk_identities_client",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_identities_tenant_kind_platform_value")
                    .table(ClientIdentities::Table)
                    .col(ClientIdentities::TenantId)
                    .col(ClientIdentities::Kind)
                    .col(ClientIdentities::Platform)
                    .col(ClientIdentities::Value)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_identities_tenant_client")
                    .table(ClientIdentities::Table)
                    .col(ClientIdentities::TenantId)
                    .col(ClientIdentities::ClientId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ClientPreferences::Table)
                    .col(pk_uuid(ClientPreferences::ClientId))
                    .col(uuid(ClientPreferences::TenantId))
                    .col(json(ClientPreferences::PreferredChannels))
                    .col(json(ClientPreferences::ContactWindows))
                    .col(boolean(ClientPreferences::NeverAutoSend))
                    .col(boolean(ClientPreferences::HumanReviewRequired))
                    .col(timestamp_with_time_zone(ClientPreferences::UpdatedAt))
                    .foreign_key(&mut tenant_fk(
                        ClientPreferences::Table,
                        "fk_preferences_tenant",
                    ))
                    .foreign_key(&mut client_fk(
                        ClientPreferences::Table,
                        "fk_preferences_client",
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ClientNotes::Table)
                    .col(pk_uuid(ClientNotes::Id))
                    .col(uuid(ClientNotes::TenantId))
                    .col(uuid(ClientNotes::ClientId))
                    .col(string(ClientNotes::AuthorId))
                    .col(string(ClientNotes::AuthorName))
                    .col(text(ClientNotes::Body))
                    .col(timestamp_with_time_zone(ClientNotes::CreatedAt))
                    .col(timestamp_with_time_zone(ClientNotes::UpdatedAt))
                    .foreign_key(&mut tenant_fk(ClientNotes::Table, "fk_notes_tenant"))
                    .foreign_key(&mut client_fk(ClientNotes::Table, "fk_notes_client"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Meetings::Table)
                    .col(pk_uuid(Meetings::Id))
                    .col(uuid(Meetings::TenantId))
                    .col(uuid(Meetings::ClientId))
                    .col(string(Meetings::Title))
                    .col(timestamp_with_time_zone(Meetings::StartsAt))
                    .col(timestamp_with_time_zone_null(Meetings::EndsAt))
                    .col(string_null(Meetings::Location))
                    .col(text_null(Meetings::Notes))
                    .col(string(Meetings::CreatedBy))
                    .col(timestamp_with_time_zone(Meetings::CreatedAt))
                    .foreign_key(&mut tenant_fk(Meetings::Table, "fk_meetings_tenant"))
                    .foreign_key(&mut client_fk(Meetings::Table, "fk_meetings_client"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SurveyResponses::Table)
                    .col(pk_uuid(SurveyResponses::Id))
                    .col(uuid(SurveyResponses::TenantId))
                    .col(uuid(SurveyResponses::ClientId))
                    .col(string(SurveyResponses::Survey))
                    .col(integer_null(SurveyResponses::Score))
                    .col(json(SurveyResponses::Answers))
                    .col(timestamp_with_time_zone(SurveyResponses::SubmittedAt))
                    .col(timestamp_with_time_zone(SurveyResponses::CreatedAt))
                    .foreign_key(&mut tenant_fk(SurveyResponses::Table, "fk_surveys_tenant"))
                    .foreign_key(&mut client_fk(SurveyResponses::Table, "fk_surveys_client"))
                    .to_owned(),
            )
            .await?;

        for (table, name, col) in [
            (
                ClientNotes::Table.into_iden(),
                "ix_notes_tenant_client",
                ClientNotes::ClientId.into_iden(),
            ),
            (
                Meetings::Table.into_iden(),
                "ix_meetings_tenant_client",
                Meetings::ClientId.into_iden(),
            ),
            (
                SurveyResponses::Table.into_iden(),
                "ix_surveys_tenant_client",
                SurveyResponses::ClientId.into_iden(),
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(table)
                        .col(Alias::new("tenant_id"))
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(TimelineEvents::Table)
                    .col(pk_uuid(TimelineEvents::Id))
                    .col(uuid(TimelineEvents::TenantId))
                    .col(uuid(TimelineEvents::ClientId))
                    .col(string_len(TimelineEvents::Kind, 32))
                    .col(string_len(TimelineEvents::ActorKind, 16))
                    .col(string_null(TimelineEvents::ActorId))
                    .col(string_null(TimelineEvents::ActorName))
                    .col(json(TimelineEvents::Payload))
                    .col(timestamp_with_time_zone(TimelineEvents::OccurredAt))
                    .foreign_key(&mut tenant_fk(TimelineEvents::Table, "fk_timeline_tenant"))
                    .foreign_key(&mut client_fk(TimelineEvents::Table, "fk_timeline_client"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_timeline_tenant_client_time")
                    .table(TimelineEvents::Table)
                    .col(TimelineEvents::TenantId)
                    .col(TimelineEvents::ClientId)
                    .col((TimelineEvents::OccurredAt, IndexOrder::Desc))
                    .col((TimelineEvents::Id, IndexOrder::Desc))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    .col(uuid(AuditLog::TenantId))
                    .col(string(AuditLog::ActorId))
                    .col(string(AuditLog::ActorName))
                    .col(string_len(AuditLog::ActorRole, 16))
                    .col(string_len(AuditLog::Action, 64))
                    .col(uuid_null(AuditLog::TargetId))
                    .col(string_len(AuditLog::Outcome, 16))
                    .col(json(AuditLog::Detail))
                    .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                    .foreign_key(&mut tenant_fk(AuditLog::Table, "fk_audit_tenant"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_tenant_time")
                    .table(AuditLog::Table)
                    .col(AuditLog::TenantId)
                    .col(AuditLog::CreatedAt)
                    .to_owned(),
            )
            .await?;

        // Substring search over clients.search_text through an index, not a scan.
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    .await?;
                db.execute_unprepared(
                    "CREATE INDEX ix_clients_search_trgm ON clients USING gin (search_text gin_trgm_ops)",
                )
                .await?;
            }
            DbBackend::Sqlite => {
                // An external-content FTS5 table with the trigram tokenizer, kept in step with
                // clients by triggers; rows are joined on SQLite's rowid.
                for statement in [
                    "CREATE VIRTUAL TABLE clients_fts USING fts5(search_text, content='clients', content_rowid='rowid', tokenize='trigram')",
                    "CREATE TRIGGER clients_fts_insert AFTER INSERT ON clients BEGIN \
                       INSERT INTO clients_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
                    "CREATE TRIGGER clients_fts_delete AFTER DELETE ON clients BEGIN \
                       INSERT INTO clients_fts(clients_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END",
                    "CREATE TRIGGER clients_fts_update AFTER UPDATE OF search_text ON clients BEGIN \
                       INSERT INTO clients_fts(clients_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); \
                       INSERT INTO clients_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
                    "INSERT INTO clients_fts(clients_fts) VALUES ('rebuild')",
                ] {
                    db.execute_unprepared(statement).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Sqlite {
            for statement in [
                "DROP TRIGGER IF EXISTS clients_fts_insert",
                "DROP TRIGGER IF EXISTS clients_fts_delete",
                "DROP TRIGGER IF EXISTS clients_fts_update",
                "DROP TABLE IF EXISTS clients_fts",
            ] {
                db.execute_unprepared(statement).await?;
            }
        } else {
            db.execute_unprepared("DROP INDEX IF EXISTS ix_clients_search_trgm")
                .await?;
        }
        for table in [
            AuditLog::Table.into_iden(),
            TimelineEvents::Table.into_iden(),
            SurveyResponses::Table.into_iden(),
            Meetings::Table.into_iden(),
            ClientNotes::Table.into_iden(),
            ClientPreferences::Table.into_iden(),
            ClientIdentities::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
