//! Configuration of the job store ([`JobsConfig`]) and of workers ([`WorkerConfig`]).

use std::time::Duration;

use crate::model::JobKind;

/// Settings shared by everything that uses one job store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsConfig {
    /// Attempts a job gets before it fails (default 8).
    pub max_attempts: u32,
    /// Base of the exponential retry backoff (default 2 s).
    pub backoff_base: Duration,
    /// Upper bound of the retry backoff before jitter (default 1 h).
    pub backoff_cap: Duration,
    /// How often a worker proves it is alive (default 10 s).
    pub heartbeat_interval: Duration,
    /// A worker silent for this long is dead and its running jobs go back to pending
    /// (default 60 s; keep it several heartbeats long).
    pub orphan_timeout: Duration,
    /// Connections of the store's own pool (default 4; SQLite writes are serialised anyway).
    pub max_connections: u32,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            max_attempts: 8,
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(3600),
            heartbeat_interval: Duration::from_secs(10),
            orphan_timeout: Duration::from_secs(60),
            max_connections: 4,
        }
    }
}

/// Settings of one [`crate::Workers`] pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Jobs run at the same time (default 4).
    pub concurrency: usize,
    /// How long an idle worker waits before looking for jobs again (default 1 s).
    pub poll_interval: Duration,
    /// How long [`crate::Workers::shutdown`] lets in-flight jobs finish; jobs still running
    /// then are abandoned and returned to pending (default 30 s).
    pub shutdown_deadline: Duration,
    /// Kinds this worker runs (default: all).
    pub kinds: Vec<JobKind>,
    /// Period of the cron tick that enqueues scheduled syncs; `None` disables it
    /// (default 30 s).
    pub cron_tick: Option<Duration>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 4,
            poll_interval: Duration::from_secs(1),
            shutdown_deadline: Duration::from_secs(30),
            kinds: JobKind::ALL.to_vec(),
            cron_tick: Some(Duration::from_secs(30)),
        }
    }
}
