//! Sync runs of one connection: push dirty clients, pull remote changes, log conversation
//! summaries. Every run may be repeated (a job can run twice after a crash), so each one is
//! idempotent: pushes upsert by external id / remote id and a client stays dirty until the
//! CRM confirmed its version; pulls apply one page per transaction together with the cursor
//! that follows it; activities are keyed per conversation and day and recorded once.

use super::{Secrets, connector_for, load, mapping, publish_run, save_tokens};
use crate::clients::{self, FieldChange};
use crate::entities::client::{self, ClientSource};
use crate::entities::client_identity::IdentityKind;
use crate::entities::conversation;
use crate::entities::crm_activity;
use crate::entities::crm_connection::{self, ConnectionStatus};
use crate::entities::crm_link;
use crate::entities::message;
use crate::entities::sync_run::{self, RunStatus, SyncKind};
use crate::entities::timeline_event::{ActorKind, TimelineKind};
use crate::timeline::{self, EventActor};
use crate::{ClientId, Domain, DomainError, DomainEvent, TenantId, identities, values::Region};
use clientele_connectors::{
    ActivityLog, ContactField, CrmConnector, CrmContact, CrmError, SyncCursor, UpsertOutcome,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use uuid::Uuid;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The CRM failed the run; `transient` ones are worth another attempt.
    #[error("{error}")]
    Crm {
        error: CrmError,
        transient: bool,
        retry_after: Option<Duration>,
    },
}

impl From<sea_orm::DbErr> for SyncError {
    fn from(e: sea_orm::DbErr) -> Self {
        SyncError::Domain(e.into())
    }
}

impl From<CrmError> for SyncError {
    fn from(error: CrmError) -> Self {
        let retry_after = match &error {
            CrmError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        };
        SyncError::Crm {
            transient: error.is_transient(),
            retry_after,
            error,
        }
    }
}

/// What a finished run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub run_id: Uuid,
    pub status: RunStatus,
    pub pushed: i32,
    pub pulled: i32,
    pub logged: i32,
    pub failed: i32,
}

type SyncResult<T> = Result<T, SyncError>;

fn crm_actor(row: &crm_connection::Model) -> EventActor {
    EventActor {
        kind: ActorKind::Crm,
        id: Some(row.id.to_string()),
        name: Some(row.name.clone()),
    }
}

/// Marks a connection whose credentials stopped working: no further job retries it until an
/// admin reconnects, and the reason is shown.
pub(crate) async fn note_failure(
    d: &Domain,
    row: &crm_connection::Model,
    error: &CrmError,
) -> Result<(), DomainError> {
    if matches!(
        error,
        CrmError::NeedsReauthorization(_) | CrmError::Unauthorized(_)
    ) {
        crm_connection::Entity::scoped_update(TenantId(row.tenant_id))
            .col_expr(
                crm_connection::Column::Status,
                Expr::value(ConnectionStatus::NeedsReauthorization),
            )
            .col_expr(
                crm_connection::Column::LastError,
                Expr::value(error.to_string()),
            )
            .col_expr(
                crm_connection::Column::UpdatedAt,
                Expr::value(chrono::Utc::now()),
            )
            .filter(crm_connection::Column::Id.eq(row.id))
            .exec(&d.db)
            .await?;
    }
    Ok(())
}

/// The connection, when it should sync `kind` now. Paused, disconnected or pending
/// connections and directions it does not sync are skipped (`None`); one that needs
/// re-authorization fails permanently so that its jobs stop.
async fn runnable(
    d: &Domain,
    tenant: TenantId,
    id: Uuid,
    kind: SyncKind,
) -> SyncResult<Option<crm_connection::Model>> {
    let row = load(&d.db, tenant, id).await?;
    match row.status {
        ConnectionStatus::Active => {}
        ConnectionStatus::NeedsReauthorization => {
            return Err(CrmError::NeedsReauthorization(
                row.last_error
                    .unwrap_or_else(|| "an admin must reconnect".into()),
            )
            .into());
        }
        _ => return Ok(None),
    }
    let wanted = match kind {
        SyncKind::Push => row.direction.pushes(),
        SyncKind::Pull => row.direction.pulls(),
        SyncKind::Activities => row.direction.pushes() && row.log_activities,
    };
    Ok(wanted.then_some(row))
}

async fn start_run(
    d: &Domain,
    row: &crm_connection::Model,
    kind: SyncKind,
) -> SyncResult<sync_run::Model> {
    let tenant = TenantId(row.tenant_id);
    // A run of the same kind still "running" was cut short (its worker stopped): say so.
    sync_run::Entity::scoped_update(tenant)
        .col_expr(sync_run::Column::Status, Expr::value(RunStatus::Failed))
        .col_expr(
            sync_run::Column::Error,
            Expr::value("interrupted: the worker stopped; the next run carried on"),
        )
        .col_expr(
            sync_run::Column::FinishedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(sync_run::Column::ConnectionId.eq(row.id))
        .filter(sync_run::Column::Kind.eq(kind))
        .filter(sync_run::Column::Status.eq(RunStatus::Running))
        .exec(&d.db)
        .await?;
    let run = sync_run::Model {
        id: Uuid::now_v7(),
        tenant_id: row.tenant_id,
        connection_id: row.id,
        kind,
        status: RunStatus::Running,
        pushed: 0,
        pulled: 0,
        logged: 0,
        failed: 0,
        error: None,
        started_at: chrono::Utc::now(),
        finished_at: None,
        api_calls: 0,
    };
    sync_run::Entity::insert(run.clone().into_active_model())
        .exec_without_returning(&d.db)
        .await?;
    publish_run(d, &run);
    Ok(run)
}

async fn save_run(d: &Domain, run: &sync_run::Model) -> SyncResult<()> {
    sync_run::Entity::scoped_update(TenantId(run.tenant_id))
        .set(run.clone().into_active_model().reset_all())
        .filter(sync_run::Column::Id.eq(run.id))
        .exec(&d.db)
        .await?;
    publish_run(d, run);
    Ok(())
}

/// Ends a run: succeeded, partial (some records refused) or failed with `error`.
async fn finish_run(
    d: &Domain,
    row: &crm_connection::Model,
    mut run: sync_run::Model,
    error: Option<&SyncError>,
) -> SyncResult<RunSummary> {
    let now = chrono::Utc::now();
    run.finished_at = Some(now);
    run.status = match (error, run.failed) {
        (Some(_), _) => RunStatus::Failed,
        (None, 0) => RunStatus::Succeeded,
        (None, _) => RunStatus::Partial,
    };
    run.error = error.map(|e| e.to_string());
    save_run(d, &run).await?;
    if let Some(SyncError::Crm { error, .. }) = error {
        note_failure(d, row, error).await?;
    }
    if error.is_none() {
        crm_connection::Entity::scoped_update(TenantId(row.tenant_id))
            .col_expr(crm_connection::Column::LastSyncedAt, Expr::value(now))
            .filter(crm_connection::Column::Id.eq(row.id))
            .exec(&d.db)
            .await?;
    }
    Ok(RunSummary {
        run_id: run.id,
        status: run.status,
        pushed: run.pushed,
        pulled: run.pulled,
        logged: run.logged,
        failed: run.failed,
    })
}

/// Runs `body` as a recorded run: the run ends failed with the error the body returned.
async fn recorded<F>(
    d: &Domain,
    row: crm_connection::Model,
    kind: SyncKind,
    body: F,
) -> SyncResult<RunSummary>
where
    F: for<'a> FnOnce(
        &'a Domain,
        &'a crm_connection::Model,
        &'a mut sync_run::Model,
    ) -> futures_util::future::BoxFuture<'a, SyncResult<()>>,
{
    let mut run = start_run(d, &row, kind).await?;
    // Usage: every HTTP request the connector sends during the run is counted on the run.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let result =
        clientele_connectors::http::count_requests(calls.clone(), body(d, &row, &mut run)).await;
    run.api_calls =
        i32::try_from(calls.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(i32::MAX);
    match result {
        Ok(()) => finish_run(d, &row, run, None).await,
        Err(error) => {
            finish_run(d, &row, run, Some(&error)).await?;
            Err(error)
        }
    }
}

fn mapped_fields(row: &crm_connection::Model, connector: &dyn CrmConnector) -> Vec<ContactField> {
    let supported = connector.capabilities().fields;
    mapping::stored_fields(&row.fields.0)
        .into_iter()
        .filter(|f| supported.contains(f))
        .collect()
}

// ---------------------------------------------------------------------------------------
// push

/// Pushes every dirty client (no link yet, or a version above the confirmed one) in the
/// provider's batch size. Returns `None` when the connection does not push now.
pub async fn push(
    d: &Domain,
    tenant: TenantId,
    connection: Uuid,
) -> SyncResult<Option<RunSummary>> {
    let Some(row) = runnable(d, tenant, connection, SyncKind::Push).await? else {
        return Ok(None);
    };
    recorded(d, row, SyncKind::Push, |d, row, run| {
        Box::pin(push_all(d, row, run))
    })
    .await
    .map(Some)
}

async fn push_all(
    d: &Domain,
    row: &crm_connection::Model,
    run: &mut sync_run::Model,
) -> SyncResult<()> {
    let tenant = TenantId(row.tenant_id);
    let (connector, mut secrets) = connector_for(d, row).await?;
    let fields = mapped_fields(row, connector.as_ref());
    let batch = connector.capabilities().batch_size.clamp(1, 1000) as u64;
    // Keyset over client ids: each dirty client is tried once per run, clients created
    // while the run goes (newer v7 ids) are picked up, refused ones do not loop.
    let mut after = Uuid::nil();
    let mut batches: u64 = 0;
    loop {
        let ids = dirty_ids(&d.db, tenant, row.id, after, batch).await?;
        let Some(last) = ids.last() else { break };
        after = *last;
        let rows = client::Entity::scoped(tenant)
            .filter(client::Column::Id.is_in(ids.clone()))
            .order_by_asc(client::Column::Id)
            .all(&d.db)
            .await?;
        let links = links_by_client(&d.db, tenant, row.id, &ids).await?;
        let contacts: Vec<CrmContact> = rows
            .iter()
            .map(|c| {
                let remote = links.get(&c.id).and_then(|l| l.remote_id.as_deref());
                mapping::to_contact(c, &fields, remote)
            })
            .collect();
        let result = connector.upsert_contacts(&contacts).await;
        save_tokens(d, row, connector.as_ref(), &mut secrets).await?;
        let outcomes = result?;
        if outcomes.len() != rows.len() {
            return Err(SyncError::Crm {
                error: CrmError::Protocol(format!(
                    "{} answered {} results for {} records",
                    row.provider,
                    outcomes.len(),
                    rows.len()
                )),
                transient: true,
                retry_after: None,
            });
        }
        let (pushed, failed) = record_push(d, row, &rows, &links, &outcomes).await?;
        run.pushed += pushed;
        run.failed += failed;
        save_run(d, run).await?;
        batches += 1;
        if batches.is_power_of_two() {
            refresh_link_statistics(&d.db).await?;
        }
    }
    Ok(())
}

/// A first push creates links far faster than PostgreSQL's statistics follow (autovacuum may
/// be slow or off), and lookups planned for a near-empty table then scan it for every batch:
/// refresh them after batches 1, 2, 4, 8... (milliseconds each). SQLite needs nothing.
async fn refresh_link_statistics(db: &impl ConnectionTrait) -> SyncResult<()> {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ANALYZE crm_links")
            .await
            .map_err(DomainError::from)?;
    }
    Ok(())
}

/// How many clients one step of the dirty scan reads.
const DIRTY_SCAN: u64 = 1000;

/// Whether a client at `version` needs pushing, given its link (`synced_version`, and
/// whether the CRM deleted the record): never pushed, or changed since the confirmed version
/// of a record that still exists remotely.
fn is_dirty(version: i64, link: Option<&(i64, bool)>) -> bool {
    match link {
        None => true,
        Some(&(synced, remote_deleted)) => !remote_deleted && synced < version,
    }
}

/// Up to `limit` ids of clients dirty for a connection, after `after`, in id order.
///
/// Two index range scans per step instead of one join: clients by primary key (keyset),
/// then the links of that id range by the unique (connection, client) key. The cost is
/// linear in the clients scanned whatever the planner knows (a join chose whole-table plans
/// on PostgreSQL right after a bulk load, before statistics existed).
async fn dirty_ids(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    connection: Uuid,
    after: Uuid,
    limit: u64,
) -> SyncResult<Vec<Uuid>> {
    let mut found = Vec::new();
    let mut cursor = after;
    let scan = Ord::max(DIRTY_SCAN, limit);
    loop {
        let chunk: Vec<(Uuid, i64)> = client::Entity::scoped(tenant)
            .select_only()
            .column(client::Column::Id)
            .column(client::Column::Version)
            .filter(client::Column::Id.gt(cursor))
            .filter(client::Column::DeletedAt.is_null())
            .filter(client::Column::ErasedAt.is_null())
            .filter(client::Column::MergedIntoId.is_null())
            .order_by_asc(client::Column::Id)
            .limit(scan)
            .into_tuple()
            .all(db)
            .await?;
        let Some(&(last, _)) = chunk.last() else {
            return Ok(found);
        };
        let links: HashMap<Uuid, (i64, bool)> = crm_link::Entity::scoped(tenant)
            .select_only()
            .column(crm_link::Column::ClientId)
            .column(crm_link::Column::SyncedVersion)
            .column(crm_link::Column::RemoteDeletedAt)
            .filter(crm_link::Column::ConnectionId.eq(connection))
            // The chunk's id range, not its ids: a range scan of the unique (connection,
            // client) index, where a long IN list of parameters is compared row by row.
            .filter(crm_link::Column::ClientId.gt(cursor))
            .filter(crm_link::Column::ClientId.lte(last))
            .into_tuple::<(Uuid, i64, Option<chrono::DateTime<chrono::Utc>>)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(id, synced, deleted)| (id, (synced, deleted.is_some())))
            .collect();
        for (id, version) in &chunk {
            if is_dirty(*version, links.get(id)) {
                found.push(*id);
                if found.len() as u64 == limit {
                    return Ok(found);
                }
            }
        }
        if (chunk.len() as u64) < scan {
            return Ok(found);
        }
        cursor = last;
    }
}

async fn links_by_client(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    connection: Uuid,
    clients: &[Uuid],
) -> SyncResult<HashMap<Uuid, crm_link::Model>> {
    Ok(crm_link::Entity::scoped(tenant)
        .filter(crm_link::Column::ConnectionId.eq(connection))
        .filter(crm_link::Column::ClientId.is_in(clients.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.client_id, l))
        .collect())
}

fn new_link(row: &crm_connection::Model, client: Uuid) -> crm_link::Model {
    let now = chrono::Utc::now();
    crm_link::Model {
        id: Uuid::now_v7(),
        tenant_id: row.tenant_id,
        connection_id: row.id,
        client_id: client,
        remote_id: None,
        synced_version: 0,
        last_synced_at: None,
        last_error: None,
        remote_deleted_at: None,
        created_at: now,
        updated_at: now,
    }
}

async fn write_link(
    db: &impl ConnectionTrait,
    link: crm_link::Model,
    exists: bool,
) -> SyncResult<()> {
    let active = link.clone().into_active_model().reset_all();
    if exists {
        crm_link::Entity::scoped_update(TenantId(link.tenant_id))
            .set(active)
            .filter(crm_link::Column::Id.eq(link.id))
            .exec(db)
            .await?;
    } else {
        // A push and a pull of the same connection may link the same client at once: the
        // later one updates the link instead of failing.
        crm_link::Entity::insert(active)
            .on_conflict(link_upsert())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Stores what the CRM answered for one batch, in one transaction: confirmed versions and
/// remote ids, or the CRM's message on refused records (which stay dirty).
async fn record_push(
    d: &Domain,
    row: &crm_connection::Model,
    rows: &[client::Model],
    links: &HashMap<Uuid, crm_link::Model>,
    outcomes: &[UpsertOutcome],
) -> SyncResult<(i32, i32)> {
    let tenant = TenantId(row.tenant_id);
    let now = chrono::Utc::now();
    let txn = d.begin_write().await.map_err(DomainError::from)?;
    // Remote ids this batch answered that another client already holds: a CRM-side duplicate
    // (two Clientele clients matched one record); recorded as an error, never relinked.
    let answered: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.remote_id().map(str::to_owned))
        .collect();
    let taken: HashMap<String, Uuid> = crm_link::Entity::scoped(tenant)
        .filter(crm_link::Column::ConnectionId.eq(row.id))
        .filter(crm_link::Column::RemoteId.is_in(answered))
        .all(&txn)
        .await?
        .into_iter()
        .filter_map(|l| l.remote_id.map(|r| (r, l.client_id)))
        .collect();
    let (mut pushed, mut failed) = (0, 0);
    let mut out = Vec::with_capacity(rows.len());
    for (client, outcome) in rows.iter().zip(outcomes) {
        let existing = links.get(&client.id);
        let mut link = existing
            .cloned()
            .unwrap_or_else(|| new_link(row, client.id));
        link.updated_at = now;
        match outcome {
            UpsertOutcome::Created { remote_id } | UpsertOutcome::Updated { remote_id } => {
                match taken.get(remote_id) {
                    Some(other) if *other != client.id => {
                        link.last_error = Some(format!(
                            "{} matched this client to record {remote_id}, already linked to client {other}",
                            row.provider
                        ));
                        failed += 1;
                    }
                    _ => {
                        link.remote_id = Some(remote_id.clone());
                        // The version that was read and sent: a change made meanwhile keeps
                        // the client dirty.
                        link.synced_version = Ord::max(link.synced_version, client.version);
                        link.last_synced_at = Some(now);
                        link.last_error = None;
                        pushed += 1;
                    }
                }
            }
            UpsertOutcome::Failed { message, .. } => {
                link.last_error = Some(message.clone());
                failed += 1;
            }
        }
        out.push(link);
    }
    write_links(&txn, out).await?;
    txn.commit().await.map_err(DomainError::from)?;
    Ok((pushed, failed))
}

/// Writes a batch's links in one statement: new ones inserted, existing ones (same
/// connection and client) updated in place, so a push and a pull linking the same client at
/// once do not fail.
async fn write_links(db: &impl ConnectionTrait, links: Vec<crm_link::Model>) -> SyncResult<()> {
    if links.is_empty() {
        return Ok(());
    }
    let rows: Vec<crm_link::ActiveModel> = links
        .into_iter()
        .map(|l| l.into_active_model().reset_all())
        .collect();
    crm_link::Entity::insert_many(rows)
        .on_conflict(link_upsert())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// On (connection, client): keep the row, take the sync state.
fn link_upsert() -> sea_orm::sea_query::OnConflict {
    sea_orm::sea_query::OnConflict::columns([
        crm_link::Column::ConnectionId,
        crm_link::Column::ClientId,
    ])
    .update_columns([
        crm_link::Column::RemoteId,
        crm_link::Column::SyncedVersion,
        crm_link::Column::LastSyncedAt,
        crm_link::Column::LastError,
        crm_link::Column::RemoteDeletedAt,
        crm_link::Column::UpdatedAt,
    ])
    .to_owned()
}

// ---------------------------------------------------------------------------------------
// pull

/// Pulls remote changes from the stored cursor, one page per transaction (the page's
/// changes and the cursor after it commit together). Returns `None` when the connection
/// does not pull now.
pub async fn pull(
    d: &Domain,
    tenant: TenantId,
    connection: Uuid,
) -> SyncResult<Option<RunSummary>> {
    let Some(row) = runnable(d, tenant, connection, SyncKind::Pull).await? else {
        return Ok(None);
    };
    recorded(d, row, SyncKind::Pull, |d, row, run| {
        Box::pin(pull_all(d, row, run))
    })
    .await
    .map(Some)
}

async fn pull_all(
    d: &Domain,
    row: &crm_connection::Model,
    run: &mut sync_run::Model,
) -> SyncResult<()> {
    let tenant = TenantId(row.tenant_id);
    let (connector, mut secrets): (Box<dyn CrmConnector>, Secrets) = connector_for(d, row).await?;
    let fields = mapped_fields(row, connector.as_ref());
    let rules = clients::rules_for(&d.db, tenant).await?;
    let mut cursor = row.pull_cursor.clone().map(SyncCursor);
    loop {
        let result = connector.fetch_changes(cursor.clone()).await;
        save_tokens(d, row, connector.as_ref(), &mut secrets).await?;
        let page = result?;
        let txn = d.begin_write().await.map_err(DomainError::from)?;
        let mut changed = Vec::new();
        for contact in &page.contacts {
            match apply_remote(&txn, row, &fields, &rules, contact).await? {
                Applied::Changed(client) => {
                    run.pulled += 1;
                    changed.push(client);
                }
                Applied::Unchanged => run.pulled += 1,
                Applied::Skipped(reason) => {
                    run.failed += 1;
                    tracing::info!(connection = %row.id, %reason, "pulled record skipped");
                }
            }
        }
        if !page.deleted_remote_ids.is_empty() {
            crm_link::Entity::scoped_update(tenant)
                .col_expr(
                    crm_link::Column::RemoteDeletedAt,
                    Expr::value(chrono::Utc::now()),
                )
                .filter(crm_link::Column::ConnectionId.eq(row.id))
                .filter(crm_link::Column::RemoteId.is_in(page.deleted_remote_ids.clone()))
                .filter(crm_link::Column::RemoteDeletedAt.is_null())
                .exec(&txn)
                .await?;
        }
        crm_connection::Entity::scoped_update(tenant)
            .col_expr(
                crm_connection::Column::PullCursor,
                Expr::value(page.next_cursor.0.clone()),
            )
            .filter(crm_connection::Column::Id.eq(row.id))
            .exec(&txn)
            .await?;
        txn.commit().await.map_err(DomainError::from)?;
        for client in changed {
            d.events
                .publish(tenant, DomainEvent::ClientChanged { client_id: client });
        }
        save_run(d, run).await?;
        cursor = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    Ok(())
}

enum Applied {
    Changed(ClientId),
    Unchanged,
    Skipped(String),
}

/// The client a pulled contact belongs to: by link, by the external id Clientele gave it,
/// then by email or phone identity.
async fn match_client(
    db: &impl ConnectionTrait,
    row: &crm_connection::Model,
    region: Region,
    contact: &CrmContact,
) -> SyncResult<(Option<client::Model>, Option<crm_link::Model>)> {
    let tenant = TenantId(row.tenant_id);
    if let Some(remote) = &contact.remote_id {
        let link = crm_link::Entity::scoped(tenant)
            .filter(crm_link::Column::ConnectionId.eq(row.id))
            .filter(crm_link::Column::RemoteId.eq(remote.as_str()))
            .one(db)
            .await?;
        if let Some(link) = link {
            let client = live(db, tenant, link.client_id).await?;
            return Ok((client, Some(link)));
        }
    }
    let mut found = None;
    if let Some(id) = mapping::external_client_id(contact) {
        found = live(db, tenant, id).await?;
    }
    for (kind, value) in [
        (IdentityKind::Email, contact.email.as_deref()),
        (IdentityKind::Phone, contact.phone.as_deref()),
    ] {
        if found.is_some() {
            break;
        }
        let Some(value) = value else { continue };
        let Ok(normal) = identities::normalise(kind, value, region) else {
            continue;
        };
        if let Some(identity) = identities::owner(db, tenant, kind, "", &normal).await? {
            found = live(db, tenant, identity.client_id).await?;
        }
    }
    let link = match &found {
        Some(c) => {
            crm_link::Entity::scoped(tenant)
                .filter(crm_link::Column::ConnectionId.eq(row.id))
                .filter(crm_link::Column::ClientId.eq(c.id))
                .one(db)
                .await?
        }
        None => None,
    };
    Ok((found, link))
}

async fn live(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
) -> SyncResult<Option<client::Model>> {
    match clients::find_live(db, tenant, ClientId(id)).await {
        Ok(c) if c.erased_at.is_none() => Ok(Some(c)),
        Ok(_) | Err(DomainError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Drops filled emails and phones that another client already holds (they would merge two
/// people); reports them as skipped.
async fn keep_unowned(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    merge: &mut mapping::PullMerge,
    before: &client::Model,
) -> SyncResult<()> {
    for (field, kind) in [
        ("email", IdentityKind::Email),
        ("phone", IdentityKind::Phone),
    ] {
        let Some(pos) = merge.changes.iter().position(|c| c.field == field) else {
            continue;
        };
        let value = merge.changes[pos]
            .after
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(owner) = identities::owner(db, tenant, kind, "", &value).await?
            && owner.client_id != merge.next.id
        {
            merge.changes.remove(pos);
            match kind {
                IdentityKind::Email => merge.next.email = before.email.clone(),
                _ => merge.next.phone = before.phone.clone(),
            }
            merge
                .skipped
                .push((field, format!("{value} belongs to another client")));
        }
    }
    Ok(())
}

async fn apply_remote(
    txn: &impl ConnectionTrait,
    row: &crm_connection::Model,
    fields: &[ContactField],
    rules: &clients::TenantRules,
    contact: &CrmContact,
) -> SyncResult<Applied> {
    let tenant = TenantId(row.tenant_id);
    let Some(remote_id) = contact.remote_id.clone() else {
        return Ok(Applied::Skipped("a record without an id".into()));
    };
    let (found, link) = match_client(txn, row, rules.region, contact).await?;
    if let Some(link) = &link
        && link.remote_id.as_deref().is_some_and(|r| r != remote_id)
    {
        return Ok(Applied::Skipped(format!(
            "record {remote_id} matches client {} already linked to record {}",
            link.client_id,
            link.remote_id.as_deref().unwrap_or_default()
        )));
    }
    let actor = crm_actor(row);
    let now = chrono::Utc::now();
    let (client, changed, in_sync_before) = match found {
        Some(before) => {
            let mut merge = mapping::pull_into(&before, contact, fields, rules.region);
            keep_unowned(txn, tenant, &mut merge, &before).await?;
            let in_sync = link
                .as_ref()
                .is_some_and(|l| l.synced_version >= before.version);
            if merge.changes.is_empty() {
                (before, false, in_sync)
            } else {
                let mut next = merge.next;
                clients::fields::refresh_derived(&mut next);
                let next = clients::write_row(txn, tenant, &before, next).await?;
                clients::sync_identities(txn, tenant, Some(&before), &next, "crm").await?;
                timeline::record(
                    txn,
                    tenant,
                    ClientId(next.id),
                    &actor,
                    TimelineKind::Updated,
                    json!({
                        "changes": changes_json(&merge.changes),
                        "source": "crm",
                        "connectionId": row.id,
                        "remoteId": remote_id,
                    }),
                )
                .await?;
                (next, true, in_sync)
            }
        }
        None => {
            if !mapping::identifiable(contact) {
                return Ok(Applied::Skipped(format!(
                    "record {remote_id} has no name, email or phone"
                )));
            }
            let empty = clients::blank(tenant, rules, ClientSource::Crm);
            let mut merge = mapping::pull_into(&empty, contact, fields, rules.region);
            keep_unowned(txn, tenant, &mut merge, &empty).await?;
            let mut next = merge.next;
            if next.first_name.is_none()
                && next.last_name.is_none()
                && next.email.is_none()
                && next.phone.is_none()
            {
                return Ok(Applied::Skipped(format!(
                    "record {remote_id}: nothing usable ({})",
                    merge
                        .skipped
                        .iter()
                        .map(|(f, r)| format!("{f}: {r}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                )));
            }
            clients::fields::refresh_derived(&mut next);
            client::Entity::insert(next.clone().into_active_model().reset_all())
                .exec_without_returning(txn)
                .await?;
            clients::sync_identities(txn, tenant, None, &next, "crm").await?;
            timeline::record(
                txn,
                tenant,
                ClientId(next.id),
                &actor,
                TimelineKind::Created,
                json!({
                    "source": "crm",
                    "connectionId": row.id,
                    "remoteId": remote_id,
                    "fields": changes_json(&merge.changes),
                }),
            )
            .await?;
            (next, true, true)
        }
    };
    let exists = link.is_some();
    let mut link = link.unwrap_or_else(|| new_link(row, client.id));
    link.remote_id = Some(remote_id);
    link.remote_deleted_at = None;
    link.last_synced_at = Some(now);
    link.updated_at = now;
    // What came from the CRM need not go back to it; local changes still pending stay dirty.
    if in_sync_before {
        link.synced_version = client.version;
        link.last_error = None;
    }
    write_link(txn, link, exists).await?;
    Ok(if changed {
        Applied::Changed(ClientId(client.id))
    } else {
        Applied::Unchanged
    })
}

fn changes_json(changes: &[FieldChange]) -> Vec<serde_json::Value> {
    changes
        .iter()
        .map(|c| json!({ "field": c.field, "before": c.before, "after": c.after }))
        .collect()
}

// ---------------------------------------------------------------------------------------
// activities

/// How far back conversation summaries are looked for.
const ACTIVITY_HORIZON: chrono::Duration = chrono::Duration::days(7);
/// Messages quoted in one summary.
const SUMMARY_LINES: u64 = 20;

/// Logs a summary of each conversation of a linked client, once per conversation and UTC
/// day of its latest message. Returns `None` when the connection does not log activities.
pub async fn activities(
    d: &Domain,
    tenant: TenantId,
    connection: Uuid,
) -> SyncResult<Option<RunSummary>> {
    let Some(row) = runnable(d, tenant, connection, SyncKind::Activities).await? else {
        return Ok(None);
    };
    recorded(d, row, SyncKind::Activities, |d, row, run| {
        Box::pin(log_all(d, row, run))
    })
    .await
    .map(Some)
}

async fn log_all(
    d: &Domain,
    row: &crm_connection::Model,
    run: &mut sync_run::Model,
) -> SyncResult<()> {
    let tenant = TenantId(row.tenant_id);
    let since = chrono::Utc::now() - ACTIVITY_HORIZON;
    let conversations = conversation::Entity::scoped(tenant)
        .filter(conversation::Column::ClientId.is_not_null())
        .filter(conversation::Column::LastMessageAt.gte(since))
        .order_by_asc(conversation::Column::LastMessageAt)
        .all(&d.db)
        .await?;
    if conversations.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = conversations
        .iter()
        .filter_map(|c| c.last_message_at.map(|t| mapping::activity_key(c.id, t)))
        .collect();
    let done: HashSet<String> = crm_activity::Entity::scoped(tenant)
        .filter(crm_activity::Column::ConnectionId.eq(row.id))
        .filter(crm_activity::Column::DedupeKey.is_in(keys))
        .all(&d.db)
        .await?
        .into_iter()
        .map(|a| a.dedupe_key)
        .collect();
    let client_ids: Vec<Uuid> = conversations.iter().filter_map(|c| c.client_id).collect();
    let links = links_by_client(&d.db, tenant, row.id, &client_ids).await?;
    let (connector, mut secrets) = connector_for(d, row).await?;
    for conv in conversations {
        let (Some(client_id), Some(last)) = (conv.client_id, conv.last_message_at) else {
            continue;
        };
        let key = mapping::activity_key(conv.id, last);
        if done.contains(&key) {
            continue;
        }
        // Not pushed yet (or deleted in the CRM): a later run logs it once the link exists.
        let Some(remote) = links
            .get(&client_id)
            .filter(|l| l.remote_deleted_at.is_none())
            .and_then(|l| l.remote_id.clone())
        else {
            continue;
        };
        let log = summary(&d.db, tenant, &conv, last, remote, &key).await?;
        let result = connector.log_activity(&log).await;
        save_tokens(d, row, connector.as_ref(), &mut secrets).await?;
        let logged = match result {
            Ok(logged) => logged,
            Err(e @ (CrmError::Validation { .. } | CrmError::Permanent(_))) => {
                run.failed += 1;
                tracing::info!(connection = %row.id, error = %e, "activity refused");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        crm_activity::Entity::insert(crm_activity::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant.0),
            connection_id: Set(row.id),
            dedupe_key: Set(key),
            conversation_id: Set(conv.id),
            client_id: Set(client_id),
            remote_id: Set(logged.remote_id),
            logged_at: Set(chrono::Utc::now()),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                crm_activity::Column::ConnectionId,
                crm_activity::Column::DedupeKey,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&d.db)
        .await?;
        run.logged += 1;
        save_run(d, run).await?;
    }
    Ok(())
}

/// The activity for one conversation day: a subject and the day's last messages.
async fn summary(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    conv: &conversation::Model,
    last: chrono::DateTime<chrono::Utc>,
    remote_contact_id: String,
    key: &str,
) -> SyncResult<ActivityLog> {
    let day = last.date_naive();
    let start = day
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(last);
    let mut messages = message::Entity::scoped(tenant)
        .filter(message::Column::ConversationId.eq(conv.id))
        .filter(message::Column::SentAt.gte(start))
        .order_by_desc(message::Column::SentAt)
        .limit(SUMMARY_LINES)
        .all(db)
        .await?;
    messages.reverse();
    let channel = serde_json::to_value(conv.channel)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "conversation".into());
    let mut body = String::new();
    for m in &messages {
        let who = match m.direction {
            message::Direction::Inbound => "Client",
            _ => "Us",
        };
        let text: String = m.body.as_deref().unwrap_or("").chars().take(300).collect();
        body.push_str(&format!("[{}] {who}: {text}\n", m.sent_at.format("%H:%M")));
    }
    Ok(ActivityLog {
        remote_contact_id,
        dedupe_key: format!("clientele:{key}"),
        subject: format!(
            "{channel} conversation on {day} ({} messages)",
            messages.len()
        ),
        body,
        occurred_at: last,
    })
}

#[cfg(test)]
mod tests {
    use super::is_dirty;

    #[test]
    fn a_client_is_dirty_until_its_version_is_confirmed() {
        assert!(is_dirty(1, None), "never pushed");
        assert!(
            is_dirty(3, Some(&(2, false))),
            "changed since the last push"
        );
        assert!(!is_dirty(2, Some(&(2, false))), "confirmed");
        assert!(!is_dirty(3, Some(&(3, false))));
        assert!(
            !is_dirty(5, Some(&(2, true))),
            "the CRM deleted it: not recreated"
        );
    }
}
