//! The domain's error type. Adapters convert it once, at the edge (GraphQL codes, HTTP statuses).

use sea_orm::DbErr;

pub type DomainResult<T> = Result<T, DomainError>;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The thing does not exist for this tenant (another tenant's ids land here too).
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// Input that cannot be accepted; `field` names the offending input field.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The stored state moved on (stale version, duplicate key).
    #[error("{0}")]
    Conflict(String),
    /// The actor's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Anything the database reports that is not one of the above.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(entity: &'static str) -> Self {
        DomainError::NotFound { entity }
    }
}
