//! The one conversion from domain errors to GraphQL errors with `extensions.code`.
//!
//! Resolvers return `Result<T, ApiError>`; `ApiError` deliberately does not implement
//! `Display`, so a `DomainError` can only become a GraphQL error through this mapping, never
//! through async-graphql's catch-all conversion that would drop the code.

use crate::auth::AuthError;
use async_graphql::ErrorExtensions;
use clientele_domain::DomainError;

pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
pub const FORBIDDEN: &str = "FORBIDDEN";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
pub const CONFLICT: &str = "CONFLICT";
pub const RATE_LIMITED: &str = "RATE_LIMITED";
pub const INTERNAL: &str = "INTERNAL";

#[derive(Clone, Debug)]
pub struct ApiError(pub async_graphql::Error);

pub type ApiResult<T> = Result<T, ApiError>;

/// A GraphQL error with a code.
pub fn coded(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code))
}

impl ApiError {
    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        let field = field.to_string();
        ApiError(
            coded(BAD_USER_INPUT, format!("{field}: {}", message.into()))
                .extend_with(|_, ext| ext.set("field", field.clone())),
        )
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound { entity } => {
                ApiError(coded(NOT_FOUND, format!("{entity} not found")))
            }
            DomainError::Invalid { field, message } => ApiError::bad_input(&field, message),
            DomainError::Conflict(message) => ApiError(coded(CONFLICT, message)),
            DomainError::Forbidden(message) => ApiError(coded(FORBIDDEN, message)),
            DomainError::Database(cause) => {
                tracing::error!(error = %cause, "database error");
                ApiError(coded(INTERNAL, "internal error"))
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError(coded(UNAUTHENTICATED, e.to_string()))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        e.0
    }
}
