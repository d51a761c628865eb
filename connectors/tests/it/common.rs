//! Helpers shared by the provider tests.

use chrono::{TimeZone, Utc};
use clientele_connectors::{
    ActivityLog, AuthGrant, ChangePage, CrmConnector, CrmContact, Pkce, SyncCursor, UpsertOutcome,
};

/// `n` valid contacts `c-{start}`.. with distinct emails.
pub fn contacts(start: usize, n: usize) -> Vec<CrmContact> {
    (start..start + n)
        .map(|i| CrmContact {
            external_id: format!("c-{i}"),
            first_name: Some(format!("First{i}")),
            last_name: Some(format!("Last{i}")),
            email: Some(format!("person{i}@example.com")),
            phone: Some(format!("+1555{i:07}")),
            city: Some("Lyon".into()),
            ..Default::default()
        })
        .collect()
}

/// Counts of (created, updated, failed).
pub fn tally(outcomes: &[UpsertOutcome]) -> (usize, usize, usize) {
    outcomes.iter().fold((0, 0, 0), |(c, u, f), o| match o {
        UpsertOutcome::Created { .. } => (c + 1, u, f),
        UpsertOutcome::Updated { .. } => (c, u + 1, f),
        UpsertOutcome::Failed { .. } => (c, u, f + 1),
    })
}

/// Follow a change feed until it has nothing more; returns pages and the final cursor.
pub async fn drain(
    conn: &dyn CrmConnector,
    mut cursor: Option<SyncCursor>,
) -> (Vec<ChangePage>, Option<SyncCursor>) {
    let mut pages = Vec::new();
    for _ in 0..1000 {
        let page = conn
            .fetch_changes(cursor.clone())
            .await
            .expect("fetch_changes");
        cursor = Some(page.next_cursor.clone());
        let more = page.has_more;
        pages.push(page);
        if !more {
            break;
        }
    }
    (pages, cursor)
}

/// An activity on a contact.
pub fn activity(remote_contact_id: &str, key: &str) -> ActivityLog {
    ActivityLog {
        remote_contact_id: remote_contact_id.to_owned(),
        dedupe_key: key.to_owned(),
        subject: "Conversation summary".into(),
        body: "Asked about delivery times.".into(),
        occurred_at: Utc
            .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
            .single()
            .expect("time"),
    }
}

/// The code flow against a fake: authorization URL, consent, code exchange.
pub async fn code_flow(conn: &dyn CrmConnector, approve: impl Fn(&str) -> String) {
    let pkce = Pkce::generate();
    let url = conn
        .authorization_url("state-1", &pkce.challenge)
        .expect("authorization url");
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(query.contains(&("code_challenge_method".into(), "S256".into())));
    assert!(query.contains(&("state".into(), "state-1".into())));
    let code = approve(&pkce.challenge);
    let tokens = conn
        .authorize(AuthGrant::AuthorizationCode {
            code,
            redirect_uri: clientele_connectors::fakes::FAKE_REDIRECT_URI.into(),
            pkce_verifier: pkce.verifier,
        })
        .await
        .expect("authorize");
    assert!(tokens.refresh_token.is_some());
}
