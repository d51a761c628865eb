//! The job store: apalis's storage tables on SQLite or PostgreSQL, enqueueing and admin views.

mod convert;
mod postgres;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, InsertStatement, OnConflict, Query, TableRef};
use sqlx::{PgPool, SqlitePool};

pub(crate) use convert::RawJob;
use convert::{info, status_label};

use crate::config::JobsConfig;
use crate::error::JobsError;
use crate::model::{
    DeliverWebhook, ExtractMessage, Job, JobFilter, JobInfo, JobKind, JobScope, PullChanges,
    PushActivities, PushClients,
};

/// `worker_type` of our rows in apalis's workers table.
pub(crate) const WORKER_TYPE: &str = "clientele";

/// SQL deriving a [`JobStatus`] label from apalis's status and the attempt count.
pub(crate) const DERIVED_STATUS: &str = "(CASE WHEN status = 'Pending' AND attempts > 0 \
    THEN 'Retrying' WHEN status IN ('Running', 'Queued') THEN 'Running' \
    WHEN status = 'Killed' THEN 'Failed' ELSE status END)";

/// A database pool the job store can live in.
#[derive(Debug, Clone)]
pub enum JobsDb {
    /// SQLite: apalis's `Jobs`/`Workers` tables in that file.
    Sqlite(SqlitePool),
    /// PostgreSQL: apalis's `apalis` schema.
    Postgres(PgPool),
}

/// Handle on the durable job store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Jobs {
    db: JobsDb,
    config: JobsConfig,
    /// Wakes this process's idle workers when a job is enqueued through this handle (or a
    /// clone), instead of leaving it until their next poll; other processes' workers poll.
    pub(crate) wake: Arc<Notify>,
}

/// A job insert to run in a statement or transaction of the caller's own, on the database
/// this store lives in ([`Jobs::extract_row`]): see [`JobRow::insert`].
#[derive(Debug, Clone)]
pub struct JobRow {
    pub payload: Vec<u8>,
    pub id: String,
    pub queue: &'static str,
    pub max_attempts: i32,
    pub key: String,
    /// SQLite: Unix seconds. `None` on PostgreSQL (`NOW()`).
    pub run_at: Option<i64>,
}

impl JobRow {
    /// The insert, in the store's dialect (the same row as the store's own enqueue: pending,
    /// no attempts, skipped when another job of its kind holds the key). With `only_if` it
    /// inserts only when that condition holds (`INSERT ... SELECT ... WHERE`), so that it can
    /// be a part of a larger statement, such as a common table expression on PostgreSQL.
    pub fn insert(&self, only_if: Option<Expr>) -> InsertStatement {
        let (table, run_at) = match self.run_at {
            None => (
                TableRef::from((Alias::new("apalis"), Alias::new("jobs"))),
                Expr::cust("NOW()"),
            ),
            Some(secs) => (TableRef::from(Alias::new("Jobs")), Expr::val(secs)),
        };
        let values = [
            Expr::val(self.payload.clone()),
            Expr::val(self.id.clone()),
            Expr::val(self.queue),
            Expr::val("Pending"),
            Expr::val(0i32),
            Expr::val(self.max_attempts),
            run_at,
            Expr::val(0i32),
            Expr::val(self.key.clone()),
        ];
        let mut insert = Query::insert();
        insert.into_table(table).columns(
            [
                "job",
                "id",
                "job_type",
                "status",
                "attempts",
                "max_attempts",
                "run_at",
                "priority",
                "idempotency_key",
            ]
            .map(Alias::new),
        );
        match only_if {
            Some(condition) => {
                let select = Query::select()
                    .exprs(values)
                    .and_where(condition)
                    .to_owned();
                insert
                    .select_from(select)
                    .expect("the select has one expression per column");
            }
            None => {
                insert.values_panic(values);
            }
        }
        insert.on_conflict(
            OnConflict::columns([Alias::new("job_type"), Alias::new("idempotency_key")])
                .do_nothing()
                .to_owned(),
        );
        insert
    }
}

/// A job to insert as pending, unless another job of its kind holds `key`.
pub(crate) struct NewJob<'a> {
    pub(crate) id: &'a str,
    pub(crate) queue: &'a str,
    pub(crate) payload: &'a [u8],
    pub(crate) max_attempts: u32,
    pub(crate) key: Option<&'a str>,
}

/// The idempotency key of a message's extraction job.
fn extract_key(job: &ExtractMessage) -> String {
    format!("extract:{}", job.message_id)
}

/// A job claimed by a worker.
#[derive(Debug)]
pub(crate) struct Claimed {
    pub(crate) id: String,
    pub(crate) kind: JobKind,
    pub(crate) payload: Vec<u8>,
    pub(crate) attempts: u32,
    pub(crate) max_attempts: u32,
}

/// Parameters of a listing, already in SQL form.
#[derive(Debug)]
pub(crate) struct ListQuery<'a> {
    pub(crate) tenant: Option<String>,
    pub(crate) queue: Option<&'static str>,
    pub(crate) status: Option<&'static str>,
    pub(crate) after: Option<&'a str>,
    pub(crate) limit: i64,
}

pub(crate) fn kind_of(job_type: &str) -> Result<JobKind, JobsError> {
    JobKind::from_queue(job_type).ok_or_else(|| {
        JobsError::Database(sqlx::Error::Decode(
            format!("unknown job type {job_type}").into(),
        ))
    })
}

impl Jobs {
    /// Connects by URL (`sqlite:...` or `postgres://...`), runs apalis's migrations and
    /// opens the store's own pool (`config.max_connections`).
    pub async fn connect(database_url: &str, config: JobsConfig) -> Result<Jobs, JobsError> {
        let db = if database_url.starts_with("sqlite:") {
            JobsDb::Sqlite(sqlite::connect(database_url, config.max_connections).await?)
        } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
            JobsDb::Postgres(postgres::connect(database_url, config.max_connections).await?)
        } else {
            return Err(JobsError::UnsupportedUrl(database_url.to_owned()));
        };
        Ok(Jobs {
            db,
            config,
            wake: Arc::default(),
        })
    }

    /// Uses an existing pool and runs apalis's migrations on it. Prefer [`Jobs::connect`]
    /// for SQLite: apalis's setup sets `synchronous = OFF` on the connection it runs on.
    pub async fn open(db: &JobsDb, config: JobsConfig) -> Result<Jobs, JobsError> {
        match db {
            JobsDb::Sqlite(pool) => apalis_sqlite::SqliteStorage::setup(pool).await?,
            JobsDb::Postgres(pool) => {
                apalis_postgres::PostgresStorage::setup(pool).await?;
                postgres::adapt(pool).await?;
            }
        }
        Ok(Jobs {
            db: db.clone(),
            config,
            wake: Arc::default(),
        })
    }

    /// The configuration this store was opened with.
    pub fn config(&self) -> &JobsConfig {
        &self.config
    }

    /// The pool the store uses.
    pub fn db(&self) -> &JobsDb {
        &self.db
    }

    fn max_attempts(&self) -> u32 {
        self.config.max_attempts.max(1)
    }

    async fn insert(
        &self,
        job: &Job,
        key: Option<&str>,
        reuse_finished_key: bool,
    ) -> Result<Option<String>, JobsError> {
        let id = ulid::Ulid::generate().to_string();
        let payload = job.payload()?;
        let new = NewJob {
            id: &id,
            queue: job.kind().queue(),
            payload: &payload,
            max_attempts: self.max_attempts(),
            key,
        };
        // Most keys are new: one statement, no transaction around it.
        let mut inserted = match &self.db {
            JobsDb::Sqlite(p) => sqlite::insert(p, &new).await?,
            JobsDb::Postgres(p) => postgres::insert(p, &new).await?,
        };
        // The key is taken. By a finished job, when that may be reused: free the key and
        // insert. By an unfinished one: deduplicated.
        if let (false, Some(key), true) = (inserted, key, reuse_finished_key) {
            inserted = match &self.db {
                JobsDb::Sqlite(p) => sqlite::free_key_and_insert(p, &new, key).await?,
                JobsDb::Postgres(p) => postgres::free_key_and_insert(p, &new, key).await?,
            };
        }
        if inserted {
            self.wake.notify_one();
        }
        Ok(inserted.then_some(id))
    }

    /// Enqueues a job to run as soon as a worker is free; returns its id.
    pub async fn enqueue(&self, job: impl Into<Job>) -> Result<String, JobsError> {
        let id = self.insert(&job.into(), None, false).await?;
        id.ok_or_else(|| JobsError::Database(sqlx::Error::RowNotFound))
    }

    /// Enqueues a job unless an unfinished (pending, retrying or running) job of the same
    /// kind has the same `dedupe_key`. Returns the new id, or `None` when deduplicated.
    pub async fn enqueue_unique(
        &self,
        job: impl Into<Job>,
        dedupe_key: &str,
    ) -> Result<Option<String>, JobsError> {
        self.insert(&job.into(), Some(dedupe_key), true).await
    }

    /// Enqueues a job unless any job of the same kind ever had `key` (until purged); used
    /// by the cron tick so that two workers never enqueue the same scheduled slot.
    pub(crate) async fn enqueue_once(
        &self,
        job: impl Into<Job>,
        key: &str,
    ) -> Result<Option<String>, JobsError> {
        self.insert(&job.into(), Some(key), false).await
    }

    /// Enqueues an [`ExtractMessage`], deduplicated per message.
    pub async fn enqueue_extract(&self, job: ExtractMessage) -> Result<Option<String>, JobsError> {
        self.enqueue_unique(job, &extract_key(&job)).await
    }

    /// The insert of an [`ExtractMessage`] for the caller to run in its own transaction on the
    /// database this store lives in, so that a message and its job commit together.
    /// Deduplicated per message like [`Jobs::enqueue_extract`] (message ids are new, so a
    /// finished job never holds the key). Call [`Jobs::notify_enqueued`] after the commit.
    pub fn extract_row(&self, job: ExtractMessage) -> Result<JobRow, JobsError> {
        let key = extract_key(&job);
        let job = Job::from(job);
        let max_attempts = i32::try_from(self.max_attempts()).unwrap_or(i32::MAX);
        let run_at = match &self.db {
            JobsDb::Postgres(_) => None,
            JobsDb::Sqlite(_) => Some(Utc::now().timestamp()),
        };
        Ok(JobRow {
            payload: job.payload()?,
            id: ulid::Ulid::generate().to_string(),
            queue: job.kind().queue(),
            max_attempts,
            key,
            run_at,
        })
    }

    /// Wakes this process's idle workers after a commit that enqueued through
    /// [`Jobs::extract_row`].
    pub fn notify_enqueued(&self) {
        self.wake.notify_one();
    }

    /// Enqueues a [`PushClients`], deduplicated per connection while one is unfinished.
    pub async fn enqueue_push_clients(
        &self,
        job: PushClients,
    ) -> Result<Option<String>, JobsError> {
        self.enqueue_unique(job, &format!("push:{}", job.connection_id))
            .await
    }

    /// Enqueues a [`PullChanges`], deduplicated per connection while one is unfinished.
    pub async fn enqueue_pull_changes(
        &self,
        job: PullChanges,
    ) -> Result<Option<String>, JobsError> {
        self.enqueue_unique(job, &format!("pull:{}", job.connection_id))
            .await
    }

    /// Enqueues a [`PushActivities`], deduplicated per connection while one is unfinished.
    pub async fn enqueue_push_activities(
        &self,
        job: PushActivities,
    ) -> Result<Option<String>, JobsError> {
        self.enqueue_unique(job, &format!("activities:{}", job.connection_id))
            .await
    }

    /// Enqueues a [`DeliverWebhook`], deduplicated per delivery.
    pub async fn enqueue_webhook(&self, job: DeliverWebhook) -> Result<Option<String>, JobsError> {
        self.enqueue_unique(job, &format!("webhook:{}", job.delivery_id))
            .await
    }

    /// Lists jobs newest first, restricted to `scope`'s tenant when it has one.
    pub async fn list_jobs(
        &self,
        scope: JobScope,
        filter: &JobFilter,
    ) -> Result<Vec<JobInfo>, JobsError> {
        let q = ListQuery {
            tenant: scope.tenant_id.map(|t| t.to_string()),
            queue: filter.kind.map(JobKind::queue),
            status: filter.status.map(status_label),
            after: filter.after.as_deref(),
            limit: i64::from(filter.first.clamp(1, 500)),
        };
        let rows = match &self.db {
            JobsDb::Sqlite(p) => sqlite::list(p, &q).await?,
            JobsDb::Postgres(p) => postgres::list(p, &q).await?,
        };
        rows.into_iter().map(info).collect()
    }

    /// One job by id (any tenant: check [`JobInfo::tenant_id`] or use
    /// [`Jobs::get_job_scoped`] for tenant admins).
    pub async fn get_job(&self, id: &str) -> Result<Option<JobInfo>, JobsError> {
        let raw = match &self.db {
            JobsDb::Sqlite(p) => sqlite::get(p, id).await?,
            JobsDb::Postgres(p) => postgres::get(p, id).await?,
        };
        raw.map(info).transpose()
    }

    /// One job by id if it is visible in `scope`.
    pub async fn get_job_scoped(
        &self,
        scope: JobScope,
        id: &str,
    ) -> Result<Option<JobInfo>, JobsError> {
        let job = self.get_job(id).await?;
        Ok(job.filter(|j| scope.tenant_id.is_none() || j.tenant_id == scope.tenant_id))
    }

    /// Makes a failed job pending again with a fresh attempt budget (its last error stays
    /// visible until the next attempt). Returns whether a failed job was found.
    pub async fn retry_job(&self, id: &str) -> Result<bool, JobsError> {
        let retried = match &self.db {
            JobsDb::Sqlite(p) => sqlite::retry(p, id).await?,
            JobsDb::Postgres(p) => postgres::retry(p, id).await?,
        };
        if retried {
            self.wake.notify_one();
        }
        Ok(retried)
    }

    /// [`Jobs::retry_job`] for a job visible in `scope` only.
    pub async fn retry_job_scoped(&self, scope: JobScope, id: &str) -> Result<bool, JobsError> {
        if self.get_job_scoped(scope, id).await?.is_none() {
            return Ok(false);
        }
        self.retry_job(id).await
    }

    /// Deletes done and failed jobs that finished more than `older_than` ago, and worker rows
    /// silent for that long (at least an hour) that no job refers to; returns the number of
    /// jobs deleted.
    pub async fn purge_finished(&self, older_than: Duration) -> Result<u64, JobsError> {
        let age = chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
        let before = Utc::now()
            .checked_sub_signed(age)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let workers_before = before.min(Utc::now() - chrono::Duration::hours(1));
        match &self.db {
            JobsDb::Sqlite(p) => sqlite::purge(p, before, workers_before).await,
            JobsDb::Postgres(p) => postgres::purge(p, before, workers_before).await,
        }
    }

    pub(crate) async fn register_worker(&self, worker: &str) -> Result<(), JobsError> {
        match &self.db {
            JobsDb::Sqlite(p) => sqlite::register_worker(p, worker).await,
            JobsDb::Postgres(p) => postgres::register_worker(p, worker).await,
        }
    }

    pub(crate) async fn heartbeat(&self, worker: &str) -> Result<(), JobsError> {
        match &self.db {
            JobsDb::Sqlite(p) => sqlite::heartbeat(p, worker).await,
            JobsDb::Postgres(p) => postgres::heartbeat(p, worker).await,
        }
    }

    /// Returns jobs of workers silent for `orphan_timeout` to pending.
    pub(crate) async fn recover_orphans(&self) -> Result<u64, JobsError> {
        let timeout = self.config.orphan_timeout;
        match &self.db {
            JobsDb::Sqlite(p) => sqlite::recover_orphans(p, timeout).await,
            JobsDb::Postgres(p) => postgres::recover_orphans(p, timeout).await,
        }
    }

    pub(crate) async fn claim(
        &self,
        worker: &str,
        kinds: &[JobKind],
        limit: usize,
    ) -> Result<Vec<Claimed>, JobsError> {
        let queues: Vec<&str> = kinds.iter().map(|k| k.queue()).collect();
        match &self.db {
            JobsDb::Sqlite(p) => sqlite::claim(p, worker, &queues, limit).await,
            JobsDb::Postgres(p) => postgres::claim(p, worker, &queues, limit).await,
        }
    }

    /// Records the outcome of a claimed job; `next_run` reschedules it as pending.
    pub(crate) async fn finish(
        &self,
        id: &str,
        worker: &str,
        status: &str,
        result: &serde_json::Value,
        next_run: Option<DateTime<Utc>>,
    ) -> Result<bool, JobsError> {
        match &self.db {
            JobsDb::Sqlite(p) => sqlite::finish(p, id, worker, status, result, next_run).await,
            JobsDb::Postgres(p) => postgres::finish(p, id, worker, status, result, next_run).await,
        }
    }

    pub(crate) async fn release(&self, id: &str, worker: &str) -> Result<(), JobsError> {
        match &self.db {
            JobsDb::Sqlite(p) => sqlite::release(p, id, worker).await,
            JobsDb::Postgres(p) => postgres::release(p, id, worker).await,
        }
    }
}
