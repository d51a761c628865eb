//! CRM connectors: the [`CrmConnector`] trait, its registry ([`Provider::connect`]), the one
//! HTTP executor ([`http::Executor`]: auth, single-flight token refresh, retries, rate limits)
//! and one module per provider (Salesforce, HubSpot, Dynamics 365) with faithful local fakes
//! ([`fakes`]). Speaks neutral CRM records ([`CrmContact`]) and knows no database.

#![warn(missing_docs)]

pub mod config;
pub mod connector;
pub mod crypto;
pub mod dynamics;
pub mod error;
pub mod fakes;
pub mod http;
pub mod hubspot;
pub mod model;
pub mod provider;
pub mod salesforce;

mod cursor;

pub use config::{ConnectionConfig, HttpPolicy};
pub use connector::{ActivityKind, AuthGrant, Capabilities, CrmConnector, Tokens};
pub use crypto::{Pkce, SecretBox, credential_aad};
pub use error::{CrmError, RateLimitScope, Result};
pub use http::LimitSnapshot;
pub use model::{
    ActivityLog, ChangePage, ContactField, CrmContact, LoggedActivity, SyncCursor, UpsertOutcome,
    merge_remote_into_local,
};
pub use provider::Provider;
