//! Job payloads, kinds, statuses and the admin view of a job.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Extract contact facts from one inbound message and match them to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractMessage {
    /// Tenant owning the message.
    pub tenant_id: Uuid,
    /// The message to extract.
    pub message_id: Uuid,
}

/// Push dirty clients of one CRM connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushClients {
    /// Tenant owning the connection.
    pub tenant_id: Uuid,
    /// The CRM connection.
    pub connection_id: Uuid,
}

/// Pull remote changes of one CRM connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullChanges {
    /// Tenant owning the connection.
    pub tenant_id: Uuid,
    /// The CRM connection.
    pub connection_id: Uuid,
}

/// Push timeline activities of one CRM connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushActivities {
    /// Tenant owning the connection.
    pub tenant_id: Uuid,
    /// The CRM connection.
    pub connection_id: Uuid,
}

/// Deliver one outbound webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverWebhook {
    /// Tenant owning the delivery.
    pub tenant_id: Uuid,
    /// The delivery record to send.
    pub delivery_id: Uuid,
}

/// Apply one tenant's retention policy (purge old message bodies and deleted clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeRetention {
    /// The tenant whose policy runs.
    pub tenant_id: Uuid,
}

/// Any job this crate knows how to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// See [`ExtractMessage`].
    ExtractMessage(ExtractMessage),
    /// See [`PushClients`].
    PushClients(PushClients),
    /// See [`PullChanges`].
    PullChanges(PullChanges),
    /// See [`PushActivities`].
    PushActivities(PushActivities),
    /// See [`DeliverWebhook`].
    DeliverWebhook(DeliverWebhook),
    /// See [`PurgeRetention`].
    PurgeRetention(PurgeRetention),
}

impl Job {
    /// The kind (queue) of this job.
    pub fn kind(&self) -> JobKind {
        match self {
            Job::ExtractMessage(_) => JobKind::ExtractMessage,
            Job::PushClients(_) => JobKind::PushClients,
            Job::PullChanges(_) => JobKind::PullChanges,
            Job::PushActivities(_) => JobKind::PushActivities,
            Job::DeliverWebhook(_) => JobKind::DeliverWebhook,
            Job::PurgeRetention(_) => JobKind::PurgeRetention,
        }
    }

    /// The tenant the job belongs to.
    pub fn tenant_id(&self) -> Uuid {
        match self {
            Job::ExtractMessage(j) => j.tenant_id,
            Job::PushClients(j) => j.tenant_id,
            Job::PullChanges(j) => j.tenant_id,
            Job::PushActivities(j) => j.tenant_id,
            Job::DeliverWebhook(j) => j.tenant_id,
            Job::PurgeRetention(j) => j.tenant_id,
        }
    }

    /// The payload as stored (the inner struct as JSON, without an enum tag).
    pub fn payload(&self) -> Result<Vec<u8>, serde_json::Error> {
        match self {
            Job::ExtractMessage(j) => serde_json::to_vec(j),
            Job::PushClients(j) => serde_json::to_vec(j),
            Job::PullChanges(j) => serde_json::to_vec(j),
            Job::PushActivities(j) => serde_json::to_vec(j),
            Job::DeliverWebhook(j) => serde_json::to_vec(j),
            Job::PurgeRetention(j) => serde_json::to_vec(j),
        }
    }

    /// Decodes a stored payload of the given kind.
    pub fn decode(kind: JobKind, payload: &[u8]) -> Result<Job, serde_json::Error> {
        Ok(match kind {
            JobKind::ExtractMessage => Job::ExtractMessage(serde_json::from_slice(payload)?),
            JobKind::PushClients => Job::PushClients(serde_json::from_slice(payload)?),
            JobKind::PullChanges => Job::PullChanges(serde_json::from_slice(payload)?),
            JobKind::PushActivities => Job::PushActivities(serde_json::from_slice(payload)?),
            JobKind::DeliverWebhook => Job::DeliverWebhook(serde_json::from_slice(payload)?),
            JobKind::PurgeRetention => Job::PurgeRetention(serde_json::from_slice(payload)?),
        })
    }
}

macro_rules! job_from {
    ($($t:ident),*) => {$(
        impl From<$t> for Job {
            fn from(job: $t) -> Job {
                Job::$t(job)
            }
        }
    )*};
}
job_from!(
    ExtractMessage,
    PushClients,
    PullChanges,
    PushActivities,
    DeliverWebhook,
    PurgeRetention
);

/// The kind of a job; each kind is one apalis queue (`job_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobKind {
    /// [`ExtractMessage`] jobs.
    ExtractMessage,
    /// [`PushClients`] jobs.
    PushClients,
    /// [`PullChanges`] jobs.
    PullChanges,
    /// [`PushActivities`] jobs.
    PushActivities,
    /// [`DeliverWebhook`] jobs.
    DeliverWebhook,
    /// [`PurgeRetention`] jobs.
    PurgeRetention,
}

impl JobKind {
    /// Every kind, in a stable order.
    pub const ALL: [JobKind; 6] = [
        JobKind::ExtractMessage,
        JobKind::PushClients,
        JobKind::PullChanges,
        JobKind::PushActivities,
        JobKind::DeliverWebhook,
        JobKind::PurgeRetention,
    ];

    /// The queue name (`job_type` column) of this kind.
    pub fn queue(self) -> &'static str {
        match self {
            JobKind::ExtractMessage => "clientele::ExtractMessage",
            JobKind::PushClients => "clientele::PushClients",
            JobKind::PullChanges => "clientele::PullChanges",
            JobKind::PushActivities => "clientele::PushActivities",
            JobKind::DeliverWebhook => "clientele::DeliverWebhook",
            JobKind::PurgeRetention => "clientele::PurgeRetention",
        }
    }

    /// The kind of a queue name, if it is one of ours.
    pub fn from_queue(queue: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.queue() == queue)
    }
}

/// Status of a job as shown to admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobStatus {
    /// Waiting for its first run.
    Pending,
    /// Claimed by a live worker.
    Running,
    /// Finished successfully.
    Done,
    /// Finished unsuccessfully (permanent error or attempts exhausted); see `last_error`.
    Failed,
    /// Failed at least once, waiting for its next attempt (`run_at`).
    Retrying,
}

/// Which jobs an admin may see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobScope {
    /// `Some(t)`: only jobs of tenant `t`; `None`: every tenant (platform admin).
    pub tenant_id: Option<Uuid>,
}

/// Filter and keyset pagination of [`crate::Jobs::list_jobs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFilter {
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Only jobs of this kind.
    pub kind: Option<JobKind>,
    /// Page size (clamped to 1..=500).
    pub first: u32,
    /// Cursor: the `id` of the last job of the previous page.
    pub after: Option<String>,
}

impl Default for JobFilter {
    fn default() -> Self {
        JobFilter {
            status: None,
            kind: None,
            first: 50,
            after: None,
        }
    }
}

/// One job as shown to admins. Listing is newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobInfo {
    /// Job id (a ULID, as apalis uses).
    pub id: String,
    /// Kind of the job.
    pub kind: JobKind,
    /// Current status.
    pub status: JobStatus,
    /// Attempts started so far.
    pub attempts: u32,
    /// Attempts allowed before the job fails.
    pub max_attempts: u32,
    /// Error of the last failed attempt, if any.
    pub last_error: Option<String>,
    /// When the job is (or was) due to run.
    pub run_at: DateTime<Utc>,
    /// When the job finished (done or failed).
    pub done_at: Option<DateTime<Utc>>,
    /// Tenant of the job.
    pub tenant_id: Option<Uuid>,
    /// The payload as JSON.
    pub payload: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_round_trip() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::from_queue(kind.queue()), Some(kind));
        }
        assert_eq!(JobKind::from_queue("apalis::Other"), None);
    }

    #[test]
    fn payloads_round_trip_per_kind() {
        let (t, x) = (Uuid::from_u128(7), Uuid::from_u128(9));
        let jobs = [
            Job::from(ExtractMessage {
                tenant_id: t,
                message_id: x,
            }),
            Job::from(PushClients {
                tenant_id: t,
                connection_id: x,
            }),
            Job::from(PullChanges {
                tenant_id: t,
                connection_id: x,
            }),
            Job::from(PushActivities {
                tenant_id: t,
                connection_id: x,
            }),
            Job::from(DeliverWebhook {
                tenant_id: t,
                delivery_id: x,
            }),
            Job::from(PurgeRetention { tenant_id: t }),
        ];
        for job in jobs {
            let bytes = job.payload().expect("encode");
            assert_eq!(Job::decode(job.kind(), &bytes).expect("decode"), job);
            assert_eq!(job.tenant_id(), t);
        }
        assert!(Job::decode(JobKind::ExtractMessage, b"{}").is_err());
    }
}
