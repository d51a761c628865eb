//! HubSpot connector against `FakeHubSpot`.

use std::time::Duration;

use clientele_connectors::fakes::{FailKind, FakeHubSpot, FakeOptions};
use clientele_connectors::{
    CrmConnector, CrmContact, CrmError, Provider, RateLimitScope, UpsertOutcome,
};

use crate::common::{activity, code_flow, contacts, drain, tally};

async fn connected(fake: &FakeHubSpot) -> Box<dyn CrmConnector> {
    Provider::connect(fake.connection_config().tokens(fake.issue_tokens())).expect("connect")
}

#[tokio::test]
async fn authorize_with_pkce_then_refresh_keeps_the_refresh_token() {
    let fake = FakeHubSpot::start().await.expect("fake");
    let conn = Provider::connect(fake.connection_config()).expect("connect");
    code_flow(conn.as_ref(), |ch| fake.approve(ch)).await;
    let tokens = conn.tokens().await.expect("tokens");
    assert!(
        tokens.expires_at.is_some(),
        "HubSpot access tokens expire (expires_in)"
    );
    let refreshed = conn.refresh().await.expect("refresh");
    assert_ne!(refreshed.access_token, tokens.access_token);
    assert_eq!(refreshed.refresh_token, tokens.refresh_token);
    assert_eq!(fake.stats().refreshes, 1);
}

#[tokio::test]
async fn batch_upserts_100_at_a_time_and_reruns_without_duplicates() {
    let fake = FakeHubSpot::start().await.expect("fake");
    let conn = connected(&fake).await;
    assert_eq!(conn.capabilities().batch_size, 100);
    let batch = contacts(0, 250);
    let first = conn.upsert_contacts(&batch).await.expect("upsert");
    assert_eq!(tally(&first), (250, 0, 0));
    assert_eq!(
        conn.limits().window_max,
        Some(110),
        "X-HubSpot-RateLimit-Max is parsed"
    );
    assert_eq!(conn.limits().window_remaining, Some(107));
    assert_eq!(fake.stats().upsert_calls, 3);
    assert_eq!(fake.stats().max_batch, 100);
    let again = conn.upsert_contacts(&batch).await.expect("rerun");
    assert_eq!(tally(&again), (0, 250, 0));
    assert_eq!(fake.contacts().len(), 250);
    assert_eq!(first[7].remote_id(), again[7].remote_id());
}

#[tokio::test]
async fn partial_failures_207_are_reported_per_record() {
    let fake = FakeHubSpot::start().await.expect("fake");
    fake.reject_email("@invalid");
    let conn = connected(&fake).await;
    let mut batch = contacts(0, 6);
    batch[2].email = Some("a@invalid".into());
    batch[5].email = Some("b@invalid".into());
    let out = conn.upsert_contacts(&batch).await.expect("upsert");
    assert_eq!(tally(&out), (4, 0, 2));
    match &out[2] {
        UpsertOutcome::Failed {
            external_id,
            message,
        } => {
            assert_eq!(external_id, "c-2");
            assert!(
                message.starts_with("VALIDATION_ERROR: Property values were not valid"),
                "{message}"
            );
            assert!(
                message.contains("Email address a@invalid is invalid"),
                "{message}"
            );
        }
        other => panic!("expected failure, got {other:?}"),
    }
    assert!(matches!(&out[5], UpsertOutcome::Failed { external_id, .. } if external_id == "c-5"));
    assert_eq!(fake.contacts().len(), 4);
}

#[tokio::test]
async fn search_pages_restart_the_window_at_the_result_cap() {
    let fake = FakeHubSpot::start_with(FakeOptions {
        search_cap: 50,
        ..FakeOptions::hubspot()
    })
    .await
    .expect("fake");
    let cfg = fake
        .connection_config()
        .tokens(fake.issue_tokens())
        .page_size(20)
        .search_window_cap(50);
    let conn = Provider::connect(cfg).expect("connect");
    conn.upsert_contacts(&contacts(0, 130)).await.expect("seed");
    let (pages, cursor) = drain(conn.as_ref(), None).await;
    assert!(pages.len() >= 7, "{} pages", pages.len());
    let mut ids: Vec<String> = pages
        .iter()
        .flat_map(|p| p.contacts.iter().filter_map(|c| c.remote_id.clone()))
        .collect();
    let delivered = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 130, "every contact delivered");
    assert_eq!(delivered, 130, "no duplicates across window restarts");
    assert!(
        pages
            .iter()
            .flat_map(|p| &p.contacts)
            .all(|c| c.external_id.starts_with("c-"))
    );
    // Incremental: only the remote edit comes back.
    let (pages, cursor) = drain(conn.as_ref(), cursor).await;
    assert_eq!(pages.iter().map(|p| p.contacts.len()).sum::<usize>(), 0);
    let some = fake.contacts()[10].clone();
    fake.insert_remote_change(CrmContact {
        remote_id: some.remote_id.clone(),
        company: Some("Acme".into()),
        ..Default::default()
    });
    let (pages, _) = drain(conn.as_ref(), cursor).await;
    let changed: Vec<_> = pages.iter().flat_map(|p| p.contacts.clone()).collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].company.as_deref(), Some("Acme"));
    assert!(!conn.capabilities().supports_deletes);
}

#[tokio::test]
async fn note_logged_once_per_dedupe_key() {
    let fake = FakeHubSpot::start().await.expect("fake");
    let conn = connected(&fake).await;
    let out = conn.upsert_contacts(&contacts(0, 1)).await.expect("seed");
    let contact = out[0].remote_id().expect("id").to_owned();
    let first = conn
        .log_activity(&activity(&contact, "conv-9:w1"))
        .await
        .expect("log");
    assert!(first.created);
    let again = conn
        .log_activity(&activity(&contact, "conv-9:w1"))
        .await
        .expect("rerun");
    assert_eq!(again.remote_id, first.remote_id);
    assert!(!again.created);
    let acts = fake.activities();
    assert_eq!(acts.len(), 1);
    assert_eq!(acts[0].contact_remote_id, contact);
    assert_eq!(acts[0].subject, "Conversation summary");
}

#[tokio::test]
async fn rolling_window_is_respected_and_daily_limit_is_not_retried() {
    // A small rolling window: 5 requests per 100 ms.
    let fake = FakeHubSpot::start_with(FakeOptions {
        rate_limit: Some((5, Duration::from_millis(100))),
        ..FakeOptions::hubspot()
    })
    .await
    .expect("fake");
    let conn = connected(&fake).await;
    let out = conn
        .upsert_contacts(&contacts(0, 1200))
        .await
        .expect("upsert through the limit");
    assert_eq!(tally(&out), (1200, 0, 0));
    assert_eq!(fake.contacts().len(), 1200);
    // The executor paces itself from X-HubSpot-RateLimit-* (a stray 429 is retried).
    assert!(fake.stats().api_requests >= 12);
    fake.fail_next(1, FailKind::DailyLimit);
    let err = conn
        .upsert_contacts(&contacts(0, 1))
        .await
        .expect_err("daily");
    assert!(
        matches!(
            err,
            CrmError::RateLimited {
                scope: RateLimitScope::Daily,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_batch_refused_whole_is_isolated_record_by_record() {
    let fake = FakeHubSpot::start_with(FakeOptions {
        all_or_nothing_batches: true,
        ..FakeOptions::hubspot()
    })
    .await
    .expect("fake");
    fake.reject_email("@invalid");
    let conn = connected(&fake).await;
    let mut batch = contacts(0, 4);
    batch[1].email = Some("z@invalid".into());
    let out = conn.upsert_contacts(&batch).await.expect("upsert");
    assert_eq!(tally(&out), (3, 0, 1));
    assert!(
        matches!(&out[1], UpsertOutcome::Failed { external_id, message }
        if external_id == "c-1" && message.contains("Email address z@invalid is invalid"))
    );
    assert_eq!(fake.contacts().len(), 3);
    assert_eq!(
        fake.stats().upsert_calls,
        5,
        "one refused batch, then one call per record"
    );
}

#[tokio::test]
async fn consent_redirect_carries_code_and_state_to_the_callback() {
    let fake = FakeHubSpot::start().await.expect("fake");
    let conn = Provider::connect(fake.connection_config()).expect("connect");
    let pkce = clientele_connectors::Pkce::generate();
    let url = conn
        .authorization_url("csrf-42", &pkce.challenge)
        .expect("url");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = client.get(url).send().await.expect("consent page");
    assert!(resp.status().is_redirection());
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location");
    let callback = url::Url::parse(location).expect("callback url");
    assert!(
        callback
            .as_str()
            .starts_with(clientele_connectors::fakes::FAKE_REDIRECT_URI)
    );
    let params: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
    assert_eq!(params.get("state").map(String::as_str), Some("csrf-42"));
    let code = params.get("code").cloned().expect("code");
    let tokens = conn
        .authorize(clientele_connectors::AuthGrant::AuthorizationCode {
            code: code.clone(),
            redirect_uri: clientele_connectors::fakes::FAKE_REDIRECT_URI.into(),
            pkce_verifier: pkce.verifier.clone(),
        })
        .await
        .expect("exchange");
    assert!(tokens.refresh_token.is_some());
    // A code is single-use.
    let err = conn
        .authorize(clientele_connectors::AuthGrant::AuthorizationCode {
            code,
            redirect_uri: clientele_connectors::fakes::FAKE_REDIRECT_URI.into(),
            pkce_verifier: pkce.verifier,
        })
        .await
        .expect_err("reused code");
    assert!(matches!(err, CrmError::Permanent(_)), "{err:?}");
}
