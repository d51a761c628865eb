//! The tenant-wide conversation list and CSV export, and what staff set on a conversation:
//! status, AI guide, sensitivity override, and the policy that follows.

use crate::conversations::{SECRET, add_channel, post_generic, sms};
use crate::helpers::{
    TestApp, error_code, spawn_app, spawn_app_sending, test_database, unique_number,
};
use clientele_domain::Role;
use clientele_domain::conversations::{MessageSender, RecordingSender};
use serde_json::{Value, json};
use std::sync::Arc;

const LIST: &str = "query($f: ConversationFilter, $first: Int) { conversations(first: $first, filter: $f) { totalCount edges { node { id channel channelIdentifier contactName status client { id } } } } }";

async fn list(app: &TestApp, token: &str, filter: Value) -> (u64, Vec<Value>) {
    let data = app
        .ok(token, LIST, json!({ "f": filter, "first": 50 }))
        .await;
    let nodes = data["conversations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    (data["conversations"]["totalCount"].as_u64().unwrap(), nodes)
}

fn identifiers(nodes: &[Value]) -> Vec<&str> {
    nodes
        .iter()
        .map(|n| n["channelIdentifier"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_conversation_list_searches_filters_and_exports() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let viewer = app.token(&tenant, Role::Viewer);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    app.create_client(
        &admin,
        json!({ "firstName": "Ada", "phone": "416 555 1234", "company": "Acme Trucks" }),
    )
    .await;
    // Ada's thread (linked), a stranger who gave a name, and an email thread an agent began.
    let status = post_generic(&app, &sms(&inbox, "m1", "+14165551234", "hi"), SECRET).await;
    assert_eq!(status.status(), 200);
    let mut grace = sms(&inbox, "m2", "+16475550199", "hello");
    grace["name"] = json!("Grace Hopper");
    assert_eq!(post_generic(&app, &grace, SECRET).await.status(), 200);
    app.ok(
        &admin,
        "mutation { startConversation(channel: EMAIL, to: \"bob@example.com\") { id } }",
        json!({}),
    )
    .await;

    let (total, all) = list(&app, &viewer, json!({})).await;
    assert_eq!(total, 3);
    // Most recently active first: the email thread was started last.
    assert_eq!(
        identifiers(&all),
        ["bob@example.com", "+16475550199", "+14165551234"]
    );

    // The search box: a phone typed any way, the linked client's company, a contact name.
    for (search, expected) in [
        ("(416) 555-12", "+14165551234"),
        ("acme", "+14165551234"),
        ("ada", "+14165551234"),
        ("grace hop", "+16475550199"),
        ("BOB@", "bob@example.com"),
    ] {
        let (n, found) = list(&app, &viewer, json!({ "search": search })).await;
        assert_eq!((n, identifiers(&found)), (1, vec![expected]), "{search}");
    }
    let (_, emails) = list(&app, &viewer, json!({ "channels": ["EMAIL"] })).await;
    assert_eq!(identifiers(&emails), ["bob@example.com"]);
    let (_, waiting) = list(&app, &viewer, json!({ "hasClient": false })).await;
    assert_eq!(identifiers(&waiting), ["bob@example.com", "+16475550199"]);
    let (_, linked) = list(&app, &viewer, json!({ "hasClient": true })).await;
    assert_eq!(identifiers(&linked), ["+14165551234"]);
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (n, _) = list(&app, &viewer, json!({ "activeAfter": future })).await;
    assert_eq!(n, 0);
    let (n, _) = list(&app, &viewer, json!({ "activeBefore": future })).await;
    assert_eq!(n, 3);

    // Closing a thread moves it between the status filters.
    let bob = all[0]["id"].as_str().unwrap();
    app.ok(
        &admin,
        "mutation($id: ID!) { setConversationStatus(conversationId: $id, status: CLOSED) { status } }",
        json!({ "id": bob }),
    )
    .await;
    let (_, closed) = list(&app, &viewer, json!({ "statuses": ["CLOSED"] })).await;
    assert_eq!(identifiers(&closed), ["bob@example.com"]);
    let (n, _) = list(&app, &viewer, json!({ "statuses": ["ACTIVE"] })).await;
    assert_eq!(n, 2);

    // A range that ends before it starts names the field.
    let body = app
        .gql(
            Some(&viewer),
            LIST,
            json!({ "f": { "activeAfter": future, "activeBefore": "2020-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "activeBefore");

    // Another tenant sees none of it.
    let other = app.tenant().await;
    let (n, _) = list(&app, &app.token(&other, Role::Admin), json!({})).await;
    assert_eq!(n, 0);

    // The CSV export takes the same filter as query parameters.
    let csv = app
        .http
        .get(app.url("/exports/conversations.csv?channels=sms&search=acme"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("id,channel,channel_identifier"));
    assert!(lines[1].contains("+14165551234") && lines[1].contains("Ada"));
    let bad = app
        .http
        .get(app.url("/exports/conversations.csv?channels=pigeon"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("channels"));
    let anonymous = app
        .http
        .get(app.url("/exports/conversations.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

const POLICY: &str =
    "query($id: ID!) { conversationPolicy(conversationId: $id) { mayAutoSend reasons { code } } }";

#[tokio::test]
async fn staff_set_status_guide_and_admins_override_sensitivity() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let agent = app.token(&tenant, Role::Agent);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let ada = app
        .create_client(
            &admin,
            json!({ "firstName": "Ada", "phone": "+14165551234" }),
        )
        .await;
    let ada_id = ada["id"].as_str().unwrap();
    post_generic(&app, &sms(&inbox, "s1", "+14165551234", "hi"), SECRET).await;
    let (_, threads) = list(&app, &admin, json!({})).await;
    let thread = threads[0]["id"].as_str().unwrap().to_string();

    // The AI guide: set, trimmed, cleared by null, too long refused.
    let guide = "mutation($id: ID!, $g: String) { setConversationAiGuide(conversationId: $id, aiGuide: $g) { aiGuide } }";
    let set = app
        .ok(
            &agent,
            guide,
            json!({ "id": thread, "g": "  Offer a test drive. " }),
        )
        .await;
    assert_eq!(
        set["setConversationAiGuide"]["aiGuide"],
        "Offer a test drive."
    );
    let long = app
        .gql(
            Some(&agent),
            guide,
            json!({ "id": thread, "g": "x".repeat(8001) }),
        )
        .await;
    assert_eq!(error_code(&long), "BAD_USER_INPUT");
    assert_eq!(long["errors"][0]["extensions"]["field"], "aiGuide");
    let cleared = app
        .ok(&agent, guide, json!({ "id": thread, "g": null }))
        .await;
    assert!(cleared["setConversationAiGuide"]["aiGuide"].is_null());

    // A sensitive client's threads are closed to automation...
    app.ok(
        &admin,
        "mutation($id: ID!) { setClientSensitive(id: $id, sensitive: true) { sensitive } }",
        json!({ "id": ada_id }),
    )
    .await;
    let policy = app.ok(&agent, POLICY, json!({ "id": thread })).await;
    assert_eq!(policy["conversationPolicy"]["mayAutoSend"], false);
    assert_eq!(
        policy["conversationPolicy"]["reasons"],
        json!([{ "code": "SENSITIVE" }])
    );

    // ...agents may not override that (and the attempt is audited)...
    let set_override = "mutation($id: ID!, $o: Boolean) { setConversationSensitivityOverride(conversationId: $id, sensitivityOverride: $o) { sensitivityOverride } }";
    let refused = app
        .gql(
            Some(&agent),
            set_override,
            json!({ "id": thread, "o": false }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    // ...an admin may, for this one thread.
    let done = app
        .ok(&admin, set_override, json!({ "id": thread, "o": false }))
        .await;
    assert_eq!(
        done["setConversationSensitivityOverride"]["sensitivityOverride"],
        false
    );
    let policy = app.ok(&agent, POLICY, json!({ "id": thread })).await;
    assert_eq!(policy["conversationPolicy"]["mayAutoSend"], true);
    assert_eq!(
        policy["conversationPolicy"]["reasons"],
        json!([{ "code": "SENSITIVITY_OVERRIDDEN" }])
    );
    let audit = app
        .ok(
            &admin,
            "{ auditLog(first: 20) { edges { node { action outcome } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<(String, String)> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["action"] == "conversation.set_sensitivity_override")
        .map(|e| {
            (
                e["node"]["action"].as_str().unwrap().to_string(),
                e["node"]["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(actions.len(), 2, "{audit}");
    assert!(actions.iter().any(|(_, o)| o == "denied"));
    assert!(actions.iter().any(|(_, o)| o == "allowed"));

    // Closing the thread: the next message from Ada starts a new one.
    app.ok(
        &agent,
        "mutation($id: ID!) { setConversationStatus(conversationId: $id, status: CLOSED) { status } }",
        json!({ "id": thread }),
    )
    .await;
    post_generic(&app, &sms(&inbox, "s2", "+14165551234", "again"), SECRET).await;
    let (n, _) = list(&app, &admin, json!({})).await;
    assert_eq!(n, 2);

    // Each change is on Ada's timeline, with who made it.
    let timeline = app
        .ok(
            &admin,
            "query($id: ID!) { client(id: $id) { timeline(first: 20, kinds: [CONVERSATION_UPDATED]) { edges { node { payload actorName } } } } }",
            json!({ "id": ada_id }),
        )
        .await;
    let fields: Vec<&str> = timeline["client"]["timeline"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["payload"]["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["status", "sensitivityOverride", "aiGuide", "aiGuide"]
    );

    // Another tenant's conversation is not found.
    let other = app.tenant().await;
    let body = app
        .gql(
            Some(&app.token(&other, Role::Admin)),
            guide,
            json!({ "id": thread, "g": "x" }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = app
        .gql(
            Some(&app.token(&other, Role::Admin)),
            POLICY,
            json!({ "id": thread }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn sent_messages_are_handed_to_the_message_sender() {
    let (url, dir) = test_database().await;
    let recorder = Arc::new(RecordingSender::default());
    let sender: Arc<dyn MessageSender> = recorder.clone();
    let app = spawn_app_sending(&url, dir, |_| {}, Some(sender)).await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let started = app
        .ok(
            &agent,
            "mutation { startConversation(channel: SMS, to: \"(416) 555-0142\") { id } }",
            json!({}),
        )
        .await;
    let id = started["startConversation"]["id"].as_str().unwrap();
    let sent = app
        .ok(
            &agent,
            "mutation($id: ID!) { sendMessage(conversationId: $id, body: \"Your car is ready\") { id } }",
            json!({ "id": id }),
        )
        .await;
    let delivered = recorder.sent();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].to, "+14165550142");
    assert_eq!(delivered[0].body.as_deref(), Some("Your car is ready"));
    assert_eq!(
        delivered[0].message_id.to_string(),
        sent["sendMessage"]["id"].as_str().unwrap()
    );
    // A refused message is not handed over.
    let body = app
        .gql(
            Some(&agent),
            "mutation($id: ID!) { sendMessage(conversationId: $id, body: \"   \") { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(recorder.sent().len(), 1);
}

#[tokio::test]
async fn oversized_webhook_bodies_are_refused_before_parsing() {
    let app = crate::helpers::spawn_app_with(|c| c.max_body_bytes = 4096).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let big = sms(&inbox, "big", "+14165551234", &"x".repeat(8000));
    let response = post_generic(&app, &big, SECRET).await;
    assert_eq!(response.status(), 413);
    let (n, _) = list(&app, &admin, json!({})).await;
    assert_eq!(n, 0);
    // Without a declared length (chunked), the limit still holds while reading.
    let stream =
        futures_util::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1024])));
    let response = app
        .http
        .post(app.url("/webhooks/generic"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}
