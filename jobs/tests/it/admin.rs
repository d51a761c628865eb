//! Admin views and enqueue options: retry, dedupe, tenant scoping, paging, purge.

use std::sync::Arc;
use std::time::Duration;

use clientele_jobs::*;
use uuid::Uuid;

use crate::support::*;

#[tokio::test]
async fn retry_job_makes_a_failed_job_run_again() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let job = extract(Uuid::now_v7());
        let handlers = Arc::new(Scripted::with(&[(job.message_id, Script::PermanentOnce)]));
        let id = jobs.enqueue(job).await.expect("enqueue");
        let workers = Workers::start(&jobs, handlers.clone(), worker_config())
            .await
            .expect("start");
        wait_status(&jobs, &id, JobStatus::Failed).await;
        assert!(jobs.retry_job(&id).await.expect("retry"));
        let done = wait_status(&jobs, &id, JobStatus::Done).await;
        assert!(
            !jobs.retry_job(&id).await.expect("retry"),
            "done jobs stay done"
        );
        assert!(!jobs.retry_job("no-such-job").await.expect("retry"));
        workers.shutdown().await;
        assert_eq!(handlers.calls(job.message_id), 2);
        assert_eq!(
            done.attempts, 1,
            "a retried job gets a fresh attempt budget"
        );
        assert_eq!(done.last_error, None);
    })
    .await;
}

#[tokio::test]
async fn dedupe_keys_allow_one_unfinished_job() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let tenant = Uuid::now_v7();
        let job = extract(tenant);
        let first = jobs.enqueue_extract(job).await.expect("enqueue");
        let second = jobs.enqueue_extract(job).await.expect("enqueue");
        assert!(first.is_some());
        assert_eq!(second, None);
        let push = PushClients {
            tenant_id: tenant,
            connection_id: Uuid::now_v7(),
        };
        let a = jobs.enqueue_unique(push, "k").await.expect("enqueue");
        let b = jobs.enqueue_unique(push, "k").await.expect("enqueue");
        let other_key = jobs.enqueue_unique(push, "k2").await.expect("enqueue");
        assert!(a.is_some() && b.is_none() && other_key.is_some());
        let pull = PullChanges {
            tenant_id: tenant,
            connection_id: push.connection_id,
        };
        let other_kind = jobs.enqueue_unique(pull, "k").await.expect("enqueue");
        assert!(other_kind.is_some(), "keys are per kind");

        let handlers = Arc::new(Scripted::default());
        let workers = Workers::start(&jobs, handlers.clone(), worker_config())
            .await
            .expect("start");
        let a = a.expect("enqueued");
        wait_status(&jobs, &a, JobStatus::Done).await;
        let again = jobs.enqueue_unique(push, "k").await.expect("enqueue");
        let again = again.expect("a finished job frees its key");
        wait_status(&jobs, &again, JobStatus::Done).await;
        let first = first.expect("enqueued");
        wait_status(&jobs, &first, JobStatus::Done).await;
        workers.shutdown().await;
        assert_eq!(handlers.calls(job.message_id), 1);
    })
    .await;
}

#[tokio::test]
async fn listing_is_scoped_to_the_tenant_and_paged() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut a_ids = Vec::new();
        for _ in 0..5 {
            a_ids.push(jobs.enqueue(extract(a)).await.expect("enqueue"));
        }
        let b_id = jobs.enqueue(extract(b)).await.expect("enqueue");
        let b_push = jobs
            .enqueue(PushClients {
                tenant_id: b,
                connection_id: Uuid::now_v7(),
            })
            .await
            .expect("enqueue");

        let scope_a = JobScope { tenant_id: Some(a) };
        let all_a = jobs
            .list_jobs(scope_a, &JobFilter::default())
            .await
            .expect("list");
        assert_eq!(all_a.len(), 5);
        assert!(all_a.iter().all(|j| j.tenant_id == Some(a)));
        assert!(all_a.iter().all(|j| j.status == JobStatus::Pending));

        let everyone = jobs
            .list_jobs(JobScope::default(), &JobFilter::default())
            .await
            .expect("list");
        assert_eq!(everyone.len(), 7);

        let scope_b = JobScope { tenant_id: Some(b) };
        let b_pushes = JobFilter {
            kind: Some(JobKind::PushClients),
            ..JobFilter::default()
        };
        let listed = jobs.list_jobs(scope_b, &b_pushes).await.expect("list");
        assert_eq!(listed.iter().map(|j| &j.id).collect::<Vec<_>>(), [&b_push]);

        assert!(
            jobs.get_job_scoped(scope_a, &b_id)
                .await
                .expect("get")
                .is_none()
        );
        assert!(
            jobs.get_job_scoped(scope_b, &b_id)
                .await
                .expect("get")
                .is_some()
        );
        assert!(!jobs.retry_job_scoped(scope_a, &b_id).await.expect("retry"));

        // keyset paging over tenant a, two at a time, sees each job once
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = JobFilter {
                first: 2,
                after: after.clone(),
                ..JobFilter::default()
            };
            let jobs_page = jobs.list_jobs(scope_a, &page).await.expect("list");
            if jobs_page.is_empty() {
                break;
            }
            assert!(jobs_page.len() <= 2);
            after = jobs_page.last().map(|j| j.id.clone());
            seen.extend(jobs_page.into_iter().map(|j| j.id));
        }
        seen.sort();
        a_ids.sort();
        assert_eq!(seen, a_ids);
    })
    .await;
}

#[tokio::test]
async fn purge_removes_only_old_finished_jobs() {
    each_backend(|url| async move {
        let jobs = connect(&url, jobs_config()).await;
        let tenant = Uuid::now_v7();
        let done_id = jobs.enqueue(extract(tenant)).await.expect("enqueue");
        let handlers = Arc::new(Scripted::default());
        let workers = Workers::start(&jobs, handlers, worker_config())
            .await
            .expect("start");
        wait_status(&jobs, &done_id, JobStatus::Done).await;
        workers.shutdown().await;
        let pending_id = jobs.enqueue(extract(tenant)).await.expect("enqueue");

        let kept = jobs
            .purge_finished(Duration::from_secs(3600))
            .await
            .expect("purge");
        assert_eq!(kept, 0, "the done job is too recent");
        // SQLite stores seconds: wait until the finish time is strictly in the past
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let purged = jobs.purge_finished(Duration::ZERO).await.expect("purge");
        assert_eq!(purged, 1);
        assert!(jobs.get_job(&done_id).await.expect("get").is_none());
        assert!(jobs.get_job(&pending_id).await.expect("get").is_some());
    })
    .await;
}
