//! A process killed mid-job loses nothing: the job runs again after restart, once.
//!
//! The parent test re-runs this test binary as a child with `CRASH_CHILD_URL` set; the
//! child runs a worker whose handler never finishes, and the parent SIGKILLs it mid-job.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use clientele_jobs::*;
use uuid::Uuid;

use crate::support::*;

const CHILD_URL: &str = "CRASH_CHILD_URL";

/// The child side: does nothing unless started by [`killed_worker_loses_nothing`].
#[tokio::test]
async fn crash_child() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let jobs = connect(&url, jobs_config()).await;
    let blocked = Arc::new(BlockAll);
    let _workers = Workers::start(&jobs, blocked, worker_config())
        .await
        .expect("start");
    // Stay mid-job until killed (bounded, in case the parent dies first).
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[tokio::test]
async fn killed_worker_loses_nothing() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let job = extract(Uuid::now_v7());
        let id = jobs.enqueue(job).await.expect("enqueue");

        let exe = std::env::current_exe().expect("test binary path");
        let mut child = Command::new(exe)
            .args(["crash::crash_child", "--exact", "--test-threads=1"])
            .env(CHILD_URL, &url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child worker");
        let running = wait_status(&jobs, &id, JobStatus::Running).await;
        assert_eq!(running.attempts, 1);
        child.kill().expect("SIGKILL child"); // Child::kill sends SIGKILL on Unix
        let status = child.wait().expect("reap child");
        assert!(!status.success());

        let handlers = Arc::new(Scripted::default());
        let workers = Workers::start(&jobs, handlers.clone(), worker_config())
            .await
            .expect("start");
        let done = wait_status(&jobs, &id, JobStatus::Done).await;
        workers.shutdown().await;
        assert_eq!(handlers.calls(job.message_id), 1, "ran once after restart");
        assert_eq!(done.attempts, 2, "the killed attempt counts");
        let contexts = handlers.contexts.lock().expect("lock").clone();
        assert_eq!(contexts.len(), 1);
        assert_eq!(contexts[0].attempt, 2);
    })
    .await;
}

/// Handlers that never finish.
struct BlockAll;

#[async_trait::async_trait]
impl JobHandlers for BlockAll {
    async fn extract_message(&self, _: &JobContext, _: ExtractMessage) -> Result<(), JobError> {
        std::future::pending().await
    }
    async fn push_clients(&self, _: &JobContext, _: PushClients) -> Result<(), JobError> {
        std::future::pending().await
    }
    async fn pull_changes(&self, _: &JobContext, _: PullChanges) -> Result<(), JobError> {
        std::future::pending().await
    }
    async fn push_activities(&self, _: &JobContext, _: PushActivities) -> Result<(), JobError> {
        std::future::pending().await
    }
    async fn deliver_webhook(&self, _: &JobContext, _: DeliverWebhook) -> Result<(), JobError> {
        std::future::pending().await
    }
}
