//! Extraction and matching as background jobs: webhook in, client created or linked out.

use crate::conversations::{SECRET, add_channel, post_generic, sms};
use crate::helpers::{
    TestApp, error_code, isolated_database, spawn_app_on, spawn_app_with, unique_number,
};
use clientele_domain::{DomainEvent, Role, extraction};
use clientele_jobs::ExtractMessage;
use serde_json::{Value, json};
use std::time::Duration;

async fn spawn() -> TestApp {
    spawn_app_with(|c| c.workers.enabled = true).await
}

/// Polls until every message of the conversation went through extraction, then returns the
/// conversation's client (null when it has none). Fails after a generous wait, showing the
/// tenant's jobs.
async fn after_extraction(app: &TestApp, token: &str, conversation: &Value) -> Value {
    for _ in 0..300 {
        let states = message_state(app, token, conversation).await;
        if states.iter().all(|s| s != "PENDING") {
            let data = app
                .ok(
                    token,
                    "query($id: ID!) { conversation(id: $id) { client { id firstName lastName email phone company source purchaseIntent interests version } } }",
                    json!({ "id": conversation }),
                )
                .await;
            return data["conversation"]["client"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let jobs = app
        .gql(
            Some(token),
            "{ jobs(first: 20) { kind status attempts lastError } }",
            json!({}),
        )
        .await;
    panic!("messages of {conversation} were never extracted; jobs: {jobs}");
}

async fn linked_client(app: &TestApp, token: &str, conversation: &Value) -> Value {
    let client = after_extraction(app, token, conversation).await;
    assert!(
        !client.is_null(),
        "conversation {conversation} has no client"
    );
    client
}

async fn message_state(app: &TestApp, token: &str, conversation: &Value) -> Vec<String> {
    let data = app
        .ok(
            token,
            "query($id: ID!) { conversation(id: $id) { messages(first: 50) { nodes { extractionState } } } }",
            json!({ "id": conversation }),
        )
        .await;
    data["conversation"]["messages"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["extractionState"].as_str().unwrap().to_string())
        .collect()
}

async fn timeline(app: &TestApp, token: &str, client: &Value) -> Vec<Value> {
    let data = app
        .ok(
            token,
            "query($id: ID!) { client(id: $id) { timeline(first: 100) { nodes { kind actorKind actorName payload } } } }",
            json!({ "id": client["id"] }),
        )
        .await;
    data["client"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

async fn deliver(app: &TestApp, inbox: &str, id: &str, from: &str, text: &str) -> Value {
    let response = post_generic(app, &sms(inbox, id, from, text), SECRET).await;
    assert!(response.status().is_success(), "{}", response.status());
    let stored: Value = response.json().await.unwrap();
    stored["conversationId"].clone()
}

#[tokio::test]
async fn an_unknown_texter_becomes_a_client_with_what_they_wrote() {
    let app = spawn().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let text = "Hi, my name is Ming Li from Northwind Ltd. You can also reach me at \
                ming@northwind.com or 647 555 0188. I'm ready to buy the truck this week.";
    let conversation = deliver(&app, &inbox, "x1", "416 555 0101", text).await;
    let client = linked_client(&app, &admin, &conversation).await;
    assert_eq!(client["source"], "EXTRACTED");
    assert_eq!(client["firstName"], "Ming");
    assert_eq!(client["lastName"], "Li");
    // The sender's number outranks the number in the text.
    assert_eq!(client["phone"], "+14165550101");
    assert_eq!(client["email"], "ming@northwind.com");
    assert_eq!(client["purchaseIntent"], "READY_TO_BUY");
    assert_eq!(message_state(&app, &agent, &conversation).await, ["DONE"]);

    let events = timeline(&app, &agent, &client).await;
    let created = events.iter().find(|e| e["kind"] == "CREATED").unwrap();
    assert_eq!(created["actorKind"], "SYSTEM");
    assert_eq!(created["payload"]["source"], "extracted");
    assert!(created["payload"]["messageId"].is_string());
    let fields = created["payload"]["fields"].as_array().unwrap();
    let phone = fields.iter().find(|f| f["field"] == "phone").unwrap();
    assert_eq!(phone["rule"], "sender");
    let intent = events
        .iter()
        .find(|e| e["kind"] == "INTENT_CHANGED")
        .expect("an intent event");
    assert_eq!(intent["payload"]["after"], "ready_to_buy");
    assert!(intent["payload"]["rule"].is_string());
    // The number in the text is kept as another identity, not as the phone.
    let added = events
        .iter()
        .find(|e| e["kind"] == "IDENTITY_ADDED")
        .unwrap();
    assert_eq!(added["payload"]["value"], "+16475550188");
    // The message that arrived before the client existed is on its timeline.
    assert!(events.iter().any(|e| e["kind"] == "MESSAGE"));
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "CONVERSATION_STARTED" && e["payload"]["linked"] == true)
    );
}

#[tokio::test]
async fn facts_fill_blanks_of_a_known_client_and_never_overwrite() {
    let app = spawn().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let ada = app
        .create_client(
            &agent,
            json!({ "firstName": "Adelaide", "phone": "416 555 0102" }),
        )
        .await;
    let text = "Hello, this is Ada Lovelace from Analytical Engines Inc. \
                My email is ada@analytical.com";
    let conversation = deliver(&app, &inbox, "k1", "+1 416 555 0102", text).await;
    let client = linked_client(&app, &admin, &conversation).await;
    assert_eq!(client["id"], ada["id"]);
    // What a person entered stays; blanks are filled.
    assert_eq!(client["firstName"], "Adelaide");
    assert_eq!(client["lastName"], Value::Null);
    assert_eq!(client["email"], "ada@analytical.com");
    assert_eq!(client["company"], "Analytical Engines Inc.");
    assert_eq!(client["source"], "MANUAL");

    // A later message from another number that names Ada's email is matched by the email,
    // and that number becomes one of Ada's identities.
    let other = deliver(
        &app,
        &inbox,
        "k2",
        "905 555 0103",
        "It's me again, ada@analytical.com, texting from my work phone",
    )
    .await;
    assert_ne!(other, conversation);
    let again = linked_client(&app, &admin, &other).await;
    assert_eq!(again["id"], ada["id"]);
    let data = app
        .ok(
            &agent,
            "query($id: ID!) { client(id: $id) { identities { kind value primary } } }",
            json!({ "id": ada["id"] }),
        )
        .await;
    let identities = data["client"]["identities"].as_array().unwrap();
    assert!(
        identities
            .iter()
            .any(|i| i["value"] == "+19055550103" && i["primary"] == false),
        "{identities:?}"
    );
    let events = timeline(&app, &agent, &again).await;
    let updated = events.iter().find(|e| e["kind"] == "UPDATED").unwrap();
    assert!(updated["payload"]["messageId"].is_string());
    assert!(
        updated["payload"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["rule"].is_string())
    );
}

#[tokio::test]
async fn a_fact_that_belongs_to_someone_else_becomes_a_duplicate_candidate() {
    let app = spawn().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let ada = app
        .create_client(
            &agent,
            json!({ "firstName": "Ada", "email": "ada@example.com" }),
        )
        .await;
    let bob = app
        .create_client(&agent, json!({ "firstName": "Bob", "phone": "4165550104" }))
        .await;
    let conversation = deliver(
        &app,
        &inbox,
        "d1",
        "4165550104",
        "please send the quote to ada@example.com",
    )
    .await;
    let client = linked_client(&app, &admin, &conversation).await;
    // The sender decides whose message it is; nothing is merged.
    assert_eq!(client["id"], bob["id"]);
    assert_eq!(client["email"], Value::Null);
    let data = app
        .ok(
            &agent,
            "query($id: ID!) { duplicateCandidates(clientId: $id) { rule evidence clients { id } } }",
            json!({ "id": bob["id"] }),
        )
        .await;
    let candidates = data["duplicateCandidates"].as_array().unwrap();
    let found = candidates
        .iter()
        .find(|c| c["rule"] == "extracted_fact")
        .expect("an extracted_fact candidate");
    assert!(
        found["evidence"]
            .as_str()
            .unwrap()
            .contains("ada@example.com")
    );
    let ids: Vec<&Value> = found["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert!(ids.contains(&&ada["id"]) && ids.contains(&&bob["id"]));
}

#[tokio::test]
async fn a_greeting_in_web_chat_creates_nobody_and_redeliveries_change_nothing() {
    let app = spawn().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let admin = app.token(&tenant, Role::Admin);
    let inbox = format!("web-{}", unique_number());
    add_channel(&app, &admin, "generic", &inbox, "WEB", SECRET).await;
    let hello = json!({ "id": "w1", "channel": "web", "from": "session-42", "to": inbox, "text": "hi there" });
    let response = post_generic(&app, &hello, SECRET).await;
    let conversation = response.json::<Value>().await.unwrap()["conversationId"].clone();
    assert!(
        after_extraction(&app, &admin, &conversation)
            .await
            .is_null()
    );
    let data = app
        .ok(
            &agent,
            "query($id: ID!) { conversation(id: $id) { client { id } } clients(first: 5) { totalCount } }",
            json!({ "id": conversation }),
        )
        .await;
    assert!(data["conversation"]["client"].is_null());
    assert_eq!(data["clients"]["totalCount"], 0);
    // Redelivered while the thread is still nobody's: nothing stored, no job.
    let again = post_generic(&app, &hello, SECRET).await;
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "duplicate");

    // The visitor introduces themselves: a client with the chat session as identity.
    let intro = json!({ "id": "w2", "channel": "web", "from": "session-42", "to": inbox, "text": "I'm Grace Hopper, grace@navy.mil" });
    post_generic(&app, &intro, SECRET).await;
    let grace = linked_client(&app, &admin, &conversation).await;
    assert_eq!(grace["firstName"], "Grace");
    assert_eq!(grace["email"], "grace@navy.mil");
    // Redelivering the same message does not process it again.
    post_generic(&app, &intro, SECRET).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let data = app
        .ok(
            &agent,
            "query($id: ID!) { client(id: $id) { version identities { kind value } } clients(first: 5) { totalCount } }",
            json!({ "id": grace["id"] }),
        )
        .await;
    assert_eq!(data["clients"]["totalCount"], 1);
    assert_eq!(data["client"]["version"], grace["version"]);
    let kinds: Vec<&str> = data["client"]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"CHAT_SESSION") && kinds.contains(&"EMAIL"),
        "{kinds:?}"
    );
    // One extraction job per stored message: the redeliveries enqueued none.
    let jobs = app
        .ok(&admin, "{ jobs(first: 20) { kind status } }", json!({}))
        .await;
    let jobs = jobs["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(jobs.iter().all(|j| j["status"] != "FAILED"), "{jobs:?}");
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_visible_to_admins_and_blocks_nothing() {
    let app = spawn().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    // A job for a message that does not exist fails for good, at once.
    let missing = uuid::Uuid::now_v7();
    app.app
        .jobs
        .enqueue_extract(ExtractMessage {
            tenant_id: tenant.id.0,
            message_id: missing,
        })
        .await
        .unwrap();
    // Other work goes on.
    let conversation = deliver(&app, &inbox, "f1", "4165550105", "Hi, I'm Alan Turing").await;
    let alan = linked_client(&app, &admin, &conversation).await;
    assert_eq!(alan["firstName"], "Alan");
    let query = "{ jobs(status: FAILED) { id kind status attempts lastError payload } }";
    let mut failed = Value::Null;
    for _ in 0..300 {
        let data = app.ok(&admin, query, json!({})).await;
        if let Some(job) = data["jobs"].as_array().unwrap().first() {
            failed = job.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed["kind"], "EXTRACT_MESSAGE", "{failed}");
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["lastError"], "message not found");
    assert_eq!(failed["payload"]["message_id"], missing.to_string());
    // Agents do not see jobs; another tenant's admin does not see this one.
    assert_eq!(
        error_code(&app.gql(Some(&agent), query, json!({})).await),
        "FORBIDDEN"
    );
    let other = app.tenant().await;
    let other_admin = app.token(&other, Role::Admin);
    let data = app.ok(&other_admin, query, json!({})).await;
    assert_eq!(data["jobs"], json!([]));
    let body = app
        .gql(
            Some(&other_admin),
            "mutation($id: ID!) { retryJob(id: $id) { status } }",
            json!({ "id": failed["id"] }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    // A retried job runs again (and fails again: the message still does not exist).
    let data = app
        .ok(
            &admin,
            "mutation($id: ID!) { retryJob(id: $id) { status attempts } }",
            json!({ "id": failed["id"] }),
        )
        .await;
    assert_ne!(data["retryJob"]["status"], "FAILED");
    let mut attempts = 0;
    for _ in 0..300 {
        let data = app
            .ok(
                &admin,
                "query($id: ID!) { job(id: $id) { status attempts } }",
                json!({ "id": failed["id"] }),
            )
            .await;
        if data["job"]["status"] == "FAILED" {
            attempts = data["job"]["attempts"].as_u64().unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(attempts >= 1, "the retried job did not fail again");
}

#[tokio::test]
async fn processing_a_message_twice_changes_nothing_the_second_time() {
    // No workers anywhere on this database: the test runs extraction itself.
    let (db_url, dir) = isolated_database().await;
    let app = spawn_app_on(&db_url, dir, |_| {}).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let mut events = app.domain().events.subscribe(tenant.id);
    let response = post_generic(
        &app,
        &sms(
            &inbox,
            "i1",
            "4165550106",
            "This is Edsger Dijkstra, ready to buy",
        ),
        SECRET,
    )
    .await;
    let stored: Value = response.json().await.unwrap();
    let message = uuid::Uuid::parse_str(stored["messageId"].as_str().unwrap()).unwrap();
    let first = extraction::process_message(app.domain(), tenant.id, message)
        .await
        .unwrap();
    assert!(first.created && first.linked && !first.already_done);
    let client = first.client.unwrap();
    let second = extraction::process_message(app.domain(), tenant.id, message)
        .await
        .unwrap();
    assert!(second.already_done && second.client.is_none() && second.changes == 0);
    let viewer = clientele_domain::Actor {
        user_id: "test".into(),
        name: "Test".into(),
        tenant: tenant.id,
        role: Role::Viewer,
    };
    let row = clientele_domain::clients::get(app.domain(), &viewer, client)
        .await
        .unwrap();
    assert_eq!(row.version, 1);
    assert_eq!(
        row.purchase_intent,
        Some(clientele_domain::entities::client::PurchaseIntent::ReadyToBuy)
    );
    // Staff subscribed to the tenant heard about the new client (and its intent) once: a
    // marker published after both runs arrives after everything they published (on
    // PostgreSQL the bus is LISTEN/NOTIFY, so delivery is asynchronous but ordered).
    let marker = clientele_domain::ClientId(uuid::Uuid::now_v7());
    app.domain()
        .events
        .publish(tenant.id, DomainEvent::ClientChanged { client_id: marker });
    let mut changed = 0;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("the marker arrives")
            .unwrap();
        match event {
            DomainEvent::ClientChanged { client_id } if client_id == marker => break,
            DomainEvent::ClientChanged { client_id } if client_id == client => changed += 1,
            _ => {}
        }
    }
    assert_eq!(changed, 1);
}

#[tokio::test]
async fn jobs_left_by_a_stopped_server_run_after_restart() {
    let (db_url, dir) = isolated_database().await;
    // The first process takes messages but runs no workers, then stops.
    let first = spawn_app_on(&db_url, None, |_| {}).await;
    let tenant = first.tenant().await;
    let admin = first.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&first, &admin, "generic", &inbox, "SMS", SECRET).await;
    let conversation = deliver(&first, &inbox, "r1", "4165550107", "I'm Barbara Liskov").await;
    assert_eq!(
        message_state(&first, &admin, &conversation).await,
        ["PENDING"]
    );
    first.app.shutdown().await.unwrap();
    // The next process on the same database finds the job and runs it.
    let second = spawn_app_on(&db_url, dir, |c| c.workers.enabled = true).await;
    let barbara = linked_client(&second, &admin, &conversation).await;
    assert_eq!(barbara["firstName"], "Barbara");
    assert_eq!(barbara["phone"], "+14165550107");
}

#[tokio::test]
async fn jobs_in_a_database_of_their_own_still_get_every_inbound_message() {
    // In the application's database the extraction job commits with the message; with a
    // jobs database of its own it is enqueued there after the commit. Both must run.
    let (jobs_url, _jobs_dir) = isolated_database().await;
    let app = spawn_app_with(|c| {
        c.workers.enabled = true;
        c.workers.database_url = Some(jobs_url.clone());
    })
    .await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    let conversation = deliver(
        &app,
        &inbox,
        "own-jobs-1",
        "416 555 0177",
        "Hello, I'm Grace Hopper, grace@navy.example.org",
    )
    .await;
    let client = linked_client(&app, &admin, &conversation).await;
    assert_eq!(client["email"], "grace@navy.example.org");
    assert_eq!(client["firstName"], "Grace");
}
