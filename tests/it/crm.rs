//! CRM sync end to end: GraphQL in, a local fake CRM (the connectors crate's faithful fakes on
//! 127.0.0.1:0) out, jobs run by the app's own workers. Each test has its own database, so
//! no other test's workers take its jobs.

use crate::conversations::{SECRET, add_channel, post_generic, sms};
use crate::helpers::{TestApp, error_code, isolated_database, spawn_app_on, unique_number};
use clientele_connectors::fakes::{FailKind, FakeDynamics, FakeHubSpot, FakeSalesforce};
use clientele_connectors::{ConnectionConfig, CrmContact, HttpPolicy};
use clientele_domain::crm::sync;
use clientele_domain::{Role, TenantId};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

async fn spawn(workers: bool) -> TestApp {
    let (url, dir) = isolated_database().await;
    spawn_app_on(&url, dir, |c| {
        c.workers.enabled = workers;
        c.crm.http = HttpPolicy::fast();
    })
    .await
}

const CONNECTION: &str =
    "id provider name status lastError direction pushImmediately schedule fields logActivities";

fn connect_input(provider: &str, cfg: &ConnectionConfig) -> Value {
    let url = |u: &Option<url::Url>| u.as_ref().map(|u| u.to_string());
    json!({
        "provider": provider,
        "clientId": cfg.client_id,
        "clientSecret": cfg.client_secret,
        "apiBaseUrl": url(&cfg.api_base_url),
        "tokenUrl": url(&cfg.token_url),
        "authUrl": url(&cfg.auth_url),
        "azureTenant": cfg.tenant,
    })
}

async fn connect(app: &TestApp, admin: &str, input: Value) -> Value {
    let data = app
        .ok(
            admin,
            &format!(
                "mutation($input: ConnectCrmInput!) {{ connectCrm(input: $input) {{ authorizationUrl connection {{ {CONNECTION} }} }} }}"
            ),
            json!({ "input": input }),
        )
        .await;
    data["connectCrm"].clone()
}

/// Plays the admin's browser: opens the authorization URL, takes the provider's redirect
/// and delivers it to Clientele's `/oauth/callback`.
async fn consent(app: &TestApp, authorization_url: &str) -> reqwest::Response {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(authorization_url).send().await.unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let back = url::Url::parse(&location).unwrap();
    assert_eq!(back.path(), "/oauth/callback");
    let query = back.query().unwrap_or_default();
    app.http
        .get(app.url(&format!("/oauth/callback?{query}")))
        .send()
        .await
        .unwrap()
}

/// Connects an OAuth provider through consent; returns the connection id.
async fn connect_oauth(
    app: &TestApp,
    admin: &str,
    provider: &str,
    cfg: &ConnectionConfig,
) -> String {
    let started = connect(app, admin, connect_input(provider, cfg)).await;
    assert_eq!(started["connection"]["status"], "PENDING_AUTHORIZATION");
    let url = started["authorizationUrl"]
        .as_str()
        .expect("authorization URL");
    assert!(url.contains("code_challenge="), "{url}");
    let answer = consent(app, url).await;
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
    let id = started["connection"]["id"].as_str().unwrap().to_owned();
    assert_eq!(connection(app, admin, &id).await["status"], "ACTIVE");
    id
}

async fn connection(app: &TestApp, admin: &str, id: &str) -> Value {
    app.ok(
        admin,
        &format!("query($id: ID!) {{ crmConnection(id: $id) {{ {CONNECTION} }} }}"),
        json!({ "id": id }),
    )
    .await["crmConnection"]
        .clone()
}

const RUN: &str = "id kind status pushed pulled logged failed error durationMs";

async fn runs(app: &TestApp, admin: &str, id: &str) -> Vec<Value> {
    let data = app
        .ok(
            admin,
            &format!(
                "query($id: ID!) {{ crmConnection(id: $id) {{ runs(first: 50) {{ nodes {{ {RUN} }} }} }} }}"
            ),
            json!({ "id": id }),
        )
        .await;
    data["crmConnection"]["runs"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until `n` runs of `kind` have finished; returns the newest.
async fn finished_run(app: &TestApp, admin: &str, id: &str, kind: &str, n: usize) -> Value {
    for _ in 0..600 {
        let all = runs(app, admin, id).await;
        let done: Vec<&Value> = all
            .iter()
            .filter(|r| r["kind"] == kind && r["status"] != "RUNNING")
            .collect();
        if done.len() >= n {
            return done[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let jobs = app
        .gql(
            Some(admin),
            "{ jobs(first: 20) { kind status attempts lastError } }",
            json!({}),
        )
        .await;
    panic!(
        "no finished {kind} run #{n}; runs: {:?}; jobs: {jobs}",
        runs(app, admin, id).await
    );
}

async fn trigger(app: &TestApp, admin: &str, id: &str, kind: &str) -> Value {
    app.gql(
        Some(admin),
        "mutation($id: ID!, $kind: SyncKind!) { triggerSync(connectionId: $id, kind: $kind) { jobId } }",
        json!({ "id": id, "kind": kind }),
    )
    .await
}

/// Triggers a sync, waits for its job to end, and returns the run it recorded.
async fn sync_now(app: &TestApp, admin: &str, id: &str, kind: &str) -> Value {
    let before = runs(app, admin, id)
        .await
        .iter()
        .filter(|r| r["kind"] == kind && r["status"] != "RUNNING")
        .count();
    // An equal job still unfinished (say, the push that runs on its own) takes the trigger:
    // wait for it to end first.
    let mut job = None;
    for _ in 0..600 {
        let body = trigger(app, admin, id, kind).await;
        assert!(body.get("errors").is_none(), "{body}");
        if let Some(queued) = body["data"]["triggerSync"]["jobId"].as_str() {
            job = Some(queued.to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let job = job.expect("a job was queued");
    for _ in 0..600 {
        let status = app
            .ok(
                admin,
                "query($id: ID!) { job(id: $id) { status } }",
                json!({ "id": job }),
            )
            .await["job"]["status"]
            .clone();
        if status == "DONE" || status == "FAILED" {
            return finished_run(app, admin, id, kind, before + 1).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {job} never ended");
}

async fn links(app: &TestApp, token: &str, client: &str) -> Vec<Value> {
    app.ok(
        token,
        "query($id: ID!) { client(id: $id) { version crmLinks { connectionId remoteId syncedVersion lastSyncedAt lastError remoteDeletedAt } } }",
        json!({ "id": client }),
    )
    .await["client"]["crmLinks"]
        .as_array()
        .unwrap()
        .clone()
}

async fn clients(app: &TestApp, token: &str, n: usize, tag: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let c = app
            .create_client(
                token,
                json!({ "firstName": format!("P{i}"), "lastName": tag, "email": format!("p{i}.{tag}@example.com") }),
            )
            .await;
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn assert_unique_external_ids(contacts: &[CrmContact]) {
    let unique: HashSet<&str> = contacts.iter().map(|c| c.external_id.as_str()).collect();
    assert_eq!(
        unique.len(),
        contacts.len(),
        "a client was created twice in the CRM"
    );
}

#[tokio::test]
async fn hubspot_consent_activates_pushes_everything_in_batches_and_reruns_create_nothing() {
    let app = spawn(true).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let fake = FakeHubSpot::start().await.unwrap();
    let ids = clients(&app, &admin, 130, "hub").await;

    let id = connect_oauth(&app, &admin, "HUBSPOT", &fake.connection_config()).await;
    let run = finished_run(&app, &admin, &id, "PUSH", 1).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["pushed"], 130);
    let remote = fake.contacts();
    assert_eq!(remote.len(), 130);
    assert_unique_external_ids(&remote);
    assert!(fake.stats().max_batch <= 100, "{:?}", fake.stats());
    let link = &links(&app, &admin, &ids[0]).await[0];
    assert_eq!(link["connectionId"], id.as_str());
    assert!(link["remoteId"].is_string());
    assert_eq!(link["syncedVersion"], 1);

    // Nothing dirty: a rerun pushes nothing and creates nothing.
    let run = sync_now(&app, &admin, &id, "PUSH").await;
    assert_eq!(run["pushed"], 0, "{run}");
    assert_eq!(fake.contacts().len(), 130);

    // A change makes the client dirty until the CRM confirms the new version.
    app.ok(
        &admin,
        "mutation($id: ID!) { updateClient(id: $id, input: { company: \"Analytical Engines\" }) { version } }",
        json!({ "id": ids[0] }),
    )
    .await;
    let run = sync_now(&app, &admin, &id, "PUSH").await;
    assert_eq!(run["pushed"], 1, "{run}");
    let remote = fake.contacts();
    assert_eq!(remote.len(), 130);
    let changed = remote.iter().find(|c| c.external_id == ids[0]).unwrap();
    assert_eq!(changed.company.as_deref(), Some("Analytical Engines"));
    assert_eq!(links(&app, &admin, &ids[0]).await[0]["syncedVersion"], 2);

    // A new client is pushed at once, without a trigger.
    let fresh = clients(&app, &admin, 1, "fresh").await;
    let mut pushed = false;
    for _ in 0..600 {
        if fake.contacts().iter().any(|c| c.external_id == fresh[0]) {
            pushed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(pushed, "a new client waits for no schedule");
}

#[tokio::test]
async fn an_expired_token_mid_sync_is_refreshed_exactly_once() {
    let app = spawn(true).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let fake = FakeSalesforce::start().await.unwrap();
    // Push-immediately off: nothing moves until the sync is triggered.
    let mut input = connect_input("SALESFORCE", &fake.connection_config());
    input["settings"] = json!({ "pushImmediately": false });
    let started = connect(&app, &admin, input).await;
    let id = started["connection"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        consent(&app, started["authorizationUrl"].as_str().unwrap())
            .await
            .status(),
        200
    );
    clients(&app, &admin, 450, "sf").await;
    assert!(runs(&app, &admin, &id).await.is_empty());
    fake.expire_tokens();
    let run = sync_now(&app, &admin, &id, "PUSH").await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["pushed"], 450);
    assert_eq!(fake.stats().refreshes, 1, "{:?}", fake.stats());
    assert_eq!(fake.contacts().len(), 450);
    assert!(fake.stats().max_batch <= 200);

    // The refreshed token was kept: the next run does not refresh again.
    clients(&app, &admin, 1, "sf2").await;
    let run = sync_now(&app, &admin, &id, "PUSH").await;
    assert_eq!(run["pushed"], 1);
    assert_eq!(fake.stats().refreshes, 1);
}

#[tokio::test]
async fn a_storm_of_429s_still_syncs_every_record_exactly_once() {
    let app = spawn(true).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let fake = FakeHubSpot::start().await.unwrap();
    clients(&app, &admin, 250, "storm").await;
    fake.fail_next(25, FailKind::RateLimit);
    let id = connect_oauth(&app, &admin, "HUBSPOT", &fake.connection_config()).await;
    // The storm outlasts the executor's retries: the job retries later and carries on.
    let mut n = 1;
    loop {
        let run = finished_run(&app, &admin, &id, "PUSH", n).await;
        if run["status"] == "SUCCEEDED" {
            break;
        }
        assert!(n < 50, "never recovered: {run}");
        n += 1;
    }
    let remote = fake.contacts();
    assert_eq!(remote.len(), 250);
    assert_unique_external_ids(&remote);
    assert!(fake.stats().rate_limited >= 25, "{:?}", fake.stats());
    let dirty = app
        .ok(&admin, "{ clients(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(dirty["clients"]["totalCount"], 250);
}

#[tokio::test]
async fn records_the_crm_refuses_carry_its_message_and_the_rest_sync() {
    let app = spawn(true).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let fake = FakeHubSpot::start().await.unwrap();
    fake.reject_email("invalid-domain");
    let good = clients(&app, &admin, 5, "good").await;
    let bad = app
        .create_client(
            &admin,
            json!({ "firstName": "Bad", "email": "bad@invalid-domain.com" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = connect_oauth(&app, &admin, "HUBSPOT", &fake.connection_config()).await;
    let run = finished_run(&app, &admin, &id, "PUSH", 1).await;
    assert_eq!(run["status"], "PARTIAL", "{run}");
    assert_eq!(run["pushed"], 5);
    assert_eq!(run["failed"], 1);
    let link = &links(&app, &admin, &bad).await[0];
    assert!(link["remoteId"].is_null());
    assert_eq!(link["syncedVersion"], 0);
    let message = link["lastError"].as_str().expect("the CRM's message");
    assert!(message.to_lowercase().contains("email"), "{message}");
    for client in &good {
        assert!(links(&app, &admin, client).await[0]["lastError"].is_null());
    }

    // Fixed by a person: the record stays dirty and the next push takes it.
    app.ok(
        &admin,
        "mutation($id: ID!) { updateClient(id: $id, input: { email: \"bad@example.com\" }) { version } }",
        json!({ "id": bad }),
    )
    .await;
    let run = sync_now(&app, &admin, &id, "PUSH").await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["pushed"], 1);
    let link = &links(&app, &admin, &bad).await[0];
    assert!(link["lastError"].is_null());
    assert!(link["remoteId"].is_string());
    assert_eq!(fake.contacts().len(), 6);
}

#[tokio::test]
async fn a_worker_killed_mid_batch_leaves_nothing_twice_after_the_rerun() {
    // Workers off: this test is the worker, and kills itself mid-run.
    let app = spawn(false).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let fake = FakeDynamics::start().await.unwrap();
    let cfg = fake.connection_config();
    let connected = connect(&app, &admin, connect_input("DYNAMICS365", &cfg)).await;
    assert!(connected["authorizationUrl"].is_null());
    assert_eq!(connected["connection"]["status"], "ACTIVE");
    let id = connected["connection"]["id"].as_str().unwrap().to_owned();
    let connection_id = Uuid::parse_str(&id).unwrap();
    clients(&app, &admin, 450, "dyn").await;

    let domain = app.domain().clone();
    let tenant_id = TenantId(tenant.id.0);
    let first = tokio::spawn(async move { sync::push(&domain, tenant_id, connection_id).await });
    while fake.stats().upsert_calls == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    first.abort();
    let _ = first.await;
    let written_before_kill = fake.contacts().len();
    assert!(
        written_before_kill < 450,
        "the kill came too late to prove anything"
    );

    let summary = sync::push(app.domain(), tenant_id, connection_id)
        .await
        .expect("rerun")
        .expect("the connection pushes");
    assert_eq!(summary.failed, 0);
    let remote = fake.contacts();
    assert_eq!(remote.len(), 450);
    assert_unique_external_ids(&remote);
    let all = runs(&app, &admin, &id).await;
    assert_eq!(all[0]["status"], "SUCCEEDED");
    assert_eq!(
        all[1]["status"], "FAILED",
        "the killed run is not left running"
    );
    assert!(all[1]["error"].as_str().unwrap().contains("interrupted"));
}

#[tokio::test]
async fn a_revoked_refresh_token_stops_the_jobs_and_tells_admins_why() {
    let app = spawn(true).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let fake = FakeHubSpot::start().await.unwrap();
    clients(&app, &admin, 3, "revoked").await;
    let id = connect_oauth(&app, &admin, "HUBSPOT", &fake.connection_config()).await;
    finished_run(&app, &admin, &id, "PUSH", 1).await;
    fake.revoke_refresh_token();
    fake.expire_tokens();
    app.ok(
        &admin,
        "mutation($id: ID!) { updateClient(id: $id, input: { company: \"X\" }) { id } }",
        json!({ "id": fake_client(&app, &admin).await }),
    )
    .await;
    let run = sync_now(&app, &admin, &id, "PUSH").await;
    assert_eq!(run["status"], "FAILED", "{run}");
    let failed = app
        .ok(
            &admin,
            "{ jobs(kind: PUSH_CLIENTS, status: FAILED) { attempts lastError } }",
            json!({}),
        )
        .await;
    let failed = failed["jobs"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    // The job failed at once: no retries against a revoked token.
    assert_eq!(failed[0]["attempts"], 1);
    let conn = connection(&app, &admin, &id).await;
    assert_eq!(conn["status"], "NEEDS_REAUTHORIZATION");
    assert!(
        conn["lastError"]
            .as_str()
            .unwrap()
            .contains("re-authorization"),
        "{conn}"
    );
    // Further syncs are refused with the reason until an admin reconnects.
    let refused = trigger(&app, &admin, &id, "PUSH").await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    assert!(
        refused.to_string().contains("needs-reauthorization"),
        "{refused}"
    );
    let again = app
        .ok(
            &admin,
            "mutation($id: ID!) { reauthorizeCrmConnection(id: $id) { authorizationUrl connection { status } } }",
            json!({ "id": id }),
        )
        .await;
    let url = again["reauthorizeCrmConnection"]["authorizationUrl"]
        .as_str()
        .unwrap();
    assert_eq!(consent(&app, url).await.status(), 200);
    assert_eq!(connection(&app, &admin, &id).await["status"], "ACTIVE");
}

async fn fake_client(app: &TestApp, admin: &str) -> String {
    app.ok(admin, "{ clients(first: 1) { nodes { id } } }", json!({}))
        .await["clients"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn pulls_fill_blanks_create_new_people_follow_the_cursor_and_notice_deletes() {
    let app = spawn(true).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let fake = FakeSalesforce::start().await.unwrap();
    let ada = app
        .create_client(
            &admin,
            json!({ "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = connect_oauth(&app, &admin, "SALESFORCE", &fake.connection_config()).await;
    let run = finished_run(&app, &admin, &id, "PUSH", 1).await;
    let link = links(&app, &admin, &ada).await;
    let remote_ada = link[0]["remoteId"]
        .as_str()
        .unwrap_or_else(|| panic!("{run} {link:?}"))
        .to_owned();

    // A CRM user edits Ada (a name she already has, a city she has not) and adds Grace.
    fake.insert_remote_change(CrmContact {
        remote_id: Some(remote_ada.clone()),
        first_name: Some("Augusta".into()),
        city: Some("London".into()),
        ..CrmContact::default()
    });
    fake.insert_remote_change(CrmContact {
        first_name: Some("Grace".into()),
        last_name: Some("Hopper".into()),
        phone: Some("(416) 555-0199".into()),
        ..CrmContact::default()
    });
    let run = sync_now(&app, &admin, &id, "PULL").await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    let ada_now = app
        .ok(
            &admin,
            "query($id: ID!) { client(id: $id) { firstName city version } }",
            json!({ "id": ada }),
        )
        .await["client"]
        .clone();
    assert_eq!(ada_now["firstName"], "Ada", "a pull never overwrites");
    assert_eq!(ada_now["city"], "London", "a pull fills blanks");
    let found = app
        .ok(
            &admin,
            "{ clients(first: 5, filter: { search: \"Hopper\" }) { nodes { id firstName phone source } } }",
            json!({}),
        )
        .await;
    let grace = &found["clients"]["nodes"][0];
    assert_eq!(grace["phone"], "+14165550199");
    assert_eq!(grace["source"], "CRM");
    let grace_link = &links(&app, &admin, grace["id"].as_str().unwrap()).await[0];
    assert!(grace_link["remoteId"].is_string());

    // What came from the CRM is not pushed back to it.
    let push = sync_now(&app, &admin, &id, "PUSH").await;
    assert_eq!(push["pushed"], 0, "{push}");

    // The cursor was kept: the next pull brings nobody new and changes nothing.
    let run = sync_now(&app, &admin, &id, "PULL").await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    let count = app
        .ok(&admin, "{ clients(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(count["clients"]["totalCount"], 2);

    // A record deleted in Salesforce is noticed, and never pushed again.
    assert!(fake.delete_remote(&remote_ada));
    sync_now(&app, &admin, &id, "PULL").await;
    let link = &links(&app, &admin, &ada).await[0];
    assert!(link["remoteDeletedAt"].is_string(), "{link}");
}

#[tokio::test]
async fn conversation_summaries_are_logged_once_per_conversation_and_day() {
    let app = spawn(true).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let fake = FakeHubSpot::start().await.unwrap();
    let inbox = unique_number();
    add_channel(&app, &admin, "generic", &inbox, "SMS", SECRET).await;
    app.create_client(
        &admin,
        json!({ "firstName": "Ada", "phone": "+14165550123" }),
    )
    .await;
    for (n, text) in [
        "Hi, is the blue one in stock?",
        "Can I pick it up tomorrow?",
    ]
    .iter()
    .enumerate()
    {
        let body = sms(
            &inbox,
            &format!("m-{n}-{}", Uuid::new_v4()),
            "+14165550123",
            text,
        );
        assert!(
            post_generic(&app, &body, SECRET)
                .await
                .status()
                .is_success()
        );
    }
    let id = connect_oauth(&app, &admin, "HUBSPOT", &fake.connection_config()).await;
    let run = finished_run(&app, &admin, &id, "ACTIVITIES", 1).await;
    assert_eq!(run["logged"], 1, "{run}");
    let logged = fake.activities();
    assert_eq!(logged.len(), 1);
    assert!(
        logged[0].body.contains("blue one in stock"),
        "{:?}",
        logged[0]
    );
    assert!(logged[0].body.contains("pick it up tomorrow"));

    let run = sync_now(&app, &admin, &id, "ACTIVITIES").await;
    assert_eq!(run["logged"], 0, "{run}");
    assert_eq!(fake.activities().len(), 1, "never twice");
}

#[tokio::test]
async fn connections_are_for_admins_validated_by_field_and_sealed_to_their_row() {
    let app = spawn(false).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let agent = app.token(&tenant, Role::Agent);
    let fake = FakeDynamics::start().await.unwrap();
    let input = connect_input("DYNAMICS365", &fake.connection_config());

    let refused = app
        .gql(
            Some(&agent),
            "mutation($input: ConnectCrmInput!) { connectCrm(input: $input) { authorizationUrl } }",
            json!({ "input": input }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let listed = app
        .gql(Some(&agent), "{ crmConnections { id } }", json!({}))
        .await;
    assert_eq!(error_code(&listed), "FORBIDDEN");

    for (patch, field) in [
        (
            json!({ "settings": { "schedule": "every tuesday" } }),
            "schedule",
        ),
        (
            json!({ "settings": { "fields": ["email", "shoeSize"] } }),
            "fields",
        ),
        (json!({ "apiBaseUrl": null }), "apiBaseUrl"),
        (json!({ "tokenUrl": "ftp://example.com/token" }), "tokenUrl"),
        (json!({ "clientSecret": " " }), "clientSecret"),
    ] {
        let mut bad = input.clone();
        for (k, v) in patch.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let body = app
            .gql(
                Some(&admin),
                "mutation($input: ConnectCrmInput!) { connectCrm(input: $input) { authorizationUrl } }",
                json!({ "input": bad }),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let none = app.ok(&admin, "{ crmConnections { id } }", json!({})).await;
    assert_eq!(none["crmConnections"], json!([]), "nothing half-written");

    let a = connect(&app, &admin, input.clone()).await["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = connect(&app, &admin, input).await["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let test = "mutation($id: ID!) { testCrmConnection(id: $id) { ok message } }";
    assert_eq!(
        app.ok(&admin, test, json!({ "id": b })).await["testCrmConnection"]["ok"],
        true
    );

    // Another tenant sees none of it.
    let other = app.tenant().await;
    let other_admin = app.token(&other, Role::Admin);
    let body = app
        .gql(
            Some(&other_admin),
            "query($id: ID!) { crmConnection(id: $id) { id } }",
            json!({ "id": a }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");

    // A's sealed secrets copied onto B's row do not open there.
    use clientele_domain::entities::crm_connection;
    use sea_orm::{ColumnTrait, QueryFilter};
    let db = &app.domain().db;
    let id_of = |s: &str| Uuid::parse_str(s).unwrap();
    let sealed_a = crm_connection::Entity::scoped(tenant.id)
        .filter(crm_connection::Column::Id.eq(id_of(&a)))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .secrets_enc;
    assert!(sealed_a.is_some());
    let moved = crm_connection::Entity::scoped_update(tenant.id)
        .col_expr(
            crm_connection::Column::SecretsEnc,
            sea_orm::sea_query::Expr::value(sealed_a),
        )
        .filter(crm_connection::Column::Id.eq(id_of(&b)))
        .exec(db)
        .await
        .unwrap();
    assert_eq!(moved.rows_affected, 1);
    let tested = app.ok(&admin, test, json!({ "id": b })).await["testCrmConnection"].clone();
    assert_eq!(tested["ok"], false);
    assert!(
        tested["message"]
            .as_str()
            .unwrap()
            .contains("cannot be decrypted"),
        "{tested}"
    );
    assert_eq!(
        app.ok(&admin, test, json!({ "id": a })).await["testCrmConnection"]["ok"],
        true
    );

    // Paused and disconnected connections do not sync.
    let paused = app
        .ok(
            &admin,
            "mutation($id: ID!) { pauseCrmConnection(id: $id) { status } }",
            json!({ "id": a }),
        )
        .await;
    assert_eq!(paused["pauseCrmConnection"]["status"], "PAUSED");
    assert_eq!(
        error_code(&trigger(&app, &admin, &a, "PUSH").await),
        "BAD_USER_INPUT"
    );
    let gone = app
        .ok(
            &admin,
            "mutation($id: ID!) { disconnectCrm(id: $id) { status } }",
            json!({ "id": a }),
        )
        .await;
    assert_eq!(gone["disconnectCrm"]["status"], "DISCONNECTED");
}

#[tokio::test]
async fn admins_follow_sync_runs_live_and_only_their_tenants() {
    use crate::realtime::{next, subscribed};
    let app = spawn(false).await;
    let fake = FakeDynamics::start().await.unwrap();
    let mut tenants = Vec::new();
    for _ in 0..2 {
        let tenant = app.tenant().await;
        let admin = app.token(&tenant, Role::Admin);
        let connected = connect(
            &app,
            &admin,
            connect_input("DYNAMICS365", &fake.connection_config()),
        )
        .await;
        let id = connected["connection"]["id"].as_str().unwrap().to_owned();
        clients(&app, &admin, 3, "live").await;
        tenants.push((tenant, admin, id));
    }
    let query = "subscription($id: ID) { syncRunUpdated(connectionId: $id) { connectionId kind status pushed } }";
    let (tenant_a, admin_a, conn_a) = &tenants[0];
    let (tenant_b, admin_b, conn_b) = &tenants[1];
    let agent = app.token(tenant_a, Role::Agent);
    let mut refused = subscribed(&app, &agent, query, json!({ "id": conn_a })).await;
    let answer = next(&mut refused).await;
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{answer}"
    );
    let mut a = subscribed(&app, admin_a, query, json!({ "id": conn_a })).await;
    let mut b = subscribed(&app, admin_b, query, json!({ "id": null })).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let push = |tenant: TenantId, conn: &str| {
        let domain = app.domain().clone();
        let conn = Uuid::parse_str(conn).unwrap();
        async move { sync::push(&domain, tenant, conn).await.unwrap().unwrap() }
    };
    push(tenant_a.id, conn_a).await;
    let mut seen = Vec::new();
    loop {
        let event = next(&mut a).await;
        let run = event["payload"]["data"]["syncRunUpdated"].clone();
        assert_eq!(run["connectionId"], conn_a.as_str(), "{event}");
        seen.push(run["status"].as_str().unwrap().to_owned());
        if run["status"] != "RUNNING" {
            assert_eq!(run["pushed"], 3);
            break;
        }
    }
    assert_eq!(seen.first().map(String::as_str), Some("RUNNING"));
    assert_eq!(seen.last().map(String::as_str), Some("SUCCEEDED"));

    // B heard nothing of A's run: the first event it gets is its own.
    push(tenant_b.id, conn_b).await;
    let first = next(&mut b).await;
    assert_eq!(
        first["payload"]["data"]["syncRunUpdated"]["connectionId"],
        conn_b.as_str(),
        "{first}"
    );
}

#[tokio::test]
async fn a_schedule_runs_push_and_pull_without_anyone_asking() {
    let (url, dir) = isolated_database().await;
    let app = spawn_app_on(&url, dir, |c| {
        c.workers.enabled = true;
        c.workers.cron_tick = Duration::from_millis(200);
        c.crm.http = HttpPolicy::fast();
    })
    .await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let fake = FakeDynamics::start().await.unwrap();
    let mut input = connect_input("DYNAMICS365", &fake.connection_config());
    input["settings"] = json!({ "pushImmediately": false, "schedule": "* * * * * *" });
    let connected = connect(&app, &admin, input).await;
    assert_eq!(connected["connection"]["schedule"], "* * * * * *");
    let id = connected["connection"]["id"].as_str().unwrap().to_owned();
    clients(&app, &admin, 2, "cron").await;
    let push = finished_run(&app, &admin, &id, "PUSH", 1).await;
    let pull = finished_run(&app, &admin, &id, "PULL", 1).await;
    assert_eq!(push["status"], "SUCCEEDED", "{push}");
    assert_eq!(pull["status"], "SUCCEEDED", "{pull}");
    assert_eq!(fake.contacts().len(), 2);

    // Removing the schedule stops it.
    app.ok(
        &admin,
        "mutation($id: ID!) { updateCrmConnection(id: $id, settings: { schedule: \"\" }) { schedule } }",
        json!({ "id": id }),
    )
    .await;
    assert!(connection(&app, &admin, &id).await["schedule"].is_null());
}
