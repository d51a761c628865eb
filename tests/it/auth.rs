//! Authentication and roles.

use crate::helpers::{error_code, spawn_app};
use clientele_domain::Role;
use serde_json::json;

const ME: &str = "{ me { userId name role tenant { slug } } }";

#[tokio::test]
async fn a_valid_token_names_the_caller() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, Role::Agent);
    let body = app.gql(Some(&token), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["role"], "AGENT", "{body}");
    assert_eq!(body["data"]["me"]["tenant"]["slug"], tenant.slug.as_str());
}

#[tokio::test]
async fn missing_expired_and_forged_tokens_are_unauthenticated() {
    const SECRET: &str = "a-test-secret-that-is-at-least-32-bytes";
    let app = crate::helpers::spawn_app_with(|c| {
        c.jwt = clientele::config::JwtConfig::Hs256 {
            secret: Some(SECRET.into()),
        };
    })
    .await;
    let tenant = app.tenant().await;

    let body = app.gql(None, ME, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert!(body["data"].is_null());

    // Signed with another secret.
    let forger = clientele_api::Tokens::hs256(&[9u8; 32]).unwrap();
    let forged = forger
        .mint(
            tenant.id,
            "eve",
            "Eve",
            Role::Admin,
            std::time::Duration::from_secs(600),
        )
        .unwrap();
    let body = app.gql(Some(&forged), ME, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");

    // A real token with its payload edited (role raised) no longer verifies.
    let real = app.token(&tenant, Role::Viewer);
    let parts: Vec<&str> = real.split('.').collect();
    let tampered_payload = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims = String::from_utf8(engine.decode(parts[1]).unwrap()).unwrap();
        engine.encode(claims.replace("\"viewer\"", "\"admin\""))
    };
    let tampered = format!("{}.{}.{}", parts[0], tampered_payload, parts[2]);
    let body = app.gql(Some(&tampered), ME, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");

    // Expired (beyond the 30 s leeway), signed with the server's own secret.
    let now = chrono::Utc::now().timestamp();
    let claims = clientele_api::auth::Claims {
        sub: "u".into(),
        name: "U".into(),
        tenant: tenant.id.0,
        role: "admin".into(),
        iat: now - 7200,
        exp: now - 3600,
    };
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let body = app.gql(Some(&expired), ME, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    // Not a bearer token at all.
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("Authorization", "Basic YWRhOmFkYQ==")
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
}

#[tokio::test]
async fn viewers_read_but_do_not_write() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let agent = app.token(&tenant, Role::Agent);
    let viewer = app.token(&tenant, Role::Viewer);
    let client = app
        .create_client(&agent, json!({ "firstName": "Ada" }))
        .await;

    let body = app
        .gql(
            Some(&viewer),
            "mutation { createClient(input: { firstName: \"Bob\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    let body = app
        .gql(
            Some(&viewer),
            "mutation($id: ID!) { updateClient(id: $id, input: { firstName: \"Eve\" }) { id } }",
            json!({ "id": client["id"] }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    let body = app
        .gql(
            Some(&viewer),
            "query($id: ID!) { client(id: $id) { firstName } clients { totalCount } }",
            json!({ "id": client["id"] }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["client"]["firstName"], "Ada");
    assert_eq!(body["data"]["clients"]["totalCount"], 1);
}

#[tokio::test]
async fn rs256_tokens_verify_with_the_configured_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("public.pem");
    let private = dir.path().join("private.pem");
    std::fs::write(&public, include_str!("fixtures/rs256-public.pem")).unwrap();
    std::fs::write(&private, include_str!("fixtures/rs256-private.pem")).unwrap();
    let app = crate::helpers::spawn_app_with(|c| {
        c.jwt = clientele::config::JwtConfig::Rs256 {
            public_key: public.clone(),
            private_key: Some(private.clone()),
        };
    })
    .await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, Role::Admin);
    assert_eq!(
        jsonwebtoken::decode_header(&token).unwrap().alg,
        jsonwebtoken::Algorithm::RS256
    );
    let body = app.gql(Some(&token), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["role"], "ADMIN", "{body}");

    // An HS256 token is refused by an RS256 server.
    let hs = clientele_api::Tokens::hs256(&[1u8; 32])
        .unwrap()
        .mint(
            tenant.id,
            "u",
            "U",
            Role::Admin,
            std::time::Duration::from_secs(60),
        )
        .unwrap();
    let body = app.gql(Some(&hs), ME, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
}
