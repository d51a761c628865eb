//! Protection from abusive queries: depth, complexity, aliases, page size, body size, time,
//! introspection and GraphiQL switches.

use crate::helpers::{error_code, spawn_app, spawn_app_with};
use clientele_domain::Role;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn page_size_must_be_between_1_and_100() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, Role::Viewer);
    for (args, field) in [
        ("first: 0", "first"),
        ("first: 101", "first"),
        ("last: -5", "last"),
    ] {
        let body = app
            .gql(
                Some(&token),
                &format!("{{ clients({args}) {{ totalCount }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
    }
    let body = app
        .gql(
            Some(&token),
            "{ clients(first: 100) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn too_deep_too_complex_and_too_many_aliases_are_refused() {
    let app = spawn_app_with(|c| {
        c.limits.max_depth = 4;
        c.limits.max_complexity = 500;
        c.limits.max_aliases = 3;
    })
    .await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, Role::Viewer);

    // clients > edges > node > id is 4 levels deep: allowed.
    let four = "{ clients(first: 1) { edges { node { id } } } me { tenant { slug } } }";
    let body = app.gql(Some(&token), four, json!({})).await;
    assert!(body.get("errors").is_none(), "depth 4 is allowed: {body}");
    // __schema > types > fields > type > name is 5 levels deep: refused.
    let five = "{ __schema { types { fields { type { name } } } } }";
    let body = app.gql(Some(&token), five, json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested"),
        "{body}"
    );

    // Complexity: a list costs its page size times its selection.
    let small = "{ clients(first: 10) { edges { node { id firstName } } } }";
    let body = app.gql(Some(&token), small, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let big =
        "{ clients(first: 100) { edges { node { id firstName lastName email phone company } } } }";
    let body = app.gql(Some(&token), big, json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("complex")
    );

    let aliases = "{ a: me { userId } b: me { userId } c: me { userId } d: me { userId } }";
    let body = app.gql(Some(&token), aliases, json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases")
    );
    let three = "{ a: me { userId } b: me { userId } c: me { userId } }";
    let body = app.gql(Some(&token), three, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_parsing() {
    let app = spawn_app_with(|c| c.max_body_bytes = 4096).await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, Role::Agent);
    let padding = " ".repeat(5000);
    let response = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": format!("{{ me {{ userId }} }}{padding}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body = app.gql(Some(&token), "{ me { userId } }", json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn introspection_and_graphiql_can_be_switched_off() {
    let on = spawn_app().await;
    let tenant = on.tenant().await;
    let token = on.token(&tenant, Role::Viewer);
    let body = on
        .gql(
            Some(&token),
            "{ __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );
    let page = on.http.get(on.url("/graphql")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("graphiql"));

    let off = spawn_app_with(|c| {
        c.limits.introspection = false;
        c.graphiql = false;
    })
    .await;
    let tenant = off.tenant().await;
    let token = off.token(&tenant, Role::Viewer);
    let body = off
        .gql(
            Some(&token),
            "{ __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    assert!(
        body["data"]["__schema"].is_null(),
        "introspection answers nothing: {body}"
    );
    let page = off.http.get(off.url("/graphql")).send().await.unwrap();
    assert_eq!(page.status(), 405);
}

/// Holds the database's write lock from another connection until dropped.
async fn hold_write_lock(db_url: &str) -> Box<dyn std::any::Any + Send> {
    use sea_orm::sqlx::Connection;
    if db_url.starts_with("sqlite:") {
        let mut conn = sea_orm::sqlx::SqliteConnection::connect(db_url)
            .await
            .unwrap();
        sea_orm::sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        Box::new(conn)
    } else {
        let mut conn = sea_orm::sqlx::PgConnection::connect(db_url).await.unwrap();
        sea_orm::sqlx::query("BEGIN")
            .execute(&mut conn)
            .await
            .unwrap();
        sea_orm::sqlx::query("LOCK TABLE clients IN EXCLUSIVE MODE")
            .execute(&mut conn)
            .await
            .unwrap();
        Box::new(conn)
    }
}

#[tokio::test]
async fn an_operation_over_the_time_limit_is_cancelled_and_writes_nothing() {
    let app = spawn_app_with(|c| c.limits.timeout = Duration::from_millis(300)).await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, Role::Agent);
    let lock = hold_write_lock(&app.db_url).await;
    let body = app
        .gql(
            Some(&token),
            "mutation { createClient(input: { firstName: \"Slow\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "INTERNAL", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("time limit"),
        "{body}"
    );
    drop(lock);
    // Once the lock is gone, writes work again and the cancelled one left nothing.
    let fast = app
        .create_client(&token, json!({ "firstName": "Fast" }))
        .await;
    assert_eq!(fast["firstName"], "Fast");
    let body = app
        .gql(
            Some(&token),
            "{ clients { totalCount edges { node { firstName } } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["clients"]["totalCount"], 1, "{body}");
    assert_eq!(
        body["data"]["clients"]["edges"][0]["node"]["firstName"],
        "Fast"
    );
}
