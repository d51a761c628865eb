//! Running jobs: success, retries, permanent failure, exhausted attempts, isolation.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use clientele_jobs::*;
use uuid::Uuid;

use crate::support::*;

#[tokio::test]
async fn every_kind_is_handled_once() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let handlers = Arc::new(Scripted::default());
        let tenant = Uuid::now_v7();
        let message = extract(tenant);
        let (conn, delivery) = (Uuid::now_v7(), Uuid::now_v7());
        let ids = vec![
            jobs.enqueue(message).await.expect("enqueue"),
            jobs.enqueue(PushClients {
                tenant_id: tenant,
                connection_id: conn,
            })
            .await
            .expect("enqueue"),
            jobs.enqueue(PushActivities {
                tenant_id: tenant,
                connection_id: conn,
            })
            .await
            .expect("enqueue"),
            jobs.enqueue(DeliverWebhook {
                tenant_id: tenant,
                delivery_id: delivery,
            })
            .await
            .expect("enqueue"),
        ];
        let workers = Workers::start(&jobs, handlers.clone(), worker_config())
            .await
            .expect("start");
        for id in &ids {
            let job = wait_status(&jobs, id, JobStatus::Done).await;
            assert_eq!(job.attempts, 1);
            assert_eq!(job.last_error, None);
            assert!(job.done_at.is_some());
            assert_eq!(job.tenant_id, Some(tenant));
        }
        workers.shutdown().await;
        assert_eq!(handlers.calls(message.message_id), 1);
        assert_eq!(handlers.calls(conn), 2, "push clients and push activities");
        assert_eq!(handlers.calls(delivery), 1);
        let contexts = handlers.contexts.lock().expect("lock").clone();
        assert!(
            contexts
                .iter()
                .all(|c| c.attempt == 1 && c.max_attempts == 8)
        );
        assert!(contexts.iter().any(|c| c.job_id == ids[0]));
    })
    .await;
}

#[tokio::test]
async fn transient_failures_retry_then_succeed() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let job = extract(Uuid::now_v7());
        let handlers = Arc::new(Scripted::with(&[(
            job.message_id,
            Script::TransientTimes(2),
        )]));
        let id = jobs.enqueue(job).await.expect("enqueue");
        let workers = Workers::start(&jobs, handlers.clone(), worker_config())
            .await
            .expect("start");
        let done = wait_status(&jobs, &id, JobStatus::Done).await;
        workers.shutdown().await;
        assert_eq!(done.attempts, 3);
        assert_eq!(handlers.calls(job.message_id), 3);
        let attempts: Vec<u32> = handlers
            .contexts
            .lock()
            .expect("lock")
            .iter()
            .map(|c| c.attempt)
            .collect();
        assert_eq!(attempts, vec![1, 2, 3]);
    })
    .await;
}

#[tokio::test]
async fn permanent_error_fails_at_once_with_visible_error() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let tenant = Uuid::now_v7();
        let job = extract(tenant);
        let handlers = Arc::new(Scripted::with(&[(job.message_id, Script::Permanent)]));
        let id = jobs.enqueue(job).await.expect("enqueue");
        let workers = Workers::start(&jobs, handlers.clone(), worker_config())
            .await
            .expect("start");
        let failed = wait_status(&jobs, &id, JobStatus::Failed).await;
        workers.shutdown().await;
        assert_eq!(failed.attempts, 1);
        assert_eq!(handlers.calls(job.message_id), 1);
        assert_eq!(failed.last_error.as_deref(), Some("bad data"));
        assert!(failed.done_at.is_some());

        let filter = JobFilter {
            status: Some(JobStatus::Failed),
            ..JobFilter::default()
        };
        let listed = jobs
            .list_jobs(JobScope::default(), &filter)
            .await
            .expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, id);
        assert_eq!(listed[0].kind, JobKind::ExtractMessage);
        assert_eq!(listed[0].last_error.as_deref(), Some("bad data"));
        assert_eq!(
            listed[0].payload["message_id"],
            serde_json::json!(job.message_id)
        );
    })
    .await;
}

#[tokio::test]
async fn exhausted_attempts_fail_the_job() {
    each_backend(|url| async move {
        let config = JobsConfig {
            max_attempts: 3,
            ..jobs_config()
        };
        let jobs = connect(&url, config).await;
        let job = extract(Uuid::now_v7());
        let handlers = Arc::new(Scripted::with(&[(job.message_id, Script::AlwaysTransient)]));
        let id = jobs.enqueue(job).await.expect("enqueue");
        let workers = Workers::start(&jobs, handlers.clone(), worker_config())
            .await
            .expect("start");
        let failed = wait_status(&jobs, &id, JobStatus::Failed).await;
        workers.shutdown().await;
        assert_eq!(failed.attempts, 3);
        assert_eq!(failed.max_attempts, 3);
        assert_eq!(handlers.calls(job.message_id), 3);
        let error = failed.last_error.expect("error kept");
        assert!(error.contains("gave up after 3 attempts"), "{error}");
        assert!(error.contains("remote down"), "{error}");
    })
    .await;
}

#[tokio::test]
async fn a_failing_job_does_not_block_others() {
    each_backend(|url| async move {
        let config = JobsConfig {
            max_attempts: 1000,
            ..jobs_config()
        };
        let jobs = connect(&url, config).await;
        let tenant = Uuid::now_v7();
        let bad = extract(tenant);
        let handlers = Arc::new(Scripted::with(&[(bad.message_id, Script::AlwaysTransient)]));
        let bad_id = jobs.enqueue(bad).await.expect("enqueue");
        let mut good = Vec::new();
        for _ in 0..5 {
            good.push(jobs.enqueue(extract(tenant)).await.expect("enqueue"));
        }
        let one_at_a_time = WorkerConfig {
            concurrency: 1,
            ..worker_config()
        };
        let workers = Workers::start(&jobs, handlers.clone(), one_at_a_time)
            .await
            .expect("start");
        for id in &good {
            wait_status(&jobs, id, JobStatus::Done).await;
        }
        let bad_job = jobs.get_job(&bad_id).await.expect("get").expect("exists");
        workers.shutdown().await;
        assert_ne!(bad_job.status, JobStatus::Done);
        assert_ne!(bad_job.status, JobStatus::Failed);
        assert!(handlers.calls(bad.message_id) >= 1);
    })
    .await;
}

#[tokio::test]
async fn a_panicking_handler_is_a_transient_failure() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let job = extract(Uuid::now_v7());
        let handlers = Arc::new(Scripted::with(&[(job.message_id, Script::PanicOnce)]));
        let id = jobs.enqueue(job).await.expect("enqueue");
        let workers = Workers::start(&jobs, handlers.clone(), worker_config())
            .await
            .expect("start");
        let done = wait_status(&jobs, &id, JobStatus::Done).await;
        workers.shutdown().await;
        assert_eq!(done.attempts, 2);
        assert_eq!(handlers.calls(job.message_id), 2);
    })
    .await;
}

#[tokio::test]
async fn retry_after_postpones_the_next_attempt() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let job = extract(Uuid::now_v7());
        let after = Duration::from_secs(60);
        let handlers = Arc::new(Scripted::with(&[(
            job.message_id,
            Script::RetryAfterOnce(after),
        )]));
        let before = Utc::now();
        let id = jobs.enqueue(job).await.expect("enqueue");
        let workers = Workers::start(&jobs, handlers.clone(), worker_config())
            .await
            .expect("start");
        let retrying = wait_status(&jobs, &id, JobStatus::Retrying).await;
        workers.shutdown().await;
        // stored run_at, not elapsed time: at least Retry-After (SQLite keeps whole seconds)
        let earliest = before + chrono::Duration::seconds(59);
        assert!(
            retrying.run_at >= earliest,
            "{:?} < {earliest:?}",
            retrying.run_at
        );
        assert_eq!(retrying.last_error.as_deref(), Some("rate limited"));
        assert_eq!(handlers.calls(job.message_id), 1);
    })
    .await;
}

#[tokio::test]
async fn concurrency_and_kinds_are_respected() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let tenant = Uuid::now_v7();
        let nap = Script::Sleep(Duration::from_millis(100));
        let mut script = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..6 {
            let connection = Uuid::now_v7();
            script.push((connection, nap));
            let push = PushClients {
                tenant_id: tenant,
                connection_id: connection,
            };
            ids.push(jobs.enqueue(push).await.expect("enqueue"));
        }
        let other_kind = jobs.enqueue(extract(tenant)).await.expect("enqueue");
        let handlers = Arc::new(Scripted::with(&script));
        let config = WorkerConfig {
            concurrency: 2,
            kinds: vec![JobKind::PushClients],
            ..worker_config()
        };
        let workers = Workers::start(&jobs, handlers.clone(), config)
            .await
            .expect("start");
        for id in &ids {
            wait_status(&jobs, id, JobStatus::Done).await;
        }
        workers.shutdown().await;
        let max = handlers
            .max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..=2).contains(&max), "max in flight {max}");
        let untouched = jobs
            .get_job(&other_kind)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(
            untouched.status,
            JobStatus::Pending,
            "kind not run by this worker"
        );
    })
    .await;
}
