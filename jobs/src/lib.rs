//! Durable background jobs of Clientele: message extraction, CRM push / pull / activity
//! sync, webhook delivery and scheduled syncs.
//!
//! Jobs are stored in apalis's storage tables (apalis-sqlite's `Jobs`/`Workers` on SQLite,
//! apalis-postgres's `apalis.jobs`/`apalis.workers` on PostgreSQL), created by apalis's own
//! migrations. Claiming, retries and recovery are done here with SQL over those tables, so
//! that the runtime offers what apalis 1.0's worker does not: durable exponential backoff
//! with jitter and `Retry-After`, permanent versus transient errors, failed jobs visible
//! with their error, admin listing per tenant, and retry of failed jobs.
//!
//! Why not apalis's own worker loop (checked against the apalis 1.0.0 sources): on a
//! failed task, apalis-sqlite's `ack.sql` and apalis-postgres's `handle_result.sql` set the
//! status and attempt count but never `run_at`, and their `fetch_next` takes `Failed` tasks
//! with attempts left at once, so a backoff (and `Retry-After`) could only be an in-process
//! sleep (tower `RetryPolicy`) that holds a worker slot and is forgotten on a crash; the
//! idempotency index on `(job_type, idempotency_key)` is not partial, so "one unfinished
//! job per key" needs the key cleared on finished jobs; and listing failed jobs per tenant
//! or retrying one has no API. So the tables, migrations and status vocabulary are
//! apalis's (an apalis worker or board can read them), and claiming (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL), heartbeats, orphan recovery and outcomes are SQL in this crate.
//!
//! Wiring:
//! ```no_run
//! # use std::sync::Arc;
//! # use clientele_jobs::*;
//! # async fn wire(handlers: Arc<dyn JobHandlers>) -> Result<(), JobsError> {
//! let jobs = Jobs::connect("sqlite:data/jobs.db", JobsConfig::default()).await?;
//! let workers = Workers::start(&jobs, handlers, WorkerConfig::default()).await?;
//! jobs.enqueue_extract(ExtractMessage {
//!     tenant_id: uuid::Uuid::nil(),
//!     message_id: uuid::Uuid::nil(),
//! })
//! .await?;
//! workers.run_until(async { let _ = tokio::signal::ctrl_c().await; }).await;
//! # Ok(())
//! # }
//! ```
//!
//! Semantics: at least once. A claimed job is fenced by its worker id; a worker that stops
//! heartbeating for `orphan_timeout` has its running jobs returned to pending, so a process
//! killed mid-job loses nothing. Handlers must be idempotent.

mod config;
mod error;
mod handlers;
mod model;
mod retry;
mod schedule;
mod store;
mod worker;

pub use config::{JobsConfig, WorkerConfig};
pub use error::{JobError, JobsError};
pub use handlers::{JobContext, JobHandlers};
pub use model::{
    DeliverWebhook, ExtractMessage, Job, JobFilter, JobInfo, JobKind, JobScope, JobStatus,
    PullChanges, PurgeRetention, PushActivities, PushClients,
};
pub use retry::{backoff_ceiling, retry_delay};
pub use schedule::{ScheduledConnection, due, last_fire_time, parse_cron};
pub use store::{JobRow, Jobs, JobsDb};
pub use worker::Workers;
