//! Test databases (SQLite always, PostgreSQL when `TEST_DATABASE_URL` is set), a scripted
//! handler and polling helpers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use clientele_jobs::*;
use sqlx::Connection;
use uuid::Uuid;

/// A fresh database for one test run.
pub struct TestDb {
    pub url: String,
    /// Admin URL and database name of a PostgreSQL database to drop afterwards.
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("jobs.db").display());
        TestDb {
            url,
            pg: None,
            _dir: Some(dir),
        }
    }

    async fn postgres(admin_url: &str) -> TestDb {
        let name = format!("jobs_{}", Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        TestDb {
            url: with_database(admin_url, &name),
            pg: Some((admin_url.to_owned(), name)),
            _dir: None,
        }
    }

    async fn drop_db(self) {
        if let Some((admin_url, name)) = self.pg {
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .expect("drop test database");
        }
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// Runs `test` once on a fresh SQLite file and, if `TEST_DATABASE_URL` is set, once on a
/// fresh PostgreSQL database.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut dbs = vec![TestDb::sqlite().await];
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        dbs.push(TestDb::postgres(&url).await);
    }
    for db in dbs {
        eprintln!("backend: {}", db.url.split(':').next().unwrap_or(""));
        test(db.url.clone()).await;
        db.drop_db().await;
    }
}

/// Fast settings for tests.
pub fn jobs_config() -> JobsConfig {
    JobsConfig {
        max_attempts: 8,
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(200),
        heartbeat_interval: Duration::from_millis(200),
        orphan_timeout: Duration::from_secs(2),
        max_connections: 4,
    }
}

pub fn worker_config() -> WorkerConfig {
    WorkerConfig {
        concurrency: 4,
        poll_interval: Duration::from_millis(50),
        shutdown_deadline: Duration::from_secs(10),
        kinds: JobKind::ALL.to_vec(),
        cron_tick: None,
    }
}

pub async fn connect(url: &str, config: JobsConfig) -> Jobs {
    Jobs::connect(url, config)
        .await
        .expect("connect jobs store")
}

/// Polls `get_job` until the job has `status`; panics after a generous timeout.
pub async fn wait_status(jobs: &Jobs, id: &str, status: JobStatus) -> JobInfo {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let job = jobs.get_job(id).await.expect("get_job");
        if let Some(job) = job.filter(|j| j.status == status) {
            return job;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "job {id} never reached {status:?}: {:?}",
            jobs.get_job(id).await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// What the scripted handler does for one target id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Fail transiently this many times, then succeed.
    TransientTimes(u32),
    /// Always fail transiently.
    AlwaysTransient,
    /// Always fail permanently.
    Permanent,
    /// Fail permanently the first time only.
    PermanentOnce,
    /// Fail transiently with this `Retry-After` the first time, then succeed.
    RetryAfterOnce(Duration),
    /// Panic the first time only.
    PanicOnce,
    /// Sleep, then succeed.
    Sleep(Duration),
    /// Never finish.
    Block,
}

/// A handler whose behaviour per target id (message, connection or delivery) is scripted;
/// unscripted targets succeed. Counts calls per target.
#[derive(Default)]
pub struct Scripted {
    calls: Mutex<HashMap<Uuid, u32>>,
    script: Mutex<HashMap<Uuid, Script>>,
    pub contexts: Mutex<Vec<JobContext>>,
    pub scheduled: Mutex<Vec<ScheduledConnection>>,
    in_flight: AtomicU32,
    /// Most handlers seen running at the same time.
    pub max_in_flight: AtomicU32,
}

impl Scripted {
    pub fn with(script: &[(Uuid, Script)]) -> Scripted {
        let s = Scripted::default();
        s.script
            .lock()
            .expect("lock")
            .extend(script.iter().copied());
        s
    }

    pub fn calls(&self, target: Uuid) -> u32 {
        self.calls
            .lock()
            .expect("lock")
            .get(&target)
            .copied()
            .unwrap_or(0)
    }

    async fn handle(&self, ctx: &JobContext, target: Uuid) -> Result<(), JobError> {
        let n = {
            let mut calls = self.calls.lock().expect("lock");
            let n = calls.entry(target).or_insert(0);
            *n += 1;
            *n
        };
        self.contexts.lock().expect("lock").push(ctx.clone());
        let script = self.script.lock().expect("lock").get(&target).copied();
        match script {
            None => Ok(()),
            Some(Script::TransientTimes(k)) if n <= k => Err(JobError::transient("remote busy")),
            Some(Script::TransientTimes(_)) => Ok(()),
            Some(Script::AlwaysTransient) => Err(JobError::transient("remote down")),
            Some(Script::Permanent) => Err(JobError::permanent("bad data")),
            Some(Script::PermanentOnce) if n == 1 => Err(JobError::permanent("bad data once")),
            Some(Script::PermanentOnce) => Ok(()),
            Some(Script::RetryAfterOnce(after)) if n == 1 => Err(JobError::Transient {
                message: "rate limited".into(),
                retry_after: Some(after),
            }),
            Some(Script::RetryAfterOnce(_)) => Ok(()),
            Some(Script::PanicOnce) if n == 1 => panic!("handler bug (expected by the test)"),
            Some(Script::PanicOnce) => Ok(()),
            Some(Script::Sleep(d)) => {
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.max_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(d).await;
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
            Some(Script::Block) => std::future::pending().await,
        }
    }
}

#[async_trait]
impl JobHandlers for Scripted {
    async fn extract_message(&self, ctx: &JobContext, job: ExtractMessage) -> Result<(), JobError> {
        self.handle(ctx, job.message_id).await
    }
    async fn push_clients(&self, ctx: &JobContext, job: PushClients) -> Result<(), JobError> {
        self.handle(ctx, job.connection_id).await
    }
    async fn pull_changes(&self, ctx: &JobContext, job: PullChanges) -> Result<(), JobError> {
        self.handle(ctx, job.connection_id).await
    }
    async fn push_activities(&self, ctx: &JobContext, job: PushActivities) -> Result<(), JobError> {
        self.handle(ctx, job.connection_id).await
    }
    async fn deliver_webhook(&self, ctx: &JobContext, job: DeliverWebhook) -> Result<(), JobError> {
        self.handle(ctx, job.delivery_id).await
    }
    async fn scheduled_connections(&self) -> Vec<ScheduledConnection> {
        self.scheduled.lock().expect("lock").clone()
    }
}

/// An extract job for a new message of `tenant`.
pub fn extract(tenant: Uuid) -> ExtractMessage {
    ExtractMessage {
        tenant_id: tenant,
        message_id: Uuid::now_v7(),
    }
}
