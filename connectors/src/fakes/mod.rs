//! Faithful local fakes of the three CRMs, started on `127.0.0.1:0` (axum). They reproduce the
//! real wire shapes (status codes, paging fields, error bodies), token expiry and revocation,
//! and the published rate limits (with configurable windows so tests stay fast).
//!
//! Compiled always (not behind a feature) so `cargo test --workspace` exercises them, and usable
//! from other crates' tests and benchmarks.

mod core;
mod dynamics;
mod hubspot;
mod salesforce;
mod server;

use std::time::Duration;

pub use dynamics::FakeDynamics;
pub use hubspot::FakeHubSpot;
pub use salesforce::FakeSalesforce;
pub use server::FakeServer;

/// Client id the fakes accept.
pub const FAKE_CLIENT_ID: &str = "fake-client";
/// Client secret the fakes accept.
pub const FAKE_CLIENT_SECRET: &str = "fake-secret";
/// Redirect URI used by fake connection configs.
pub const FAKE_REDIRECT_URI: &str = "http://127.0.0.1/oauth/callback";

/// A failure to inject into the next API requests (token endpoint excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// A 5xx in the provider's shape.
    ServerError,
    /// The provider's short-window rate limit (HubSpot `TEN_SECONDLY_ROLLING`, Dynamics 429 with
    /// `Retry-After`, Salesforce concurrent-request `REQUEST_LIMIT_EXCEEDED`).
    RateLimit,
    /// The daily allowance (HubSpot `DAILY`, Salesforce `TotalRequests`).
    DailyLimit,
    /// A 401 as if the access token had expired.
    Unauthorized,
    /// The request is carried out but its answer is held back for
    /// [`FakeOptions::slow_response`], past a short client timeout (the retry must not duplicate).
    SlowResponse,
}

/// Limits and behaviour of a fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeOptions {
    /// Lifetime of access tokens (`None`: until [`FakeServer::expire_tokens`]).
    pub token_ttl: Option<Duration>,
    /// Rolling window: at most `.0` requests per `.1`.
    pub rate_limit: Option<(u32, Duration)>,
    /// Requests allowed in total ("per day").
    pub daily_limit: Option<u64>,
    /// Concurrent requests allowed.
    pub max_concurrent: Option<usize>,
    /// Cap on page sizes the fake serves (the provider's own cap applies too).
    pub max_page_size: Option<u32>,
    /// HubSpot: results reachable by one search query.
    pub search_cap: u32,
    /// Dynamics: answer 500 `0x80040333` for a second contact with an existing email.
    pub duplicate_detection: bool,
    /// HubSpot: refuse a whole batch with 400 when one record is invalid (as `batch/create`
    /// does) instead of answering 207 with per-record errors.
    pub all_or_nothing_batches: bool,
    /// How long a [`FailKind::SlowResponse`] answer is held back.
    pub slow_response: Duration,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            token_ttl: None,
            rate_limit: None,
            daily_limit: None,
            max_concurrent: None,
            max_page_size: None,
            search_cap: 10_000,
            duplicate_detection: false,
            all_or_nothing_batches: false,
            slow_response: Duration::from_secs(2),
        }
    }
}

impl FakeOptions {
    /// Salesforce as published: sessions without `expires_in`, a daily allowance (15,000 on a
    /// developer org) reported in `Sforce-Limit-Info`.
    pub fn salesforce() -> Self {
        FakeOptions {
            daily_limit: Some(15_000),
            ..Default::default()
        }
    }

    /// HubSpot as published for OAuth apps: 110 requests / 10 s, 30-minute tokens.
    pub fn hubspot() -> Self {
        FakeOptions {
            token_ttl: Some(Duration::from_secs(1800)),
            rate_limit: Some((110, Duration::from_secs(10))),
            ..Default::default()
        }
    }

    /// Dataverse service protection: 6,000 requests / 5 min and 52 concurrent per user,
    /// one-hour tokens.
    pub fn dynamics() -> Self {
        FakeOptions {
            token_ttl: Some(Duration::from_secs(3599)),
            rate_limit: Some((6000, Duration::from_secs(300))),
            max_concurrent: Some(52),
            ..Default::default()
        }
    }
}

/// Request counters of a fake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeStats {
    /// API requests received (token endpoint excluded), including refused ones.
    pub api_requests: u64,
    /// Token endpoint requests.
    pub token_requests: u64,
    /// Successful `refresh_token` or repeated `client_credentials` grants.
    pub refreshes: u64,
    /// Requests answered 401.
    pub unauthorized: u64,
    /// Requests refused by a rate limit (real or injected).
    pub rate_limited: u64,
    /// Failures injected by [`FakeServer::fail_next`].
    pub injected_failures: u64,
    /// Contact write calls that reached the handler.
    pub upsert_calls: u64,
    /// Largest number of records in one write call.
    pub max_batch: usize,
}

/// An activity as a fake stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeActivity {
    /// The CRM's id.
    pub remote_id: String,
    /// The contact it is attached to.
    pub contact_remote_id: String,
    /// Dedupe key.
    pub dedupe_key: String,
    /// Subject (HubSpot: the first line of the note body).
    pub subject: String,
    /// Body.
    pub body: String,
}
