//! What the application implements: one handler per job kind, plus the sync schedule.

use async_trait::async_trait;

use crate::error::JobError;
use crate::model::{
    DeliverWebhook, ExtractMessage, Job, JobKind, PullChanges, PurgeRetention, PushActivities,
    PushClients,
};
use crate::schedule::ScheduledConnection;

/// Facts about the attempt a handler is running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobContext {
    /// Id of the job (stable across attempts).
    pub job_id: String,
    /// Kind of the job.
    pub kind: JobKind,
    /// This attempt's number, 1 for the first run (an attempt cut short by a crash counts).
    pub attempt: u32,
    /// Attempts allowed before the job fails.
    pub max_attempts: u32,
}

/// The application's job handlers. Every job may run more than once (after a crash or a
/// lost acknowledgement), so handlers must be idempotent.
#[async_trait]
pub trait JobHandlers: Send + Sync + 'static {
    /// Runs an [`ExtractMessage`] job.
    async fn extract_message(&self, ctx: &JobContext, job: ExtractMessage) -> Result<(), JobError>;
    /// Runs a [`PushClients`] job.
    async fn push_clients(&self, ctx: &JobContext, job: PushClients) -> Result<(), JobError>;
    /// Runs a [`PullChanges`] job.
    async fn pull_changes(&self, ctx: &JobContext, job: PullChanges) -> Result<(), JobError>;
    /// Runs a [`PushActivities`] job.
    async fn push_activities(&self, ctx: &JobContext, job: PushActivities) -> Result<(), JobError>;
    /// Runs a [`DeliverWebhook`] job.
    async fn deliver_webhook(&self, ctx: &JobContext, job: DeliverWebhook) -> Result<(), JobError>;
    /// Runs a [`PurgeRetention`] job (default: fails, for applications without retention).
    async fn purge_retention(
        &self,
        _ctx: &JobContext,
        _job: PurgeRetention,
    ) -> Result<(), JobError> {
        Err(JobError::permanent("no retention handler in this build"))
    }
    /// Tenants whose retention policy the cron tick runs once a day (default: none).
    async fn retention_tenants(&self) -> Vec<uuid::Uuid> {
        vec![]
    }
    /// Connections with a sync schedule, read by the cron tick (default: none).
    async fn scheduled_connections(&self) -> Vec<ScheduledConnection> {
        vec![]
    }
}

/// Calls the handler of `job`'s kind.
pub(crate) async fn dispatch(
    handlers: &dyn JobHandlers,
    ctx: &JobContext,
    job: Job,
) -> Result<(), JobError> {
    match job {
        Job::ExtractMessage(j) => handlers.extract_message(ctx, j).await,
        Job::PushClients(j) => handlers.push_clients(ctx, j).await,
        Job::PullChanges(j) => handlers.pull_changes(ctx, j).await,
        Job::PushActivities(j) => handlers.push_activities(ctx, j).await,
        Job::DeliverWebhook(j) => handlers.deliver_webhook(ctx, j).await,
        Job::PurgeRetention(j) => handlers.purge_retention(ctx, j).await,
    }
}
