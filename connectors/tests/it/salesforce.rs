//! Salesforce connector against `FakeSalesforce`.

use clientele_connectors::fakes::{FailKind, FakeOptions, FakeSalesforce};
use clientele_connectors::{
    AuthGrant, CrmConnector, CrmContact, CrmError, Pkce, Provider, UpsertOutcome,
};

use crate::common::{activity, code_flow, contacts, drain, tally};

async fn connected(fake: &FakeSalesforce) -> Box<dyn CrmConnector> {
    Provider::connect(fake.connection_config().tokens(fake.issue_tokens())).expect("connect")
}

#[tokio::test]
async fn authorize_with_pkce_then_refresh() {
    let fake = FakeSalesforce::start().await.expect("fake");
    let conn = Provider::connect(fake.connection_config()).expect("connect");
    code_flow(conn.as_ref(), |ch| fake.approve(ch)).await;
    let tokens = conn.tokens().await.expect("tokens");
    assert!(
        tokens.expires_at.is_none(),
        "Salesforce sends no expires_in"
    );
    assert!(tokens.instance_url.is_some());
    let refreshed = conn.refresh().await.expect("refresh");
    assert_ne!(refreshed.access_token, tokens.access_token);
    assert_eq!(
        refreshed.refresh_token, tokens.refresh_token,
        "refresh token kept"
    );
    assert_eq!(fake.stats().refreshes, 1);
    // A wrong verifier is refused.
    let pkce = Pkce::generate();
    let code = fake.approve(&pkce.challenge);
    let err = conn
        .authorize(AuthGrant::AuthorizationCode {
            code,
            redirect_uri: "http://127.0.0.1/oauth/callback".into(),
            pkce_verifier: Pkce::generate().verifier,
        })
        .await
        .expect_err("bad verifier");
    assert!(matches!(err, CrmError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn upserts_in_collections_of_200_and_reruns_without_duplicates() {
    let fake = FakeSalesforce::start().await.expect("fake");
    let conn = connected(&fake).await;
    assert_eq!(conn.capabilities().batch_size, 200);
    let batch = contacts(0, 450);
    let first = conn.upsert_contacts(&batch).await.expect("upsert");
    assert_eq!(tally(&first), (450, 0, 0));
    assert_eq!(fake.stats().upsert_calls, 3);
    let limits = conn.limits();
    assert_eq!(
        limits.daily_limit,
        Some(15_000),
        "Sforce-Limit-Info is parsed"
    );
    assert_eq!(limits.daily_used, Some(3));
    assert_eq!(fake.stats().max_batch, 200);
    let again = conn.upsert_contacts(&batch).await.expect("rerun");
    assert_eq!(tally(&again), (0, 450, 0));
    assert_eq!(fake.contacts().len(), 450);
    let ids: Vec<_> = first
        .iter()
        .map(|o| o.remote_id().map(str::to_owned))
        .collect();
    let ids_again: Vec<_> = again
        .iter()
        .map(|o| o.remote_id().map(str::to_owned))
        .collect();
    assert_eq!(ids, ids_again);
}

#[tokio::test]
async fn per_record_validation_failures_carry_salesforce_messages() {
    let fake = FakeSalesforce::start().await.expect("fake");
    fake.reject_email("bad.example");
    let conn = connected(&fake).await;
    let mut batch = contacts(0, 5);
    batch[1].email = Some("x@bad.example".into());
    batch[3].last_name = None;
    let out = conn.upsert_contacts(&batch).await.expect("upsert");
    assert_eq!(tally(&out), (3, 0, 2));
    assert_eq!(
        out[1],
        UpsertOutcome::Failed {
            external_id: "c-1".into(),
            message: "INVALID_EMAIL_ADDRESS: Email: invalid email address: x@bad.example".into()
        }
    );
    assert!(
        matches!(&out[3], UpsertOutcome::Failed { message, .. } if message.contains("REQUIRED_FIELD_MISSING"))
    );
    assert_eq!(fake.contacts().len(), 3);
}

#[tokio::test]
async fn change_feed_pages_with_next_records_url_and_resumes_incrementally() {
    let fake = FakeSalesforce::start_with(FakeOptions {
        max_page_size: Some(40),
        ..FakeOptions::salesforce()
    })
    .await
    .expect("fake");
    let conn = connected(&fake).await;
    conn.upsert_contacts(&contacts(0, 100)).await.expect("seed");
    let (pages, cursor) = drain(conn.as_ref(), None).await;
    assert_eq!(pages.len(), 3);
    let total: usize = pages.iter().map(|p| p.contacts.len()).sum();
    assert_eq!(total, 100);
    assert!(
        pages[0]
            .contacts
            .iter()
            .all(|c| c.remote_id.is_some() && c.updated_at.is_some())
    );
    // Nothing new: nothing returned.
    let (pages, cursor) = drain(conn.as_ref(), cursor).await;
    assert_eq!(pages.iter().map(|p| p.contacts.len()).sum::<usize>(), 0);
    // A remote edit and a remote delete show up once.
    let first = fake.contacts()[0].clone();
    fake.insert_remote_change(CrmContact {
        remote_id: first.remote_id.clone(),
        city: Some("Paris".into()),
        ..Default::default()
    });
    let victim = fake.contacts()[1].remote_id.clone().expect("id");
    assert!(fake.delete_remote(&victim));
    let (pages, cursor) = drain(conn.as_ref(), cursor).await;
    let changed: Vec<_> = pages.iter().flat_map(|p| p.contacts.clone()).collect();
    let deleted: Vec<_> = pages
        .iter()
        .flat_map(|p| p.deleted_remote_ids.clone())
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].city.as_deref(), Some("Paris"));
    assert_eq!(changed[0].external_id, first.external_id);
    assert_eq!(deleted, vec![victim]);
    let (pages, _) = drain(conn.as_ref(), cursor).await;
    assert!(
        pages
            .iter()
            .all(|p| p.contacts.is_empty() && p.deleted_remote_ids.is_empty())
    );
}

#[tokio::test]
async fn task_logged_once_per_dedupe_key() {
    let fake = FakeSalesforce::start().await.expect("fake");
    let conn = connected(&fake).await;
    let out = conn.upsert_contacts(&contacts(0, 1)).await.expect("seed");
    let who = out[0].remote_id().expect("id").to_owned();
    let first = conn
        .log_activity(&activity(&who, "conv-1:2026-11-20"))
        .await
        .expect("log");
    assert!(first.created);
    let again = conn
        .log_activity(&activity(&who, "conv-1:2026-11-20"))
        .await
        .expect("rerun");
    assert!(!again.created);
    assert_eq!(again.remote_id, first.remote_id);
    conn.log_activity(&activity(&who, "conv-1:2026-11-21"))
        .await
        .expect("next window");
    let acts = fake.activities();
    assert_eq!(acts.len(), 2);
    assert_eq!(acts[0].contact_remote_id, who);
}

#[tokio::test]
async fn daily_allowance_exhaustion_is_not_retried() {
    let fake = FakeSalesforce::start_with(FakeOptions {
        daily_limit: Some(2),
        ..FakeOptions::salesforce()
    })
    .await
    .expect("fake");
    let conn = connected(&fake).await;
    conn.upsert_contacts(&contacts(0, 2)).await.expect("1");
    conn.upsert_contacts(&contacts(2, 2)).await.expect("2");
    let before = fake.stats().api_requests;
    let err = conn
        .upsert_contacts(&contacts(4, 2))
        .await
        .expect_err("exhausted");
    assert!(
        matches!(
            err,
            CrmError::RateLimited {
                scope: clientele_connectors::RateLimitScope::Daily,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(fake.stats().api_requests, before + 1, "no retry loop");
}

#[tokio::test]
async fn transient_server_errors_are_retried() {
    let fake = FakeSalesforce::start().await.expect("fake");
    let conn = connected(&fake).await;
    fake.fail_next(3, FailKind::ServerError);
    let out = conn
        .upsert_contacts(&contacts(0, 10))
        .await
        .expect("upsert");
    assert_eq!(tally(&out), (10, 0, 0));
    assert_eq!(fake.stats().injected_failures, 3);
    assert_eq!(fake.contacts().len(), 10);
}

#[tokio::test]
async fn bulk_load_within_a_second_keeps_the_cursor_small_and_complete() {
    let fake = FakeSalesforce::start().await.expect("fake");
    let conn = connected(&fake).await;
    conn.upsert_contacts(&contacts(0, 1400))
        .await
        .expect("seed");
    let (pages, cursor) = drain(conn.as_ref(), None).await;
    assert_eq!(pages.iter().map(|p| p.contacts.len()).sum::<usize>(), 1400);
    let stored = cursor.clone().expect("cursor");
    assert!(
        stored.0.len() < 64 * 1024,
        "cursor of {} bytes",
        stored.0.len()
    );
    // While the load's second is current, part of it may come again (never a gap).
    let (_, cursor) = drain(conn.as_ref(), cursor).await;
    let one = fake.contacts()[700].clone();
    fake.insert_remote_change(CrmContact {
        remote_id: one.remote_id.clone(),
        phone: Some("+15550001111".into()),
        ..Default::default()
    });
    let (pages, _) = drain(conn.as_ref(), cursor).await;
    let changed: Vec<_> = pages.iter().flat_map(|p| p.contacts.clone()).collect();
    assert!(
        changed.iter().any(|c| c.remote_id == one.remote_id),
        "the edit is seen"
    );
}
