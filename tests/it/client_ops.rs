//! Preferences and automation policy, sensitivity, notes, meetings, surveys, delete/erase,
//! export, bulk updates, search and filters, stats.

use crate::helpers::{TestApp, error_code, spawn_app};
use clientele_domain::Role;
use serde_json::{Value, json};

const POLICY: &str = "query($id: ID!, $ch: Channel!, $at: DateTime) { automationPolicy(clientId: $id, channel: $ch, at: $at) { mayContactNow mayAutoSend nextWindowOpensAt reasons { code blocking } } }";
const SET_PREFS: &str = "mutation($id: ID!, $input: PreferencesInput!) { setClientPreferences(clientId: $id, input: $input) { preferredChannels neverAutoSend contactWindows { days start end crossesMidnight timezone } } }";

fn codes(policy: &Value) -> Vec<String> {
    policy["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn preferences_drive_the_automation_policy_with_reasons_and_next_window() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let client = app
        .create_client(&agent, json!({ "firstName": "Ada" }))
        .await;
    let id = client["id"].clone();

    // Nothing set: any channel, any time, automation allowed.
    let data = app
        .ok(&agent, POLICY, json!({ "id": id, "ch": "SMS" }))
        .await;
    assert_eq!(data["automationPolicy"]["mayAutoSend"], true, "{data}");

    // Bad windows name the field.
    for (window, field) in [
        (
            json!({ "days": ["mon"], "start": "09:00", "end": "17:00", "timezone": "Mars/Base" }),
            "contactWindows.timezone",
        ),
        (
            json!({ "days": ["mon"], "start": "17:00", "end": "09:00", "timezone": "America/Toronto" }),
            "contactWindows.end",
        ),
    ] {
        let body = app
            .gql(
                Some(&agent),
                SET_PREFS,
                json!({ "id": id, "input": { "contactWindows": [window] } }),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }

    // Weekdays 09:00-17:00 Toronto, email only, human review required.
    let data = app
        .ok(
            &agent,
            SET_PREFS,
            json!({ "id": id, "input": {
                "preferredChannels": ["email"], "humanReviewRequired": true,
                "contactWindows": [{ "days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00", "timezone": "America/Toronto" }] } }),
        )
        .await;
    assert_eq!(
        data["setClientPreferences"]["preferredChannels"],
        json!(["email"])
    );

    // Saturday 2026-11-21 15:00 UTC = 10:00 in Toronto: closed; opens Monday 09:00 EST = 14:00 UTC.
    let data = app
        .ok(
            &agent,
            POLICY,
            json!({ "id": id, "ch": "EMAIL", "at": "2026-11-21T15:00:00Z" }),
        )
        .await;
    let p = &data["automationPolicy"];
    assert_eq!(p["mayContactNow"], false);
    assert_eq!(p["nextWindowOpensAt"], "2026-11-23T14:00:00+00:00");
    assert_eq!(
        codes(p),
        ["HUMAN_REVIEW_REQUIRED", "OUTSIDE_CONTACT_WINDOW"]
    );

    // Monday 15:00 UTC = 10:00 Toronto: email may be sent but not automatically; SMS not preferred.
    let data = app
        .ok(
            &agent,
            POLICY,
            json!({ "id": id, "ch": "EMAIL", "at": "2026-11-23T15:00:00Z" }),
        )
        .await;
    assert_eq!(data["automationPolicy"]["mayContactNow"], true);
    assert_eq!(data["automationPolicy"]["mayAutoSend"], false);
    let data = app
        .ok(
            &agent,
            POLICY,
            json!({ "id": id, "ch": "SMS", "at": "2026-11-23T15:00:00Z" }),
        )
        .await;
    assert_eq!(data["automationPolicy"]["mayContactNow"], false);
    assert!(codes(&data["automationPolicy"]).contains(&"CHANNEL_NOT_PREFERRED".to_string()));
}

#[tokio::test]
async fn only_admins_change_sensitivity_and_refused_attempts_are_audited() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let admin = app.token(&tenant, Role::Admin);
    let client = app
        .create_client(&agent, json!({ "firstName": "Ada" }))
        .await;
    let set = "mutation($id: ID!, $s: Boolean!) { setClientSensitive(id: $id, sensitive: $s) { sensitive version } }";

    let body = app
        .gql(Some(&agent), set, json!({ "id": client["id"], "s": true }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let data = app
        .ok(&admin, set, json!({ "id": client["id"], "s": true }))
        .await;
    assert_eq!(data["setClientSensitive"]["sensitive"], true);

    // Everyone sees the flag; automation is off for the client.
    let viewer = app.token(&tenant, Role::Viewer);
    let data = app
        .ok(
            &viewer,
            "query($id: ID!) { client(id: $id) { sensitive } }",
            json!({ "id": client["id"] }),
        )
        .await;
    assert_eq!(data["client"]["sensitive"], true);
    let data = app
        .ok(&agent, POLICY, json!({ "id": client["id"], "ch": "CHAT" }))
        .await;
    assert_eq!(data["automationPolicy"]["mayAutoSend"], false);
    assert_eq!(codes(&data["automationPolicy"]), ["SENSITIVE"]);

    let data = app
        .ok(
            &admin,
            "{ auditLog(first: 10) { edges { node { action outcome actorRole targetId } } } }",
            json!({}),
        )
        .await;
    let entries: Vec<&Value> = data["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .collect();
    assert_eq!(entries.len(), 2, "{data}");
    assert_eq!(entries[0]["outcome"], "allowed");
    assert_eq!(entries[1]["outcome"], "denied");
    assert_eq!(entries[1]["actorRole"], "agent");
    assert_eq!(entries[1]["action"], "client.set_sensitive");
    assert_eq!(entries[1]["targetId"], client["id"]);

    let body = app
        .gql(Some(&agent), "{ auditLog { edges { cursor } } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

#[tokio::test]
async fn notes_are_edited_by_their_author_or_an_admin() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let admin = app.token(&tenant, Role::Admin);
    let client = app
        .create_client(&agent, json!({ "firstName": "Ada" }))
        .await;
    let add = "mutation($id: ID!, $b: String!) { addNote(clientId: $id, body: $b) { id body authorName } }";
    let note = app
        .ok(
            &agent,
            add,
            json!({ "id": client["id"], "b": "Called,\nwants a quote" }),
        )
        .await;
    let note_id = note["addNote"]["id"].clone();
    assert_eq!(note["addNote"]["authorName"], "Test agent");

    let other_agent = app
        .app
        .tokens
        .mint(
            tenant.id,
            "someone-else",
            "Other",
            Role::Agent,
            std::time::Duration::from_secs(600),
        )
        .unwrap();
    let edit = "mutation($id: ID!, $b: String!) { editNote(id: $id, body: $b) { body } }";
    let body = app
        .gql(
            Some(&other_agent),
            edit,
            json!({ "id": note_id, "b": "hijack" }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let data = app
        .ok(
            &admin,
            edit,
            json!({ "id": note_id, "b": "Wants a quote by Friday" }),
        )
        .await;
    assert_eq!(data["editNote"]["body"], "Wants a quote by Friday");
    let body = app
        .gql(Some(&agent), add, json!({ "id": client["id"], "b": "   " }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "body");

    let data = app
        .ok(&agent, "query($id: ID!) { client(id: $id) { version notes { body } timeline { edges { node { kind } } } } }", json!({ "id": client["id"] }))
        .await;
    assert_eq!(
        data["client"]["notes"][0]["body"],
        "Wants a quote by Friday"
    );
    assert_eq!(
        data["client"]["version"], 3,
        "each note change bumps the version"
    );
    let kinds: Vec<&str> = data["client"]["timeline"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["NOTE_EDITED", "NOTE_ADDED", "CREATED"]);

    let data = app
        .ok(
            &agent,
            "mutation($id: ID!) { deleteNote(id: $id) }",
            json!({ "id": note_id }),
        )
        .await;
    assert_eq!(data["deleteNote"], true);
    let data = app
        .ok(
            &agent,
            "query($id: ID!) { client(id: $id) { notes { id } } }",
            json!({ "id": client["id"] }),
        )
        .await;
    assert_eq!(data["client"]["notes"], json!([]));

    // Meetings and survey responses hang off the client.
    let data = app
        .ok(
            &agent,
            "mutation($id: ID!) { addMeeting(clientId: $id, input: { title: \"Test drive\", startsAt: \"2099-01-05T15:00:00Z\" }) { state } past: addMeeting(clientId: $id, input: { title: \"Intro\", startsAt: \"2020-01-05T15:00:00Z\" }) { state } addSurveyResponse(clientId: $id, input: { survey: \"NPS\", score: 9, answers: { recommend: \"yes\" } }) { score answers } }",
            json!({ "id": client["id"] }),
        )
        .await;
    assert_eq!(data["addMeeting"]["state"], "SCHEDULED");
    assert_eq!(data["past"]["state"], "PAST");
    assert_eq!(
        data["addSurveyResponse"]["answers"],
        json!({ "recommend": "yes" })
    );
    let body = app
        .gql(
            Some(&agent),
            "mutation($id: ID!) { addMeeting(clientId: $id, input: { title: \"x\", startsAt: \"2099-01-05T15:00:00Z\", endsAt: \"2099-01-05T14:00:00Z\" }) { id } }",
            json!({ "id": client["id"] }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "endsAt");
}

async fn names(app: &TestApp, token: &str, args: &str) -> Vec<String> {
    let data = app
        .ok(
            token,
            &format!("{{ clients({args}) {{ edges {{ node {{ firstName }} }} }} }}"),
            json!({}),
        )
        .await;
    data["clients"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["node"]["firstName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn search_filters_and_sorts() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let ada = app
        .create_client(&agent, json!({ "firstName": "Ada", "email": "ada@example.com", "externalId": "HS-9001", "metadata": { "dealer": "Northside Motors" }, "purchaseIntent": "READY_TO_BUY" }))
        .await;
    app.create_client(
        &agent,
        json!({ "firstName": "Cyd", "phone": "416 555 0100", "status": "active" }),
    )
    .await;
    app.create_client(
        &agent,
        json!({ "firstName": "Bea", "mysteryShopper": true, "saleStatus": "SOLD" }),
    )
    .await;

    assert_eq!(
        names(&app, &agent, "filter: { search: \"hs-900\" }").await,
        ["Ada"]
    );
    assert_eq!(
        names(&app, &agent, "filter: { search: \"northside\" }").await,
        ["Ada"]
    );
    assert_eq!(
        names(&app, &agent, "filter: { search: \"555 01\" }").await,
        ["Cyd"]
    );
    assert_eq!(
        names(&app, &agent, "filter: { search: \"a\" }").await,
        ["Bea", "Ada"],
        "short terms scan"
    );
    assert_eq!(
        names(&app, &agent, "filter: { hasEmail: true }").await,
        ["Ada"]
    );
    assert_eq!(
        names(
            &app,
            &agent,
            "filter: { hasPhone: false, mysteryShopper: false }"
        )
        .await,
        ["Ada"]
    );
    assert_eq!(
        names(&app, &agent, "filter: { statuses: [\"active\"] }").await,
        ["Cyd"]
    );
    assert_eq!(
        names(&app, &agent, "filter: { intents: [READY_TO_BUY] }").await,
        ["Ada"]
    );
    assert_eq!(
        names(&app, &agent, "filter: { saleStatuses: [SOLD] }").await,
        ["Bea"]
    );
    assert_eq!(
        names(
            &app,
            &agent,
            "filter: { createdAfter: \"2099-01-01T00:00:00Z\" }"
        )
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app, &agent, "orderBy: { field: NAME, direction: ASC }").await,
        ["Ada", "Bea", "Cyd"]
    );
    assert_eq!(
        names(&app, &agent, "orderBy: { field: NAME, direction: DESC }").await,
        ["Cyd", "Bea", "Ada"]
    );
    assert_eq!(
        names(&app, &agent, "orderBy: { field: CREATED, direction: ASC }").await,
        ["Ada", "Cyd", "Bea"]
    );

    // Paging by name: the cursor carries the sort key, and belongs to that order only.
    let data = app
        .ok(&agent, "{ clients(first: 2, orderBy: { field: NAME, direction: ASC }) { pageInfo { endCursor hasNextPage } } }", json!({}))
        .await;
    let cursor = data["clients"]["pageInfo"]["endCursor"].clone();
    let data = app
        .ok(&agent, "query($c: String) { clients(first: 2, after: $c, orderBy: { field: NAME, direction: ASC }) { edges { node { firstName } } } }", json!({ "c": cursor }))
        .await;
    assert_eq!(data["clients"]["edges"][0]["node"]["firstName"], "Cyd");
    let body = app
        .gql(
            Some(&agent),
            "query($c: String) { clients(first: 2, after: $c) { totalCount } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "after", "{body}");

    // Deleted clients leave lists and come back on restore.
    app.ok(
        &agent,
        "mutation($id: ID!) { deleteClient(id: $id) { deletedAt } }",
        json!({ "id": ada["id"] }),
    )
    .await;
    assert!(
        !names(&app, &agent, "first: 20")
            .await
            .contains(&"Ada".to_string())
    );
    assert_eq!(
        names(&app, &agent, "filter: { onlyDeleted: true }").await,
        ["Ada"]
    );
    assert_eq!(
        names(&app, &agent, "filter: { includeDeleted: true }")
            .await
            .len(),
        3
    );
    app.ok(
        &agent,
        "mutation($id: ID!) { restoreClient(id: $id) { deletedAt } }",
        json!({ "id": ada["id"] }),
    )
    .await;
    assert!(
        names(&app, &agent, "first: 20")
            .await
            .contains(&"Ada".to_string())
    );
}

#[tokio::test]
async fn stats_leave_out_mystery_shoppers() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    app.create_client(
        &agent,
        json!({ "firstName": "A", "email": "a@example.com", "purchaseIntent": "BROWSING" }),
    )
    .await;
    app.create_client(
        &agent,
        json!({ "firstName": "B", "phone": "4165550111", "status": "active" }),
    )
    .await;
    app.create_client(
        &agent,
        json!({ "firstName": "M", "email": "m@example.com", "mysteryShopper": true }),
    )
    .await;
    let data = app
        .ok(&agent, "{ clientStats { total newThisMonth byStatus { key count } byIntent { key count } byPlatform { key count } } }", json!({}))
        .await;
    let s = &data["clientStats"];
    assert_eq!(s["total"], 2);
    assert_eq!(s["newThisMonth"], 2);
    assert_eq!(
        s["byStatus"],
        json!([{ "key": "active", "count": 1 }, { "key": "new", "count": 1 }])
    );
    assert_eq!(
        s["byIntent"],
        json!([{ "key": null, "count": 1 }, { "key": "browsing", "count": 1 }])
    );
    assert_eq!(
        s["byPlatform"],
        json!([{ "key": "email", "count": 1 }, { "key": "phone", "count": 1 }])
    );
}

#[tokio::test]
async fn bulk_updates_change_many_clients_in_one_transaction() {
    let app = spawn_app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let agent = app.token(&a, Role::Agent);
    let mut ids = Vec::new();
    for i in 0..5 {
        let c = app
            .create_client(&agent, json!({ "firstName": format!("C{i}"), "status": if i < 2 { "active" } else { "new" } }))
            .await;
        ids.push(c["id"].clone());
    }
    let other = app.token(&b, Role::Agent);
    let foreign = app
        .create_client(&other, json!({ "firstName": "Foreign" }))
        .await;

    let bulk = "mutation($ids: [ID!], $f: ClientFilter, $input: BulkClientInput!) { bulkUpdateClients(ids: $ids, filter: $f, input: $input) { matched changed } }";
    let data = app
        .ok(&agent, bulk, json!({ "ids": [ids[0], ids[1], ids[2], foreign["id"]], "input": { "status": "active" } }))
        .await;
    assert_eq!(
        data["bulkUpdateClients"],
        json!({ "matched": 3, "changed": 1 }),
        "another tenant's id matches nothing"
    );
    let data = app
        .ok(&agent, bulk, json!({ "f": { "statuses": ["active"] }, "input": { "saleStatus": "PENDING", "purchaseIntent": "COMPARING" } }))
        .await;
    assert_eq!(
        data["bulkUpdateClients"],
        json!({ "matched": 3, "changed": 3 })
    );

    // A bad value fails the whole batch: nothing changes.
    let body = app
        .gql(
            Some(&agent),
            bulk,
            json!({ "ids": ids, "input": { "status": "nonsense" } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let data = app
        .ok(
            &agent,
            "{ clients(filter: { saleStatuses: [PENDING] }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data["clients"]["totalCount"], 3);

    let too_many: Vec<String> = (0..10_001)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let body = app
        .gql(
            Some(&agent),
            bulk,
            json!({ "ids": too_many, "input": { "status": "active" } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "ids",
        "{}",
        &body.to_string()[..200]
    );
    let data = app
        .ok(
            &other,
            "query($id: ID!) { client(id: $id) { status } }",
            json!({ "id": foreign["id"] }),
        )
        .await;
    assert_eq!(data["client"]["status"], "new");
}

#[tokio::test]
async fn erasure_leaves_an_anonymised_tombstone_and_export_shows_everything_before() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let admin = app.token(&tenant, Role::Admin);
    let client = app
        .create_client(&agent, json!({ "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phone": "4165551234" }))
        .await;
    let id = client["id"].clone();
    app.ok(
        &agent,
        "mutation($id: ID!) { addNote(clientId: $id, body: \"Private detail\") { id } }",
        json!({ "id": id }),
    )
    .await;

    let body = app
        .gql(
            Some(&agent),
            "query($id: ID!) { exportClient(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let data = app
        .ok(
            &admin,
            "query($id: ID!) { exportClient(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    let export = &data["exportClient"];
    assert_eq!(export["client"]["email"], "ada@example.com");
    assert_eq!(export["identities"].as_array().unwrap().len(), 2);
    assert_eq!(export["notes"][0]["body"], "Private detail");
    assert!(export["timeline"].as_array().unwrap().len() >= 2);

    let erase =
        "mutation($id: ID!) { eraseClient(id: $id) { firstName email phone erasedAt deletedAt } }";
    let body = app.gql(Some(&agent), erase, json!({ "id": id })).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let data = app.ok(&admin, erase, json!({ "id": id })).await;
    let t = &data["eraseClient"];
    assert!(t["firstName"].is_null() && t["email"].is_null() && t["phone"].is_null());
    assert!(t["erasedAt"].is_string() && t["deletedAt"].is_string());

    let data = app
        .ok(
            &admin,
            "query($id: ID!) { exportClient(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    let text = data["exportClient"].to_string();
    for secret in [
        "ada@example.com",
        "Lovelace",
        "Private detail",
        "4165551234",
    ] {
        assert!(!text.contains(secret), "{secret} survived erasure: {text}");
    }
    let data = app
        .ok(
            &admin,
            "{ clients(filter: { search: \"lovelace\", includeDeleted: true }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data["clients"]["totalCount"], 0);
    // The email is free again.
    app.create_client(&agent, json!({ "email": "ada@example.com" }))
        .await;
}

#[tokio::test]
async fn other_tenants_ids_are_not_found_everywhere() {
    let app = spawn_app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let token_a = app.token(&a, Role::Admin);
    let token_b = app.token(&b, Role::Admin);
    let client = app
        .create_client(&token_a, json!({ "firstName": "Ada" }))
        .await;
    let note = app
        .ok(
            &token_a,
            "mutation($id: ID!) { addNote(clientId: $id, body: \"x\") { id } }",
            json!({ "id": client["id"] }),
        )
        .await;
    let id = json!({ "id": client["id"] });
    for (query, vars) in [
        (
            "mutation($id: ID!) { addNote(clientId: $id, body: \"x\") { id } }",
            id.clone(),
        ),
        (
            "mutation($id: ID!) { editNote(id: $id, body: \"y\") { id } }",
            json!({ "id": note["addNote"]["id"] }),
        ),
        (
            "mutation($id: ID!) { deleteNote(id: $id) }",
            json!({ "id": note["addNote"]["id"] }),
        ),
        (
            "mutation($id: ID!) { setClientSensitive(id: $id, sensitive: true) { id } }",
            id.clone(),
        ),
        (
            "mutation($id: ID!) { deleteClient(id: $id) { id } }",
            id.clone(),
        ),
        (
            "mutation($id: ID!) { eraseClient(id: $id) { id } }",
            id.clone(),
        ),
        ("query($id: ID!) { exportClient(id: $id) }", id.clone()),
        (
            "mutation($id: ID!) { setClientPreferences(clientId: $id, input: {}) { neverAutoSend } }",
            id.clone(),
        ),
        (
            "query($id: ID!) { automationPolicy(clientId: $id, channel: SMS) { mayAutoSend } }",
            id.clone(),
        ),
        (
            "mutation($id: ID!) { addMeeting(clientId: $id, input: { title: \"t\", startsAt: \"2030-01-01T00:00:00Z\" }) { id } }",
            id.clone(),
        ),
        (
            "mutation($id: ID!) { addClientIdentity(clientId: $id, input: { kind: EMAIL, value: \"x@example.com\" }) { id } }",
            id.clone(),
        ),
    ] {
        let body = app.gql(Some(&token_b), query, vars).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
    }
    let data = app
        .ok(
            &token_a,
            "query($id: ID!) { client(id: $id) { firstName sensitive deletedAt notes { body } } }",
            id,
        )
        .await;
    assert_eq!(
        data["client"],
        json!({ "firstName": "Ada", "sensitive": false, "deletedAt": null, "notes": [{ "body": "x" }] })
    );
}
