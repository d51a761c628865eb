//! SQLite queries over apalis-sqlite's `Jobs` and `Workers` tables (times in Unix seconds).

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row, Sqlite, SqlitePool};

use super::{Claimed, DERIVED_STATUS, ListQuery, NewJob, RawJob, WORKER_TYPE, kind_of};
use crate::error::JobsError;

/// Opens the pool (WAL, `synchronous = NORMAL` on every connection) and runs apalis's
/// migrations on a separate one-connection pool, since apalis's setup turns `synchronous`
/// off on the connection it uses.
pub(super) async fn connect(url: &str, max_connections: u32) -> Result<SqlitePool, JobsError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .log_statements(log::LevelFilter::Trace)
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(1));
    let setup = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    apalis_sqlite::SqliteStorage::setup(&setup).await?;
    setup.close().await;
    Ok(SqlitePoolOptions::new()
        .max_connections(max_connections.max(1))
        .connect_with(options)
        .await?)
}

fn secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// Rounds up: a rescheduled job must not be due again within the same second, where it
/// would sort before jobs that have waited longer.
fn secs_ceil(t: DateTime<Utc>) -> i64 {
    t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0)
}

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Inserts a pending job unless its idempotency key is taken: payload, id, queue,
/// max attempts, key, run at (Unix seconds).
/// The same row as [`super::JobRow::insert`] builds for callers' own statements: keep the two
/// in step.
const INSERT: &str = "INSERT INTO Jobs (job, id, job_type, status, attempts, \
    max_attempts, run_at, priority, idempotency_key) VALUES (?1, ?2, ?3, 'Pending', 0, ?4, ?6, 0, \
    ?5) ON CONFLICT (job_type, idempotency_key) DO NOTHING";

fn insert_query(job: &NewJob<'_>) -> Query<'static, Sqlite, SqliteArguments> {
    sqlx::query(INSERT)
        .bind(job.payload)
        .bind(job.id)
        .bind(job.queue)
        .bind(i64::from(job.max_attempts))
        .bind(job.key)
        .bind(secs(Utc::now()))
}

/// Inserts `job` in one statement; `false` when its key is taken.
pub(super) async fn insert(pool: &SqlitePool, job: &NewJob<'_>) -> Result<bool, JobsError> {
    Ok(insert_query(job).execute(pool).await?.rows_affected() == 1)
}

/// Frees `key` from a finished job and inserts `job`, in one transaction; `false` when no
/// finished job held it (an unfinished one does).
pub(super) async fn free_key_and_insert(
    pool: &SqlitePool,
    job: &NewJob<'_>,
    key: &str,
) -> Result<bool, JobsError> {
    let mut tx = pool.begin().await?;
    let freed = sqlx::query(
        "UPDATE Jobs SET idempotency_key = NULL WHERE job_type = ?1 AND idempotency_key = ?2 \
         AND status IN ('Done', 'Failed', 'Killed')",
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

pub(super) async fn register_worker(pool: &SqlitePool, worker: &str) -> Result<(), JobsError> {
    let now = secs(Utc::now());
    sqlx::query(
        "INSERT INTO Workers (id, worker_type, storage_name, layers, last_seen, started_at) \
         VALUES (?1, ?2, 'clientele-jobs', '', ?3, ?3)",
    )
    .bind(worker)
    .bind(WORKER_TYPE)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// Refreshes `last_seen`, re-creating the worker's row if it was purged.
pub(super) async fn heartbeat(pool: &SqlitePool, worker: &str) -> Result<(), JobsError> {
    let now = secs(Utc::now());
    sqlx::query(
        "INSERT INTO Workers (id, worker_type, storage_name, layers, last_seen, started_at) \
         VALUES (?1, ?2, 'clientele-jobs', '', ?3, ?3) \
         ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
    )
    .bind(worker)
    .bind(WORKER_TYPE)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn recover_orphans(
    pool: &SqlitePool,
    timeout: Duration,
) -> Result<u64, JobsError> {
    let now = secs(Utc::now());
    let cutoff = now - i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX);
    let done = sqlx::query(
        "UPDATE Jobs SET \
           status = CASE WHEN attempts >= max_attempts THEN 'Failed' ELSE 'Pending' END, \
           done_at = CASE WHEN attempts >= max_attempts THEN ?1 ELSE NULL END, \
           lock_by = NULL, lock_at = NULL, \
           last_result = '{\"Err\":\"worker died (no heartbeat) while running the job\"}' \
         WHERE status IN ('Running', 'Queued') AND job_type LIKE 'clientele::%' \
           AND lock_by IN (SELECT id FROM Workers WHERE last_seen < ?2)",
    )
    .bind(now)
    .bind(cutoff)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn claim(
    pool: &SqlitePool,
    worker: &str,
    queues: &[&str],
    limit: usize,
) -> Result<Vec<Claimed>, JobsError> {
    let queues = serde_json::to_string(queues)?;
    let rows = sqlx::query(
        "UPDATE Jobs SET status = 'Running', lock_by = ?1, lock_at = ?2, \
           attempts = attempts + 1, done_at = NULL \
         WHERE id IN (SELECT id FROM Jobs WHERE status = 'Pending' \
           AND job_type IN (SELECT value FROM json_each(?3)) AND run_at <= ?2 \
           ORDER BY priority DESC, run_at ASC, id ASC LIMIT ?4) \
         RETURNING id, job_type, job, attempts, max_attempts",
    )
    .bind(worker)
    .bind(secs(Utc::now()))
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
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(row.try_get::<i64, _>("max_attempts")?).unwrap_or(0),
        });
    }
    Ok(claimed)
}

/// Ends a claimed job (fenced by `lock_by`): `next_run` reschedules it, else it is final.
pub(super) async fn finish(
    pool: &SqlitePool,
    id: &str,
    worker: &str,
    status: &str,
    result: &serde_json::Value,
    next_run: Option<DateTime<Utc>>,
) -> Result<bool, JobsError> {
    let now = secs(Utc::now());
    let done = sqlx::query(
        "UPDATE Jobs SET status = ?3, last_result = ?4, \
           run_at = COALESCE(?5, run_at), \
           done_at = CASE WHEN ?5 IS NULL THEN ?6 ELSE NULL END, \
           lock_by = CASE WHEN ?5 IS NULL THEN lock_by ELSE NULL END, \
           lock_at = CASE WHEN ?5 IS NULL THEN lock_at ELSE NULL END \
         WHERE id = ?1 AND lock_by = ?2 AND status = 'Running'",
    )
    .bind(id)
    .bind(worker)
    .bind(status)
    .bind(result.to_string())
    .bind(next_run.map(secs_ceil))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Returns an abandoned job to pending without counting the attempt.
pub(super) async fn release(pool: &SqlitePool, id: &str, worker: &str) -> Result<(), JobsError> {
    sqlx::query(
        "UPDATE Jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL, \
           attempts = max(attempts - 1, 0), \
           last_result = '{\"Err\":\"returned to pending at worker shutdown\"}' \
         WHERE id = ?1 AND lock_by = ?2 AND status = 'Running'",
    )
    .bind(id)
    .bind(worker)
    .execute(pool)
    .await?;
    Ok(())
}

const SELECT: &str = "SELECT id, job_type, job, status, attempts, max_attempts, run_at, \
    last_result, done_at, json_extract(CAST(job AS TEXT), '$.tenant_id') AS tenant FROM Jobs";

fn raw(row: &sqlx::sqlite::SqliteRow) -> Result<RawJob, JobsError> {
    let last_result: Option<String> = row.try_get("last_result")?;
    Ok(RawJob {
        id: row.try_get("id")?,
        job_type: row.try_get("job_type")?,
        payload: row.try_get("job")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        run_at: time(row.try_get("run_at")?),
        last_result: last_result
            .map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))),
        done_at: row.try_get::<Option<i64>, _>("done_at")?.map(time),
        tenant: row.try_get("tenant")?,
    })
}

pub(super) async fn list(pool: &SqlitePool, q: &ListQuery<'_>) -> Result<Vec<RawJob>, JobsError> {
    let sql = format!(
        "{SELECT} WHERE job_type LIKE 'clientele::%' \
           AND (?1 IS NULL OR json_extract(CAST(job AS TEXT), '$.tenant_id') = ?1) \
           AND (?2 IS NULL OR job_type = ?2) \
           AND (?3 IS NULL OR {DERIVED_STATUS} = ?3) \
           AND (?4 IS NULL OR id < ?4) \
         ORDER BY id DESC LIMIT ?5"
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

pub(super) async fn get(pool: &SqlitePool, id: &str) -> Result<Option<RawJob>, JobsError> {
    let sql = format!("{SELECT} WHERE id = ?1 AND job_type LIKE 'clientele::%'");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(raw).transpose()
}

pub(super) async fn retry(pool: &SqlitePool, id: &str) -> Result<bool, JobsError> {
    let done = sqlx::query(
        "UPDATE Jobs SET status = 'Pending', attempts = 0, run_at = ?2, done_at = NULL, \
           lock_by = NULL, lock_at = NULL \
         WHERE id = ?1 AND status IN ('Failed', 'Killed') AND job_type LIKE 'clientele::%'",
    )
    .bind(id)
    .bind(secs(Utc::now()))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn purge(
    pool: &SqlitePool,
    before: DateTime<Utc>,
    workers_before: DateTime<Utc>,
) -> Result<u64, JobsError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "DELETE FROM Jobs WHERE status IN ('Done', 'Failed', 'Killed') AND done_at < ?1 \
           AND job_type LIKE 'clientele::%'",
    )
    .bind(secs(before))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM Workers WHERE worker_type = ?1 AND last_seen < ?2 \
           AND NOT EXISTS (SELECT 1 FROM Jobs WHERE Jobs.lock_by = Workers.id)",
    )
    .bind(WORKER_TYPE)
    .bind(secs(workers_before))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}
