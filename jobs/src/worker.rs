//! Workers: claim jobs, run handlers, record outcomes, heartbeat, recover orphans, tick cron.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::WorkerConfig;
use crate::error::{JobError, JobsError};
use crate::handlers::{JobContext, JobHandlers, dispatch};
use crate::model::{Job, PullChanges, PurgeRetention, PushClients};
use crate::retry::retry_delay;
use crate::schedule::{ScheduledConnection, last_fire_time, parse_cron};
use crate::store::{Claimed, Jobs};

/// A running pool of workers. Stop it with [`Workers::shutdown`] (dropping it also asks
/// it to stop, without waiting).
#[derive(Debug)]
pub struct Workers {
    name: String,
    stop: watch::Sender<bool>,
    main: JoinHandle<()>,
}

/// State shared by the worker's tasks.
struct Shared {
    jobs: Jobs,
    handlers: Arc<dyn JobHandlers>,
    config: WorkerConfig,
    name: String,
    in_flight: Mutex<HashSet<String>>,
}

impl Workers {
    /// Registers a worker in the store and starts polling for `config.kinds`, with a
    /// heartbeat (which also returns dead workers' jobs to pending) and, if configured, the
    /// cron tick.
    pub async fn start(
        jobs: &Jobs,
        handlers: Arc<dyn JobHandlers>,
        config: WorkerConfig,
    ) -> Result<Workers, JobsError> {
        let name = format!("clientele-worker-{}", ulid::Ulid::generate());
        jobs.register_worker(&name).await?;
        jobs.recover_orphans().await?;
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            jobs: jobs.clone(),
            handlers,
            config,
            name: name.clone(),
            in_flight: Mutex::new(HashSet::new()),
        });
        let main = tokio::spawn(run(shared, stopped));
        tracing::info!(worker = %name, "jobs worker started");
        Ok(Workers { name, stop, main })
    }

    /// The worker's id (its row in apalis's workers table).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Graceful shutdown: stop taking jobs, let in-flight jobs finish until
    /// `shutdown_deadline`, then abandon the rest, returning them to pending.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.main.await {
            tracing::error!(worker = %self.name, error = %e, "jobs worker task failed");
        }
        tracing::info!(worker = %self.name, "jobs worker stopped");
    }

    /// Runs until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

/// Resolves when a stop is requested (or the [`Workers`] handle is gone).
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// Whether a stop was requested or the [`Workers`] handle was dropped.
fn is_stopped(stopped: &watch::Receiver<bool>) -> bool {
    *stopped.borrow() || stopped.has_changed().is_err()
}

async fn run(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let heartbeat = tokio::spawn(heartbeat_loop(shared.clone(), stopped.clone()));
    let cron = shared
        .config
        .cron_tick
        .map(|tick| tokio::spawn(cron_loop(shared.clone(), tick, stopped.clone())));
    let mut running: JoinSet<()> = JoinSet::new();
    let concurrency = shared.config.concurrency.max(1);
    // Claimed jobs waiting for a free slot. Claiming tops this up in batches (one round trip
    // for up to `concurrency` jobs) instead of claiming one job each time one finishes.
    // Prefetched jobs are held like running ones: released at shutdown, recovered as
    // orphans if the process dies.
    let mut ready: VecDeque<Claimed> = VecDeque::new();
    let low_water = concurrency.div_ceil(2);
    loop {
        while running.try_join_next().is_some() {}
        if is_stopped(&stopped) {
            break;
        }
        while running.len() < concurrency
            && let Some(job) = ready.pop_front()
        {
            running.spawn(run_job(shared.clone(), job));
        }
        if ready.len() >= low_water {
            tokio::select! {
                _ = running.join_next() => {}
                _ = stop_requested(&mut stopped) => {}
            }
            continue;
        }
        let want = (2 * concurrency).saturating_sub(running.len() + ready.len());
        let claimed = shared
            .jobs
            .claim(&shared.name, &shared.config.kinds, want)
            .await;
        match claimed {
            Ok(claimed) if !claimed.is_empty() => {
                let mut in_flight = lock(&shared.in_flight);
                for job in claimed {
                    in_flight.insert(job.id.clone());
                    ready.push_back(job);
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(worker = %shared.name, error = %e, "claiming jobs failed"),
        }
        if running.len() >= concurrency {
            // Every slot is busy and nothing more is ready: claim again when one frees.
            tokio::select! {
                _ = running.join_next() => {}
                _ = stop_requested(&mut stopped) => {}
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(shared.config.poll_interval) => {}
            _ = shared.jobs.wake.notified() => {}
            _ = stop_requested(&mut stopped) => {}
        }
    }
    // Prefetched jobs that never started are still in `in_flight`: `drain` releases them.
    drop(ready);
    drain(&shared, running).await;
    if let Some(cron) = cron {
        cron.abort();
    }
    heartbeat.abort();
}

/// Waits for in-flight jobs until the deadline, then aborts and releases the rest.
async fn drain(shared: &Shared, mut running: JoinSet<()>) {
    let deadline = tokio::time::sleep(shared.config.shutdown_deadline);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = running.join_next() => if next.is_none() { break },
            _ = &mut deadline => {
                running.abort_all();
                while running.join_next().await.is_some() {}
                break;
            }
        }
    }
    let abandoned: Vec<String> = lock(&shared.in_flight).drain().collect();
    for id in abandoned {
        tracing::warn!(job = %id, "job abandoned at shutdown; returning it to pending");
        if let Err(e) = shared.jobs.release(&id, &shared.name).await {
            tracing::error!(job = %id, error = %e, "could not release job; it will be recovered as an orphan");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn run_job(shared: Arc<Shared>, job: Claimed) {
    let ctx = JobContext {
        job_id: job.id.clone(),
        kind: job.kind,
        attempt: job.attempts,
        max_attempts: job.max_attempts,
    };
    let outcome = match Job::decode(job.kind, &job.payload) {
        Err(e) => Err(JobError::permanent(format!("undecodable payload: {e}"))),
        Ok(payload) => {
            let fut = dispatch(shared.handlers.as_ref(), &ctx, payload);
            match AssertUnwindSafe(fut).catch_unwind().await {
                Ok(result) => result,
                Err(_) => Err(JobError::transient("handler panicked")),
            }
        }
    };
    record(&shared, &ctx, outcome).await;
    lock(&shared.in_flight).remove(&job.id);
}

/// Stores the outcome, retrying the write a few times; if it still fails, the job stays
/// running under this worker and is recovered as an orphan once the worker is gone.
async fn record(shared: &Shared, ctx: &JobContext, outcome: Result<(), JobError>) {
    let cfg = shared.jobs.config();
    let (status, result, next_run) = match &outcome {
        Ok(()) => ("Done", json!({ "Ok": null }), None),
        Err(JobError::Permanent { message }) => ("Failed", json!({ "Err": message }), None),
        Err(JobError::Transient { message, .. }) if ctx.attempt >= ctx.max_attempts => (
            "Failed",
            json!({ "Err": format!("gave up after {} attempts: {message}", ctx.attempt) }),
            None,
        ),
        Err(JobError::Transient {
            message,
            retry_after,
        }) => {
            let delay = retry_delay(ctx.attempt, cfg.backoff_base, cfg.backoff_cap, *retry_after);
            let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
            let next = Utc::now().checked_add_signed(delay).unwrap_or(Utc::now());
            ("Pending", json!({ "Err": message }), Some(next))
        }
    };
    if let Err(e) = &outcome {
        tracing::warn!(job = %ctx.job_id, kind = ?ctx.kind, attempt = ctx.attempt, error = %e, "job failed");
    }
    for attempt in 1..=5u32 {
        match (shared.jobs)
            .finish(&ctx.job_id, &shared.name, status, &result, next_run)
            .await
        {
            Ok(true) => return,
            Ok(false) => {
                tracing::warn!(job = %ctx.job_id, "job no longer held by this worker; outcome dropped");
                return;
            }
            Err(e) => {
                tracing::warn!(job = %ctx.job_id, error = %e, "recording job outcome failed");
                tokio::time::sleep(Duration::from_millis(200) * attempt).await;
            }
        }
    }
}

async fn heartbeat_loop(shared: Arc<Shared>, stopped: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(shared.jobs.config().heartbeat_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(e) = shared.jobs.heartbeat(&shared.name).await {
            tracing::warn!(worker = %shared.name, error = %e, "heartbeat failed");
        }
        // Orphan recovery keeps running while draining: other workers may have died.
        match shared.jobs.recover_orphans().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(count = n, "returned jobs of dead workers to pending"),
            Err(e) => tracing::warn!(error = %e, "orphan recovery failed"),
        }
        if stopped.has_changed().is_err() {
            return;
        }
    }
}

async fn cron_loop(shared: Arc<Shared>, tick: Duration, mut stopped: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let lookback = chrono::Duration::from_std(tick).unwrap_or(chrono::Duration::zero());
    let mut last = Utc::now() - lookback;
    let mut retention = RetentionEnqueued::default();
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop_requested(&mut stopped) => return,
        }
        let now = Utc::now();
        cron_tick(&shared, last, now, &mut retention).await;
        last = now;
    }
}

/// Runs one cron tick: asks the handlers for scheduled connections and enqueues their due
/// syncs, and enqueues today's retention purge of tenants with a policy.
async fn cron_tick(
    shared: &Shared,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
    retention: &mut RetentionEnqueued,
) {
    let connections = shared.handlers.scheduled_connections().await;
    if let Err(e) = shared.jobs.enqueue_due_syncs(&connections, last, now).await {
        tracing::warn!(error = %e, "enqueueing scheduled syncs failed");
    }
    let today = now.date_naive();
    if retention.day != Some(today) {
        *retention = RetentionEnqueued {
            day: Some(today),
            tenants: HashSet::new(),
        };
    }
    let tenants: Vec<uuid::Uuid> = shared
        .handlers
        .retention_tenants()
        .await
        .into_iter()
        .filter(|t| !retention.tenants.contains(t))
        .collect();
    match shared.jobs.enqueue_daily_retention(&tenants, now).await {
        Ok(_) => retention.tenants.extend(tenants),
        Err(e) => tracing::warn!(error = %e, "enqueueing retention purges failed"),
    }
}

/// The tenants this worker already enqueued today's retention purge for, so that a tick
/// only writes for tenants it has not handled yet (the job key dedupes across workers).
#[derive(Default)]
struct RetentionEnqueued {
    day: Option<chrono::NaiveDate>,
    tenants: HashSet<uuid::Uuid>,
}

impl Jobs {
    /// Enqueues one [`PurgeRetention`] per tenant and UTC day (keyed by tenant and date, so
    /// that repeated ticks and concurrent workers enqueue it once). Returns how many were new.
    pub async fn enqueue_daily_retention(
        &self,
        tenants: &[uuid::Uuid],
        now: DateTime<Utc>,
    ) -> Result<u32, JobsError> {
        let mut enqueued = 0;
        for &tenant_id in tenants {
            let key = format!("retention:{tenant_id}:{}", now.format("%Y-%m-%d"));
            if self
                .enqueue_once(PurgeRetention { tenant_id }, &key)
                .await?
                .is_some()
            {
                enqueued += 1;
            }
        }
        Ok(enqueued)
    }

    /// Enqueues a [`PushClients`] and a [`PullChanges`] for every connection whose schedule
    /// fired in `(last, now]`, keyed by connection and fire time, so that concurrent workers
    /// (or repeated ticks) enqueue each slot once. Invalid schedules are skipped with a
    /// warning. Returns the number of jobs enqueued.
    pub async fn enqueue_due_syncs(
        &self,
        connections: &[ScheduledConnection],
        last: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u32, JobsError> {
        let mut enqueued = 0;
        for sc in connections {
            let schedule = match parse_cron(&sc.cron) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(connection = %sc.connection_id, error = %e, "bad sync schedule");
                    continue;
                }
            };
            let Some(slot) = last_fire_time(&schedule, last, now) else {
                continue;
            };
            let key = format!("cron:{}:{}", sc.connection_id, slot.timestamp());
            let (tenant_id, connection_id) = (sc.tenant_id, sc.connection_id);
            let push = PushClients {
                tenant_id,
                connection_id,
            };
            let pull = PullChanges {
                tenant_id,
                connection_id,
            };
            for job in [Job::from(push), Job::from(pull)] {
                if self.enqueue_once(job, &key).await?.is_some() {
                    enqueued += 1;
                }
            }
        }
        Ok(enqueued)
    }
}
