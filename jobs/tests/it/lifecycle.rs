//! Worker lifecycle: graceful shutdown and the cron tick.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use clientele_jobs::*;
use uuid::Uuid;

use crate::support::*;

#[tokio::test]
async fn shutdown_lets_in_flight_jobs_finish() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let job = extract(Uuid::now_v7());
        let slow = Script::Sleep(Duration::from_millis(500));
        let handlers = Arc::new(Scripted::with(&[(job.message_id, slow)]));
        let id = jobs.enqueue(job).await.expect("enqueue");
        let workers = Workers::start(&jobs, handlers.clone(), worker_config())
            .await
            .expect("start");
        wait_status(&jobs, &id, JobStatus::Running).await;
        workers.shutdown().await;
        let after = jobs.get_job(&id).await.expect("get").expect("exists");
        assert_eq!(after.status, JobStatus::Done);
        assert_eq!(handlers.calls(job.message_id), 1);

        // a stopped worker takes no new jobs
        let late = jobs
            .enqueue(extract(Uuid::now_v7()))
            .await
            .expect("enqueue");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let late = jobs.get_job(&late).await.expect("get").expect("exists");
        assert_eq!(late.status, JobStatus::Pending);
    })
    .await;
}

#[tokio::test]
async fn shutdown_returns_jobs_still_running_at_the_deadline() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let job = extract(Uuid::now_v7());
        let stuck = Arc::new(Scripted::with(&[(job.message_id, Script::Block)]));
        let id = jobs.enqueue(job).await.expect("enqueue");
        let short_deadline = WorkerConfig {
            shutdown_deadline: Duration::from_millis(200),
            ..worker_config()
        };
        let workers = Workers::start(&jobs, stuck.clone(), short_deadline)
            .await
            .expect("start");
        wait_status(&jobs, &id, JobStatus::Running).await;
        workers
            .run_until(async { tokio::time::sleep(Duration::from_millis(100)).await })
            .await;
        let returned = jobs.get_job(&id).await.expect("get").expect("exists");
        assert_eq!(returned.status, JobStatus::Pending);
        assert_eq!(returned.attempts, 0, "an abandoned attempt is not counted");
        assert_eq!(stuck.calls(job.message_id), 1);

        let fine = Arc::new(Scripted::default());
        let workers = Workers::start(&jobs, fine.clone(), worker_config())
            .await
            .expect("start");
        wait_status(&jobs, &id, JobStatus::Done).await;
        workers.shutdown().await;
        assert_eq!(fine.calls(job.message_id), 1);
    })
    .await;
}

#[tokio::test]
async fn due_syncs_are_enqueued_once_per_slot() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let tenant = Uuid::now_v7();
        let hourly = ScheduledConnection {
            tenant_id: tenant,
            connection_id: Uuid::now_v7(),
            cron: "0 * * * *".into(),
        };
        let broken = ScheduledConnection {
            tenant_id: tenant,
            connection_id: Uuid::now_v7(),
            cron: "whenever".into(),
        };
        let connections = [hourly.clone(), broken];
        let now = Utc::now();
        let last = now - chrono::Duration::hours(2);
        // two workers ticking over the same window
        let first = jobs
            .enqueue_due_syncs(&connections, last, now)
            .await
            .expect("tick");
        let second = jobs
            .enqueue_due_syncs(&connections, last, now)
            .await
            .expect("tick");
        assert_eq!((first, second), (2, 0));
        let not_due = jobs
            .enqueue_due_syncs(&connections, now, now)
            .await
            .expect("tick");
        assert_eq!(not_due, 0);

        let listed = jobs
            .list_jobs(
                JobScope {
                    tenant_id: Some(tenant),
                },
                &JobFilter::default(),
            )
            .await
            .expect("list");
        let mut kinds: Vec<JobKind> = listed.iter().map(|j| j.kind).collect();
        kinds.sort_by_key(|k| k.queue());
        assert_eq!(kinds, [JobKind::PullChanges, JobKind::PushClients]);
        assert!(
            listed
                .iter()
                .all(|j| j.payload["connection_id"] == serde_json::json!(hourly.connection_id))
        );
    })
    .await;
}

#[tokio::test]
async fn the_cron_tick_runs_scheduled_syncs() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let tenant = Uuid::now_v7();
        let connection = Uuid::now_v7();
        let handlers = Arc::new(Scripted::default());
        handlers
            .scheduled
            .lock()
            .expect("lock")
            .push(ScheduledConnection {
                tenant_id: tenant,
                connection_id: connection,
                cron: "* * * * * *".into(), // every second
            });
        let ticking = WorkerConfig {
            cron_tick: Some(Duration::from_millis(100)),
            ..worker_config()
        };
        let workers = Workers::start(&jobs, handlers.clone(), ticking)
            .await
            .expect("start");
        let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
        let done = JobFilter {
            status: Some(JobStatus::Done),
            kind: Some(JobKind::PullChanges),
            ..JobFilter::default()
        };
        let scope = JobScope {
            tenant_id: Some(tenant),
        };
        while jobs.list_jobs(scope, &done).await.expect("list").is_empty() {
            assert!(
                tokio::time::Instant::now() < give_up,
                "no scheduled sync ran"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        workers.shutdown().await;
        assert!(handlers.calls(connection) >= 1);
    })
    .await;
}

#[tokio::test]
async fn dropping_the_handle_stops_the_worker() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let handlers = Arc::new(Scripted::default());
        let first = jobs
            .enqueue(extract(Uuid::now_v7()))
            .await
            .expect("enqueue");
        let workers = Workers::start(&jobs, handlers.clone(), worker_config())
            .await
            .expect("start");
        wait_status(&jobs, &first, JobStatus::Done).await;
        drop(workers);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let late = jobs
            .enqueue(extract(Uuid::now_v7()))
            .await
            .expect("enqueue");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let late = jobs.get_job(&late).await.expect("get").expect("exists");
        assert_eq!(late.status, JobStatus::Pending);
    })
    .await;
}
