//! The shared HTTP executor: single-flight refresh, 429 storms, revoked grants, quiet logs.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use clientele_connectors::fakes::{
    FailKind, FakeDynamics, FakeHubSpot, FakeSalesforce, FakeServer,
};
use clientele_connectors::{
    AuthGrant, ConnectionConfig, CrmConnector, CrmError, HttpPolicy, Provider, RateLimitScope,
};

use crate::common::{contacts, tally};

fn connect(cfg: ConnectionConfig) -> Arc<dyn CrmConnector> {
    Arc::from(Provider::connect(cfg).expect("connect"))
}

/// Expire the tokens, then run 8 syncs at once: all succeed after exactly one refresh.
async fn one_refresh_for_concurrent_callers(
    fake: &FakeServer,
    conn: Arc<dyn CrmConnector>,
    refreshes_before: u64,
) {
    conn.upsert_contacts(&contacts(0, 10))
        .await
        .expect("warm up");
    fake.expire_tokens();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let conn = conn.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                conn.upsert_contacts(&contacts(100 + i * 10, 10))
                    .await
                    .map(|_| ())
            } else {
                conn.fetch_changes(None).await.map(|_| ())
            }
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("call after expiry");
    }
    assert_eq!(
        fake.stats().refreshes,
        refreshes_before + 1,
        "exactly one refresh"
    );
    assert!(fake.stats().unauthorized >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_expiry_mid_sync_refreshes_once_hubspot() {
    let fake = FakeHubSpot::start().await.expect("fake");
    let conn = connect(fake.connection_config().tokens(fake.issue_tokens()));
    one_refresh_for_concurrent_callers(&fake, conn, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_expiry_mid_sync_refreshes_once_salesforce() {
    let fake = FakeSalesforce::start().await.expect("fake");
    let conn = connect(fake.connection_config().tokens(fake.issue_tokens()));
    one_refresh_for_concurrent_callers(&fake, conn, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_expiry_mid_sync_refreshes_once_dynamics() {
    let fake = FakeDynamics::start().await.expect("fake");
    let conn = connect(fake.connection_config());
    conn.authorize(AuthGrant::ClientCredentials)
        .await
        .expect("auth");
    one_refresh_for_concurrent_callers(&fake, conn, 0).await;
}

#[tokio::test]
async fn storm_of_429s_every_record_synced_exactly_once() {
    let fake = FakeHubSpot::start().await.expect("fake");
    // Few in-process retries: some calls give up with a burst RateLimited, as a job would,
    // and the "job" reruns them later.
    let policy = HttpPolicy {
        max_retries: 2,
        ..HttpPolicy::fast()
    };
    let conn = connect(
        fake.connection_config()
            .tokens(fake.issue_tokens())
            .http(policy),
    );
    let all = contacts(0, 1000);
    fake.fail_next(40, FailKind::RateLimit);
    let mut pending: Vec<_> = all.chunks(100).map(<[_]>::to_vec).collect();
    let mut gave_up = 0;
    for _round in 0..100 {
        if pending.is_empty() {
            break;
        }
        let mut still = Vec::new();
        for chunk in pending {
            match conn.upsert_contacts(&chunk).await {
                Ok(out) => assert_eq!(tally(&out).2, 0),
                Err(e) => {
                    assert!(
                        matches!(
                            e,
                            CrmError::RateLimited {
                                scope: RateLimitScope::Burst,
                                ..
                            }
                        ),
                        "{e:?}"
                    );
                    assert!(e.is_transient());
                    gave_up += 1;
                    still.push(chunk);
                }
            }
        }
        pending = still;
    }
    assert!(pending.is_empty(), "everything synced eventually");
    assert!(
        gave_up > 0,
        "the storm outlasted the in-process retries at least once"
    );
    let remote = fake.contacts();
    assert_eq!(remote.len(), 1000);
    let unique: HashSet<_> = remote.iter().map(|c| c.external_id.clone()).collect();
    assert_eq!(unique.len(), 1000, "no duplicates");
    assert_eq!(fake.stats().rate_limited, 40);
}

#[tokio::test]
async fn storm_of_salesforce_concurrency_limits_and_5xx_is_retried_in_process() {
    let fake = FakeSalesforce::start().await.expect("fake");
    let conn = connect(fake.connection_config().tokens(fake.issue_tokens()));
    fake.fail_next(6, FailKind::RateLimit);
    fake.fail_next(3, FailKind::ServerError);
    let out = conn
        .upsert_contacts(&contacts(0, 500))
        .await
        .expect("upsert");
    assert_eq!(tally(&out), (500, 0, 0));
    assert_eq!(fake.contacts().len(), 500);
}

#[tokio::test]
async fn revoked_refresh_token_needs_reauthorization_without_retry_loop() {
    let fake = FakeHubSpot::start().await.expect("fake");
    let conn = connect(fake.connection_config().tokens(fake.issue_tokens()));
    conn.upsert_contacts(&contacts(0, 1))
        .await
        .expect("works before");
    fake.revoke_refresh_token();
    fake.expire_tokens();
    let err = conn
        .upsert_contacts(&contacts(1, 1))
        .await
        .expect_err("revoked");
    assert!(
        matches!(err, CrmError::NeedsReauthorization(ref m) if m.contains("invalid_grant")),
        "{err:?}"
    );
    assert!(!err.is_transient());
    let stats = fake.stats();
    assert_eq!(
        stats.token_requests, 1,
        "one refresh attempt, no retry loop"
    );
    // Later calls fail fast without touching the CRM.
    let err = conn.fetch_changes(None).await.expect_err("still revoked");
    assert!(matches!(err, CrmError::NeedsReauthorization(_)));
    assert_eq!(fake.stats().token_requests, 1);
    assert_eq!(fake.stats().api_requests, stats.api_requests);
}

#[tokio::test]
async fn revoked_client_secret_needs_reauthorization_dynamics() {
    let fake = FakeDynamics::start().await.expect("fake");
    let conn = connect(fake.connection_config());
    conn.authorize(AuthGrant::ClientCredentials)
        .await
        .expect("auth");
    fake.revoke_refresh_token();
    fake.expire_tokens();
    let err = conn
        .upsert_contacts(&contacts(0, 3))
        .await
        .expect_err("revoked");
    assert!(matches!(err, CrmError::NeedsReauthorization(_)), "{err:?}");
    assert_eq!(fake.stats().token_requests, 2);
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One process-wide subscriber (thread-local ones race with callsite caching across tests),
/// capturing everything this crate logs in every test of the binary.
fn captured_logs() -> Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("clientele_connectors=trace")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        captured
    })
    .clone()
}

#[tokio::test]
async fn traces_carry_no_tokens_emails_or_urls() {
    let captured = captured_logs();
    let fake = FakeHubSpot::start().await.expect("fake");
    let tokens = fake.issue_tokens();
    let conn = connect(fake.connection_config().tokens(tokens.clone()));
    fake.fail_next(2, FailKind::RateLimit);
    conn.upsert_contacts(&contacts(0, 3)).await.expect("upsert");
    fake.expire_tokens();
    conn.fetch_changes(None).await.expect("fetch");
    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
    assert!(logs.contains("rate limited"), "retries are traced: {logs}");
    assert!(
        logs.contains("crm_http"),
        "requests are traced in a span: {logs}"
    );
    assert!(!logs.contains("@example.com"), "no emails in logs");
    assert!(
        !logs.contains(&tokens.access_token),
        "no access token in logs"
    );
    assert!(
        !logs.contains("fake-access-") && !logs.contains("fake-refresh-"),
        "no tokens in logs"
    );
    assert!(!logs.contains("127.0.0.1"), "no URLs in logs");
    let debug = format!("{:?} {:?}", tokens, fake.connection_config());
    assert!(!debug.contains(&tokens.access_token) && !debug.contains("fake-secret"));
}

#[tokio::test]
async fn timed_out_writes_are_retried_without_duplicates() {
    let fake = FakeSalesforce::start().await.expect("fake");
    let policy = HttpPolicy {
        request_timeout: std::time::Duration::from_millis(300),
        ..HttpPolicy::fast()
    };
    let conn = connect(
        fake.connection_config()
            .tokens(fake.issue_tokens())
            .http(policy),
    );
    // The CRM applies the first upsert but answers too late; the executor retries it.
    fake.fail_next(1, FailKind::SlowResponse);
    let out = conn
        .upsert_contacts(&contacts(0, 10))
        .await
        .expect("upsert");
    assert_eq!(tally(&out).2, 0);
    assert!(out.iter().all(|o| o.remote_id().is_some()));
    assert_eq!(fake.contacts().len(), 10, "the retry created nothing twice");
    assert_eq!(
        fake.stats().upsert_calls,
        2,
        "the timed-out call and its retry"
    );
}
