//! The first slice of clients: create, update, read, list, validation, isolation, paging.

use crate::helpers::{error_code, spawn_app};
use clientele_domain::Role;
use serde_json::{Value, json};

const GET: &str = "query($id: ID!) { client(id: $id) { id firstName email phone version } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateClientInput!, $v: Int) { updateClient(id: $id, input: $input, expectedVersion: $v) { id firstName lastName email phone company version } }";
const LIST: &str = "query($first: Int, $after: String, $last: Int, $before: String, $search: String) { clients(first: $first, after: $after, last: $last, before: $before, filter: { search: $search }) { totalCount edges { cursor node { id firstName } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

#[tokio::test]
async fn create_normalises_email_and_phone_with_the_tenant_region() {
    let app = spawn_app().await;
    let tenant = app.tenant().await; // default region CA
    let token = app.token(&tenant, Role::Agent);
    let client = app
        .create_client(
            &token,
            json!({ "firstName": " Ada ", "lastName": "Lovelace", "email": "Ada@Example.COM", "phone": "(416) 555-1234", "company": "Analytical" }),
        )
        .await;
    assert_eq!(client["firstName"], "Ada");
    assert_eq!(client["email"], "ada@example.com");
    assert_eq!(client["phone"], "+14165551234");
    assert_eq!(client["version"], 1);

    let body = app
        .gql(Some(&token), GET, json!({ "id": client["id"] }))
        .await;
    assert_eq!(body["data"]["client"]["phone"], "+14165551234", "{body}");
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, Role::Agent);
    let create = "mutation($input: CreateClientInput!) { createClient(input: $input) { id } }";
    for (input, field) in [
        (
            json!({ "firstName": "Ada", "email": "not-an-email" }),
            "email",
        ),
        (json!({ "firstName": "Ada", "phone": "555-12" }), "phone"),
        (
            json!({ "firstName": "Ada", "phone": "+1 000 000 0000" }),
            "phone",
        ),
        (json!({ "firstName": "x".repeat(101) }), "firstName"),
        (json!({ "firstName": "  " }), "input"),
    ] {
        let body = app
            .gql(Some(&token), create, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let body = app.gql(Some(&token), LIST, json!({})).await;
    assert_eq!(body["data"]["clients"]["totalCount"], 0, "{body}");

    // A malformed id is bad input; a well-formed unknown id is NOT_FOUND.
    let body = app.gql(Some(&token), GET, json!({ "id": "nope" })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "id");
    let body = app
        .gql(
            Some(&token),
            GET,
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn update_keeps_omitted_fields_clears_nulls_and_bumps_the_version() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, Role::Agent);
    let client = app
        .create_client(
            &token,
            json!({ "firstName": "Ada", "company": "Analytical", "email": "ada@example.com" }),
        )
        .await;
    let body = app
        .gql(
            Some(&token),
            UPDATE,
            json!({ "id": client["id"], "input": { "lastName": "Lovelace", "company": null, "phone": "416 555 0199" } }),
        )
        .await;
    let updated = &body["data"]["updateClient"];
    assert_eq!(updated["firstName"], "Ada", "{body}");
    assert_eq!(updated["lastName"], "Lovelace");
    assert_eq!(updated["email"], "ada@example.com");
    assert_eq!(updated["phone"], "+14165550199");
    assert!(updated["company"].is_null());
    assert_eq!(updated["version"], 2);

    // A bad value leaves the stored client untouched.
    let body = app
        .gql(
            Some(&token),
            UPDATE,
            json!({ "id": client["id"], "input": { "firstName": "Eve", "email": "broken@" } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app
        .gql(Some(&token), GET, json!({ "id": client["id"] }))
        .await;
    assert_eq!(body["data"]["client"]["firstName"], "Ada");
    assert_eq!(body["data"]["client"]["version"], 2);
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_and_writes_nothing() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, Role::Agent);
    let client = app
        .create_client(&token, json!({ "firstName": "Ada" }))
        .await;
    let ok = app
        .gql(
            Some(&token),
            UPDATE,
            json!({ "id": client["id"], "input": { "firstName": "Ada B" }, "v": 1 }),
        )
        .await;
    assert_eq!(ok["data"]["updateClient"]["version"], 2, "{ok}");
    let stale = app
        .gql(
            Some(&token),
            UPDATE,
            json!({ "id": client["id"], "input": { "firstName": "Ada C" }, "v": 1 }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT", "{stale}");
    let body = app
        .gql(Some(&token), GET, json!({ "id": client["id"] }))
        .await;
    assert_eq!(body["data"]["client"]["firstName"], "Ada B");
}

#[tokio::test]
async fn another_tenant_can_neither_read_list_update_nor_guess_clients() {
    let app = spawn_app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let token_a = app.token(&a, Role::Admin);
    let token_b = app.token(&b, Role::Admin);
    let client = app
        .create_client(
            &token_a,
            json!({ "firstName": "Ada", "email": "ada@example.com" }),
        )
        .await;

    let body = app
        .gql(Some(&token_b), GET, json!({ "id": client["id"] }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");

    let body = app
        .gql(Some(&token_b), LIST, json!({ "search": "ada" }))
        .await;
    assert_eq!(body["data"]["clients"]["totalCount"], 0, "{body}");
    assert_eq!(body["data"]["clients"]["edges"], json!([]));

    let body = app
        .gql(
            Some(&token_b),
            UPDATE,
            json!({ "id": client["id"], "input": { "firstName": "Eve" } }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");

    // A cursor taken from tenant A's list shows tenant B nothing of A's.
    let list_a = app.gql(Some(&token_a), LIST, json!({ "first": 1 })).await;
    let cursor = list_a["data"]["clients"]["edges"][0]["cursor"].clone();
    let body = app
        .gql(
            Some(&token_b),
            LIST,
            json!({ "first": 10, "before": Value::Null, "after": cursor }),
        )
        .await;
    assert_eq!(body["data"]["clients"]["edges"], json!([]), "{body}");

    let body = app
        .gql(Some(&token_a), GET, json!({ "id": client["id"] }))
        .await;
    assert_eq!(
        body["data"]["client"]["firstName"], "Ada",
        "untouched: {body}"
    );
}

fn names(body: &Value) -> Vec<String> {
    body["data"]["clients"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges in {body}"))
        .iter()
        .map(|e| e["node"]["firstName"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn pagination_walks_forward_and_back_over_several_pages() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, Role::Agent);
    for i in 1..=5 {
        app.create_client(&token, json!({ "firstName": format!("C{i}") }))
            .await;
    }
    let page1 = app.gql(Some(&token), LIST, json!({ "first": 2 })).await;
    assert_eq!(names(&page1), ["C5", "C4"], "newest first: {page1}");
    assert_eq!(page1["data"]["clients"]["totalCount"], 5);
    assert_eq!(page1["data"]["clients"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        page1["data"]["clients"]["pageInfo"]["hasPreviousPage"],
        false
    );

    let after = page1["data"]["clients"]["pageInfo"]["endCursor"].clone();
    // A client created between pages does not shift the walk.
    app.create_client(&token, json!({ "firstName": "C6" }))
        .await;
    let page2 = app
        .gql(Some(&token), LIST, json!({ "first": 2, "after": after }))
        .await;
    assert_eq!(names(&page2), ["C3", "C2"]);
    let after = page2["data"]["clients"]["pageInfo"]["endCursor"].clone();
    let page3 = app
        .gql(Some(&token), LIST, json!({ "first": 2, "after": after }))
        .await;
    assert_eq!(names(&page3), ["C1"]);
    assert_eq!(page3["data"]["clients"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(
        page3["data"]["clients"]["pageInfo"]["hasPreviousPage"],
        true
    );

    let before = page3["data"]["clients"]["pageInfo"]["startCursor"].clone();
    let back = app
        .gql(Some(&token), LIST, json!({ "last": 2, "before": before }))
        .await;
    assert_eq!(names(&back), ["C3", "C2"], "{back}");
    assert_eq!(back["data"]["clients"]["pageInfo"]["hasPreviousPage"], true);

    let body = app
        .gql(
            Some(&token),
            LIST,
            json!({ "first": 2, "after": "garbage" }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "after");
}

#[tokio::test]
async fn search_matches_name_email_company_and_phone_in_any_format() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, Role::Agent);
    app.create_client(
        &token,
        json!({ "firstName": "John", "lastName": "Smith", "phone": "416-555-1234" }),
    )
    .await;
    app.create_client(
        &token,
        json!({ "firstName": "Ada", "email": "ada@smithy.io" }),
    )
    .await;
    app.create_client(
        &token,
        json!({ "firstName": "Grace", "company": "Navy 50% Labs" }),
    )
    .await;
    let search = |term: &str| {
        let term = term.to_string();
        let app = &app;
        let token = &token;
        async move {
            let body = app.gql(Some(token), LIST, json!({ "search": term })).await;
            let mut n = names(&body);
            n.sort();
            n
        }
    };
    assert_eq!(search("SMI").await, ["Ada", "John"]);
    assert_eq!(search("(416) 555").await, ["John"]);
    assert_eq!(search("+1 416 555 1234").await, ["John"]);
    assert_eq!(search("navy").await, ["Grace"]);
    assert_eq!(search("50%").await, ["Grace"]);
    assert_eq!(search("%").await, ["Grace"], "% is matched literally");
    assert!(search("zzz").await.is_empty());
}
