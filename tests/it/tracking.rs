//! Identity checks for known texters and tracking controls (automatic client creation,
//! default region, extractors), and pictures platforms supply.

use crate::conversations::{SECRET, add_channel, post_generic, sms};
use crate::helpers::{TestApp, error_code, isolated_database, spawn_app_on, unique_number};
use clientele_domain::{Role, extraction};
use serde_json::{Value, json};

/// An app with no workers anywhere on its database: each test runs extraction itself.
async fn spawn() -> TestApp {
    let (db_url, dir) = isolated_database().await;
    spawn_app_on(&db_url, dir, |_| {}).await
}

async fn deliver(app: &TestApp, body: &Value) -> (Value, uuid::Uuid) {
    let response = post_generic(app, body, SECRET).await;
    assert!(response.status().is_success(), "{}", response.status());
    let stored: Value = response.json().await.unwrap();
    let message = uuid::Uuid::parse_str(stored["messageId"].as_str().unwrap()).unwrap();
    (stored["conversationId"].clone(), message)
}

async fn extract(app: &TestApp, tenant: clientele_domain::TenantId, message: uuid::Uuid) {
    extraction::process_message(app.domain(), tenant, message)
        .await
        .expect("extraction");
}

const THREAD: &str = "query($id: ID!) { conversation(id: $id) { identityStatus channelIdentifier contactAvatarUrl client { id firstName email avatarUrl } suggestedClient { id firstName } } }";

async fn thread(app: &TestApp, token: &str, id: &Value) -> Value {
    app.ok(token, THREAD, json!({ "id": id })).await["conversation"].clone()
}

async fn timeline_kinds(app: &TestApp, token: &str, client: &Value) -> Vec<String> {
    let data = app
        .ok(
            token,
            "query($id: ID!) { client(id: $id) { timeline(first: 50) { nodes { kind } } } }",
            json!({ "id": client }),
        )
        .await;
    data["client"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn client_count(app: &TestApp, token: &str) -> i64 {
    app.ok(token, "{ clients(first: 1) { totalCount } }", json!({}))
        .await["clients"]["totalCount"]
        .as_i64()
        .unwrap()
}

async fn set_tracking(app: &TestApp, admin: &str, input: Value) -> Value {
    app.ok(
        admin,
        "mutation($i: TrackingInput!) { updateTracking(input: $i) { autoCreateClients autoCreateSince knownSenderCheck extractors defaultRegion } }",
        json!({ "i": input }),
    )
    .await["updateTracking"]
        .clone()
}

async fn channel_id(app: &TestApp, admin: &str, address: &str) -> Value {
    let data = app
        .ok(admin, "{ tenantChannels { id address } }", json!({}))
        .await;
    data["tenantChannels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .expect("channel")["id"]
        .clone()
}

#[tokio::test]
async fn a_known_texter_is_suggested_until_confirmed() {
    let app = spawn().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let agent = app.token(&tenant, Role::Agent);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let ada = app
        .create_client(
            &agent,
            json!({ "firstName": "Ada", "phone": "+14165550111" }),
        )
        .await;
    // By default a known number links at once (no check).
    let (linked, _) = deliver(&app, &sms(&inbox, "k0", "4165550111", "Hello")).await;
    let t = thread(&app, &agent, &linked).await;
    assert_eq!(t["client"]["id"], ada["id"]);
    assert!(t["identityStatus"].is_null());
    app.ok(
        &agent,
        "mutation($id: ID!) { setConversationStatus(conversationId: $id, status: CLOSED) { id } }",
        json!({ "id": linked }),
    )
    .await;

    // Agents may not change tracking controls.
    let body = app
        .gql(
            Some(&agent),
            "mutation { updateTracking(input: { knownSenderCheck: CONFIRM }) { knownSenderCheck } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let tracking = set_tracking(&app, &admin, json!({ "knownSenderCheck": "CONFIRM" })).await;
    assert_eq!(tracking["knownSenderCheck"], "CONFIRM");

    let (conversation, message) =
        deliver(&app, &sms(&inbox, "k1", "4165550111", "Hi it's me again")).await;
    let t = thread(&app, &agent, &conversation).await;
    assert_ne!(conversation, linked, "a closed thread is not resumed");
    assert_eq!(t["identityStatus"], "SUGGESTED");
    assert!(t["client"].is_null(), "not linked before confirmation: {t}");
    assert_eq!(t["suggestedClient"]["id"], ada["id"]);
    assert_eq!(t["suggestedClient"]["firstName"], "Ada");
    // Extraction does not link a thread that waits for an answer.
    extract(&app, tenant.id, message).await;
    assert!(thread(&app, &agent, &conversation).await["client"].is_null());
    // A second message in the same thread keeps waiting.
    deliver(&app, &sms(&inbox, "k2", "4165550111", "Are you there?")).await;
    assert!(thread(&app, &agent, &conversation).await["client"].is_null());
    assert!(
        timeline_kinds(&app, &agent, &ada["id"])
            .await
            .contains(&"IDENTITY_SUGGESTED".to_string())
    );

    // Viewers cannot answer; agents (and the assistant service) can.
    let viewer = app.token(&tenant, Role::Viewer);
    let confirm = "mutation($id: ID!) { confirmConversationIdentity(conversationId: $id) { identityStatus client { id } suggestedClient { id } } }";
    let body = app
        .gql(Some(&viewer), confirm, json!({ "id": conversation }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let data = app.ok(&agent, confirm, json!({ "id": conversation })).await;
    assert_eq!(
        data["confirmConversationIdentity"]["identityStatus"],
        "CONFIRMED"
    );
    assert_eq!(
        data["confirmConversationIdentity"]["client"]["id"],
        ada["id"]
    );
    assert!(data["confirmConversationIdentity"]["suggestedClient"].is_null());
    assert!(
        timeline_kinds(&app, &agent, &ada["id"])
            .await
            .contains(&"IDENTITY_CONFIRMED".to_string())
    );
    // Answering twice is refused, naming the conversation.
    let body = app
        .gql(Some(&agent), confirm, json!({ "id": conversation }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "conversationId");
}

#[tokio::test]
async fn a_rejected_suggestion_keeps_them_apart_and_is_remembered() {
    let app = spawn().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let agent = app.token(&tenant, Role::Agent);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let bob = app
        .create_client(
            &agent,
            json!({ "firstName": "Bob", "phone": "+14165550122" }),
        )
        .await;
    set_tracking(&app, &admin, json!({ "knownSenderCheck": "CONFIRM" })).await;
    let (conversation, _) = deliver(&app, &sms(&inbox, "r1", "4165550122", "hey")).await;
    assert_eq!(
        thread(&app, &agent, &conversation).await["identityStatus"],
        "SUGGESTED"
    );
    let data = app
        .ok(
            &agent,
            "mutation($id: ID!) { rejectConversationIdentity(conversationId: $id) { identityStatus client { id } suggestedClient { id } } }",
            json!({ "id": conversation }),
        )
        .await;
    let answered = &data["rejectConversationIdentity"];
    assert_eq!(answered["identityStatus"], "REJECTED");
    assert!(answered["client"].is_null() && answered["suggestedClient"].is_null());
    assert!(
        timeline_kinds(&app, &agent, &bob["id"])
            .await
            .contains(&"IDENTITY_REJECTED".to_string())
    );

    // The same thread goes on apart: extraction of a new message does not link it to Bob.
    let (same, message) = deliver(&app, &sms(&inbox, "r2", "4165550122", "it's Carl here")).await;
    assert_eq!(same, conversation);
    extract(&app, tenant.id, message).await;
    let t = thread(&app, &agent, &conversation).await;
    assert_ne!(t["client"]["id"], bob["id"], "{t}");
    assert_eq!(t["identityStatus"], "REJECTED");

    // The answer is remembered: a new thread from that number, even on a channel that links
    // known senders at once, is neither suggested nor linked to Bob.
    app.ok(
        &agent,
        "mutation($id: ID!) { setConversationStatus(conversationId: $id, status: CLOSED) { id } }",
        json!({ "id": conversation }),
    )
    .await;
    set_tracking(&app, &admin, json!({ "knownSenderCheck": "LINK" })).await;
    let (fresh, _) = deliver(&app, &sms(&inbox, "r3", "4165550122", "hello again")).await;
    assert_ne!(fresh, conversation);
    let t = thread(&app, &agent, &fresh).await;
    assert!(t["identityStatus"].is_null(), "{t}");
    assert_ne!(t["client"]["id"], bob["id"], "{t}");
    assert!(t["suggestedClient"].is_null());
}

#[tokio::test]
async fn switching_automatic_creation_on_applies_going_forward_only() {
    let app = spawn().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let off = set_tracking(&app, &admin, json!({ "autoCreateClients": false })).await;
    assert_eq!(off["autoCreateClients"], false);

    // Received while off, processed while off: the conversation is kept, no client.
    let (first, m1) = deliver(
        &app,
        &sms(&inbox, "a1", "4165550133", "Hi, I'm Grace Hopper"),
    )
    .await;
    extract(&app, tenant.id, m1).await;
    assert!(thread(&app, &admin, &first).await["client"].is_null());
    assert_eq!(client_count(&app, &admin).await, 0);

    // Received while off, processed after it came back on: still no client.
    let (second, m2) = deliver(
        &app,
        &sms(&inbox, "a2", "4165550144", "This is Alan Turing"),
    )
    .await;
    let on = set_tracking(&app, &admin, json!({ "autoCreateClients": true })).await;
    assert_eq!(on["autoCreateClients"], true);
    assert!(on["autoCreateSince"].is_string());
    extract(&app, tenant.id, m2).await;
    assert!(thread(&app, &admin, &second).await["client"].is_null());
    assert_eq!(client_count(&app, &admin).await, 0);

    // Received after it came on: a client, with what that message said only.
    let (third, m3) = deliver(
        &app,
        &sms(&inbox, "a3", "4165550133", "my email is grace@navy.mil"),
    )
    .await;
    assert_eq!(third, first, "the same thread resumes");
    extract(&app, tenant.id, m3).await;
    let client = thread(&app, &admin, &first).await["client"].clone();
    assert_eq!(client["email"], "grace@navy.mil");
    assert!(
        client["firstName"].is_null(),
        "earlier messages are not replayed: {client}"
    );
    assert_eq!(client_count(&app, &admin).await, 1);
}

#[tokio::test]
async fn a_channel_overrides_the_tenant_for_creation_region_and_extractors() {
    let app = spawn().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let (quiet, uk) = (unique_number(), unique_number());
    add_channel(&app, &admin, "generic", &quiet, "SMS", SECRET).await;
    add_channel(&app, &admin, "generic", &uk, "SMS", SECRET).await;
    let update = "mutation($id: ID!, $i: ChannelTrackingInput!) { updateChannelTracking(channelId: $id, input: $i) { trackingOverrides { autoCreateClients defaultRegion extractors } tracking { autoCreateClients defaultRegion extractors knownSenderCheck } } }";
    let quiet_id = channel_id(&app, &admin, &quiet).await;
    let data = app
        .ok(
            &admin,
            update,
            json!({ "id": quiet_id, "i": { "autoCreateClients": false } }),
        )
        .await;
    assert_eq!(
        data["updateChannelTracking"]["tracking"]["autoCreateClients"],
        false
    );
    let uk_id = channel_id(&app, &admin, &uk).await;
    let data = app
        .ok(
            &admin,
            update,
            json!({ "id": uk_id, "i": { "defaultRegion": "gb", "extractors": ["PHONE", "EMAIL"] } }),
        )
        .await;
    let uk_tracking = &data["updateChannelTracking"];
    assert_eq!(uk_tracking["trackingOverrides"]["defaultRegion"], "GB");
    assert_eq!(
        uk_tracking["tracking"]["extractors"],
        json!(["EMAIL", "PHONE"])
    );
    assert_eq!(
        uk_tracking["tracking"]["autoCreateClients"], true,
        "inherited"
    );
    // A bad region names the field and changes nothing.
    let body = app
        .gql(
            Some(&admin),
            update,
            json!({ "id": uk_id, "i": { "defaultRegion": "XX", "autoCreateClients": false } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "defaultRegion");
    let channels = app
        .ok(
            &admin,
            "{ tenantChannels { address tracking { autoCreateClients defaultRegion } } }",
            json!({}),
        )
        .await;
    let uk_now = channels["tenantChannels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == uk.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        uk_now["tracking"],
        json!({ "autoCreateClients": true, "defaultRegion": "GB" })
    );

    // The quiet channel keeps the conversation but creates nobody.
    let (c1, m1) = deliver(
        &app,
        &sms(&quiet, "q1", "4165550155", "I'm Edsger Dijkstra"),
    )
    .await;
    extract(&app, tenant.id, m1).await;
    assert!(thread(&app, &admin, &c1).await["client"].is_null());

    // The UK channel reads national numbers as British and extracts only phones and emails.
    let (c2, m2) = deliver(
        &app,
        &sms(
            &uk,
            "u1",
            "07400 123456",
            "Hi, I'm Margaret Hamilton, margaret@mit.edu",
        ),
    )
    .await;
    let t = thread(&app, &admin, &c2).await;
    assert_eq!(t["channelIdentifier"], "+447400123456");
    extract(&app, tenant.id, m2).await;
    let client = thread(&app, &admin, &c2).await["client"].clone();
    assert_eq!(client["email"], "margaret@mit.edu");
    assert!(
        client["firstName"].is_null(),
        "names are not extracted here: {client}"
    );
    assert_eq!(client_count(&app, &admin).await, 1);

    // Back to the tenant's values: null clears an override.
    let data = app
        .ok(
            &admin,
            update,
            json!({ "id": uk_id, "i": { "defaultRegion": null, "extractors": null } }),
        )
        .await;
    assert!(data["updateChannelTracking"]["trackingOverrides"]["defaultRegion"].is_null());
    assert_eq!(
        data["updateChannelTracking"]["tracking"]["extractors"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

#[tokio::test]
async fn a_picture_the_platform_supplies_reaches_the_client() {
    let app = spawn().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let agent = app.token(&tenant, Role::Agent);
    let inbox = format!("tg-{}", unique_number());
    add_channel(&app, &admin, "generic", &inbox, "TELEGRAM", SECRET).await;
    let message = |id: &str, from: &str, text: &str, avatar: &str| json!({ "id": id, "channel": "telegram", "from": from, "to": inbox, "text": text, "avatarUrl": avatar });
    // An unknown sender: kept on the thread, and given to the client extraction creates.
    let (c1, m1) = deliver(
        &app,
        &message(
            "p1",
            "tg-user-1",
            "Hi, I'm Ada Lovelace, ada@example.org",
            "https://cdn.example.net/a.jpg",
        ),
    )
    .await;
    assert_eq!(
        thread(&app, &agent, &c1).await["contactAvatarUrl"],
        "https://cdn.example.net/a.jpg"
    );
    extract(&app, tenant.id, m1).await;
    let client = thread(&app, &agent, &c1).await["client"].clone();
    assert_eq!(
        client["avatarUrl"], "https://cdn.example.net/a.jpg",
        "{client}"
    );
    // A new picture replaces it on the linked client.
    deliver(
        &app,
        &message(
            "p2",
            "tg-user-1",
            "new profile picture",
            "https://cdn.example.net/b.jpg",
        ),
    )
    .await;
    let client = thread(&app, &agent, &c1).await["client"].clone();
    assert_eq!(client["avatarUrl"], "https://cdn.example.net/b.jpg");
    // Not a web address: refused, naming the field, nothing stored.
    let response = post_generic(
        &app,
        &message("p3", "tg-user-1", "x", "javascript:alert(1)"),
        SECRET,
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body.to_string().contains("avatarUrl"), "{body}");
}
