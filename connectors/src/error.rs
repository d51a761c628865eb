//! The one error type of this crate.

use std::time::Duration;

/// Which rate-limit window was exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitScope {
    /// A short rolling window (HubSpot ten-secondly, Dynamics 5-minute or concurrency): retry soon.
    Burst,
    /// A daily allowance (HubSpot `DAILY`, Salesforce `REQUEST_LIMIT_EXCEEDED`): retry tomorrow.
    Daily,
}

/// Everything a connector call can fail with. Messages never contain tokens or record contents
/// other than the CRM's own error text.
#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    /// The CRM rejected the access token and a refresh did not help.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The refresh token was revoked or is invalid (`invalid_grant`): an admin must reconnect.
    #[error("connection needs re-authorization: {0}")]
    NeedsReauthorization(String),
    /// A rate limit was hit and retries are exhausted (or the daily allowance is spent).
    #[error("rate limited ({scope:?}), retry after {retry_after:?}")]
    RateLimited {
        /// How long the CRM asked us to wait, when it said so.
        retry_after: Option<Duration>,
        /// Which window was exhausted.
        scope: RateLimitScope,
    },
    /// A transient failure (5xx, timeout, connection error) that outlived its retries.
    #[error("transient failure: {0}")]
    Transient(String),
    /// A failure that will not go away by retrying (4xx other than auth and rate limits).
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The CRM refused the data (the CRM's own message).
    #[error("validation failed: {message}")]
    Validation {
        /// The CRM's message.
        message: String,
    },
    /// The CRM answered something this crate cannot parse.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The connection is misconfigured (missing URL, bad key, ...).
    #[error("configuration error: {0}")]
    Config(String),
    /// The provider does not support this operation.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl CrmError {
    /// Whether a later retry of the whole operation may succeed (jobs reschedule these).
    pub fn is_transient(&self) -> bool {
        match self {
            CrmError::Transient(_) => true,
            CrmError::RateLimited { scope, .. } => *scope == RateLimitScope::Burst,
            _ => false,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = CrmError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_classification() {
        assert!(CrmError::Transient("x".into()).is_transient());
        assert!(
            CrmError::RateLimited {
                retry_after: None,
                scope: RateLimitScope::Burst
            }
            .is_transient()
        );
        assert!(
            !CrmError::RateLimited {
                retry_after: None,
                scope: RateLimitScope::Daily
            }
            .is_transient()
        );
        assert!(!CrmError::NeedsReauthorization("revoked".into()).is_transient());
        assert!(
            !CrmError::Validation {
                message: "bad".into()
            }
            .is_transient()
        );
    }
}
