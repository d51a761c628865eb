//! Conversations, outbound messages, inbound webhooks and `messageAdded`.

use crate::helpers::{TestApp, error_code, spawn_app, unique_number};
use clientele_api::webhooks::signature;
use clientele_domain::Role;
use serde_json::{Value, json};

pub(crate) const SECRET: &str = "generic-webhook-secret-for-tests";

pub(crate) async fn add_channel(
    app: &TestApp,
    admin: &str,
    provider: &str,
    address: &str,
    channel: &str,
    secret: &str,
) {
    app.ok(
        admin,
        "mutation($p: String!, $a: String!, $c: ConversationChannel!, $s: String!) { addTenantChannel(provider: $p, address: $a, channel: $c, secret: $s) { id address } }",
        json!({ "p": provider, "a": address, "c": channel, "s": secret }),
    )
    .await;
}

pub(crate) async fn post_generic(app: &TestApp, body: &Value, secret: &str) -> reqwest::Response {
    let raw = body.to_string();
    let now = chrono::Utc::now().timestamp();
    app.http
        .post(app.url("/webhooks/generic"))
        .header("content-type", "application/json")
        .header(
            signature::GENERIC_SIGNATURE_HEADER,
            signature::sign_generic(secret.as_bytes(), now, raw.as_bytes()),
        )
        .body(raw)
        .send()
        .await
        .unwrap()
}

pub(crate) fn sms(to: &str, id: &str, from: &str, text: &str) -> Value {
    json!({ "id": id, "channel": "sms", "from": from, "to": to, "text": text })
}

#[tokio::test]
async fn inbound_messages_are_verified_deduplicated_and_linked() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let ada = app
        .create_client(
            &admin,
            json!({ "firstName": "Ada", "phone": "416 555 1234" }),
        )
        .await;

    // Bad or missing signatures store nothing.
    let response = post_generic(&app, &sms(&inbox, "m1", "4165551234", "hi"), "wrong-secret").await;
    assert_eq!(response.status(), 401);
    let unsigned = app
        .http
        .post(app.url("/webhooks/generic"))
        .body(sms(&inbox, "m1", "4165551234", "hi").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    // Unknown destinations are 404; malformed bodies 400.
    let mut elsewhere = sms(&inbox, "m1", "4165551234", "hi");
    elsewhere["to"] = json!("+15145550000");
    assert_eq!(post_generic(&app, &elsewhere, SECRET).await.status(), 404);
    let response = post_generic(
        &app,
        &json!({ "id": "m1", "channel": "sms", "to": inbox, "text": "x" }),
        SECRET,
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("from"), "{body}");
    let data = app
        .ok(
            &admin,
            "query($id: ID!) { client(id: $id) { conversations { edges { node { id } } } } }",
            json!({ "id": ada["id"] }),
        )
        .await;
    assert_eq!(
        data["client"]["conversations"]["edges"],
        json!([]),
        "nothing stored"
    );

    // A good delivery, then the same message ten times at once: one message.
    let response = post_generic(
        &app,
        &sms(&inbox, "m1", "(416) 555-1234", "Hello, I'd like a quote"),
        SECRET,
    )
    .await;
    assert_eq!(response.status(), 200);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored["status"], "stored");
    let mut handles = Vec::new();
    for _ in 0..10 {
        let app_http = app.http.clone();
        let url = app.url("/webhooks/generic");
        let raw = sms(&inbox, "m1", "(416) 555-1234", "Hello, I'd like a quote").to_string();
        handles.push(tokio::spawn(async move {
            let now = chrono::Utc::now().timestamp();
            app_http
                .post(url)
                .header(
                    signature::GENERIC_SIGNATURE_HEADER,
                    signature::sign_generic(SECRET.as_bytes(), now, raw.as_bytes()),
                )
                .body(raw)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for handle in handles {
        assert_eq!(handle.await.unwrap(), 200);
    }
    let data = app
        .ok(
            &admin,
            "query($id: ID!) { client(id: $id) { lastActiveAt conversations { edges { node { id channel channelIdentifier messages { edges { node { body direction authorKind smsSegments provider providerMessageId } } } } } } timeline(kinds: [CONVERSATION_STARTED, MESSAGE]) { edges { node { kind payload } } } } }",
            json!({ "id": ada["id"] }),
        )
        .await;
    let c = &data["client"];
    assert!(c["lastActiveAt"].is_string(), "{data}");
    let threads = c["conversations"]["edges"].as_array().unwrap();
    assert_eq!(threads.len(), 1);
    let thread = &threads[0]["node"];
    assert_eq!(thread["channelIdentifier"], "+14165551234");
    let messages = thread["messages"]["edges"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "one message despite 11 deliveries");
    let m = &messages[0]["node"];
    assert_eq!(m["body"], "Hello, I'd like a quote");
    assert_eq!(m["direction"], "INBOUND");
    assert_eq!(m["authorKind"], "CUSTOMER");
    assert_eq!(m["smsSegments"], 1);
    let kinds: Vec<&str> = c["timeline"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["MESSAGE", "CONVERSATION_STARTED"]);

    // A second message resumes the same thread.
    post_generic(
        &app,
        &sms(&inbox, "m2", "+14165551234", "Still there?"),
        SECRET,
    )
    .await;
    let data = app
        .ok(&admin, "query($id: ID!) { client(id: $id) { conversations { edges { node { messages(last: 1) { edges { node { body } } } } } } } }", json!({ "id": ada["id"] }))
        .await;
    let threads = data["client"]["conversations"]["edges"].as_array().unwrap();
    assert_eq!(threads.len(), 1);
    assert_eq!(
        threads[0]["node"]["messages"]["edges"][0]["node"]["body"],
        "Still there?"
    );
}

#[tokio::test]
async fn unknown_senders_wait_for_a_link_and_agents_send_messages() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let response = post_generic(&app, &sms(&inbox, "u1", "4165559999", "who dis"), SECRET).await;
    let stored: Value = response.json().await.unwrap();
    let conversation = stored["conversationId"].clone();
    let data = app
        .ok(
            &admin,
            "query($id: ID!) { conversation(id: $id) { client { id } channel status } }",
            json!({ "id": conversation }),
        )
        .await;
    assert!(data["conversation"]["client"].is_null());
    assert_eq!(data["conversation"]["status"], "ACTIVE");

    let bob = app
        .create_client(&admin, json!({ "firstName": "Bob" }))
        .await;
    let data = app
        .ok(&admin, "mutation($c: ID!, $k: ID!) { linkConversation(conversationId: $c, clientId: $k) { client { firstName } } }", json!({ "c": conversation, "k": bob["id"] }))
        .await;
    assert_eq!(data["linkConversation"]["client"]["firstName"], "Bob");

    // Outbound: SMS segments counted (a 161-character GSM message is two segments).
    let long = "x".repeat(161);
    let data = app
        .ok(&admin, "mutation($c: ID!, $b: String!) { sendMessage(conversationId: $c, body: $b) { direction authorKind smsSegments } }", json!({ "c": conversation, "b": long }))
        .await;
    assert_eq!(
        data["sendMessage"],
        json!({ "direction": "OUTBOUND", "authorKind": "AGENT", "smsSegments": 2 })
    );
    let body = app
        .gql(
            Some(&admin),
            "mutation($c: ID!) { sendMessage(conversationId: $c, body: \"  \") { id } }",
            json!({ "c": conversation }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "body");

    // startConversation resumes the active thread with the same number in any format.
    let data = app
        .ok(
            &admin,
            "mutation { startConversation(channel: SMS, to: \"(416) 555-9999\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(data["startConversation"]["id"], conversation);
    let body = app
        .gql(
            Some(&admin),
            "mutation { startConversation(channel: SMS, to: \"12\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "to");

    // Another tenant sees none of it.
    let other = app.tenant().await;
    let other_admin = app.token(&other, Role::Admin);
    let body = app
        .gql(
            Some(&other_admin),
            "query($id: ID!) { conversation(id: $id) { id } }",
            json!({ "id": conversation }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let viewer = app.token(&tenant, Role::Viewer);
    let body = app
        .gql(
            Some(&viewer),
            "mutation($c: ID!) { sendMessage(conversationId: $c, body: \"hi\") { id } }",
            json!({ "c": conversation }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

#[tokio::test]
async fn twilio_and_telnyx_deliveries_are_verified() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let twilio_inbox = unique_number();
    add_channel(
        &app,
        &admin,
        "twilio",
        &twilio_inbox,
        "SMS",
        "twilio-auth-token",
    )
    .await;
    let params = vec![
        ("MessageSid".to_string(), "SM123".to_string()),
        ("From".to_string(), "+14165551234".to_string()),
        ("To".to_string(), twilio_inbox.clone()),
        ("Body".to_string(), "Hi from Twilio".to_string()),
        ("NumMedia".to_string(), "0".to_string()),
    ];
    let url = app.url("/webhooks/twilio");
    let good = signature::sign_twilio("twilio-auth-token", &url, &params);
    let post = |sig: String| {
        app.http
            .post(app.url("/webhooks/twilio"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(signature::TWILIO_SIGNATURE_HEADER, sig)
            .body(serde_urlencoded::to_string(&params).unwrap())
            .send()
    };
    assert_eq!(post("bm90IGl0".into()).await.unwrap().status(), 401);
    let response = post(good).await.unwrap();
    assert_eq!(response.status(), 200);

    // Telnyx: Ed25519 over "timestamp|body".
    use ed25519_dalek::Signer;
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let telnyx_inbox = unique_number();
    add_channel(
        &app,
        &admin,
        "telnyx",
        &telnyx_inbox,
        "SMS",
        &b64.encode(key.verifying_key().as_bytes()),
    )
    .await;
    let body = json!({ "data": { "event_type": "message.received", "id": "ev1", "occurred_at": "2026-11-22T10:00:00Z",
        "payload": { "id": "tx-1", "type": "SMS", "text": "Hi from Telnyx", "from": { "phone_number": "+14165551234" }, "to": [{ "phone_number": telnyx_inbox }] } } })
        .to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig = b64.encode(key.sign(format!("{ts}|{body}").as_bytes()).to_bytes());
    let post = |sig: String, ts: String, body: String| {
        app.http
            .post(app.url("/webhooks/telnyx"))
            .header(signature::TELNYX_SIGNATURE_HEADER, sig)
            .header(signature::TELNYX_TIMESTAMP_HEADER, ts)
            .body(body)
            .send()
    };
    let tampered = body.replace("Hi from Telnyx", "Send me money");
    assert_eq!(
        post(sig.clone(), ts.clone(), tampered)
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(post(sig, ts, body).await.unwrap().status(), 200);

    let data = app
        .ok(&admin, "{ clients { totalCount } }", json!({}))
        .await;
    assert_eq!(
        data["clients"]["totalCount"], 0,
        "unknown senders create no client here"
    );
}

#[tokio::test]
async fn merge_moves_conversations_and_erasure_removes_message_bodies() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let keep = app
        .create_client(&admin, json!({ "firstName": "Ada" }))
        .await;
    let other = app
        .create_client(&admin, json!({ "firstName": "Ada", "phone": "4165551234" }))
        .await;
    let response = post_generic(
        &app,
        &sms(&inbox, "e1", "4165551234", "my secret plan"),
        SECRET,
    )
    .await;
    assert_eq!(response.status(), 200);

    let data = app
        .ok(
            &admin,
            "mutation($p: ID!, $o: [ID!]!) { mergeClients(primaryId: $p, otherIds: $o) { moved { what count } client { conversations { edges { node { id } } } } } }",
            json!({ "p": keep["id"], "o": [other["id"]] }),
        )
        .await;
    let r = &data["mergeClients"];
    assert_eq!(
        r["client"]["conversations"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{data}"
    );
    assert!(
        r["moved"]
            .as_array()
            .unwrap()
            .contains(&json!({ "what": "conversations", "count": 1 }))
    );

    let export = app
        .ok(
            &admin,
            "query($id: ID!) { exportClient(id: $id) }",
            json!({ "id": keep["id"] }),
        )
        .await;
    assert!(
        export.to_string().contains("my secret plan"),
        "export has the conversations: {export}"
    );
    app.ok(
        &admin,
        "mutation($id: ID!) { eraseClient(id: $id) { id } }",
        json!({ "id": keep["id"] }),
    )
    .await;
    let export = app
        .ok(
            &admin,
            "query($id: ID!) { exportClient(id: $id) }",
            json!({ "id": keep["id"] }),
        )
        .await;
    let text = export.to_string();
    assert!(
        !text.contains("my secret plan") && !text.contains("4165551234"),
        "{text}"
    );
}
