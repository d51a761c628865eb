//! Dynamics 365 connector against `FakeDynamics`.

use clientele_connectors::fakes::{FailKind, FakeDynamics, FakeOptions};
use clientele_connectors::{
    AuthGrant, CrmConnector, CrmContact, CrmError, Provider, UpsertOutcome,
};

use crate::common::{activity, contacts, drain, tally};

async fn connected(fake: &FakeDynamics) -> Box<dyn CrmConnector> {
    let conn = Provider::connect(fake.connection_config()).expect("connect");
    conn.authorize(AuthGrant::ClientCredentials)
        .await
        .expect("client credentials");
    conn
}

#[tokio::test]
async fn client_credentials_authorize_and_refresh() {
    let fake = FakeDynamics::start().await.expect("fake");
    let conn = Provider::connect(fake.connection_config()).expect("connect");
    assert!(
        conn.authorization_url("s", "c").is_none(),
        "no consent page for client credentials"
    );
    assert!(!conn.capabilities().interactive_auth);
    let tokens = conn
        .authorize(AuthGrant::ClientCredentials)
        .await
        .expect("authorize");
    assert!(tokens.refresh_token.is_none());
    assert!(tokens.expires_at.is_some());
    let again = conn.refresh().await.expect("refresh");
    assert_ne!(again.access_token, tokens.access_token);
    assert_eq!(fake.stats().refreshes, 1);
    let err = conn
        .authorize(AuthGrant::AuthorizationCode {
            code: "x".into(),
            redirect_uri: "y".into(),
            pkce_verifier: "z".into(),
        })
        .await
        .expect_err("code flow");
    assert!(matches!(err, CrmError::Unsupported(_)));
}

#[tokio::test]
async fn upsert_multiple_by_alternate_key_and_reruns_without_duplicates() {
    let fake = FakeDynamics::start().await.expect("fake");
    let conn = connected(&fake).await;
    assert_eq!(conn.capabilities().batch_size, 200);
    let batch = contacts(0, 450);
    let first = conn.upsert_contacts(&batch).await.expect("upsert");
    assert_eq!(tally(&first), (450, 0, 0));
    assert_eq!(
        fake.stats().upsert_calls,
        3,
        "UpsertMultiple in chunks of 200"
    );
    assert_eq!(fake.stats().max_batch, 200);
    let again = conn.upsert_contacts(&batch).await.expect("rerun");
    assert_eq!(tally(&again), (0, 450, 0));
    assert_eq!(fake.contacts().len(), 450);
    assert_eq!(first[399].remote_id(), again[399].remote_id());
    assert_eq!(
        first[399].remote_id(),
        fake.contacts()
            .iter()
            .find(|c| c.external_id == "c-399")
            .and_then(|c| c.remote_id.as_deref())
    );
    let quoted = vec![CrmContact {
        external_id: "o'neil".into(),
        last_name: Some("O'Neil".into()),
        ..Default::default()
    }];
    let out = conn.upsert_contacts(&quoted).await.expect("quoted key");
    assert_eq!(tally(&out), (1, 0, 0));
    assert!(fake.contacts().iter().any(|c| c.external_id == "o'neil"));
}

#[tokio::test]
async fn invalid_records_and_duplicates_fail_alone_with_dataverse_messages() {
    let fake = FakeDynamics::start_with(FakeOptions {
        duplicate_detection: true,
        ..FakeOptions::dynamics()
    })
    .await
    .expect("fake");
    fake.reject_email("@nope");
    let conn = connected(&fake).await;
    let mut batch = contacts(0, 5);
    batch[1].email = Some("x@nope".into());
    batch[4].email = batch[0].email.clone();
    // c-0 exists first, so the duplicate is deterministic although upserts run concurrently.
    conn.upsert_contacts(&batch[..1]).await.expect("seed");
    let out = conn.upsert_contacts(&batch).await.expect("upsert");
    assert_eq!(tally(&out), (2, 1, 2));
    assert_eq!(
        out[1],
        UpsertOutcome::Failed {
            external_id: "c-1".into(),
            message: "0x80040203: Invalid email address: x@nope".into()
        }
    );
    assert!(
        matches!(&out[4], UpsertOutcome::Failed { message, .. } if message.starts_with("0x80040333: A record was not created"))
    );
    assert_eq!(fake.contacts().len(), 3);
}

#[tokio::test]
async fn change_feed_follows_next_link_and_resumes() {
    let fake = FakeDynamics::start().await.expect("fake");
    let cfg = fake.connection_config().page_size(25);
    let conn = Provider::connect(cfg).expect("connect");
    conn.authorize(AuthGrant::ClientCredentials)
        .await
        .expect("auth");
    conn.upsert_contacts(&contacts(0, 60)).await.expect("seed");
    let (pages, cursor) = drain(conn.as_ref(), None).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(pages.iter().map(|p| p.contacts.len()).sum::<usize>(), 60);
    assert!(pages[0].has_more && !pages[2].has_more);
    let (pages, cursor) = drain(conn.as_ref(), cursor).await;
    assert_eq!(pages.iter().map(|p| p.contacts.len()).sum::<usize>(), 0);
    let target = fake.contacts()[5].clone();
    fake.insert_remote_change(CrmContact {
        remote_id: target.remote_id.clone(),
        phone: Some("+33100000000".into()),
        ..Default::default()
    });
    let (pages, _) = drain(conn.as_ref(), cursor).await;
    let changed: Vec<_> = pages.iter().flat_map(|p| p.contacts.clone()).collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].phone.as_deref(), Some("+33100000000"));
    assert_eq!(changed[0].external_id, target.external_id);
}

#[tokio::test]
async fn task_created_once_per_dedupe_key() {
    let fake = FakeDynamics::start().await.expect("fake");
    let conn = connected(&fake).await;
    let out = conn.upsert_contacts(&contacts(0, 1)).await.expect("seed");
    let contact = out[0].remote_id().expect("id").to_owned();
    let first = conn
        .log_activity(&activity(&contact, "conv-3:w7"))
        .await
        .expect("log");
    assert!(first.created);
    let again = conn
        .log_activity(&activity(&contact, "conv-3:w7"))
        .await
        .expect("rerun");
    assert!(!again.created);
    assert_eq!(again.remote_id, first.remote_id);
    assert_eq!(fake.activities().len(), 1);
    assert_eq!(fake.activities()[0].contact_remote_id, contact);
}

#[tokio::test]
async fn service_protection_429_is_retried_after_retry_after() {
    let fake = FakeDynamics::start().await.expect("fake");
    let conn = connected(&fake).await;
    fake.fail_next(4, FailKind::RateLimit);
    let out = conn
        .upsert_contacts(&contacts(0, 20))
        .await
        .expect("upsert");
    assert_eq!(tally(&out), (20, 0, 0));
    assert_eq!(fake.contacts().len(), 20);
    assert_eq!(fake.stats().injected_failures, 4);
}

#[tokio::test]
async fn concurrency_limit_429s_are_retried() {
    // Allow only 2 requests in flight while the connector sends 16 at once.
    let fake = FakeDynamics::start_with(FakeOptions {
        max_concurrent: Some(2),
        ..FakeOptions::dynamics()
    })
    .await
    .expect("fake");
    fake.reject_email("@nope");
    let conn = connected(&fake).await;
    // One invalid record makes UpsertMultiple refuse the chunk: it is replayed record by record.
    let mut batch = contacts(0, 64);
    batch[10].email = Some("x@nope".into());
    let out = conn.upsert_contacts(&batch).await.expect("upsert");
    assert_eq!(tally(&out), (63, 0, 1));
    assert_eq!(fake.contacts().len(), 63);
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let fake = FakeDynamics::start().await.expect("fake");
    let conn = connected(&fake).await;
    let before = fake.stats().api_requests;
    let err = conn
        .log_activity(&activity("00000000-0000-4000-8000-00000000dead", "k"))
        .await
        .expect_err("unknown contact");
    assert!(
        matches!(&err, CrmError::Validation { message } if message.starts_with("0x80040217")),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(
        fake.stats().api_requests,
        before + 1,
        "one request, no retry"
    );
}

#[tokio::test]
async fn change_tracking_reports_edits_and_deletes() {
    let fake = FakeDynamics::start().await.expect("fake");
    let cfg = fake.connection_config().page_size(25).change_tracking(true);
    let conn = Provider::connect(cfg).expect("connect");
    conn.authorize(AuthGrant::ClientCredentials)
        .await
        .expect("auth");
    assert!(conn.capabilities().supports_deletes);
    conn.upsert_contacts(&contacts(0, 60)).await.expect("seed");
    let (pages, cursor) = drain(conn.as_ref(), None).await;
    assert_eq!(pages.len(), 3, "the first round pages with nextLink");
    assert_eq!(pages.iter().map(|p| p.contacts.len()).sum::<usize>(), 60);
    let remote = fake.contacts();
    let edited = remote[3].clone();
    let gone = remote[4].remote_id.clone().expect("id");
    fake.insert_remote_change(CrmContact {
        remote_id: edited.remote_id.clone(),
        city: Some("Hanoi".into()),
        ..Default::default()
    });
    assert!(fake.delete_remote(&gone));
    let (pages, cursor) = drain(conn.as_ref(), cursor).await;
    let changed: Vec<_> = pages.iter().flat_map(|p| p.contacts.clone()).collect();
    let deleted: Vec<_> = pages
        .iter()
        .flat_map(|p| p.deleted_remote_ids.clone())
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].city.as_deref(), Some("Hanoi"));
    assert_eq!(changed[0].external_id, edited.external_id);
    assert_eq!(deleted, vec![gone]);
    let (pages, _) = drain(conn.as_ref(), cursor).await;
    assert!(
        pages
            .iter()
            .all(|p| p.contacts.is_empty() && p.deleted_remote_ids.is_empty())
    );
}
