//! Assistants: selection order (assigned, channel default, created default), management and
//! assignment rights, and the assistant context (messages, guide, prompt, name and how it is
//! known, other channels, policy).

use crate::conversations::{SECRET, add_channel, post_generic, sms};
use crate::helpers::{TestApp, TestTenant, error_code, spawn_app, unique_number};
use clientele_domain::{Role, extraction};
use serde_json::{Value, json};

const CONTEXT: &str = "query($id: ID!, $n: Int) { assistantContext(conversationId: $id, messages: $n) {
    conversationId channel aiGuide
    messages { direction authorKind body sentAt }
    assistant { id name prompt chosenBy }
    client { id sensitive contractor name { first last full source confirmed } }
    nameMissing nameMissingReason { code message } addressAs
    otherChannels { conversationId channel channelIdentifier lastMessageAt aiGuide messages { body } }
    policy { mayAutoSend mayContactNow humanReviewRequired sensitive contactWindowOpen
             nextWindowOpensAt routeToAgent routeReasons { code } reasons { code blocking } }
} }";

struct Setup {
    app: TestApp,
    tenant: TestTenant,
    admin: String,
    agent: String,
    inbox: String,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let agent = app.token(&tenant, Role::Agent);
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    Setup {
        app,
        tenant,
        admin,
        agent,
        inbox,
    }
}

async fn context(app: &TestApp, token: &str, conversation: &Value, n: Option<i32>) -> Value {
    app.ok(token, CONTEXT, json!({ "id": conversation, "n": n }))
        .await["assistantContext"]
        .clone()
}

async fn start(app: &TestApp, token: &str, channel: &str, to: &str) -> Value {
    app.ok(
        token,
        "mutation($c: ConversationChannel!, $to: String!) { startConversation(channel: $c, to: $to) { id } }",
        json!({ "c": channel, "to": to }),
    )
    .await["startConversation"]["id"]
        .clone()
}

async fn send(app: &TestApp, token: &str, conversation: &Value, body: &str) {
    app.ok(
        token,
        "mutation($id: ID!, $b: String!) { sendMessage(conversationId: $id, body: $b) { id } }",
        json!({ "id": conversation, "b": body }),
    )
    .await;
}

/// An inbound SMS; returns (conversation id, message id).
async fn inbound(s: &Setup, id: &str, from: &str, text: &str) -> (Value, uuid::Uuid) {
    let response = post_generic(&s.app, &sms(&s.inbox, id, from, text), SECRET).await;
    assert_eq!(response.status(), 200);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored["status"], "stored", "{stored}");
    let message = uuid::Uuid::parse_str(stored["messageId"].as_str().unwrap()).unwrap();
    (stored["conversationId"].clone(), message)
}

async fn create_assistant(app: &TestApp, token: &str, name: &str, channels: Value) -> Value {
    let body = app
        .gql(
            Some(token),
            "mutation($i: CreateAssistantInput!) { createAssistant(input: $i) { id name systemPrompt channels } }",
            json!({ "i": { "name": name, "systemPrompt": format!("You are {name}."), "channels": channels } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "createAssistant: {body}");
    body["data"]["createAssistant"].clone()
}

fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no field in {body}"))
}

#[tokio::test]
async fn selection_order_is_assigned_then_channel_default_then_created_default() {
    let s = setup().await;
    let (app, admin, agent) = (&s.app, s.admin.as_str(), s.agent.as_str());
    let thread = start(app, agent, "SMS", "+14165550150").await;

    // No assistant at all: one is created with sensible defaults, once, even when several
    // requests need it at the same time.
    let mut handles = Vec::new();
    for _ in 0..6 {
        let url = app.url("/graphql");
        let http = app.http.clone();
        let token = agent.to_string();
        let thread = thread.clone();
        handles.push(tokio::spawn(async move {
            let body: Value = http
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "query": CONTEXT, "variables": { "id": thread } }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(body.get("errors").is_none(), "{body}");
            body["data"]["assistantContext"]["assistant"].clone()
        }));
    }
    let mut created = Vec::new();
    for h in handles {
        created.push(h.await.unwrap());
    }
    let fallback = created[0].clone();
    assert_eq!(fallback["chosenBy"], "CREATED_DEFAULT");
    assert_eq!(fallback["name"], "Default assistant (sms)");
    assert!(!fallback["prompt"].as_str().unwrap().is_empty());
    assert!(
        created.iter().all(|a| a["id"] == fallback["id"]),
        "{created:?}"
    );
    let listed = app
        .ok(agent, "{ assistants { id createdAutomatically channels } assistantDefaults { channel assistant { id } } }", json!({}))
        .await;
    assert_eq!(
        listed["assistants"],
        json!([{ "id": fallback["id"], "createdAutomatically": true, "channels": ["SMS"] }])
    );
    assert_eq!(
        listed["assistantDefaults"],
        json!([{ "channel": "SMS", "assistant": { "id": fallback["id"] } }])
    );
    // Reused, not created again.
    let again = context(app, agent, &thread, None).await["assistant"].clone();
    assert_eq!(again["id"], fallback["id"]);
    assert_eq!(again["chosenBy"], "CREATED_DEFAULT");

    // The tenant's own default for the channel beats the created one.
    let ava = create_assistant(app, admin, "Ava", json!(["SMS"])).await;
    app.ok(
        admin,
        "mutation($a: ID) { setDefaultAssistant(channel: SMS, assistantId: $a) { channel assistant { id } } }",
        json!({ "a": ava["id"] }),
    )
    .await;
    let chosen = context(app, agent, &thread, None).await["assistant"].clone();
    assert_eq!(
        chosen,
        json!({ "id": ava["id"], "name": "Ava", "prompt": "You are Ava.", "chosenBy": "CHANNEL_DEFAULT" })
    );

    // An assigned assistant beats the channel default.
    let bob = create_assistant(app, admin, "Bob", json!(["EMAIL", "SMS"])).await;
    let assigned = app
        .ok(
            agent,
            "mutation($c: ID!, $a: ID!) { assignAssistant(conversationId: $c, assistantId: $a) { id assistant { id name } } }",
            json!({ "c": thread, "a": bob["id"] }),
        )
        .await;
    assert_eq!(assigned["assignAssistant"]["assistant"]["name"], "Bob");
    let chosen = context(app, agent, &thread, None).await["assistant"].clone();
    assert_eq!(
        (&chosen["id"], &chosen["chosenBy"]),
        (&bob["id"], &json!("ASSIGNED"))
    );

    // An archived assigned assistant falls back along the order, and comes back restored.
    let archive = "mutation($id: ID!, $a: Boolean) { updateAssistant(id: $id, input: { archived: $a }) { archived } }";
    app.ok(admin, archive, json!({ "id": bob["id"], "a": true }))
        .await;
    let chosen = context(app, agent, &thread, None).await["assistant"].clone();
    assert_eq!(
        (&chosen["id"], &chosen["chosenBy"]),
        (&ava["id"], &json!("CHANNEL_DEFAULT"))
    );
    app.ok(admin, archive, json!({ "id": bob["id"], "a": false }))
        .await;
    let chosen = context(app, agent, &thread, None).await["assistant"].clone();
    assert_eq!(chosen["chosenBy"], "ASSIGNED");
    // An assigned assistant that stops serving the channel falls back too.
    app.ok(
        admin,
        "mutation($id: ID!) { updateAssistant(id: $id, input: { channels: [EMAIL] }) { channels } }",
        json!({ "id": bob["id"] }),
    )
    .await;
    let chosen = context(app, agent, &thread, None).await["assistant"].clone();
    assert_eq!(chosen["chosenBy"], "CHANNEL_DEFAULT");

    // Unassigning returns to the channel default.
    app.ok(
        admin,
        "mutation($id: ID!) { updateAssistant(id: $id, input: { channels: [SMS] }) { channels } }",
        json!({ "id": bob["id"] }),
    )
    .await;
    let unassigned = app
        .ok(
            agent,
            "mutation($c: ID!) { unassignAssistant(conversationId: $c) { assistant { id } } }",
            json!({ "c": thread }),
        )
        .await;
    assert_eq!(unassigned["unassignAssistant"]["assistant"], Value::Null);
    let chosen = context(app, agent, &thread, None).await["assistant"].clone();
    assert_eq!(
        (&chosen["id"], &chosen["chosenBy"]),
        (&ava["id"], &json!("CHANNEL_DEFAULT"))
    );

    // Deleting the default (with an assignment to it) falls back to the created default, the
    // same one as before.
    app.ok(
        agent,
        "mutation($c: ID!, $a: ID!) { assignAssistant(conversationId: $c, assistantId: $a) { id } }",
        json!({ "c": thread, "a": ava["id"] }),
    )
    .await;
    app.ok(
        admin,
        "mutation($id: ID!) { deleteAssistant(id: $id) }",
        json!({ "id": ava["id"] }),
    )
    .await;
    let chosen = context(app, agent, &thread, None).await["assistant"].clone();
    assert_eq!(
        (&chosen["id"], &chosen["chosenBy"]),
        (&fallback["id"], &json!("CREATED_DEFAULT"))
    );
    let count = app
        .ok(
            agent,
            "{ assistants(includeArchived: true) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(count["assistants"].as_array().unwrap().len(), 2, "{count}");
}

#[tokio::test]
async fn management_is_for_admins_and_assignment_checks_the_channel() {
    let s = setup().await;
    let (app, admin, agent) = (&s.app, s.admin.as_str(), s.agent.as_str());
    let viewer = app.token(&s.tenant, Role::Viewer);
    let thread = start(app, agent, "SMS", "+14165550151").await;
    let mail = create_assistant(app, admin, "Mail", json!(["EMAIL"])).await;
    let texts = create_assistant(app, admin, "Texts", json!(["SMS"])).await;

    // Agents and viewers may not manage assistants.
    let create = "mutation { createAssistant(input: { name: \"X\", systemPrompt: \"p\", channels: [SMS] }) { id } }";
    for token in [agent, viewer.as_str()] {
        assert_eq!(
            error_code(&app.gql(Some(token), create, json!({})).await),
            "FORBIDDEN"
        );
        for (query, vars) in [
            (
                "mutation($id: ID!) { updateAssistant(id: $id, input: { name: \"Y\" }) { id } }",
                json!({ "id": texts["id"] }),
            ),
            (
                "mutation($id: ID!) { deleteAssistant(id: $id) }",
                json!({ "id": texts["id"] }),
            ),
            (
                "mutation($id: ID) { setDefaultAssistant(channel: SMS, assistantId: $id) { channel } }",
                json!({ "id": texts["id"] }),
            ),
        ] {
            let body = app.gql(Some(token), query, vars).await;
            assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
        }
    }
    // Viewers read but may not assign.
    let assign = "mutation($c: ID!, $a: ID!) { assignAssistant(conversationId: $c, assistantId: $a) { id } }";
    let body = app
        .gql(
            Some(&viewer),
            assign,
            json!({ "c": thread, "a": texts["id"] }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let listed = app.ok(&viewer, "{ assistants { name } }", json!({})).await;
    assert_eq!(
        listed["assistants"],
        json!([{ "name": "Mail" }, { "name": "Texts" }])
    );
    assert!(context(app, &viewer, &thread, None).await["assistant"]["id"].is_string());

    // An assistant that does not serve the conversation's channel is refused, naming the field.
    let body = app
        .gql(Some(agent), assign, json!({ "c": thread, "a": mail["id"] }))
        .await;
    assert_eq!(
        (error_code(&body), field(&body)),
        ("BAD_USER_INPUT", "assistantId"),
        "{body}"
    );
    let body = app
        .gql(
            Some(admin),
            "mutation($id: ID) { setDefaultAssistant(channel: SMS, assistantId: $id) { channel } }",
            json!({ "id": mail["id"] }),
        )
        .await;
    assert_eq!(
        (error_code(&body), field(&body)),
        ("BAD_USER_INPUT", "assistantId"),
        "{body}"
    );
    // Names are unique per tenant; definitions are validated.
    let body = app
        .gql(
            Some(admin),
            "mutation { createAssistant(input: { name: \" Mail \", systemPrompt: \"p\", channels: [SMS] }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (error_code(&body), field(&body)),
        ("BAD_USER_INPUT", "name"),
        "{body}"
    );
    let body = app
        .gql(
            Some(admin),
            "mutation { createAssistant(input: { name: \"Z\", systemPrompt: \"p\", channels: [] }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (error_code(&body), field(&body)),
        ("BAD_USER_INPUT", "channels"),
        "{body}"
    );
    // The message limit is checked.
    for n in [0, 101] {
        let body = app
            .gql(Some(agent), CONTEXT, json!({ "id": thread, "n": n }))
            .await;
        assert_eq!(
            (error_code(&body), field(&body)),
            ("BAD_USER_INPUT", "messages"),
            "{body}"
        );
    }

    // Another tenant sees none of it.
    let other = app.tenant().await;
    let stranger = app.token(&other, Role::Admin);
    let body = app
        .gql(Some(&stranger), CONTEXT, json!({ "id": thread }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let body = app
        .gql(
            Some(&stranger),
            assign,
            json!({ "c": thread, "a": texts["id"] }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let body = app
        .gql(
            Some(&stranger),
            "mutation($id: ID!) { deleteAssistant(id: $id) }",
            json!({ "id": texts["id"] }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let theirs = app.ok(&stranger, "{ assistants { id } }", json!({})).await;
    assert_eq!(theirs["assistants"], json!([]));
    // And our assignment of their assistant is not found either.
    let foreign = create_assistant(app, &stranger, "Texts", json!(["SMS"])).await;
    let body = app
        .gql(
            Some(agent),
            assign,
            json!({ "c": thread, "a": foreign["id"] }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn context_returns_the_latest_messages_in_order_with_guide_and_prompt() {
    let s = setup().await;
    let (app, admin, agent) = (&s.app, s.admin.as_str(), s.agent.as_str());
    let thread = start(app, agent, "SMS", "+14165550152").await;
    for i in 1..=25 {
        send(app, agent, &thread, &format!("message {i}")).await;
    }
    app.ok(
        agent,
        "mutation($id: ID!) { setConversationAiGuide(conversationId: $id, aiGuide: \"Offer the spring promotion\") { id } }",
        json!({ "id": thread }),
    )
    .await;
    let texts = create_assistant(app, admin, "Texts", json!(["SMS"])).await;
    app.ok(
        agent,
        "mutation($c: ID!, $a: ID!) { assignAssistant(conversationId: $c, assistantId: $a) { id } }",
        json!({ "c": thread, "a": texts["id"] }),
    )
    .await;

    let c = context(app, agent, &thread, None).await;
    let bodies: Vec<&str> = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (6..=25).map(|i| format!("message {i}")).collect();
    assert_eq!(bodies, expected, "the last 20, oldest first");
    assert_eq!(c["messages"][0]["direction"], "OUTBOUND");
    assert_eq!(c["messages"][0]["authorKind"], "AGENT");
    assert_eq!(c["aiGuide"], "Offer the spring promotion");
    assert_eq!(c["assistant"]["prompt"], "You are Texts.");
    assert_eq!(c["conversationId"], thread);

    let c = context(app, agent, &thread, Some(5)).await;
    let bodies: Vec<&str> = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "message 21",
            "message 22",
            "message 23",
            "message 24",
            "message 25"
        ]
    );
}

#[tokio::test]
async fn names_are_reported_with_how_they_are_known() {
    let s = setup().await;
    let (app, admin, agent) = (&s.app, s.admin.as_str(), s.agent.as_str());

    // An unknown sender introduces themselves: the name is missing until extraction ran,
    // then it is known as extracted.
    let (ada_thread, message) =
        inbound(&s, "n1", "4165550160", "Hi, my name is Ada Lovelace").await;
    let c = context(app, agent, &ada_thread, None).await;
    assert_eq!(c["client"], Value::Null);
    assert_eq!(c["nameMissing"], true);
    assert_eq!(c["nameMissingReason"]["code"], "UNKNOWN_SENDER");
    assert_eq!(c["addressAs"], Value::Null);
    extraction::process_message(app.domain(), s.tenant.id, message)
        .await
        .unwrap();
    let c = context(app, agent, &ada_thread, None).await;
    assert_eq!(
        c["client"]["name"],
        json!({ "first": "Ada", "last": "Lovelace", "full": "Ada Lovelace", "source": "EXTRACTED", "confirmed": true })
    );
    assert_eq!(c["nameMissing"], false);
    assert_eq!(c["nameMissingReason"], Value::Null);
    assert_eq!(c["addressAs"], "Ada");

    // The first message of an unknown sender who gives no name: missing, and still missing
    // (no name on record) once extraction made a client from the phone number.
    let (anon, message) = inbound(&s, "n2", "4165550161", "What are your opening hours?").await;
    let c = context(app, agent, &anon, None).await;
    assert_eq!(
        (&c["nameMissing"], &c["nameMissingReason"]["code"]),
        (&json!(true), &json!("UNKNOWN_SENDER"))
    );
    extraction::process_message(app.domain(), s.tenant.id, message)
        .await
        .unwrap();
    let c = context(app, agent, &anon, None).await;
    assert!(c["client"]["id"].is_string(), "{c}");
    assert_eq!(
        (&c["nameMissing"], &c["nameMissingReason"]["code"]),
        (&json!(true), &json!("NO_NAME_ON_RECORD"))
    );
    assert_eq!(c["client"]["name"]["first"], Value::Null);
    assert_eq!(c["addressAs"], Value::Null);

    // A client staff entered, linked by hand.
    let grace = app
        .create_client(admin, json!({ "firstName": "Grace", "lastName": "Hopper" }))
        .await;
    let (grace_thread, _) = inbound(&s, "n3", "4165550162", "hello again").await;
    app.ok(
        agent,
        "mutation($c: ID!, $cl: ID!) { linkConversation(conversationId: $c, clientId: $cl) { id } }",
        json!({ "c": grace_thread, "cl": grace["id"] }),
    )
    .await;
    let c = context(app, agent, &grace_thread, None).await;
    assert_eq!(c["client"]["id"], grace["id"]);
    assert_eq!(c["client"]["name"]["source"], "LINKED_CLIENT");
    assert_eq!(c["addressAs"], "Grace");

    // A known phone number texting in.
    let alan = app
        .create_client(
            admin,
            json!({ "firstName": "Alan", "lastName": "Turing", "phone": "416 555 0163" }),
        )
        .await;
    let (alan_thread, _) = inbound(&s, "n4", "(416) 555-0163", "It's me").await;
    let c = context(app, agent, &alan_thread, None).await;
    assert_eq!(c["client"]["id"], alan["id"]);
    assert_eq!(c["client"]["name"]["source"], "MATCHED_BY_PHONE");
    assert_eq!(c["client"]["name"]["full"], "Alan Turing");
    assert_eq!(c["nameMissing"], false);
}

#[tokio::test]
async fn other_channels_of_the_client_are_included_newest_first_without_the_current_one() {
    let s = setup().await;
    let (app, admin, agent) = (&s.app, s.admin.as_str(), s.agent.as_str());
    let alan = app
        .create_client(
            admin,
            json!({ "firstName": "Alan", "phone": "416 555 0170", "email": "alan@example.com" }),
        )
        .await;
    let email = start(app, agent, "EMAIL", "alan@example.com").await;
    send(app, agent, &email, "Your quote is attached").await;
    app.ok(
        agent,
        "mutation($id: ID!) { setConversationAiGuide(conversationId: $id, aiGuide: \"Formal tone\") { id } }",
        json!({ "id": email }),
    )
    .await;
    let whatsapp = start(app, agent, "WHATSAPP", "+14165550170").await;
    for i in 1..=4 {
        send(app, agent, &whatsapp, &format!("wa {i}")).await;
    }
    // Someone else's conversation is never included.
    let other = app
        .create_client(
            admin,
            json!({ "firstName": "Ada", "phone": "416 555 0171" }),
        )
        .await;
    let elsewhere = start(app, agent, "EMAIL", "ada@example.com").await;
    app.ok(
        agent,
        "mutation($c: ID!, $cl: ID!) { linkConversation(conversationId: $c, clientId: $cl) { id } }",
        json!({ "c": elsewhere, "cl": other["id"] }),
    )
    .await;
    let (sms_thread, _) = inbound(&s, "o1", "4165550170", "Any news?").await;

    let c = context(app, agent, &sms_thread, None).await;
    assert_eq!(c["client"]["id"], alan["id"]);
    let others = c["otherChannels"].as_array().unwrap();
    let ids: Vec<&Value> = others.iter().map(|o| &o["conversationId"]).collect();
    assert_eq!(
        ids,
        [&whatsapp, &email],
        "newest first, current and others' excluded: {others:?}"
    );
    assert_eq!(others[0]["channel"], "WHATSAPP");
    assert_eq!(others[0]["channelIdentifier"], "+14165550170");
    assert_eq!(
        others[0]["messages"],
        json!([{ "body": "wa 2" }, { "body": "wa 3" }, { "body": "wa 4" }])
    );
    assert!(others[0]["lastMessageAt"].is_string());
    assert_eq!(others[1]["aiGuide"], "Formal tone");
    assert_eq!(
        others[1]["messages"],
        json!([{ "body": "Your quote is attached" }])
    );
    // From another channel, the SMS thread is among the others.
    let c = context(app, agent, &email, None).await;
    let ids: Vec<&Value> = c["otherChannels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["conversationId"])
        .collect();
    assert_eq!(ids, [&sms_thread, &whatsapp]);
}

#[tokio::test]
async fn policy_reports_sensitive_clients_and_routes_contractors_to_an_agent() {
    let s = setup().await;
    let (app, admin, agent) = (&s.app, s.admin.as_str(), s.agent.as_str());
    let plain = app
        .create_client(
            admin,
            json!({ "firstName": "Pat", "phone": "416 555 0180" }),
        )
        .await;
    let touchy = app
        .create_client(
            admin,
            json!({ "firstName": "Sam", "phone": "416 555 0181" }),
        )
        .await;
    app.ok(
        admin,
        "mutation($id: ID!) { setClientSensitive(id: $id, sensitive: true) { id } }",
        json!({ "id": touchy["id"] }),
    )
    .await;
    app.create_client(
        admin,
        json!({ "firstName": "Con", "phone": "416 555 0182", "contractor": true }),
    )
    .await;
    let (plain_thread, _) = inbound(&s, "p1", "4165550180", "hi").await;
    let (touchy_thread, _) = inbound(&s, "p2", "4165550181", "hi").await;
    let (contractor_thread, _) = inbound(&s, "p3", "4165550182", "hi").await;

    let p = context(app, agent, &plain_thread, None).await;
    assert_eq!(p["client"]["id"], plain["id"]);
    assert_eq!(
        p["policy"],
        json!({ "mayAutoSend": true, "mayContactNow": true, "humanReviewRequired": false,
                "sensitive": false, "contactWindowOpen": true, "nextWindowOpensAt": null,
                "routeToAgent": false, "routeReasons": [], "reasons": [] })
    );
    let p = context(app, agent, &touchy_thread, None).await["policy"].clone();
    assert_eq!(
        (&p["mayAutoSend"], &p["sensitive"], &p["routeToAgent"]),
        (&json!(false), &json!(true), &json!(false))
    );
    assert_eq!(
        p["reasons"],
        json!([{ "code": "SENSITIVE", "blocking": true }])
    );
    let c = context(app, agent, &contractor_thread, None).await;
    assert_eq!(c["client"]["contractor"], true);
    let p = &c["policy"];
    assert_eq!(
        (&p["mayAutoSend"], &p["routeToAgent"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(p["routeReasons"], json!([{ "code": "CONTRACTOR" }]));
}

#[tokio::test]
async fn a_suggested_identity_is_unconfirmed_until_someone_confirms_it() {
    let s = setup().await;
    let (app, admin, agent) = (&s.app, s.admin.as_str(), s.agent.as_str());
    app.ok(
        admin,
        "mutation { updateTracking(input: { knownSenderCheck: CONFIRM }) { knownSenderCheck } }",
        json!({}),
    )
    .await;
    let ada = app
        .create_client(
            admin,
            json!({ "firstName": "Ada", "lastName": "Lovelace", "phone": "416 555 0190" }),
        )
        .await;
    let email = start(app, agent, "EMAIL", "ada@example.com").await;
    app.ok(
        agent,
        "mutation($c: ID!, $cl: ID!) { linkConversation(conversationId: $c, clientId: $cl) { id } }",
        json!({ "c": email, "cl": ada["id"] }),
    )
    .await;
    send(app, agent, &email, "Your invoice").await;
    let (thread, _) = inbound(&s, "s1", "4165550190", "Hi it's me").await;

    // "Is this Ada?": the name is there but unconfirmed, nobody is greeted by it, and Ada's
    // other conversations stay out of the context.
    let query = CONTEXT.replace("addressAs", "addressAs suggestedClient { id firstName }");
    let c = app.ok(agent, &query, json!({ "id": thread })).await["assistantContext"].clone();
    assert_eq!(c["client"]["id"], ada["id"]);
    assert_eq!(c["client"]["name"]["confirmed"], false);
    assert_eq!(c["client"]["name"]["source"], "MATCHED_BY_PHONE");
    assert_eq!(
        c["suggestedClient"],
        json!({ "id": ada["id"], "firstName": "Ada" })
    );
    assert_eq!(c["addressAs"], Value::Null);
    assert_eq!(c["nameMissing"], false);
    assert_eq!(c["otherChannels"], json!([]));

    app.ok(
        agent,
        "mutation($id: ID!) { confirmConversationIdentity(conversationId: $id) { identityStatus } }",
        json!({ "id": thread }),
    )
    .await;
    let c = app.ok(agent, &query, json!({ "id": thread })).await["assistantContext"].clone();
    assert_eq!(c["client"]["name"]["confirmed"], true);
    assert_eq!(c["client"]["name"]["source"], "MATCHED_BY_PHONE");
    assert_eq!(c["suggestedClient"], Value::Null);
    assert_eq!(c["addressAs"], "Ada");
    assert_eq!(c["otherChannels"][0]["conversationId"], email);
}
