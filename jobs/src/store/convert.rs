//! Conversion of stored rows to the admin view, and the status vocabulary mapping.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::kind_of;
use crate::error::JobsError;
use crate::model::{JobInfo, JobStatus};

/// A job row in dialect-neutral form.
#[derive(Debug)]
pub(crate) struct RawJob {
    pub(crate) id: String,
    pub(crate) job_type: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) status: String,
    pub(crate) attempts: i64,
    pub(crate) max_attempts: i64,
    pub(crate) run_at: DateTime<Utc>,
    pub(crate) last_result: Option<serde_json::Value>,
    pub(crate) done_at: Option<DateTime<Utc>>,
    pub(crate) tenant: Option<String>,
}

pub(super) fn status_label(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Pending => "Pending",
        JobStatus::Running => "Running",
        JobStatus::Done => "Done",
        JobStatus::Failed => "Failed",
        JobStatus::Retrying => "Retrying",
    }
}

fn derive_status(status: &str, attempts: i64) -> JobStatus {
    match status {
        "Pending" if attempts > 0 => JobStatus::Retrying,
        "Pending" => JobStatus::Pending,
        "Running" | "Queued" => JobStatus::Running,
        "Done" => JobStatus::Done,
        _ => JobStatus::Failed,
    }
}

pub(super) fn info(raw: RawJob) -> Result<JobInfo, JobsError> {
    let last_error = match &raw.last_result {
        Some(serde_json::Value::Object(map)) => map.get("Err").map(|e| match e {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        _ => None,
    };
    Ok(JobInfo {
        kind: kind_of(&raw.job_type)?,
        status: derive_status(&raw.status, raw.attempts),
        attempts: u32::try_from(raw.attempts).unwrap_or(0),
        max_attempts: u32::try_from(raw.max_attempts).unwrap_or(0),
        last_error,
        run_at: raw.run_at,
        done_at: raw.done_at,
        tenant_id: raw.tenant.as_deref().and_then(|t| Uuid::parse_str(t).ok()),
        payload: serde_json::from_slice(&raw.payload).unwrap_or(serde_json::Value::Null),
        id: raw.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(status: &str, attempts: i64, last_result: Option<serde_json::Value>) -> RawJob {
        RawJob {
            id: "01J".into(),
            job_type: "clientele::PushClients".into(),
            payload: br#"{"tenant_id":"00000000-0000-0000-0000-000000000001"}"#.to_vec(),
            status: status.into(),
            attempts,
            max_attempts: 8,
            run_at: Utc::now(),
            last_result,
            done_at: None,
            tenant: Some("00000000-0000-0000-0000-000000000001".into()),
        }
    }

    #[test]
    fn statuses_map_from_apalis_vocabulary() {
        assert_eq!(derive_status("Pending", 0), JobStatus::Pending);
        assert_eq!(derive_status("Pending", 2), JobStatus::Retrying);
        assert_eq!(derive_status("Queued", 1), JobStatus::Running);
        assert_eq!(derive_status("Running", 1), JobStatus::Running);
        assert_eq!(derive_status("Done", 1), JobStatus::Done);
        assert_eq!(derive_status("Failed", 3), JobStatus::Failed);
        assert_eq!(derive_status("Killed", 1), JobStatus::Failed);
    }

    #[test]
    fn labels_match_the_sql_derivation() {
        // 'Done' passes through the CASE's ELSE unchanged
        assert_eq!(status_label(JobStatus::Done), "Done");
        for status in [
            JobStatus::Pending,
            JobStatus::Running,
            JobStatus::Failed,
            JobStatus::Retrying,
        ] {
            assert!(super::super::DERIVED_STATUS.contains(status_label(status)));
        }
    }

    #[test]
    fn last_error_comes_from_err_results_only() {
        let failed = info(row("Failed", 1, Some(json!({"Err": "boom"})))).expect("info");
        assert_eq!(failed.last_error.as_deref(), Some("boom"));
        let done = info(row("Done", 1, Some(json!({"Ok": null})))).expect("info");
        assert_eq!(done.last_error, None);
        let fresh = info(row("Pending", 0, None)).expect("info");
        assert_eq!(fresh.last_error, None);
        assert_eq!(fresh.tenant_id, Some(Uuid::from_u128(1)));
        assert_eq!(fresh.payload["tenant_id"], json!(Uuid::from_u128(1)));
    }

    #[test]
    fn unknown_job_types_are_errors() {
        let mut r = row("Done", 1, None);
        r.job_type = "other::Thing".into();
        assert!(info(r).is_err());
    }
}
