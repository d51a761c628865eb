//! Background jobs, wired: the job store, the domain's queue over it, the handlers that call
//! one domain function per job, the sweep that re-enqueues messages left pending, and the
//! notification relay.

use crate::config::Config;
use async_trait::async_trait;
use clientele_domain::crm::sync::{self, SyncError};
use clientele_domain::entities::sync_run::SyncKind;
use clientele_domain::queue::JobQueue;
use clientele_domain::{Domain, DomainError, TenantId, crm, extraction, notifications, retention};
use clientele_jobs::{
    DeliverWebhook, ExtractMessage, JobContext, JobError, JobHandlers, Jobs, JobsConfig, JobsDb,
    PullChanges, PurgeRetention, PushActivities, PushClients, ScheduledConnection, WorkerConfig,
    Workers,
};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Expr, InsertStatement};
use sea_orm::{DatabaseConnection, DbBackend};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Messages pending longer than this are re-enqueued by the sweep.
const SWEEP_AFTER: Duration = Duration::from_secs(60);
const SWEEP_EVERY: Duration = Duration::from_secs(60);
const SWEEP_BATCH: u64 = 1000;

/// Opens the job store: the configured jobs database, else the main database (the same
/// SQLite file, or the `apalis` schema of the same PostgreSQL database).
pub async fn open(config: &Config, db: &DatabaseConnection) -> anyhow::Result<Jobs> {
    let jobs_config = JobsConfig::default();
    // SQLite: a pool of the jobs' own on the same file (apalis's setup changes connection
    // settings that the app's pool must keep). PostgreSQL: the app's pool, schema `apalis`.
    let jobs = match (&config.workers.database_url, db.get_database_backend()) {
        (Some(url), _) => Jobs::connect(url, jobs_config).await?,
        (None, DbBackend::Postgres) => {
            let pool = JobsDb::Postgres(db.get_postgres_connection_pool().clone());
            Jobs::open(&pool, jobs_config).await?
        }
        (None, _) => Jobs::connect(&config.database_url, jobs_config).await?,
    };
    Ok(jobs)
}

/// The domain's queue: hands committed work to the job store.
pub struct Queue {
    jobs: Jobs,
    /// The job store lives in the application's database (no jobs database of its own), so in
    /// its dialect too: an inbound message's extraction job is inserted in the message's
    /// transaction.
    same_database: bool,
}

impl Queue {
    pub fn new(config: &Config, jobs: Jobs) -> Queue {
        Queue {
            jobs,
            same_database: config.workers.database_url.is_none(),
        }
    }
}

impl JobQueue for Queue {
    fn extraction_insert(
        &self,
        tenant: TenantId,
        message: uuid::Uuid,
        only_if: Option<Expr>,
    ) -> Option<InsertStatement> {
        if !self.same_database {
            return None;
        }
        // A job that cannot be built here is enqueued after the commit instead
        // (`message_stored`), which reports the error.
        let row = self
            .jobs
            .extract_row(ExtractMessage {
                tenant_id: tenant.0,
                message_id: message,
            })
            .ok()?;
        Some(row.insert(only_if))
    }

    fn extraction_committed(&self) {
        self.jobs.notify_enqueued();
    }

    fn message_stored(
        &self,
        tenant: TenantId,
        message: uuid::Uuid,
    ) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.jobs
                .enqueue_extract(ExtractMessage {
                    tenant_id: tenant.0,
                    message_id: message,
                })
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    fn crm_sync(
        &self,
        tenant: TenantId,
        connection: uuid::Uuid,
        kind: SyncKind,
    ) -> BoxFuture<'_, Result<Option<String>, String>> {
        let (tenant_id, connection_id) = (tenant.0, connection);
        Box::pin(async move {
            let queued = match kind {
                SyncKind::Push => {
                    self.jobs
                        .enqueue_push_clients(PushClients {
                            tenant_id,
                            connection_id,
                        })
                        .await
                }
                SyncKind::Pull => {
                    self.jobs
                        .enqueue_pull_changes(PullChanges {
                            tenant_id,
                            connection_id,
                        })
                        .await
                }
                SyncKind::Activities => {
                    self.jobs
                        .enqueue_push_activities(PushActivities {
                            tenant_id,
                            connection_id,
                        })
                        .await
                }
            };
            queued.map_err(|e| e.to_string())
        })
    }

    fn webhook_due(
        &self,
        tenant: TenantId,
        delivery: uuid::Uuid,
    ) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.jobs
                .enqueue_webhook(DeliverWebhook {
                    tenant_id: tenant.0,
                    delivery_id: delivery,
                })
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

/// What each job does: one domain call, its error sorted into retry-worthy or not.
pub struct Handlers {
    pub domain: Domain,
}

fn job_error(e: DomainError) -> JobError {
    match e {
        DomainError::NotFound { .. } | DomainError::Invalid { .. } | DomainError::Forbidden(_) => {
            JobError::permanent(e.to_string())
        }
        // Database trouble and concurrent writers: worth another attempt.
        DomainError::Conflict(_) | DomainError::Database(_) => JobError::transient(e.to_string()),
    }
}

#[async_trait]
impl JobHandlers for Handlers {
    async fn extract_message(&self, ctx: &JobContext, job: ExtractMessage) -> Result<(), JobError> {
        let tenant = TenantId(job.tenant_id);
        match extraction::process_message(&self.domain, tenant, job.message_id).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let error = job_error(e);
                let last =
                    matches!(error, JobError::Permanent { .. }) || ctx.attempt >= ctx.max_attempts;
                if last {
                    // The job ends failed; the message says so, and the sweep leaves it alone
                    // until an admin retries the job.
                    let _ = extraction::mark_failed(&self.domain, tenant, job.message_id).await;
                }
                Err(error)
            }
        }
    }

    async fn push_clients(&self, _: &JobContext, job: PushClients) -> Result<(), JobError> {
        let tenant = TenantId(job.tenant_id);
        sync::push(&self.domain, tenant, job.connection_id)
            .await
            .map_err(sync_error)?;
        // Summaries go out right after the clients they belong to.
        sync::activities(&self.domain, tenant, job.connection_id)
            .await
            .map_err(sync_error)?;
        Ok(())
    }

    async fn pull_changes(&self, _: &JobContext, job: PullChanges) -> Result<(), JobError> {
        sync::pull(&self.domain, TenantId(job.tenant_id), job.connection_id)
            .await
            .map(|_| ())
            .map_err(sync_error)
    }

    async fn push_activities(&self, _: &JobContext, job: PushActivities) -> Result<(), JobError> {
        sync::activities(&self.domain, TenantId(job.tenant_id), job.connection_id)
            .await
            .map(|_| ())
            .map_err(sync_error)
    }

    async fn scheduled_connections(&self) -> Vec<ScheduledConnection> {
        match crm::scheduled(&self.domain.db).await {
            Ok(rows) => rows
                .into_iter()
                .filter_map(|row| {
                    Some(ScheduledConnection {
                        tenant_id: row.tenant_id,
                        connection_id: row.id,
                        cron: row.schedule?,
                    })
                })
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "could not read scheduled CRM connections");
                vec![]
            }
        }
    }

    async fn purge_retention(&self, _: &JobContext, job: PurgeRetention) -> Result<(), JobError> {
        retention::scheduled(&self.domain, TenantId(job.tenant_id))
            .await
            .map(|_| ())
            .map_err(job_error)
    }

    async fn retention_tenants(&self) -> Vec<uuid::Uuid> {
        match retention::tenants_with_policy(&self.domain.db).await {
            Ok(tenants) => tenants.into_iter().map(|t| t.0).collect(),
            Err(error) => {
                tracing::warn!(%error, "could not read retention policies");
                vec![]
            }
        }
    }

    /// One attempt; a failed attempt schedules the next on the delivery itself (the relay
    /// enqueues it when due), so the job ends either way.
    async fn deliver_webhook(&self, _: &JobContext, job: DeliverWebhook) -> Result<(), JobError> {
        notifications::deliver(&self.domain, TenantId(job.tenant_id), job.delivery_id)
            .await
            .map(|_| ())
            .map_err(job_error)
    }
}

/// A sync failure as a job outcome: CRM errors that may pass (5xx, timeouts, short-window
/// rate limits) retry, honouring `Retry-After`; the rest (revoked tokens, bad configuration,
/// daily allowance spent) fail the job at once and show on the run and the connection.
fn sync_error(e: SyncError) -> JobError {
    match e {
        SyncError::Domain(e) => job_error(e),
        SyncError::Crm {
            error,
            transient: true,
            retry_after,
        } => JobError::Transient {
            message: error.to_string(),
            retry_after,
        },
        SyncError::Crm { error, .. } => JobError::permanent(error.to_string()),
    }
}

/// Running workers and the sweep beside them.
pub struct RunningWorkers {
    workers: Workers,
    sweep: JoinHandle<()>,
    relay: JoinHandle<()>,
}

impl RunningWorkers {
    /// Stops taking jobs and lets in-flight ones finish (or returns them to the queue).
    pub async fn shutdown(self) {
        self.sweep.abort();
        self.relay.abort();
        self.workers.shutdown().await;
    }
}

/// Starts workers over `jobs` for `domain`, and the sweep.
pub async fn start(config: &Config, jobs: &Jobs, domain: Domain) -> anyhow::Result<RunningWorkers> {
    let handlers = Arc::new(Handlers {
        domain: domain.clone(),
    });
    let workers = Workers::start(
        jobs,
        handlers,
        WorkerConfig {
            concurrency: config.workers.concurrency,
            poll_interval: Duration::from_millis(200),
            cron_tick: Some(config.workers.cron_tick),
            ..WorkerConfig::default()
        },
    )
    .await?;
    let sweep = tokio::spawn(sweep(jobs.clone(), domain.clone()));
    let relay = tokio::spawn(relay(jobs.clone(), domain, config.webhooks.relay_every));
    Ok(RunningWorkers {
        workers,
        sweep,
        relay,
    })
}

/// Re-enqueues messages still pending a while after they arrived (their enqueue failed, or
/// they predate the workers). Enqueueing is deduplicated per message.
async fn sweep(jobs: Jobs, domain: Domain) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        let older_than = chrono::Utc::now()
            - chrono::Duration::from_std(SWEEP_AFTER).unwrap_or(chrono::Duration::zero());
        match extraction::stale_pending(&domain.db, older_than, SWEEP_BATCH).await {
            Ok(found) => {
                for (tenant, message) in found {
                    let job = ExtractMessage {
                        tenant_id: tenant.0,
                        message_id: message,
                    };
                    if let Err(error) = jobs.enqueue_extract(job).await {
                        tracing::warn!(%error, "sweep could not enqueue extraction");
                        break;
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "sweep could not read pending messages"),
        }
    }
}

/// The notification relay: announces committed notifications on the event bus (once each,
/// even with several workers) and hands due webhook deliveries (first attempts, retries whose
/// time came, attempts whose worker died) to DeliverWebhook jobs, deduplicated per delivery.
async fn relay(jobs: Jobs, domain: Domain, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = notifications::publish_pending(&domain, SWEEP_BATCH).await {
            tracing::warn!(%error, "relay could not announce notifications");
        }
        match notifications::hand_over_due(&domain, SWEEP_BATCH).await {
            Ok(due) => {
                for (tenant, delivery) in due {
                    let job = DeliverWebhook {
                        tenant_id: tenant.0,
                        delivery_id: delivery,
                    };
                    if let Err(error) = jobs.enqueue_webhook(job).await {
                        tracing::warn!(%error, "relay could not enqueue a webhook delivery");
                        break;
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "relay could not read due deliveries"),
        }
    }
}
