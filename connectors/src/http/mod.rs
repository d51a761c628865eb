//! The one HTTP executor every provider uses: bearer auth, single-flight token refresh on 401,
//! timeouts, retries with backoff and full jitter for transient errors only, rate limits, and
//! tracing without tokens, bodies or URLs.

mod limits;
mod pacer;
mod request;
mod retry;
mod token;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, RwLock, Semaphore};
use tracing::Instrument;

pub use limits::{
    DYNAMICS_DUPLICATE_CODE, LimitSnapshot, Verdict, classify, dynamics_error_code,
    parse_sforce_limit_info, retry_after, salesforce_error_codes, update_snapshot,
};
pub use pacer::pacing_delay;
pub use request::{ApiRequest, ApiResponse, Body};
pub use retry::{retry_delay, retry_delay_with_jitter};
pub use token::{GrantKind, TokenEndpoint, TokenResponse};

use crate::config::HttpPolicy;
use crate::connector::Tokens;
use crate::error::RateLimitScope;
use crate::provider::Provider;
use crate::{CrmError, Result};

tokio::task_local! {
    static REQUESTS: Arc<AtomicU64>;
}

/// Runs `work` counting into `counter` every HTTP request an [`Executor`] sends while
/// `work` runs in this task (retries and token refreshes included): what a sync run reports
/// as its CRM API calls. Requests sent outside such a scope are not counted.
pub async fn count_requests<F: std::future::Future>(counter: Arc<AtomicU64>, work: F) -> F::Output {
    REQUESTS.scope(counter, work).await
}

/// Executes CRM requests for one connection. Cheap to share behind an `Arc`.
pub struct Executor {
    provider: Provider,
    client: reqwest::Client,
    policy: HttpPolicy,
    tokens: RwLock<Option<Tokens>>,
    refresh_lock: Mutex<()>,
    needs_reauth: std::sync::Mutex<Option<String>>,
    token_endpoint: TokenEndpoint,
    refreshes: AtomicU64,
    limits: std::sync::Mutex<LimitSnapshot>,
    in_flight: Arc<Semaphore>,
    pacer: pacer::Pacer,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// An executor for one connection. `max_concurrency` bounds requests in flight
    /// (Dynamics allows 52 concurrent requests per user).
    pub fn new(
        provider: Provider,
        policy: HttpPolicy,
        token_endpoint: TokenEndpoint,
        tokens: Option<Tokens>,
        max_concurrency: usize,
    ) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(policy.request_timeout)
            .connect_timeout(policy.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CrmError::Config(format!("HTTP client: {e}")))?;
        Ok(Executor {
            provider,
            client,
            policy,
            tokens: RwLock::new(tokens),
            refresh_lock: Mutex::new(()),
            needs_reauth: std::sync::Mutex::new(None),
            token_endpoint,
            refreshes: AtomicU64::new(0),
            limits: std::sync::Mutex::new(LimitSnapshot::default()),
            in_flight: Arc::new(Semaphore::new(max_concurrency.max(1))),
            pacer: pacer::Pacer::default(),
        })
    }

    /// The current tokens.
    pub async fn tokens(&self) -> Option<Tokens> {
        self.tokens.read().await.clone()
    }

    /// How many token refreshes this executor performed.
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::SeqCst)
    }

    /// The rate-limit state last reported by the CRM.
    pub fn limits(&self) -> LimitSnapshot {
        self.limits.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Obtain tokens with an explicit grant (authorization code, client credentials) and keep them.
    pub async fn authorize(&self, grant: GrantKind) -> Result<Tokens> {
        let _guard = self.refresh_lock.lock().await;
        let previous = self.tokens.read().await.clone();
        let tokens = Box::pin(self.token_endpoint.request(self, grant, previous.as_ref())).await?;
        *self.tokens.write().await = Some(tokens.clone());
        if let Ok(mut flag) = self.needs_reauth.lock() {
            *flag = None;
        }
        Ok(tokens)
    }

    /// Refresh now (explicit), single-flight with 401-triggered refreshes.
    pub async fn refresh(&self) -> Result<Tokens> {
        let _guard = self.refresh_lock.lock().await;
        self.refresh_locked().await
    }

    async fn refresh_locked(&self) -> Result<Tokens> {
        if let Some(reason) = self.needs_reauth.lock().ok().and_then(|g| g.clone()) {
            return Err(CrmError::NeedsReauthorization(reason));
        }
        let previous = self.tokens.read().await.clone();
        let grant = self.token_endpoint.refresh_grant(previous.as_ref())?;
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        tracing::debug!(provider = %self.provider, "refreshing access token");
        match Box::pin(self.token_endpoint.request(self, grant, previous.as_ref())).await {
            Ok(tokens) => {
                *self.tokens.write().await = Some(tokens.clone());
                Ok(tokens)
            }
            Err(CrmError::NeedsReauthorization(reason)) => {
                tracing::warn!(provider = %self.provider, "refresh rejected: needs re-authorization");
                if let Ok(mut flag) = self.needs_reauth.lock() {
                    *flag = Some(reason.clone());
                }
                Err(CrmError::NeedsReauthorization(reason))
            }
            Err(e) => Err(e),
        }
    }

    /// After a 401 with `used`: refresh unless another caller already did.
    async fn refresh_after_401(&self, used: &str) -> Result<()> {
        let _guard = self.refresh_lock.lock().await;
        let current = self
            .tokens
            .read()
            .await
            .as_ref()
            .map(|t| t.access_token.clone());
        if current.as_deref().is_some_and(|c| c != used) {
            return Ok(());
        }
        self.refresh_locked().await.map(|_| ())
    }

    /// A usable access token: refreshed first when missing or known to be expired.
    async fn access_token(&self) -> Result<String> {
        if let Some(reason) = self.needs_reauth.lock().ok().and_then(|g| g.clone()) {
            return Err(CrmError::NeedsReauthorization(reason));
        }
        let skew = chrono::Duration::seconds(30);
        let usable = |t: &Option<Tokens>| {
            t.as_ref()
                .filter(|t| t.expires_at.is_none_or(|e| e - skew > chrono::Utc::now()))
                .map(|t| t.access_token.clone())
        };
        if let Some(token) = usable(&*self.tokens.read().await) {
            return Ok(token);
        }
        let _guard = self.refresh_lock.lock().await;
        if let Some(token) = usable(&*self.tokens.read().await) {
            return Ok(token);
        }
        Ok(self.refresh_locked().await?.access_token)
    }

    /// Send a request, retrying as the policy allows. Returns the response for 2xx/3xx and for
    /// definitive failures (4xx, permanent 5xx) which the provider interprets; auth, rate-limit
    /// and transient failures are handled here.
    pub async fn send(&self, req: &ApiRequest) -> Result<ApiResponse> {
        let span = tracing::info_span!(
            "crm_http",
            provider = %self.provider,
            op = req.op,
            method = %req.method,
        );
        self.send_inner(req).instrument(span).await
    }

    async fn send_inner(&self, req: &ApiRequest) -> Result<ApiResponse> {
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        loop {
            let token = if req.authenticated {
                Some(self.access_token().await?)
            } else {
                None
            };
            let result = self.attempt(req, token.as_deref()).await;
            let (wait_for, failure) = match result {
                Err(e) => {
                    let kind = if e.is_timeout() {
                        "timeout"
                    } else {
                        "connection"
                    };
                    tracing::info!(attempt, kind, "request failed");
                    (None, CrmError::Transient(format!("{kind} error")))
                }
                Ok(resp) => {
                    if let Ok(mut snap) = self.limits.lock() {
                        update_snapshot(&mut snap, &resp.headers);
                    }
                    let status = resp.status.as_u16();
                    match classify(status, &resp.headers, &resp.body) {
                        Verdict::Success | Verdict::Deliver => {
                            tracing::debug!(attempt, status, "response");
                            return Ok(resp);
                        }
                        Verdict::Unauthorized => {
                            tracing::info!(attempt, status, "unauthorized");
                            match token {
                                Some(used) if !refreshed => {
                                    self.refresh_after_401(&used).await?;
                                    refreshed = true;
                                    continue;
                                }
                                _ => {
                                    return Err(CrmError::Unauthorized(format!(
                                        "{} rejected the access token",
                                        self.provider
                                    )));
                                }
                            }
                        }
                        Verdict::RateLimited {
                            scope: RateLimitScope::Daily,
                            retry_after,
                        } => {
                            tracing::warn!(status, "daily API allowance exhausted");
                            return Err(CrmError::RateLimited {
                                retry_after,
                                scope: RateLimitScope::Daily,
                            });
                        }
                        Verdict::RateLimited { scope, retry_after } => {
                            tracing::info!(attempt, status, "rate limited");
                            (retry_after, CrmError::RateLimited { retry_after, scope })
                        }
                        Verdict::Transient => {
                            tracing::info!(attempt, status, "transient failure");
                            (None, CrmError::Transient(format!("HTTP {status}")))
                        }
                    }
                }
            };
            if attempt >= self.policy.max_retries {
                return Err(failure);
            }
            tokio::time::sleep(retry_delay(attempt, &self.policy, wait_for)).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        req: &ApiRequest,
        token: Option<&str>,
    ) -> std::result::Result<ApiResponse, reqwest::Error> {
        if req.authenticated {
            let (max, window) = self
                .limits
                .lock()
                .map(|l| (l.window_max, l.window))
                .unwrap_or_default();
            let wait = self.pacer.reserve(max, window);
            if !wait.is_zero() {
                tracing::debug!(
                    wait_ms = wait.as_millis() as u64,
                    "pacing to the rate limit"
                );
                tokio::time::sleep(wait).await;
            }
        }
        let _permit = self.in_flight.acquire().await.ok();
        let mut builder = self.client.request(req.method.clone(), req.url.clone());
        if let Some(token) = token {
            builder = builder.bearer_auth(token);
        }
        builder = builder.header("accept", "application/json");
        for (name, value) in &req.headers {
            builder = builder.header(*name, value);
        }
        builder = match &req.body {
            Body::Empty => builder,
            Body::Json(v) => builder.json(v),
            Body::Form(pairs) => builder.form(pairs),
        };
        let _ = REQUESTS.try_with(|n| n.fetch_add(1, Ordering::Relaxed));
        let resp = builder.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?.to_vec();
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }
}
