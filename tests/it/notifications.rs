//! Notifications: keyword, intent and needs-human events reach subscribers and signed
//! webhooks; failed deliveries are retried; endpoints filter on kind and changed fields; only
//! admins manage endpoints; tenants see only their own.

use crate::conversations::{SECRET, add_channel, post_generic, sms};
use crate::helpers::{TestApp, error_code, isolated_database, spawn_app_on, unique_number};
use crate::realtime::{next, subscribed};
use axum::http::{HeaderMap, StatusCode};
use clientele_domain::Role;
use clientele_domain::notifications::signing;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An app with workers on a database of its own, and webhook retries in milliseconds.
async fn spawn() -> TestApp {
    spawn_attempting(18).await
}

/// [`spawn`], with deliveries failing after `max_attempts`.
async fn spawn_attempting(max_attempts: u32) -> TestApp {
    let (db_url, dir) = isolated_database().await;
    spawn_app_on(&db_url, dir, |c| {
        c.workers.enabled = true;
        c.webhooks.delivery.max_attempts = max_attempts;
        c.webhooks.delivery.retry_base = Duration::from_millis(50);
        c.webhooks.delivery.retry_cap = Duration::from_millis(200);
        c.webhooks.delivery.timeout = Duration::from_secs(5);
        c.webhooks.relay_every = Duration::from_millis(50);
    })
    .await
}

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A webhook receiver on 127.0.0.1: answers the first `failures` requests with `fail_with`,
/// the rest with 200, and keeps every request.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

async fn receiver(failures: usize, fail_with: StatusCode) -> Receiver {
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let mut all = seen.lock().unwrap();
                all.push(Received {
                    headers,
                    body: body.to_vec(),
                });
                if all.len() <= failures {
                    fail_with
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        url: format!("http://{addr}/hook"),
        got,
    }
}

impl Receiver {
    fn requests(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

const CREATE_ENDPOINT: &str = "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id url active eventKinds clientFields } } }";
const DELIVERIES: &str = "query($id: ID!) { webhookDeliveries(endpointId: $id, first: 50) { edges { node { id status attempts lastError lastStatusCode nextAttemptAt deliveredAt notification { kind data clientId } } } } }";

async fn create_endpoint(app: &TestApp, admin: &str, input: Value) -> (String, String) {
    let data = app
        .ok(admin, CREATE_ENDPOINT, json!({ "input": input }))
        .await;
    let created = &data["createWebhookEndpoint"];
    (
        created["endpoint"]["id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    )
}

async fn keyword_rule(app: &TestApp, admin: &str, phrases: &[&str]) {
    app.ok(
        admin,
        "mutation($input: NotificationRuleInput!) { createNotificationRule(input: $input) { id kind phrases } }",
        json!({ "input": { "name": "appointments", "phrases": phrases } }),
    )
    .await;
}

async fn deliveries(app: &TestApp, admin: &str, endpoint: &str) -> Vec<Value> {
    let data = app.ok(admin, DELIVERIES, json!({ "id": endpoint })).await;
    data["webhookDeliveries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// Polls the endpoint's deliveries until one is in `status`; fails after a generous wait.
async fn delivery_in(app: &TestApp, admin: &str, endpoint: &str, status: &str) -> Value {
    let mut last = Vec::new();
    for _ in 0..400 {
        last = deliveries(app, admin, endpoint).await;
        if let Some(d) = last.iter().find(|d| d["status"] == status) {
            return d.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {status} delivery for {endpoint}; deliveries: {last:?}");
}

async fn inbound(app: &TestApp, inbox: &str, from: &str, text: &str) -> Value {
    let id = uuid::Uuid::new_v4().to_string();
    let response = post_generic(app, &sms(inbox, &id, from, text), SECRET).await;
    assert!(response.status().is_success(), "{}", response.status());
    let stored: Value = response.json().await.unwrap();
    stored
}

async fn setup(app: &TestApp) -> (crate::helpers::TestTenant, String, String) {
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(app, &admin, "generic", &inbox, "SMS", SECRET).await;
    (tenant, admin, inbox)
}

fn header(r: &Received, name: &str) -> String {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_every_attempt_is_signed() {
    let app = spawn().await;
    let (_, admin, inbox) = setup(&app).await;
    let hook = receiver(1, StatusCode::INTERNAL_SERVER_ERROR).await;
    let (endpoint, secret) = create_endpoint(
        &app,
        &admin,
        json!({ "url": hook.url, "eventKinds": ["MESSAGE_KEYWORD_MATCHED"] }),
    )
    .await;
    assert!(secret.starts_with("whsec_"));
    keyword_rule(&app, &admin, &["book appointment", "book an appointment"]).await;
    inbound(
        &app,
        &inbox,
        "416 555 0142",
        "Hi, can I BOOK an appointment for Friday?",
    )
    .await;

    let delivered = delivery_in(&app, &admin, &endpoint, "DELIVERED").await;
    assert_eq!(delivered["attempts"], 2, "{delivered}");
    assert_eq!(delivered["lastStatusCode"], 200);
    // The failure that caused the retry stays visible.
    assert!(
        delivered["lastError"].as_str().unwrap().contains("500"),
        "{delivered}"
    );
    assert!(delivered["nextAttemptAt"].is_null());
    assert_eq!(delivered["notification"]["kind"], "MESSAGE_KEYWORD_MATCHED");

    let requests = hook.requests();
    assert_eq!(requests.len(), 2, "one failed attempt, one accepted");
    let now = chrono::Utc::now().timestamp();
    for r in &requests {
        assert_eq!(header(r, "clientele-event"), "message.keyword_matched");
        assert_eq!(
            header(r, "clientele-delivery"),
            delivered["id"].as_str().unwrap()
        );
        let signature = header(r, "clientele-signature");
        assert_eq!(
            signing::verify(&secret, &signature, &r.body, now, 300),
            Ok(()),
            "{signature}"
        );
        // Signed with this endpoint's secret only, over these exact bytes.
        assert!(signing::verify("whsec_other", &signature, &r.body, now, 300).is_err());
        let mut tampered = r.body.clone();
        tampered.push(b' ');
        assert!(signing::verify(&secret, &signature, &tampered, now, 300).is_err());
    }
    // An independent check of the scheme: HMAC-SHA256(secret, "<t>.<body>") in hex.
    let signature = header(&requests[1], "clientele-signature");
    let t: i64 = signature
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        signature,
        format!(
            "t={t},v1={}",
            signing::signature(&secret, t, &requests[1].body)
        )
    );
    let body: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(body["type"], "message.keyword_matched");
    assert_eq!(body["data"]["phrase"], "book an appointment");
    assert_eq!(body["id"], requests_body_id(&requests[0]));
}

fn requests_body_id(r: &Received) -> Value {
    serde_json::from_slice::<Value>(&r.body).unwrap()["id"].clone()
}

#[tokio::test]
async fn a_keyword_rule_reaches_subscribers_and_webhooks() {
    let app = spawn().await;
    let (tenant, admin, inbox) = setup(&app).await;
    let agent = app.token(&tenant, Role::Agent);
    let hook = receiver(0, StatusCode::OK).await;
    let (endpoint, _) = create_endpoint(&app, &admin, json!({ "url": hook.url })).await;
    keyword_rule(&app, &admin, &["book appointment"]).await;
    let mut socket = subscribed(
        &app,
        &agent,
        "subscription { notificationRaised(kinds: [MESSAGE_KEYWORD_MATCHED]) { id kind messageId conversationId data } }",
        json!({}),
    )
    .await;
    // A message without the phrase raises nothing; the first event is the later one's.
    inbound(&app, &inbox, "416 555 0143", "What are your opening hours?").await;
    let matched = inbound(&app, &inbox, "416 555 0143", "OK, book appointment please").await;
    let event = next(&mut socket).await;
    assert_eq!(event["type"], "next", "{event}");
    let n = &event["payload"]["data"]["notificationRaised"];
    assert_eq!(n["kind"], "MESSAGE_KEYWORD_MATCHED");
    assert_eq!(n["messageId"], matched["messageId"], "{n} vs {matched}");
    assert_eq!(n["data"]["phrase"], "book appointment");

    let delivered = delivery_in(&app, &admin, &endpoint, "DELIVERED").await;
    assert_eq!(delivered["attempts"], 1);
    assert_eq!(deliveries(&app, &admin, &endpoint).await.len(), 1);
    assert_eq!(hook.requests().len(), 1);
}

#[tokio::test]
async fn reaching_ready_to_buy_raises_intent_reached() {
    let app = spawn().await;
    let (tenant, admin, inbox) = setup(&app).await;
    let viewer = app.token(&tenant, Role::Viewer);
    let hook = receiver(0, StatusCode::OK).await;
    let (endpoint, _) = create_endpoint(
        &app,
        &admin,
        json!({ "url": hook.url, "eventKinds": ["CLIENT_INTENT_REACHED"] }),
    )
    .await;
    let mut socket = subscribed(
        &app,
        &viewer,
        "subscription { notificationRaised(kinds: [CLIENT_INTENT_REACHED]) { kind clientId data } }",
        json!({}),
    )
    .await;
    inbound(
        &app,
        &inbox,
        "416 555 0144",
        "I'm ready to buy, can I sign today?",
    )
    .await;
    let event = next(&mut socket).await;
    let n = &event["payload"]["data"]["notificationRaised"];
    assert_eq!(n["kind"], "CLIENT_INTENT_REACHED", "{event}");
    assert_eq!(n["data"]["level"], "ready_to_buy");
    assert_eq!(n["data"]["after"], "ready_to_buy");
    assert!(n["clientId"].is_string());

    let delivered = delivery_in(&app, &admin, &endpoint, "DELIVERED").await;
    assert_eq!(delivered["notification"]["clientId"], n["clientId"]);
    let body: Value = serde_json::from_slice(&hook.requests()[0].body).unwrap();
    assert_eq!(body["type"], "client.intent_reached");
    assert_eq!(body["clientId"], n["clientId"]);
}

#[tokio::test]
async fn a_sensitive_clients_message_needs_a_human() {
    let app = spawn().await;
    let (tenant, admin, inbox) = setup(&app).await;
    let agent = app.token(&tenant, Role::Agent);
    let client = app
        .create_client(
            &agent,
            json!({ "firstName": "Sam", "phone": "+14165550145" }),
        )
        .await;
    app.ok(
        &admin,
        "mutation($id: ID!) { setClientSensitive(id: $id, sensitive: true) { id } }",
        json!({ "id": client["id"] }),
    )
    .await;
    let mut socket = subscribed(
        &app,
        &agent,
        "subscription { notificationRaised(kinds: [MESSAGE_NEEDS_HUMAN]) { kind clientId data } }",
        json!({}),
    )
    .await;
    // Somebody who is not sensitive writes first: no notification for them.
    inbound(
        &app,
        &inbox,
        "416 555 0146",
        "Hello, is the store open on Sunday?",
    )
    .await;
    inbound(&app, &inbox, "416 555 0145", "Hello, it's Sam again").await;
    let event = next(&mut socket).await;
    let n = &event["payload"]["data"]["notificationRaised"];
    assert_eq!(n["kind"], "MESSAGE_NEEDS_HUMAN", "{event}");
    assert_eq!(n["clientId"], client["id"]);
    assert_eq!(n["data"]["reasons"], json!(["SENSITIVE"]));
}

#[tokio::test]
async fn endpoints_get_only_the_kinds_and_field_changes_they_asked_for() {
    let app = spawn().await;
    let (tenant, admin, _) = setup(&app).await;
    let agent = app.token(&tenant, Role::Agent);
    let hook = receiver(0, StatusCode::OK).await;
    let (status_only, _) = create_endpoint(
        &app,
        &admin,
        json!({ "url": hook.url, "eventKinds": ["CLIENT_UPDATED"], "clientFields": ["status", "funnelStage"] }),
    )
    .await;
    let (needs_human_only, _) = create_endpoint(
        &app,
        &admin,
        json!({ "url": hook.url, "eventKinds": ["MESSAGE_NEEDS_HUMAN"] }),
    )
    .await;
    let client = app
        .create_client(&agent, json!({ "firstName": "Ada" }))
        .await;
    let update = "mutation($id: ID!, $input: UpdateClientInput!) { updateClient(id: $id, input: $input) { id } }";
    // A change of another field: nothing for either endpoint (written with the change, so
    // there is nothing to wait for).
    app.ok(
        &agent,
        update,
        json!({ "id": client["id"], "input": { "city": "Toronto" } }),
    )
    .await;
    assert!(deliveries(&app, &admin, &status_only).await.is_empty());
    app.ok(
        &agent,
        update,
        json!({ "id": client["id"], "input": { "status": "qualified" } }),
    )
    .await;
    let got = deliveries(&app, &admin, &status_only).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let n = &got[0]["notification"];
    assert_eq!(n["kind"], "CLIENT_UPDATED");
    assert_eq!(n["data"]["fields"], json!(["status"]));
    assert_eq!(
        n["data"]["changes"],
        json!([{ "field": "status", "before": "new", "after": "qualified" }])
    );
    assert_eq!(n["clientId"], client["id"]);
    assert!(deliveries(&app, &admin, &needs_human_only).await.is_empty());
    delivery_in(&app, &admin, &status_only, "DELIVERED").await;
}

#[tokio::test]
async fn only_admins_manage_endpoints_and_urls_are_checked() {
    let app = spawn().await;
    let (tenant, admin, _) = setup(&app).await;
    let agent = app.token(&tenant, Role::Agent);
    let input = json!({ "input": { "url": "http://127.0.0.1:9/hook" } });
    let refused = app.gql(Some(&agent), CREATE_ENDPOINT, input.clone()).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let listed = app
        .gql(Some(&agent), "{ webhookEndpoints { id } }", json!({}))
        .await;
    assert_eq!(error_code(&listed), "FORBIDDEN");
    let rule = app
        .gql(
            Some(&agent),
            "mutation { createNotificationRule(input: { name: \"x\", phrases: [\"refund\"] }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&rule), "FORBIDDEN");

    for bad in ["/relative/hook", "ftp://127.0.0.1/hook", "not a url"] {
        let body = app
            .gql(
                Some(&admin),
                CREATE_ENDPOINT,
                json!({ "input": { "url": bad } }),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{bad}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "url", "{body}");
    }
    let both = app
        .gql(
            Some(&admin),
            "mutation { createNotificationRule(input: { name: \"x\", phrases: [\"refund\"], intentLevel: COMPARING }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        both["errors"][0]["extensions"]["field"], "phrases",
        "{both}"
    );

    // The secret is shown on creation and rotation only, and rotation changes it.
    let (endpoint, secret) = create_endpoint(&app, &admin, input["input"].clone()).await;
    let rotated = app
        .ok(
            &admin,
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
            json!({ "id": endpoint }),
        )
        .await;
    assert_ne!(rotated["rotateWebhookSecret"]["secret"], secret.as_str());
    let deleted = app
        .gql(
            Some(&agent),
            "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
            json!({ "id": endpoint }),
        )
        .await;
    assert_eq!(error_code(&deleted), "FORBIDDEN");
    app.ok(
        &admin,
        "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
        json!({ "id": endpoint }),
    )
    .await;
}

#[tokio::test]
async fn a_gone_receiver_switches_its_endpoint_off() {
    let app = spawn().await;
    let (tenant, admin, _) = setup(&app).await;
    let agent = app.token(&tenant, Role::Agent);
    let hook = receiver(usize::MAX, StatusCode::GONE).await;
    let (endpoint, _) = create_endpoint(&app, &admin, json!({ "url": hook.url })).await;
    let client = app
        .create_client(&agent, json!({ "firstName": "Gus" }))
        .await;
    app.ok(
        &agent,
        "mutation($id: ID!) { updateClient(id: $id, input: { status: \"qualified\" }) { id } }",
        json!({ "id": client["id"] }),
    )
    .await;
    let failed = delivery_in(&app, &admin, &endpoint, "FAILED").await;
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["lastStatusCode"], 410);
    let data = app
        .ok(
            &admin,
            "query($id: ID!) { webhookEndpoint(id: $id) { active disabledReason } }",
            json!({ "id": endpoint }),
        )
        .await;
    assert_eq!(data["webhookEndpoint"]["active"], false);
    assert!(
        data["webhookEndpoint"]["disabledReason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
}

#[tokio::test]
async fn tenants_see_only_their_own_endpoints_and_notifications() {
    let app = spawn().await;
    let (_, admin_a, inbox_a) = setup(&app).await;
    let (tenant_b, admin_b, inbox_b) = setup(&app).await;
    let agent_b = app.token(&tenant_b, Role::Agent);
    let hook = receiver(0, StatusCode::OK).await;
    let (endpoint_a, _) = create_endpoint(&app, &admin_a, json!({ "url": hook.url })).await;
    let (endpoint_b, _) = create_endpoint(&app, &admin_b, json!({ "url": hook.url })).await;
    keyword_rule(&app, &admin_a, &["refund"]).await;
    keyword_rule(&app, &admin_b, &["refund"]).await;

    let other = app
        .gql(
            Some(&admin_b),
            "query($id: ID!) { webhookEndpoint(id: $id) { id } }",
            json!({ "id": endpoint_a }),
        )
        .await;
    assert_eq!(error_code(&other), "NOT_FOUND");
    let other = app
        .gql(Some(&admin_b), DELIVERIES, json!({ "id": endpoint_a }))
        .await;
    assert_eq!(error_code(&other), "NOT_FOUND");
    let listed = app
        .ok(&admin_b, "{ webhookEndpoints { id } }", json!({}))
        .await;
    assert_eq!(listed["webhookEndpoints"], json!([{ "id": endpoint_b }]));

    let mut socket = subscribed(
        &app,
        &agent_b,
        "subscription { notificationRaised { kind messageId } }",
        json!({}),
    )
    .await;
    inbound(&app, &inbox_a, "416 555 0147", "I want a refund").await;
    delivery_in(&app, &admin_a, &endpoint_a, "DELIVERED").await;
    let own = inbound(&app, &inbox_b, "416 555 0148", "I want a refund").await;
    let event = next(&mut socket).await;
    assert_eq!(
        event["payload"]["data"]["notificationRaised"]["messageId"], own["messageId"],
        "{event}"
    );
    // B's history holds B's notification only.
    let history = app
        .ok(
            &agent_b,
            "{ notifications(kinds: [MESSAGE_KEYWORD_MATCHED], first: 50) { edges { node { messageId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        history["notifications"]["edges"],
        json!([{ "node": { "messageId": own["messageId"] } }])
    );
    // B's endpoint got B's notification only.
    let b = delivery_in(&app, &admin_b, &endpoint_b, "DELIVERED").await;
    assert_eq!(deliveries(&app, &admin_b, &endpoint_b).await.len(), 1);
    assert_eq!(b["notification"]["kind"], "MESSAGE_KEYWORD_MATCHED");
}

#[tokio::test]
async fn personal_values_never_reach_notifications_and_erasure_empties_them() {
    let app = spawn().await;
    let (tenant, admin, _) = setup(&app).await;
    let agent = app.token(&tenant, Role::Agent);
    let hook = receiver(0, StatusCode::OK).await;
    let (endpoint, _) = create_endpoint(
        &app,
        &admin,
        json!({ "url": hook.url, "eventKinds": ["CLIENT_UPDATED"] }),
    )
    .await;
    let client = app
        .create_client(
            &agent,
            json!({ "firstName": "Eve", "email": "eve@example.com" }),
        )
        .await;
    app.ok(
        &agent,
        "mutation($id: ID!) { updateClient(id: $id, input: { email: \"eve@example.org\" }) { id } }",
        json!({ "id": client["id"] }),
    )
    .await;
    let got = deliveries(&app, &admin, &endpoint).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let data = &got[0]["notification"]["data"];
    assert_eq!(data["fields"], json!(["email"]));
    assert!(!data.to_string().contains("eve@"), "{data}");

    app.ok(
        &admin,
        "mutation($id: ID!) { eraseClient(id: $id) { id } }",
        json!({ "id": client["id"] }),
    )
    .await;
    for d in deliveries(&app, &admin, &endpoint).await {
        assert_eq!(d["notification"]["data"], json!({}), "{d}");
    }
}

#[tokio::test]
async fn a_delivery_fails_when_attempts_run_out_and_redelivery_starts_over_with_the_new_secret() {
    let app = spawn_attempting(3).await;
    let (tenant, admin, _) = setup(&app).await;
    let agent = app.token(&tenant, Role::Agent);
    // Three failures exhaust the attempts; the redelivery is then accepted.
    let hook = receiver(3, StatusCode::SERVICE_UNAVAILABLE).await;
    let (endpoint, old_secret) = create_endpoint(
        &app,
        &admin,
        json!({ "url": hook.url, "eventKinds": ["CLIENT_UPDATED"] }),
    )
    .await;
    let client = app
        .create_client(&agent, json!({ "firstName": "Ida" }))
        .await;
    app.ok(
        &agent,
        "mutation($id: ID!) { updateClient(id: $id, input: { status: \"qualified\" }) { id } }",
        json!({ "id": client["id"] }),
    )
    .await;
    let failed = delivery_in(&app, &admin, &endpoint, "FAILED").await;
    assert_eq!(failed["attempts"], 3, "{failed}");
    assert_eq!(failed["lastStatusCode"], 503);
    assert!(failed["nextAttemptAt"].is_null());
    assert_eq!(hook.requests().len(), 3);

    let rotated = app
        .ok(
            &admin,
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
            json!({ "id": endpoint }),
        )
        .await;
    let new_secret = rotated["rotateWebhookSecret"]["secret"].as_str().unwrap();
    let agent_try = app
        .gql(
            Some(&agent),
            "mutation($id: ID!) { redeliverWebhook(id: $id) { id } }",
            json!({ "id": failed["id"] }),
        )
        .await;
    assert_eq!(error_code(&agent_try), "FORBIDDEN");
    let again = app
        .ok(
            &admin,
            "mutation($id: ID!) { redeliverWebhook(id: $id) { status attempts } }",
            json!({ "id": failed["id"] }),
        )
        .await;
    assert_eq!(again["redeliverWebhook"]["status"], "PENDING");
    let delivered = delivery_in(&app, &admin, &endpoint, "DELIVERED").await;
    assert_eq!(delivered["id"], failed["id"]);
    assert_eq!(delivered["attempts"], 1);
    let requests = hook.requests();
    assert_eq!(requests.len(), 4);
    let last = &requests[3];
    let signature = header(last, "clientele-signature");
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        signing::verify(new_secret, &signature, &last.body, now, 300),
        Ok(())
    );
    assert!(signing::verify(&old_secret, &signature, &last.body, now, 300).is_err());
}

#[tokio::test]
async fn notifications_raised_while_no_worker_runs_are_sent_when_one_starts() {
    let (db_url, dir) = isolated_database().await;
    // The first process takes changes but runs no workers, then stops.
    let first = spawn_app_on(&db_url, None, |_| {}).await;
    let (tenant, admin, _) = setup(&first).await;
    let agent = first.token(&tenant, Role::Agent);
    let hook = receiver(0, StatusCode::OK).await;
    let (endpoint, _) = create_endpoint(&first, &admin, json!({ "url": hook.url })).await;
    let client = first
        .create_client(&agent, json!({ "firstName": "Ned" }))
        .await;
    first
        .ok(
            &agent,
            "mutation($id: ID!) { updateClient(id: $id, input: { status: \"qualified\" }) { id } }",
            json!({ "id": client["id"] }),
        )
        .await;
    let waiting = deliveries(&first, &admin, &endpoint).await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0]["status"], "PENDING");
    assert_eq!(waiting[0]["attempts"], 0);
    first.app.shutdown().await.unwrap();
    // The next process's relay finds the delivery and its worker sends it.
    let second = spawn_app_on(&db_url, dir, |c| {
        c.workers.enabled = true;
        c.webhooks.relay_every = Duration::from_millis(50);
    })
    .await;
    let delivered = delivery_in(&second, &admin, &endpoint, "DELIVERED").await;
    assert_eq!(delivered["attempts"], 1);
    assert_eq!(hook.requests().len(), 1);
}
