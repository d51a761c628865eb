//! PostgreSQL queries over apalis-postgres's `apalis.jobs` and `apalis.workers` tables.

use std::time::Duration;

use chrono::{DateTime, Utc};
use std::str::FromStr;

use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions};
use sqlx::query::Query;
use sqlx::{ConnectOptions, PgPool, Postgres, Row};

use super::{Claimed, DERIVED_STATUS, ListQuery, NewJob, RawJob, WORKER_TYPE, kind_of};
use crate::error::JobsError;

/// Opens the store's own small pool and runs apalis's migrations (schema `apalis`).
pub(super) async fn connect(url: &str, max_connections: u32) -> Result<PgPool, JobsError> {
    // Workers poll: keep their statements out of INFO logs.
    let options = PgConnectOptions::from_str(url)?
        .log_statements(log::LevelFilter::Trace)
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(1));
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .connect_with(options)
        .await?;
    apalis_postgres::PostgresStorage::setup(&pool).await?;
    adapt(&pool).await?;
    Ok(pool)
}

/// What this crate changes in apalis's schema once its migrations ran (idempotent):
///
/// - drops apalis's `notify_workers` trigger: it `pg_notify`s on every insert for apalis's
///   LISTEN-based fetcher, but workers here poll and nothing listens, and each notify takes
///   a database-wide lock at commit that serialises every enqueuing transaction;
/// - adds an index in the claim's order over pending jobs, so that claiming reads the first
///   ready rows instead of sorting the whole backlog (apalis's fetch index leads with
///   `job_type`, and a claim asks for several types at once).
pub(super) async fn adapt(pool: &PgPool) -> Result<(), JobsError> {
    // Processes starting together on one database would race on the DDL (PostgreSQL's
    // catalog refuses a second concurrent CREATE INDEX IF NOT EXISTS): one at a time, in a
    // transaction holding an advisory lock.
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('clientele_jobs_adapt'))")
        .execute(&mut *tx)
        .await?;
    let (trigger, index): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM pg_trigger \
           WHERE tgname = 'notify_workers' AND tgrelid = 'apalis.jobs'::regclass), \
         to_regclass('apalis.clientele_jobs_claim') IS NOT NULL",
    )
    .fetch_one(&mut *tx)
    .await?;
    if trigger {
        sqlx::query("DROP TRIGGER IF EXISTS notify_workers ON apalis.jobs")
            .execute(&mut *tx)
            .await?;
    }
    if !index {
        sqlx::query(
            "CREATE INDEX IF NOT EXISTS clientele_jobs_claim \
             ON apalis.jobs (priority DESC, run_at, id) WHERE status = 'Pending'",
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Inserts a pending job unless its idempotency key is taken: payload, id, queue,
/// max attempts (int4), key.
/// The same row as [`super::JobRow::insert`] builds for callers' own statements: keep the two
/// in step.
const INSERT: &str = "INSERT INTO apalis.jobs (job, id, job_type, status, attempts, \
    max_attempts, run_at, priority, idempotency_key) VALUES ($1, $2, $3, 'Pending', 0, $4, NOW(), \
    0, $5) ON CONFLICT (job_type, idempotency_key) DO NOTHING";

fn insert_query(job: &NewJob<'_>) -> Query<'static, Postgres, PgArguments> {
    sqlx::query(INSERT)
        .bind(job.payload)
        .bind(job.id)
        .bind(job.queue)
        .bind(i32::try_from(job.max_attempts).unwrap_or(i32::MAX))
        .bind(job.key)
}

/// Inserts `job` in one statement; `false` when its key is taken.
pub(super) async fn insert(pool: &PgPool, job: &NewJob<'_>) -> Result<bool, JobsError> {
    Ok(insert_query(job).execute(pool).await?.rows_affected() == 1)
}

/// Frees `key` from a finished job and inserts `job`, in one transaction; `false` when no
/// finished job held it (an unfinished one does).
pub(super) async fn free_key_and_insert(
    pool: &PgPool,
    job: &NewJob<'_>,
    key: &str,
) -> Result<bool, JobsError> {
    let mut tx = pool.begin().await?;
    let freed = sqlx::query(
        "UPDATE apalis.jobs SET idempotency_key = NULL WHERE job_type = $1 \
         AND idempotency_key = $2 AND status IN ('Done', 'Failed', 'Killed')",
    )
    .bind(job.queue)
    .bind(key)
    .execute(&mut *tx)
    .await?;
    if freed.rows_affected() == 0 {
        return Ok(false);
    }
    let done = insert_query(job).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn register_worker(pool: &PgPool, worker: &str) -> Result<(), JobsError> {
    sqlx::query(
        "INSERT INTO apalis.workers (id, worker_type, storage_name, layers, last_seen, started_at) \
         VALUES ($1, $2, 'clientele-jobs', '', NOW(), NOW())",
    )
    .bind(worker)
    .bind(WORKER_TYPE)
    .execute(pool)
    .await?;
    Ok(())
}

/// Refreshes `last_seen`, re-creating the worker's row if it was purged.
pub(super) async fn heartbeat(pool: &PgPool, worker: &str) -> Result<(), JobsError> {
    sqlx::query(
        "INSERT INTO apalis.workers (id, worker_type, storage_name, layers, last_seen, started_at) \
         VALUES ($1, $2, 'clientele-jobs', '', NOW(), NOW()) \
         ON CONFLICT (id) DO UPDATE SET last_seen = NOW()",
    )
    .bind(worker)
    .bind(WORKER_TYPE)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn recover_orphans(pool: &PgPool, timeout: Duration) -> Result<u64, JobsError> {
    let done = sqlx::query(
        "UPDATE apalis.jobs SET \
           status = CASE WHEN attempts >= max_attempts THEN 'Failed' ELSE 'Pending' END, \
           done_at = CASE WHEN attempts >= max_attempts THEN NOW() ELSE NULL END, \
           lock_by = NULL, lock_at = NULL, \
           last_result = '{\"Err\":\"worker died (no heartbeat) while running the job\"}' \
         WHERE status IN ('Running', 'Queued') AND job_type LIKE 'clientele::%' \
           AND lock_by IN (SELECT id FROM apalis.workers \
             WHERE last_seen < NOW() - make_interval(secs => $1))",
    )
    .bind(timeout.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn claim(
    pool: &PgPool,
    worker: &str,
    queues: &[&str],
    limit: usize,
) -> Result<Vec<Claimed>, JobsError> {
    let rows = sqlx::query(
        "UPDATE apalis.jobs SET status = 'Running', lock_by = $1, lock_at = NOW(), \
           attempts = attempts + 1, done_at = NULL \
         WHERE id IN (SELECT id FROM apalis.jobs WHERE status = 'Pending' \
           AND job_type = ANY($2) AND run_at <= NOW() \
           ORDER BY priority DESC, run_at ASC, id ASC LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING id, job_type, job, attempts, max_attempts",
    )
    .bind(worker)
    .bind(queues)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let job_type: String = row.try_get("job_type")?;
        claimed.push(Claimed {
            id: row.try_get("id")?,
            kind: kind_of(&job_type)?,
            payload: row.try_get("job")?,
            attempts: u32::try_from(row.try_get::<i32, _>("attempts")?).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(row.try_get::<i32, _>("max_attempts")?).unwrap_or(0),
        });
    }
    Ok(claimed)
}

/// Ends a claimed job (fenced by `lock_by`): `next_run` reschedules it, else it is final.
pub(super) async fn finish(
    pool: &PgPool,
    id: &str,
    worker: &str,
    status: &str,
    result: &serde_json::Value,
    next_run: Option<DateTime<Utc>>,
) -> Result<bool, JobsError> {
    let done = sqlx::query(
        "UPDATE apalis.jobs SET status = $3, last_result = $4, \
           run_at = COALESCE($5, run_at), \
           done_at = CASE WHEN $5::timestamptz IS NULL THEN NOW() ELSE NULL END, \
           lock_by = CASE WHEN $5::timestamptz IS NULL THEN lock_by ELSE NULL END, \
           lock_at = CASE WHEN $5::timestamptz IS NULL THEN lock_at ELSE NULL END \
         WHERE id = $1 AND lock_by = $2 AND status = 'Running'",
    )
    .bind(id)
    .bind(worker)
    .bind(status)
    .bind(result)
    .bind(next_run)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Returns an abandoned job to pending without counting the attempt.
pub(super) async fn release(pool: &PgPool, id: &str, worker: &str) -> Result<(), JobsError> {
    sqlx::query(
        "UPDATE apalis.jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL, \
           attempts = GREATEST(attempts - 1, 0), \
           last_result = '{\"Err\":\"returned to pending at worker shutdown\"}' \
         WHERE id = $1 AND lock_by = $2 AND status = 'Running'",
    )
    .bind(id)
    .bind(worker)
    .execute(pool)
    .await?;
    Ok(())
}

const TENANT: &str = "(convert_from(job, 'UTF8')::jsonb ->> 'tenant_id')";

fn select() -> String {
    format!(
        "SELECT id, job_type, job, status, attempts, max_attempts, run_at, last_result, \
           done_at, {TENANT} AS tenant FROM apalis.jobs"
    )
}

fn raw(row: &sqlx::postgres::PgRow) -> Result<RawJob, JobsError> {
    Ok(RawJob {
        id: row.try_get("id")?,
        job_type: row.try_get("job_type")?,
        payload: row.try_get("job")?,
        status: row.try_get("status")?,
        attempts: i64::from(row.try_get::<i32, _>("attempts")?),
        max_attempts: i64::from(row.try_get::<i32, _>("max_attempts")?),
        run_at: row.try_get("run_at")?,
        last_result: row.try_get("last_result")?,
        done_at: row.try_get("done_at")?,
        tenant: row.try_get("tenant")?,
    })
}

pub(super) async fn list(pool: &PgPool, q: &ListQuery<'_>) -> Result<Vec<RawJob>, JobsError> {
    let sql = format!(
        "{} WHERE job_type LIKE 'clientele::%' \
           AND ($1::text IS NULL OR {TENANT} = $1) \
           AND ($2::text IS NULL OR job_type = $2) \
           AND ($3::text IS NULL OR {DERIVED_STATUS} = $3) \
           AND ($4::text IS NULL OR id < $4) \
         ORDER BY id DESC LIMIT $5",
        select()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(q.tenant.as_deref())
        .bind(q.queue)
        .bind(q.status)
        .bind(q.after)
        .bind(q.limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(raw).collect()
}

pub(super) async fn get(pool: &PgPool, id: &str) -> Result<Option<RawJob>, JobsError> {
    let sql = format!(
        "{} WHERE id = $1 AND job_type LIKE 'clientele::%'",
        select()
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(raw).transpose()
}

pub(super) async fn retry(pool: &PgPool, id: &str) -> Result<bool, JobsError> {
    let done = sqlx::query(
        "UPDATE apalis.jobs SET status = 'Pending', attempts = 0, run_at = NOW(), \
           done_at = NULL, lock_by = NULL, lock_at = NULL \
         WHERE id = $1 AND status IN ('Failed', 'Killed') AND job_type LIKE 'clientele::%'",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn purge(
    pool: &PgPool,
    before: DateTime<Utc>,
    workers_before: DateTime<Utc>,
) -> Result<u64, JobsError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "DELETE FROM apalis.jobs WHERE status IN ('Done', 'Failed', 'Killed') \
           AND done_at < $1 AND job_type LIKE 'clientele::%'",
    )
    .bind(before)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM apalis.workers w WHERE worker_type = $1 AND last_seen < $2 \
           AND NOT EXISTS (SELECT 1 FROM apalis.jobs j WHERE j.lock_by = w.id)",
    )
    .bind(WORKER_TYPE)
    .bind(workers_before)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}
