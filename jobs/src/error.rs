//! Errors of the runtime ([`JobsError`]) and of handlers ([`JobError`]).

use std::time::Duration;

/// Error of the jobs runtime (storage, configuration).
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// The database URL names no supported database.
    #[error("unsupported jobs database URL (expected sqlite: or postgres:): {0}")]
    UnsupportedUrl(String),
    /// A database operation failed.
    #[error("jobs database error: {0}")]
    Database(#[from] sqlx::Error),
    /// apalis's SQLite migrations failed.
    #[error("apalis SQLite setup failed: {0}")]
    SqliteSetup(#[from] apalis_sqlite::Error),
    /// apalis's PostgreSQL migrations failed.
    #[error("apalis PostgreSQL setup failed: {0}")]
    PostgresSetup(#[from] apalis_postgres::Error),
    /// A payload could not be encoded or decoded.
    #[error("job payload error: {0}")]
    Payload(#[from] serde_json::Error),
    /// A cron expression is invalid.
    #[error("invalid cron expression {expr:?}: {message}")]
    Cron {
        /// The expression.
        expr: String,
        /// Why it is invalid.
        message: String,
    },
}

/// Error returned by a job handler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth retrying later (network, rate limit, lock contention).
    #[error("transient: {message}")]
    Transient {
        /// What went wrong; stored as the job's last error.
        message: String,
        /// A delay the remote side asked for (`Retry-After`), honoured as a minimum.
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help: the job fails at once.
    #[error("permanent: {message}")]
    Permanent {
        /// What went wrong; stored as the job's last error.
        message: String,
    },
}

impl JobError {
    /// A transient error without `Retry-After`.
    pub fn transient(message: impl Into<String>) -> JobError {
        JobError::Transient {
            message: message.into(),
            retry_after: None,
        }
    }

    /// A permanent error.
    pub fn permanent(message: impl Into<String>) -> JobError {
        JobError::Permanent {
            message: message.into(),
        }
    }
}
