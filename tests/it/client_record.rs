//! The whole client record: CRM fields, metadata, identities, timeline, versioning.

use crate::helpers::{error_code, spawn_app};
use clientele_domain::Role;
use serde_json::{Value, json};

const UPDATE: &str = "mutation($id: ID!, $input: UpdateClientInput!) { updateClient(id: $id, input: $input) { id version status purchaseIntent interests traits needs saleStatus funnelStage botStatus sentiment mysteryShopper contractor metadata customConfig street city state zip country dateOfBirth externalId } }";
const TIMELINE: &str = "query($id: ID!, $kinds: [TimelineKind!]) { client(id: $id) { version timeline(first: 50, kinds: $kinds) { edges { node { kind actorKind actorName payload } } } funnelHistory { actorName payload } } }";

async fn set_stages(app: &crate::helpers::TestApp, admin: &str) {
    app.ok(
        admin,
        "mutation { updateTenantSettings(input: { funnelStages: [\"lead\", \"demo\", \"proposal\", \"won\"], clientStatuses: [\"new\", \"active\", \"vip\"] }) { funnelStages clientStatuses } }",
        json!({}),
    )
    .await;
}

#[tokio::test]
async fn crm_fields_round_trip_and_every_change_is_on_the_timeline_with_before_and_after() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let agent = app.token(&tenant, Role::Agent);
    set_stages(&app, &admin).await;
    let client = app
        .create_client(&agent, json!({ "firstName": "Ada" }))
        .await;
    let id = client["id"].clone();

    let data = app
        .ok(
            &agent,
            UPDATE,
            json!({ "id": id, "input": {
                "status": "VIP", "purchaseIntent": "READY_TO_BUY", "interests": ["trucks", "Trucks", " vans "],
                "traits": ["loyal"], "needs": ["financing"], "saleStatus": "PENDING", "funnelStage": "demo",
                "botStatus": "AGENT", "sentiment": "positive", "mysteryShopper": true, "contractor": true,
                "customConfig": { "greeting": "formal" }, "setMetadata": { "plan": "gold", "seats": 5 },
                "street": "1 Main St", "city": "Toronto", "state": "ON", "zip": "m5v 2t6", "country": "CA",
                "dateOfBirth": "1990-12-10", "externalId": "CRM-42" } }),
        )
        .await;
    let c = &data["updateClient"];
    assert_eq!(
        c["status"], "vip",
        "statuses match case-insensitively and store the tenant's spelling"
    );
    assert_eq!(c["purchaseIntent"], "READY_TO_BUY");
    assert_eq!(
        c["interests"],
        json!(["trucks", "vans"]),
        "deduplicated and trimmed"
    );
    assert_eq!(c["saleStatus"], "PENDING");
    assert_eq!(c["funnelStage"], "demo");
    assert_eq!(c["botStatus"], "AGENT");
    assert_eq!(c["zip"], "M5V 2T6");
    assert_eq!(c["metadata"], json!({ "plan": "gold", "seats": 5 }));
    assert_eq!(c["customConfig"], json!({ "greeting": "formal" }));
    assert_eq!(c["dateOfBirth"], "1990-12-10");
    assert_eq!(c["version"], 2);

    // Metadata: set one key, remove another, keep the rest.
    let data = app
        .ok(&agent, UPDATE, json!({ "id": id, "input": { "setMetadata": { "tier": 2 }, "removeMetadata": ["seats"] } }))
        .await;
    assert_eq!(
        data["updateClient"]["metadata"],
        json!({ "plan": "gold", "tier": 2 })
    );
    assert_eq!(data["updateClient"]["version"], 3);

    // The same values again change nothing: no new version, no new event.
    let data = app
        .ok(
            &agent,
            UPDATE,
            json!({ "id": id, "input": { "status": "vip" } }),
        )
        .await;
    assert_eq!(data["updateClient"]["version"], 3);

    let data = app.ok(&agent, TIMELINE, json!({ "id": id })).await;
    let events: Vec<&Value> = data["client"]["timeline"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "UPDATED",
            "UPDATED",
            "FUNNEL_STAGE_CHANGED",
            "SALE_STATUS_CHANGED",
            "INTENT_CHANGED",
            "STATUS_CHANGED",
            "CREATED"
        ],
        "newest first"
    );
    let status = events
        .iter()
        .find(|e| e["kind"] == "STATUS_CHANGED")
        .unwrap();
    assert_eq!(
        status["payload"],
        json!({ "field": "status", "before": "new", "after": "vip" })
    );
    assert_eq!(status["actorKind"], "USER");
    assert_eq!(status["actorName"], "Test agent");
    assert_eq!(
        data["client"]["funnelHistory"][0]["payload"]["after"],
        "demo"
    );

    let data = app
        .ok(
            &agent,
            TIMELINE,
            json!({ "id": id, "kinds": ["INTENT_CHANGED"] }),
        )
        .await;
    let only = data["client"]["timeline"]["edges"].as_array().unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["node"]["payload"]["after"], "ready_to_buy");
}

#[tokio::test]
async fn configurable_fields_and_caps_are_enforced_naming_the_field() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let client = app
        .create_client(&agent, json!({ "firstName": "Ada" }))
        .await;
    let id = client["id"].clone();
    for (input, field) in [
        (
            json!({ "traits": ["a", "b", "c", "d", "e", "f"] }),
            "traits",
        ),
        (json!({ "status": "platinum" }), "status"),
        (json!({ "funnelStage": "demo" }), "funnelStage"),
        (json!({ "dateOfBirth": "2999-01-01" }), "dateOfBirth"),
        (json!({ "setMetadata": [1, 2] }), "setMetadata"),
        (
            json!({ "email": null, "phone": null, "firstName": null }),
            "input",
        ),
    ] {
        let body = app
            .gql(Some(&agent), UPDATE, json!({ "id": id, "input": input }))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let five = app
        .ok(
            &agent,
            UPDATE,
            json!({ "id": id, "input": { "traits": ["a", "b", "c", "d", "e"] } }),
        )
        .await;
    assert_eq!(five["updateClient"]["traits"].as_array().unwrap().len(), 5);
}

const IDENTITIES: &str = "query($id: ID!) { client(id: $id) { email phone identities { id kind platform value primary } } }";

#[tokio::test]
async fn identities_are_unique_per_tenant_and_one_of_each_kind_is_primary() {
    let app = spawn_app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let agent = app.token(&a, Role::Agent);
    let ada = app
        .create_client(
            &agent,
            json!({ "firstName": "Ada", "email": "ada@example.com" }),
        )
        .await;
    let bob = app
        .create_client(&agent, json!({ "firstName": "Bob" }))
        .await;

    let add = "mutation($id: ID!, $input: IdentityInput!) { addClientIdentity(clientId: $id, input: $input) { id kind platform value primary } }";
    let tg = app
        .ok(&agent, add, json!({ "id": ada["id"], "input": { "kind": "PLATFORM_USER", "platform": "Telegram", "value": "777" } }))
        .await;
    assert_eq!(tg["addClientIdentity"]["platform"], "telegram");
    assert_eq!(
        tg["addClientIdentity"]["primary"], true,
        "first of its kind"
    );

    // The same email on another client of the tenant is a conflict; in another tenant it is not.
    let body = app
        .gql(
            Some(&agent),
            add,
            json!({ "id": bob["id"], "input": { "kind": "EMAIL", "value": "ADA@example.com" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let body = app
        .gql(
            Some(&agent),
            UPDATE,
            json!({ "id": bob["id"], "input": { "email": "ada@example.com" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let other = app.token(&b, Role::Agent);
    app.create_client(&other, json!({ "email": "ada@example.com" }))
        .await;

    // A second email made primary becomes the client's email; removing it promotes the first.
    let second = app
        .ok(&agent, add, json!({ "id": ada["id"], "input": { "kind": "EMAIL", "value": "ada@work.example", "primary": true } }))
        .await;
    let data = app.ok(&agent, IDENTITIES, json!({ "id": ada["id"] })).await;
    assert_eq!(data["client"]["email"], "ada@work.example");
    let emails: Vec<&Value> = data["client"]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "EMAIL")
        .collect();
    assert_eq!(emails.len(), 2);
    assert_eq!(emails.iter().filter(|i| i["primary"] == true).count(), 1);

    let remove = "mutation($id: ID!) { removeClientIdentity(id: $id) { email version } }";
    let data = app
        .ok(
            &agent,
            remove,
            json!({ "id": second["addClientIdentity"]["id"] }),
        )
        .await;
    assert_eq!(data["removeClientIdentity"]["email"], "ada@example.com");

    // Another tenant cannot touch these identities.
    let body = app
        .gql(
            Some(&other),
            remove,
            json!({ "id": tg["addClientIdentity"]["id"] }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");

    // Platform filter finds the Telegram client.
    let data = app
        .ok(&agent, "{ clients(filter: { platforms: [\"telegram\"] }) { totalCount edges { node { firstName } } } }", json!({}))
        .await;
    assert_eq!(data["clients"]["totalCount"], 1);
    assert_eq!(data["clients"]["edges"][0]["node"]["firstName"], "Ada");
}

#[tokio::test]
async fn optimistic_locking_covers_every_field() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let client = app
        .create_client(&agent, json!({ "firstName": "Ada" }))
        .await;
    let stale = "mutation($id: ID!) { updateClient(id: $id, input: { saleStatus: SOLD }, expectedVersion: 7) { version } }";
    let body = app
        .gql(Some(&agent), stale, json!({ "id": client["id"] }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    let data = app
        .ok(
            &agent,
            "query($id: ID!) { client(id: $id) { saleStatus version } }",
            json!({ "id": client["id"] }),
        )
        .await;
    assert_eq!(data["client"]["saleStatus"], "NONE");
    assert_eq!(data["client"]["version"], 1);
}

#[tokio::test]
async fn nested_lists_in_a_client_list_belong_to_their_client() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    for name in ["Ada", "Bob", "Cyd"] {
        let c = app
            .create_client(&agent, json!({ "firstName": name, "email": format!("{}@example.com", name.to_lowercase()) }))
            .await;
        app.ok(
            &agent,
            "mutation($id: ID!, $b: String!, $t: DateTime!) { addNote(clientId: $id, body: $b) { id } addMeeting(clientId: $id, input: { title: $b, startsAt: $t }) { id } }",
            json!({ "id": c["id"], "b": format!("about {name}"), "t": "2030-01-01T10:00:00Z" }),
        )
        .await;
    }
    let data = app
        .ok(
            &agent,
            "{ clients(first: 10) { edges { node { firstName identities { value } notes { body } meetings { title } surveyResponses { survey } preferences { neverAutoSend } } } } }",
            json!({}),
        )
        .await;
    let edges = data["clients"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 3);
    for edge in edges {
        let node = &edge["node"];
        let name = node["firstName"].as_str().unwrap();
        assert_eq!(
            node["identities"],
            json!([{ "value": format!("{}@example.com", name.to_lowercase()) }])
        );
        assert_eq!(node["notes"], json!([{ "body": format!("about {name}") }]));
        assert_eq!(
            node["meetings"],
            json!([{ "title": format!("about {name}") }])
        );
        assert_eq!(node["surveyResponses"], json!([]));
        assert_eq!(node["preferences"]["neverAutoSend"], false);
    }
}
