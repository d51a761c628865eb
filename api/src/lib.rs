//! Clientele's API: the GraphQL schema (queries, mutations, subscriptions) and the axum router
//! that serves it over HTTP and WebSocket, beside health checks.

pub mod auth;
pub mod error;
mod export;
pub mod fanout;
pub mod http;
pub mod limits;
mod oauth;
pub mod schema;
pub mod webhooks;

pub use auth::Tokens;
pub use http::{HttpConfig, router};
pub use schema::{AppSchema, SchemaLimits, sdl};
