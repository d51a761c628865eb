//! Usage for billing (messages per channel and month, SMS segments, clients created by
//! extraction, CRM API calls) and conversation counts on clients.

use crate::helpers::{TestApp, TestTenant, error_code, isolated_database, spawn_app, spawn_app_on};
use chrono::{DateTime, TimeZone, Utc};
use clientele_connectors::HttpPolicy;
use clientele_connectors::fakes::FakeDynamics;
use clientele_domain::conversations::{self, Inbound, Ingested};
use clientele_domain::entities::conversation::{self, Channel};
use clientele_domain::entities::message::{self, AuthorKind};
use clientele_domain::usage::Month;
use clientele_domain::{Actor, Role, TenantId, extraction};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

const USAGE: &str = "query($m: String!) { usage(month: $m) { month startsAt endsAt messagesIn messagesOut smsSegments clientsCreatedByExtraction crmApiCalls channels { channel messagesIn messagesOut smsSegments } } }";

fn actor(t: &TestTenant, role: Role) -> Actor {
    Actor {
        user_id: format!("user-{}", role.as_str()),
        name: "Test".into(),
        tenant: t.id,
        role,
    }
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap()
}

/// Stores an inbound message through ingestion; returns (conversation, message).
async fn inbound(
    app: &TestApp,
    tenant: TenantId,
    channel: Channel,
    from: &str,
    body: &str,
) -> (Uuid, Uuid) {
    // The receiving channel as webhook routing would have found it (not stored: ingestion
    // only reads its tenant and tracking overrides).
    let channel_row = clientele_domain::entities::tenant_channel::Model {
        id: Uuid::now_v7(),
        tenant_id: tenant.0,
        provider: "generic".into(),
        address: "+16475550000".into(),
        channel,
        secret: None,
        created_at: Utc::now(),
        auto_create_clients: None,
        auto_create_since: None,
        default_region: None,
        known_sender_check: None,
        extractors: None,
    };
    let route = conversations::Route {
        channel: channel_row,
        tenant: clientele_domain::tenants::get(&app.domain().db, tenant)
            .await
            .expect("tenant"),
    };
    let stored = conversations::ingest(
        app.domain(),
        &route,
        Inbound {
            provider: "generic".into(),
            provider_message_id: Uuid::new_v4().to_string(),
            channel,
            from: from.into(),
            to: "+16475550000".into(),
            body: body.into(),
            sent_at: None,
            sender_name: None,
            avatar_url: None,
        },
    )
    .await
    .expect("ingest");
    match stored {
        Ingested::Stored {
            conversation,
            message,
        } => (conversation, message),
        other => panic!("not stored: {other:?}"),
    }
}

async fn backdate(app: &TestApp, tenant: TenantId, message: Uuid, created_at: DateTime<Utc>) {
    message::Entity::scoped_update(tenant)
        .col_expr(message::Column::CreatedAt, Expr::value(created_at))
        .filter(message::Column::Id.eq(message))
        .exec(&app.domain().db)
        .await
        .unwrap();
}

async fn usage(app: &TestApp, token: &str, month: &str) -> Value {
    app.ok(token, USAGE, json!({ "m": month })).await["usage"].clone()
}

fn channel<'a>(u: &'a Value, name: &str) -> &'a Value {
    u["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == name)
        .unwrap_or_else(|| panic!("no {name} in {u}"))
}

#[tokio::test]
async fn usage_counts_messages_per_channel_and_month_of_this_tenant_only() {
    let app = spawn_app().await;
    let tenant = app.tenant().await; // America/Toronto
    let other = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let d = app.domain();
    let t = tenant.id;

    // November 2026 in Toronto: one inbound SMS, two outbound SMS (1 and 2 segments), one
    // inbound email.
    let (sms_thread, sms_in) = inbound(&app, t, Channel::Sms, "+14165550101", "hello").await;
    let out_short = conversations::send(
        d,
        &actor(&tenant, Role::Agent),
        sms_thread,
        "hi back",
        AuthorKind::Agent,
    )
    .await
    .unwrap();
    let long = "a".repeat(200); // GSM-7, 2 segments
    let out_long = conversations::send(
        d,
        &actor(&tenant, Role::Agent),
        sms_thread,
        &long,
        AuthorKind::Agent,
    )
    .await
    .unwrap();
    let (_, email_in) = inbound(&app, t, Channel::Email, "ada@example.com", "a question").await;
    for m in [sms_in, out_short.id, out_long.id, email_in] {
        backdate(&app, t, m, at(2026, 11, 10, 12, 0)).await;
    }
    // 23:30 on October 31st in Toronto is already November in UTC: it counts for October.
    let (_, late_october) = inbound(&app, t, Channel::Sms, "+14165550102", "boo").await;
    backdate(&app, t, late_october, at(2026, 11, 1, 3, 30)).await;
    // Another tenant's message in the same month is not ours.
    let (_, theirs) = inbound(&app, other.id, Channel::Sms, "+14165550103", "not yours").await;
    backdate(&app, other.id, theirs, at(2026, 11, 10, 12, 0)).await;

    let nov = usage(&app, &agent, "2026-11").await;
    assert_eq!(nov["month"], "2026-11");
    assert_eq!(nov["startsAt"], "2026-11-01T04:00:00+00:00", "{nov}");
    assert_eq!(nov["endsAt"], "2026-12-01T05:00:00+00:00", "{nov}");
    assert_eq!(
        (nov["messagesIn"].as_i64(), nov["messagesOut"].as_i64()),
        (Some(2), Some(2)),
        "{nov}"
    );
    assert_eq!(nov["smsSegments"], 4, "{nov}");
    let sms = channel(&nov, "SMS");
    assert_eq!(
        (
            sms["messagesIn"].as_i64(),
            sms["messagesOut"].as_i64(),
            sms["smsSegments"].as_i64()
        ),
        (Some(1), Some(2), Some(4))
    );
    let email = channel(&nov, "EMAIL");
    assert_eq!(
        (
            email["messagesIn"].as_i64(),
            email["messagesOut"].as_i64(),
            email["smsSegments"].as_i64()
        ),
        (Some(1), Some(0), Some(0))
    );
    assert_eq!(nov["channels"].as_array().unwrap().len(), 2);

    let months = app
        .ok(
            &agent,
            "{ usageMonths(from: \"2026-10\", to: \"2026-12\") { month messagesIn messagesOut } }",
            json!({}),
        )
        .await["usageMonths"]
        .clone();
    let months = months.as_array().unwrap();
    assert_eq!(months.len(), 3);
    assert_eq!(months[0]["month"], "2026-10");
    assert_eq!(
        months[0]["messagesIn"], 1,
        "the late-October message: {months:?}"
    );
    assert_eq!(months[1]["messagesIn"], 2);
    assert_eq!(months[2]["messagesIn"], 0);
}

#[tokio::test]
async fn bad_months_name_the_field_and_viewers_are_refused() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    for bad in ["2026-13", "2026-1", "december"] {
        let body = app.gql(Some(&agent), USAGE, json!({ "m": bad })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "month", "{body}");
    }
    let body = app
        .gql(
            Some(&agent),
            "{ usageMonths(from: \"2026-05\", to: \"2026-04\") { month } }",
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "to", "{body}");
    let body = app
        .gql(
            Some(&agent),
            "{ usageMonths(from: \"2024-01\", to: \"2026-12\") { month } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "to",
        "more than 24 months: {body}"
    );
    let viewer = app.token(&tenant, Role::Viewer);
    let body = app
        .gql(Some(&viewer), USAGE, json!({ "m": "2026-11" }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn clients_created_by_extraction_are_counted_and_stay_counted_after_retention() {
    // A database of its own: no other test's worker takes this test's extraction job.
    let (url, dir) = isolated_database().await;
    let app = spawn_app_on(&url, dir, |_| {}).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let t = tenant.id;

    // A person typed in by hand is not counted.
    let manual = app
        .create_client(
            &admin,
            json!({ "firstName": "Grace", "email": "grace@example.com" }),
        )
        .await;
    let (thread, msg) = inbound(
        &app,
        t,
        Channel::Sms,
        "+14165550199",
        "Hi, I'm Jane Doe, jane.doe@example.com",
    )
    .await;
    let outcome = extraction::process_message(app.domain(), t, msg)
        .await
        .unwrap();
    assert!(outcome.created, "{outcome:?}");
    // More people: their counts land in different slots of the counter, all summed.
    let names = [
        "Ada", "Alan", "Linus", "Barbara", "Edsger", "Frances", "Donald",
    ];
    for (i, name) in names.into_iter().enumerate() {
        let (_, msg) = inbound(
            &app,
            t,
            Channel::Sms,
            &format!("+1416555021{i}"),
            &format!(
                "Hi, I'm {name} Doe, {}.doe@example.com",
                name.to_lowercase()
            ),
        )
        .await;
        let more = extraction::process_message(app.domain(), t, msg)
            .await
            .unwrap();
        assert!(more.created, "{more:?}");
    }
    let month = Month::of(Utc::now(), "America/Toronto".parse().unwrap()).key();
    let u = usage(&app, &admin, &month).await;
    assert_eq!(u["clientsCreatedByExtraction"], 8, "{u}");

    // Counted in the month it happened, even once retention removed the deleted client.
    let created = outcome.client.expect("a client");
    app.ok(
        &admin,
        "mutation($id: ID!) { deleteClient(id: $id) { deletedAt } }",
        json!({ "id": created.0 }),
    )
    .await;
    app.ok(
        &admin,
        "mutation($id: ID!) { deleteClient(id: $id) { deletedAt } }",
        json!({ "id": manual["id"] }),
    )
    .await;
    clientele_domain::entities::client::Entity::scoped_update(t)
        .col_expr(
            clientele_domain::entities::client::Column::DeletedAt,
            Expr::value(Utc::now() - chrono::Duration::days(5)),
        )
        .filter(clientele_domain::entities::client::Column::DeletedAt.is_not_null())
        .exec(&app.domain().db)
        .await
        .unwrap();
    app.ok(
        &admin,
        "mutation { setRetentionPolicy(input: { deletedClientDays: 1 }) { deletedClientDays } }",
        json!({}),
    )
    .await;
    let run = app
        .ok(
            &admin,
            "mutation { runRetentionNow { clients } }",
            json!({}),
        )
        .await;
    assert_eq!(run["runRetentionNow"]["clients"], 2, "{run}");
    let thread_row = conversation::Entity::scoped(t)
        .filter(conversation::Column::Id.eq(thread))
        .one(&app.domain().db)
        .await
        .unwrap()
        .expect("the conversation stays");
    assert_eq!(thread_row.client_id, None);
    let u = usage(&app, &admin, &month).await;
    assert_eq!(u["clientsCreatedByExtraction"], 8, "{u}");
    assert_eq!(u["messagesIn"], 8, "messages stay counted: {u}");
}

#[tokio::test]
async fn crm_api_calls_are_every_request_a_sync_run_sent_summed_per_month() {
    let (url, dir) = isolated_database().await;
    let app = spawn_app_on(&url, dir, |c| c.crm.http = HttpPolicy::fast()).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let fake = FakeDynamics::start().await.unwrap();
    let cfg = fake.connection_config();
    let url = |u: &Option<url::Url>| u.as_ref().map(|u| u.to_string());
    let input = json!({
        "provider": "DYNAMICS365",
        "clientId": cfg.client_id,
        "clientSecret": cfg.client_secret,
        "apiBaseUrl": url(&cfg.api_base_url),
        "tokenUrl": url(&cfg.token_url),
        "authUrl": url(&cfg.auth_url),
        "azureTenant": cfg.tenant,
        "settings": { "pushImmediately": false },
    });
    let connected = app
        .ok(
            &admin,
            "mutation($input: ConnectCrmInput!) { connectCrm(input: $input) { connection { id status } } }",
            json!({ "input": input }),
        )
        .await;
    let id = connected["connectCrm"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..3 {
        app.create_client(
            &admin,
            json!({ "firstName": format!("Crm{i}"), "email": format!("crm{i}@example.com") }),
        )
        .await;
    }
    let connection = Uuid::parse_str(&id).unwrap();
    let mut sent = 0;
    for _ in 0..2 {
        let before = fake.stats();
        clientele_domain::crm::sync::push(app.domain(), tenant.id, connection)
            .await
            .expect("push")
            .expect("the connection pushes");
        let after = fake.stats();
        sent += (after.api_requests + after.token_requests)
            - (before.api_requests + before.token_requests);
    }
    assert!(sent > 0);
    let runs = app
        .ok(
            &admin,
            "query($id: ID!) { crmConnection(id: $id) { runs(first: 10) { nodes { apiCalls startedAt } } } }",
            json!({ "id": id }),
        )
        .await;
    let runs = runs["crmConnection"]["runs"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let per_run: i64 = runs.iter().map(|r| r["apiCalls"].as_i64().unwrap()).sum();
    assert_eq!(
        per_run as u64, sent,
        "every request the fake saw is counted: {runs:?}"
    );
    let started: DateTime<Utc> = runs[0]["startedAt"].as_str().unwrap().parse().unwrap();
    let month = Month::of(started, "America/Toronto".parse().unwrap()).key();
    let u = usage(&app, &admin, &month).await;
    assert_eq!(u["crmApiCalls"].as_u64(), Some(sent), "{u}");
}

#[tokio::test]
async fn clients_show_their_conversation_count_and_latest_conversation() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let t = tenant.id;
    let tag = Uuid::new_v4().simple().to_string();
    let talker = app
        .create_client(&agent, json!({ "firstName": "Talker", "lastName": tag, "phone": "+14165550150", "email": "talker@example.com" }))
        .await;
    let quiet = app
        .create_client(&agent, json!({ "firstName": "Quiet", "lastName": tag }))
        .await;
    let (sms_thread, _) = inbound(&app, t, Channel::Sms, "+14165550150", "hello").await;
    let (email_thread, _) = inbound(&app, t, Channel::Email, "talker@example.com", "hi").await;
    for (thread, when) in [
        (sms_thread, at(2026, 11, 1, 10, 0)),
        (email_thread, at(2026, 11, 20, 10, 0)),
    ] {
        conversation::Entity::scoped_update(t)
            .col_expr(conversation::Column::ActivityAt, Expr::value(when))
            .filter(conversation::Column::Id.eq(thread))
            .exec(&app.domain().db)
            .await
            .unwrap();
    }
    let data = app
        .ok(
            &agent,
            "query($s: String) { clients(first: 10, filter: { search: $s }) { nodes { id conversationCount lastConversationAt } } }",
            json!({ "s": tag }),
        )
        .await;
    let nodes = data["clients"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{data}");
    let find = |id: &Value| nodes.iter().find(|n| n["id"] == *id).unwrap().clone();
    let talker = find(&talker["id"]);
    assert_eq!(talker["conversationCount"], 2, "{talker}");
    let last: DateTime<Utc> = talker["lastConversationAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(last, at(2026, 11, 20, 10, 0));
    let quiet = find(&quiet["id"]);
    assert_eq!(quiet["conversationCount"], 0);
    assert!(quiet["lastConversationAt"].is_null());
}
