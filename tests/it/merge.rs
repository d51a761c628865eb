//! Duplicate candidates and merging.

use crate::helpers::{error_code, spawn_app};
use clientele_domain::Role;
use serde_json::{Value, json};

const MERGE: &str = "mutation($p: ID!, $o: [ID!]!, $dry: Boolean) { mergeClients(primaryId: $p, otherIds: $o, dryRun: $dry) { dryRun mergedIds client { id firstName email phone traits metadata } fieldOrigins { field fromClientId } moved { what count } } }";

#[tokio::test]
async fn duplicates_are_found_and_merged_without_losing_anything() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let primary = app
        .create_client(&agent, json!({ "firstName": "Ada", "lastName": "Lovelace", "company": "Analytical", "traits": ["a", "b", "c"], "metadata": { "plan": "gold" } }))
        .await;
    let other = app
        .create_client(&agent, json!({ "firstName": "ada", "lastName": "LOVELACE", "company": "analytical", "email": "ada@example.com", "phone": "4165551234", "traits": ["d", "e", "f"], "metadata": { "plan": "silver", "seats": 3 } }))
        .await;
    app.create_client(
        &agent,
        json!({ "firstName": "Grace", "lastName": "Hopper" }),
    )
    .await;
    app.ok(
        &agent,
        "mutation($id: ID!) { addNote(clientId: $id, body: \"met at the fair\") { id } }",
        json!({ "id": other["id"] }),
    )
    .await;
    app.ok(
        &agent,
        "mutation($id: ID!) { addClientIdentity(clientId: $id, input: { kind: PLATFORM_USER, platform: \"telegram\", value: \"42\" }) { id } }",
        json!({ "id": other["id"] }),
    )
    .await;

    let data = app
        .ok(
            &agent,
            "query($id: ID) { duplicateCandidates(clientId: $id) { rule score clients { id } } }",
            json!({ "id": primary["id"] }),
        )
        .await;
    let candidates = data["duplicateCandidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{data}");
    assert_eq!(candidates[0]["rule"], "same_name_same_company");
    let ids: Vec<&Value> = candidates[0]["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert!(ids.contains(&&primary["id"]) && ids.contains(&&other["id"]));

    // Dry run: the result, nothing written.
    let data = app
        .ok(
            &agent,
            MERGE,
            json!({ "p": primary["id"], "o": [other["id"]], "dry": true }),
        )
        .await;
    let r = &data["mergeClients"];
    assert_eq!(r["dryRun"], true);
    assert_eq!(r["client"]["email"], "ada@example.com");
    let email_origin = r["fieldOrigins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["field"] == "email")
        .unwrap();
    assert_eq!(email_origin["fromClientId"], other["id"]);
    let still = app
        .ok(
            &agent,
            "query($id: ID!) { client(id: $id) { id email } }",
            json!({ "id": other["id"] }),
        )
        .await;
    assert_eq!(still["client"]["id"], other["id"], "dry run wrote nothing");
    assert_eq!(still["client"]["email"], "ada@example.com");

    let data = app
        .ok(
            &agent,
            MERGE,
            json!({ "p": primary["id"], "o": [other["id"]] }),
        )
        .await;
    let r = &data["mergeClients"];
    assert_eq!(r["client"]["firstName"], "Ada", "the primary's value wins");
    assert_eq!(r["client"]["phone"], "+14165551234");
    assert_eq!(r["client"]["traits"], json!(["a", "b", "c", "d", "e"]));
    assert_eq!(
        r["client"]["metadata"],
        json!({ "plan": "gold", "seats": 3 })
    );
    let moved: Vec<(String, u64)> = r["moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["what"].as_str().unwrap().to_string(),
                m["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(moved.contains(&("identities".into(), 3)), "{moved:?}");
    assert!(moved.contains(&("notes".into(), 1)), "{moved:?}");

    // The old id leads to the primary, which now holds everything.
    let data = app
        .ok(
            &agent,
            "query($id: ID!) { client(id: $id) { id email notes { body } identities { kind value primary } timeline(first: 1) { edges { node { kind payload } } } } }",
            json!({ "id": other["id"] }),
        )
        .await;
    let c = &data["client"];
    assert_eq!(c["id"], primary["id"]);
    assert_eq!(c["notes"][0]["body"], "met at the fair");
    let identities = c["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 3);
    assert!(
        identities.iter().all(|i| i["primary"] == true),
        "one of each kind, all primary: {identities:?}"
    );
    let event = &c["timeline"]["edges"][0]["node"];
    assert_eq!(event["kind"], "MERGED");
    assert_eq!(event["payload"]["merged"], json!([other["id"]]));
    assert!(
        event["payload"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "email" && f["from"] == other["id"])
    );

    let data = app
        .ok(
            &agent,
            "{ clients(first: 10) { totalCount } duplicateCandidates { rule } }",
            json!({}),
        )
        .await;
    assert_eq!(data["clients"]["totalCount"], 2);
    assert_eq!(data["duplicateCandidates"], json!([]));
    // The merged email still identifies the person.
    let body = app
        .gql(
            Some(&agent),
            "mutation { createClient(input: { email: \"ada@example.com\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
}

#[tokio::test]
async fn merging_refuses_itself_and_other_tenants() {
    let app = spawn_app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let agent = app.token(&a, Role::Agent);
    let ada = app
        .create_client(&agent, json!({ "firstName": "Ada" }))
        .await;
    let body = app
        .gql(
            Some(&agent),
            MERGE,
            json!({ "p": ada["id"], "o": [ada["id"]] }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "otherIds",
        "{body}"
    );
    let body = app
        .gql(Some(&agent), MERGE, json!({ "p": ada["id"], "o": [] }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "otherIds",
        "{body}"
    );
    let other = app.token(&b, Role::Agent);
    let foreign = app
        .create_client(&other, json!({ "firstName": "Eve" }))
        .await;
    let body = app
        .gql(
            Some(&agent),
            MERGE,
            json!({ "p": ada["id"], "o": [foreign["id"]] }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let viewer = app.token(&a, Role::Viewer);
    let body = app
        .gql(
            Some(&viewer),
            MERGE,
            json!({ "p": ada["id"], "o": [foreign["id"]] }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}
