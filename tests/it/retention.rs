//! Retention: the admin-only policy, the purge of old message bodies and long-deleted clients
//! (newer data kept), its audit entry, and the daily schedule.

use crate::helpers::{TestApp, TestTenant, error_code, isolated_database, spawn_app, spawn_app_on};
use chrono::{Duration, Utc};
use clientele_domain::conversations;
use clientele_domain::entities::message::AuthorKind;
use clientele_domain::entities::{
    client, client_identity, client_note, conversation, message, timeline_event,
};
use clientele_domain::{Actor, ClientId, Role, TenantId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

const SET: &str = "mutation($input: RetentionPolicyInput!) { setRetentionPolicy(input: $input) { messageBodyDays deletedClientDays updatedAt updatedBy } }";
const RUN: &str = "mutation { runRetentionNow { messageBodies clients messageBodiesOlderThan clientsDeletedBefore } }";

/// An app on a database of its own: any app with workers runs the daily purge of every
/// tenant with a policy in its database, and these tests count what their own run purged.
async fn spawn_isolated(workers: bool) -> TestApp {
    let (url, dir) = isolated_database().await;
    spawn_app_on(&url, dir, |c| {
        c.workers.enabled = workers;
        c.workers.cron_tick = std::time::Duration::from_millis(200);
    })
    .await
}

fn agent(t: &TestTenant) -> Actor {
    Actor {
        user_id: "user-agent".into(),
        name: "Agent".into(),
        tenant: t.id,
        role: Role::Agent,
    }
}

/// An outbound SMS thread to `to` with one message per body; returns (thread, message ids).
async fn thread(app: &TestApp, t: &TestTenant, to: &str, bodies: &[&str]) -> (Uuid, Vec<Uuid>) {
    let d = app.domain();
    let thread = conversations::start(d, &agent(t), conversation::Channel::Sms, to)
        .await
        .unwrap();
    let mut ids = vec![];
    for body in bodies {
        ids.push(
            conversations::send(d, &agent(t), thread.id, body, AuthorKind::Agent)
                .await
                .unwrap()
                .id,
        );
    }
    (thread.id, ids)
}

async fn age_message(app: &TestApp, t: TenantId, id: Uuid, days: i64) {
    message::Entity::scoped_update(t)
        .col_expr(
            message::Column::CreatedAt,
            Expr::value(Utc::now() - Duration::days(days)),
        )
        .filter(message::Column::Id.eq(id))
        .exec(&app.domain().db)
        .await
        .unwrap();
}

async fn delete_client(app: &TestApp, token: &str, id: &Value, days_ago: i64, t: TenantId) {
    app.ok(
        token,
        "mutation($id: ID!) { deleteClient(id: $id) { deletedAt } }",
        json!({ "id": id }),
    )
    .await;
    client::Entity::scoped_update(t)
        .col_expr(
            client::Column::DeletedAt,
            Expr::value(Utc::now() - Duration::days(days_ago)),
        )
        .filter(client::Column::Id.eq(uuid_of(id)))
        .exec(&app.domain().db)
        .await
        .unwrap();
}

fn uuid_of(id: &Value) -> Uuid {
    Uuid::parse_str(id.as_str().unwrap()).unwrap()
}

async fn message_row(app: &TestApp, t: TenantId, id: Uuid) -> message::Model {
    message::Entity::scoped(t)
        .filter(message::Column::Id.eq(id))
        .one(&app.domain().db)
        .await
        .unwrap()
        .expect("message row stays")
}

async fn client_exists(app: &TestApp, t: TenantId, id: &Value) -> bool {
    client::Entity::scoped(t)
        .filter(client::Column::Id.eq(uuid_of(id)))
        .one(&app.domain().db)
        .await
        .unwrap()
        .is_some()
}

async fn purge_entries(app: &TestApp, admin: &str) -> Vec<Value> {
    let log = app
        .ok(
            admin,
            "{ auditLog(first: 50) { nodes { action outcome actorId detail } } }",
            json!({}),
        )
        .await;
    log["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "retention.purge")
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_default_policy_keeps_everything() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let policy = app
        .ok(
            &admin,
            "{ retentionPolicy { messageBodyDays deletedClientDays updatedAt } }",
            json!({}),
        )
        .await;
    assert_eq!(
        policy["retentionPolicy"],
        json!({ "messageBodyDays": null, "deletedClientDays": null, "updatedAt": null })
    );
    let (_, msgs) = thread(&app, &tenant, "+14165550170", &["ancient words"]).await;
    age_message(&app, tenant.id, msgs[0], 4000).await;
    let gone = app
        .create_client(&admin, json!({ "firstName": "Long", "lastName": "Gone" }))
        .await;
    delete_client(&app, &admin, &gone["id"], 4000, tenant.id).await;

    let run = app.ok(&admin, RUN, json!({})).await;
    assert_eq!(
        run["runRetentionNow"],
        json!({ "messageBodies": 0, "clients": 0, "messageBodiesOlderThan": null, "clientsDeletedBefore": null })
    );
    assert_eq!(
        message_row(&app, tenant.id, msgs[0]).await.body.as_deref(),
        Some("ancient words")
    );
    assert!(client_exists(&app, tenant.id, &gone["id"]).await);
}

#[tokio::test]
async fn bodies_older_than_the_policy_are_purged_and_newer_ones_kept() {
    let app = spawn_isolated(false).await;
    let tenant = app.tenant().await;
    let other = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let set = app
        .ok(&admin, SET, json!({ "input": { "messageBodyDays": 30 } }))
        .await;
    assert_eq!(set["setRetentionPolicy"]["messageBodyDays"], 30);
    assert_eq!(set["setRetentionPolicy"]["deletedClientDays"], Value::Null);
    assert_eq!(set["setRetentionPolicy"]["updatedBy"], "user-admin");

    let (thread_id, msgs) = thread(
        &app,
        &tenant,
        "+14165550171",
        &["old secret", "recent news"],
    )
    .await;
    age_message(&app, tenant.id, msgs[0], 31).await;
    age_message(&app, tenant.id, msgs[1], 29).await;
    // The same age in another tenant (which keeps everything) is untouched.
    let (_, theirs) = thread(&app, &other, "+14165550172", &["their old words"]).await;
    age_message(&app, other.id, theirs[0], 31).await;

    let run = app.ok(&admin, RUN, json!({})).await;
    assert_eq!(run["runRetentionNow"]["messageBodies"], 1, "{run}");
    assert_eq!(run["runRetentionNow"]["clients"], 0);
    assert!(run["runRetentionNow"]["messageBodiesOlderThan"].is_string());

    let old = message_row(&app, tenant.id, msgs[0]).await;
    assert_eq!(old.body, None);
    assert!(old.body_purged_at.is_some());
    let recent = message_row(&app, tenant.id, msgs[1]).await;
    assert_eq!(recent.body.as_deref(), Some("recent news"));
    assert_eq!(recent.body_purged_at, None);
    assert_eq!(
        message_row(&app, other.id, theirs[0]).await.body.as_deref(),
        Some("their old words")
    );

    // The API shows the purge.
    let data = app
        .ok(
            &admin,
            "query($id: ID!) { conversation(id: $id) { messages(first: 10) { nodes { id body bodyPurgedAt } } } }",
            json!({ "id": thread_id }),
        )
        .await;
    let nodes = data["conversation"]["messages"]["nodes"]
        .as_array()
        .unwrap();
    let shown = nodes
        .iter()
        .find(|n| n["id"] == msgs[0].to_string())
        .unwrap();
    assert!(
        shown["body"].is_null() && shown["bodyPurgedAt"].is_string(),
        "{shown}"
    );

    // The run is audited with its counts; a second run finds nothing more.
    let entries = purge_entries(&app, &admin).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["detail"]["messageBodies"], 1);
    assert_eq!(entries[0]["detail"]["clients"], 0);
    assert_eq!(entries[0]["detail"]["trigger"], "manual");
    assert!(entries[0]["detail"]["messageBodiesOlderThan"].is_string());
    let again = app.ok(&admin, RUN, json!({})).await;
    assert_eq!(again["runRetentionNow"]["messageBodies"], 0);
}

#[tokio::test]
async fn clients_deleted_longer_ago_than_the_policy_are_removed_with_their_records() {
    let app = spawn_isolated(false).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let t = tenant.id;
    let db = &app.domain().db;
    app.ok(&admin, SET, json!({ "input": { "deletedClientDays": 10 } }))
        .await;

    let old = app
        .create_client(
            &admin,
            json!({ "firstName": "Old", "email": "old@example.com", "phone": "+14165550180" }),
        )
        .await;
    app.ok(
        &admin,
        "mutation($id: ID!) { addNote(clientId: $id, body: \"called twice\") { id } }",
        json!({ "id": old["id"] }),
    )
    .await;
    let (old_thread, _) = thread(&app, &tenant, "+14165550180", &["hello"]).await;
    conversations::link(
        app.domain(),
        &agent(&tenant),
        old_thread,
        ClientId(uuid_of(&old["id"])),
    )
    .await
    .unwrap();
    let recent = app
        .create_client(&admin, json!({ "firstName": "Recent" }))
        .await;
    let live = app
        .create_client(&admin, json!({ "firstName": "Live" }))
        .await;
    delete_client(&app, &admin, &old["id"], 11, t).await;
    delete_client(&app, &admin, &recent["id"], 9, t).await;

    let run = app.ok(&admin, RUN, json!({})).await;
    assert_eq!(run["runRetentionNow"]["clients"], 1, "{run}");
    assert_eq!(run["runRetentionNow"]["messageBodies"], 0);

    assert!(!client_exists(&app, t, &old["id"]).await);
    assert!(
        client_exists(&app, t, &recent["id"]).await,
        "deleted 9 days ago: kept"
    );
    assert!(client_exists(&app, t, &live["id"]).await);
    let old_id = uuid_of(&old["id"]);
    let left = client_identity::Entity::scoped(t)
        .filter(client_identity::Column::ClientId.eq(old_id))
        .count(db)
        .await
        .unwrap()
        + client_note::Entity::scoped(t)
            .filter(client_note::Column::ClientId.eq(old_id))
            .count(db)
            .await
            .unwrap()
        + timeline_event::Entity::scoped(t)
            .filter(timeline_event::Column::ClientId.eq(old_id))
            .count(db)
            .await
            .unwrap();
    assert_eq!(left, 0, "identities, notes and timeline go with the client");
    let thread_row = conversation::Entity::scoped(t)
        .filter(conversation::Column::Id.eq(old_thread))
        .one(db)
        .await
        .unwrap()
        .expect("the conversation stays");
    assert_eq!(thread_row.client_id, None, "unlinked");
    // Its identities are free again: a new client may use that email.
    app.create_client(
        &admin,
        json!({ "firstName": "New", "email": "old@example.com" }),
    )
    .await;

    let entries = purge_entries(&app, &admin).await;
    assert_eq!(entries[0]["detail"]["clients"], 1, "{entries:?}");
    assert!(entries[0]["detail"]["clientsDeletedBefore"].is_string());
}

#[tokio::test]
async fn only_admins_set_or_run_retention_and_days_must_be_positive() {
    let app = spawn_isolated(false).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let agent = app.token(&tenant, Role::Agent);

    let body = app
        .gql(
            Some(&agent),
            SET,
            json!({ "input": { "messageBodyDays": 5 } }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = app.gql(Some(&agent), RUN, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let log = app
        .ok(
            &admin,
            "{ auditLog(first: 20) { nodes { action outcome actorRole } } }",
            json!({}),
        )
        .await;
    let denied: Vec<&Value> = log["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "denied")
        .collect();
    assert!(
        denied
            .iter()
            .any(|e| e["action"] == "retention.set_policy" && e["actorRole"] == "agent"),
        "{log}"
    );
    assert!(
        denied.iter().any(|e| e["action"] == "retention.purge"),
        "{log}"
    );
    // Agents can read the policy; it did not change.
    let policy = app
        .ok(&agent, "{ retentionPolicy { messageBodyDays } }", json!({}))
        .await;
    assert_eq!(policy["retentionPolicy"]["messageBodyDays"], Value::Null);

    for (input, field) in [
        (json!({ "messageBodyDays": 0 }), "messageBodyDays"),
        (json!({ "deletedClientDays": -3 }), "deletedClientDays"),
    ] {
        let body = app.gql(Some(&admin), SET, json!({ "input": input })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    // Setting, then clearing, is audited with before and after.
    app.ok(
        &admin,
        SET,
        json!({ "input": { "messageBodyDays": 7, "deletedClientDays": 90 } }),
    )
    .await;
    let cleared = app.ok(&admin, SET, json!({ "input": {} })).await;
    assert_eq!(
        cleared["setRetentionPolicy"]["messageBodyDays"],
        Value::Null
    );
    let log = app
        .ok(
            &admin,
            "{ auditLog(first: 1) { nodes { action outcome detail } } }",
            json!({}),
        )
        .await;
    let last = &log["auditLog"]["nodes"][0];
    assert_eq!(last["action"], "retention.set_policy");
    assert_eq!(last["detail"]["before"]["messageBodyDays"], 7);
    assert_eq!(last["detail"]["after"]["messageBodyDays"], Value::Null);
}

#[tokio::test]
async fn the_daily_schedule_purges_without_anyone_asking() {
    let app = spawn_isolated(true).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let (_, msgs) = thread(&app, &tenant, "+14165550190", &["old", "new"]).await;
    age_message(&app, tenant.id, msgs[0], 3).await;
    app.ok(&admin, SET, json!({ "input": { "messageBodyDays": 2 } }))
        .await;

    let mut purged = false;
    for _ in 0..600 {
        if message_row(&app, tenant.id, msgs[0]).await.body.is_none() {
            purged = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(purged, "the scheduled purge never ran");
    assert_eq!(
        message_row(&app, tenant.id, msgs[1]).await.body.as_deref(),
        Some("new")
    );
    let mut entries = vec![];
    for _ in 0..100 {
        entries = purge_entries(&app, &admin).await;
        if !entries.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(entries.len(), 1, "once a day: {entries:?}");
    assert_eq!(entries[0]["detail"]["trigger"], "schedule");
    assert_eq!(entries[0]["detail"]["messageBodies"], 1);
    assert_eq!(entries[0]["actorId"], "system:retention");
}

#[tokio::test]
async fn merge_records_stay_while_their_survivor_lives_and_go_with_it() {
    let app = spawn_isolated(false).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let t = tenant.id;
    app.ok(&admin, SET, json!({ "input": { "deletedClientDays": 10 } }))
        .await;
    let merge =
        "mutation($p: ID!, $o: [ID!]!) { mergeClients(primaryId: $p, otherIds: $o) { mergedIds } }";
    let survivor = app
        .create_client(&admin, json!({ "firstName": "Kept" }))
        .await;
    let absorbed = app
        .create_client(&admin, json!({ "firstName": "Into kept" }))
        .await;
    app.ok(
        &admin,
        merge,
        json!({ "p": survivor["id"], "o": [absorbed["id"]] }),
    )
    .await;
    let doomed = app
        .create_client(&admin, json!({ "firstName": "Doomed" }))
        .await;
    let follower = app
        .create_client(&admin, json!({ "firstName": "Into doomed" }))
        .await;
    app.ok(
        &admin,
        merge,
        json!({ "p": doomed["id"], "o": [follower["id"]] }),
    )
    .await;
    delete_client(&app, &admin, &doomed["id"], 11, t).await;
    // Both merge records were retired long ago.
    client::Entity::scoped_update(t)
        .col_expr(
            client::Column::DeletedAt,
            Expr::value(Utc::now() - Duration::days(30)),
        )
        .filter(client::Column::MergedIntoId.is_not_null())
        .exec(&app.domain().db)
        .await
        .unwrap();

    let run = app.ok(&admin, RUN, json!({})).await;
    assert_eq!(run["runRetentionNow"]["clients"], 2, "{run}");
    assert!(!client_exists(&app, t, &doomed["id"]).await);
    assert!(
        !client_exists(&app, t, &follower["id"]).await,
        "redirects nowhere: gone"
    );
    assert!(
        client_exists(&app, t, &absorbed["id"]).await,
        "still redirects to a live client"
    );
    let found = app
        .ok(
            &admin,
            "query($id: ID!) { client(id: $id) { id } }",
            json!({ "id": absorbed["id"] }),
        )
        .await;
    assert_eq!(found["client"]["id"], survivor["id"]);
}
