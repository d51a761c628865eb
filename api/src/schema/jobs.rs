//! Background jobs as admins see them: the tenant's jobs with their status and last error,
//! and retry of a failed job.

use super::actor;
use crate::error::{ApiError, ApiResult, INTERNAL, NOT_FOUND, coded};
use async_graphql::{Context, Enum, ID, Json, Object};
use chrono::{DateTime, Utc};
use clientele_domain::Role;
use clientele_jobs::{JobFilter, JobInfo, JobScope, Jobs};

mirror_enum!(
    /// Where a job is: `RETRYING` failed at least once and waits for its next attempt;
    /// `FAILED` gave up (permanent error or attempts exhausted), see `lastError`.
    JobStatus = clientele_jobs::JobStatus {
        Pending,
        Running,
        Done,
        Failed,
        Retrying
    }
);
mirror_enum!(
    JobKind = clientele_jobs::JobKind {
        ExtractMessage,
        PushClients,
        PullChanges,
        PushActivities,
        DeliverWebhook,
        PurgeRetention
    }
);

pub struct Job(JobInfo);

#[Object]
impl Job {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn kind(&self) -> JobKind {
        self.0.kind.into()
    }
    async fn status(&self) -> JobStatus {
        self.0.status.into()
    }
    /// Attempts started so far.
    async fn attempts(&self) -> u32 {
        self.0.attempts
    }
    async fn max_attempts(&self) -> u32 {
        self.0.max_attempts
    }
    /// The error of the last failed attempt.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When the job is (or was) due to run.
    async fn run_at(&self) -> DateTime<Utc> {
        self.0.run_at
    }
    async fn done_at(&self) -> Option<DateTime<Utc>> {
        self.0.done_at
    }
    /// The job's arguments (ids only, never message bodies or secrets).
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }
}

/// The job store and the caller's tenant scope, for admins only.
fn admin_jobs<'a>(ctx: &'a Context<'_>) -> ApiResult<(&'a Jobs, JobScope)> {
    let actor = actor(ctx)?;
    actor.require(Role::Admin)?;
    let jobs = ctx
        .data_opt::<Jobs>()
        .ok_or_else(|| ApiError(coded(INTERNAL, "this process has no job store")))?;
    Ok((
        jobs,
        JobScope {
            tenant_id: Some(actor.tenant.0),
        },
    ))
}

fn internal(e: clientele_jobs::JobsError) -> ApiError {
    tracing::error!(error = %e, "job store error");
    ApiError(coded(INTERNAL, "internal error"))
}

#[derive(Default)]
pub struct JobQuery;

#[Object]
impl JobQuery {
    /// The tenant's background jobs, newest first (admins). `after` is the `id` of the last
    /// job of the previous page; `first` between 1 and 500.
    #[graphql(complexity = "first.unwrap_or(50).clamp(1, 500) as usize * child_complexity")]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        status: Option<JobStatus>,
        kind: Option<JobKind>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> ApiResult<Vec<Job>> {
        let (jobs, scope) = admin_jobs(ctx)?;
        let first = first.unwrap_or(50);
        if !(1..=500).contains(&first) {
            return Err(ApiError::bad_input("first", "must be between 1 and 500"));
        }
        let filter = JobFilter {
            status: status.map(Into::into),
            kind: kind.map(Into::into),
            first: first as u32,
            after: after.map(|a| a.0),
        };
        let list = jobs.list_jobs(scope, &filter).await.map_err(internal)?;
        Ok(list.into_iter().map(Job).collect())
    }

    /// One job of the tenant (admins).
    async fn job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Job> {
        let (jobs, scope) = admin_jobs(ctx)?;
        jobs.get_job_scoped(scope, &id)
            .await
            .map_err(internal)?
            .map(Job)
            .ok_or_else(|| ApiError(coded(NOT_FOUND, "job not found")))
    }
}

#[derive(Default)]
pub struct JobMutation;

#[Object]
impl JobMutation {
    /// Runs a failed job again with a fresh attempt budget (admins). Only failed jobs can be
    /// retried.
    async fn retry_job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Job> {
        let (jobs, scope) = admin_jobs(ctx)?;
        let Some(job) = jobs.get_job_scoped(scope, &id).await.map_err(internal)? else {
            return Err(ApiError(coded(NOT_FOUND, "job not found")));
        };
        if job.status != clientele_jobs::JobStatus::Failed {
            return Err(ApiError::bad_input(
                "id",
                "only failed jobs can be retried; this one is not failed",
            ));
        }
        // Already checked to be this tenant's: retry it directly.
        if !jobs.retry_job(&id).await.map_err(internal)? {
            return Err(ApiError::bad_input(
                "id",
                "only failed jobs can be retried; this one is not failed",
            ));
        }
        // The job as the retry queued it: a worker woken by the retry may already be running
        // (or have finished) it by the time it could be read again.
        Ok(Job(clientele_jobs::JobInfo {
            status: clientele_jobs::JobStatus::Pending,
            attempts: 0,
            run_at: chrono::Utc::now(),
            done_at: None,
            ..job
        }))
    }
}
