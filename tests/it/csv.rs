//! CSV export (streamed) and import (GraphQL upload and `clientele import`).

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use clientele_domain::Role;
use serde_json::{Value, json};
use std::process::Command;

async fn export(app: &TestApp, token: Option<&str>, query: &str) -> reqwest::Response {
    let mut request = app
        .http
        .get(app.url(&format!("/exports/clients.csv{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn upload(app: &TestApp, token: &str, csv: &str, dry_run: bool) -> Value {
    let operations = json!({
        "query": "mutation($file: Upload!, $dry: Boolean) { importClients(file: $file, dryRun: $dry) { rows created updated unchanged dryRun errors { line field message } } }",
        "variables": { "file": null, "dry": dry_run },
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
                .file_name("clients.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let response = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

const FILE: &str = "first_name,last_name,email,phone,status,purchase_intent,interests,external_id\n\
Ada,Lovelace,ada@example.com,416 555 1234,active,ready_to_buy,trucks; vans,X-1\n\
Bob,,not-an-email,,,,,\n\
Cyd,Smith,,,platinum,,,\n\
Dee,,dee@example.com,,,,,\n\
Ada,,ADA@example.com,,,,,\n";

#[tokio::test]
async fn import_upserts_reports_bad_rows_and_is_idempotent() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);

    let dry = upload(&app, &admin, FILE, true).await;
    let report = &dry["data"]["importClients"];
    assert_eq!(report["dryRun"], true, "{dry}");
    assert_eq!(report["created"], 2, "{dry}");
    let data = app
        .ok(&admin, "{ clients { totalCount } }", json!({}))
        .await;
    assert_eq!(data["clients"]["totalCount"], 0, "a dry run writes nothing");

    let body = upload(&app, &admin, FILE, false).await;
    let report = &body["data"]["importClients"];
    assert_eq!(report["rows"], 5, "{body}");
    assert_eq!(report["created"], 2);
    let errors: Vec<(u64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [(3, "email".to_string()), (4, "status".to_string())]
    );

    let data = app
        .ok(&admin, "{ clients(orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { displayName email phone status purchaseIntent interests externalId source } } } }", json!({}))
        .await;
    assert_eq!(data["clients"]["totalCount"], 2);
    let ada = &data["clients"]["edges"][0]["node"];
    assert_eq!(ada["phone"], "+14165551234");
    assert_eq!(ada["interests"], json!(["trucks", "vans"]));
    assert_eq!(ada["purchaseIntent"], "READY_TO_BUY");
    assert_eq!(ada["source"], "IMPORT");

    // The same file again changes nothing.
    let again = upload(&app, &admin, FILE, false).await;
    let report = &again["data"]["importClients"];
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );
    assert_eq!(report["unchanged"], 3);

    // Agents may not import.
    let agent = app.token(&tenant, Role::Agent);
    let body = upload(&app, &agent, FILE, false).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
}

#[tokio::test]
async fn a_person_in_a_later_batch_updates_the_client_an_earlier_batch_created() {
    // 1,201 rows: three batches of up to 500, the next read while the one before is written.
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let mut file = String::from("first_name,email,city\n");
    for n in 0..1_200 {
        file.push_str(&format!("Person{n},p{n}@example.com,Toronto\n"));
    }
    // Line 1,202 (third batch): the person of line 702 (second batch, written while the third
    // is read) again, now in Ottawa; line 1,203: a bad email.
    file.push_str("Person700,P700@example.com,Ottawa\nBad,nope,Ottawa\n");
    let body = upload(&app, &admin, &file, false).await;
    let report = &body["data"]["importClients"];
    assert_eq!(report["rows"], 1_202, "{body}");
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(1_200), Some(1)),
        "{body}"
    );
    assert_eq!(report["errors"][0]["line"], 1_203, "{body}");
    let data = app
        .ok(
            &admin,
            "{ clients(filter: { search: \"p700@example.com\" }) { totalCount edges { node { city } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["clients"]["totalCount"], 1, "{data}");
    assert_eq!(data["clients"]["edges"][0]["node"]["city"], "Ottawa");
}

#[tokio::test]
async fn export_streams_filtered_csv_that_imports_back_unchanged() {
    let app = spawn_app().await;
    let a = app.tenant().await;
    let admin = app.token(&a, Role::Admin);
    for i in 0..1010 {
        let status = if i % 2 == 0 { "active" } else { "new" };
        app.create_client(&admin, json!({ "firstName": format!("C{i:04}"), "email": format!("c{i}@example.com"), "status": status, "metadata": { "n": i } }))
            .await;
    }
    let response = export(&app, Some(&admin), "?statuses=active").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("id,first_name,last_name,email,phone")
    );
    assert_eq!(lines.count(), 505, "filter applied");

    // Export everything and import it back: nothing changes.
    let all = export(&app, Some(&admin), "").await.text().await.unwrap();
    assert_eq!(all.lines().count(), 1011, "more than one page of 1000 rows");
    let body = upload(&app, &admin, &all, false).await;
    let report = &body["data"]["importClients"];
    assert_eq!(report["unchanged"], 1010, "{body}");
    assert_eq!(report["errors"], json!([]));

    // Into another tenant, the same file creates the same people.
    let b = app.tenant().await;
    let admin_b = app.token(&b, Role::Admin);
    let body = upload(&app, &admin_b, &all, false).await;
    assert_eq!(body["data"]["importClients"]["created"], 1010, "{body}");
    let data = app
        .ok(
            &admin_b,
            "{ clients(filter: { search: \"c0007\" }) { edges { node { metadata status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["clients"]["edges"][0]["node"]["metadata"],
        json!({ "n": 7 })
    );
}

#[tokio::test]
async fn export_needs_a_token_and_valid_filters() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let viewer = app.token(&tenant, Role::Viewer);
    assert_eq!(export(&app, None, "").await.status(), 401);
    assert_eq!(export(&app, Some(&viewer), "").await.status(), 403);
    let agent = app.token(&tenant, Role::Agent);
    let response = export(&app, Some(&agent), "?intents=someday").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("intents"),
        "{body}"
    );
    assert_eq!(
        export(&app, Some(&agent), "?colour=red").await.status(),
        400
    );
}

#[tokio::test]
async fn uploads_over_the_limit_are_refused() {
    let app = spawn_app_with(|c| c.max_upload_bytes = 2048).await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, Role::Admin);
    let big = format!("first_name\n{}", "Ada\n".repeat(1000));
    let operations = json!({ "query": "mutation($file: Upload!) { importClients(file: $file) { rows } }", "variables": { "file": null } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(big.into_bytes()).file_name("c.csv"),
        );
    let response = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn the_import_command_shows_progress_and_reports_bad_rows() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clients.csv");
    std::fs::write(&file, FILE).unwrap();
    let run = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_clientele"));
        cmd.env("DATABASE_URL", &app.db_url)
            .env("CLIENTELE_LOG", "warn")
            .arg("import")
            .arg(&file)
            .args(["--tenant", &tenant.slug])
            .args(extra);
        for (key, _) in std::env::vars() {
            if key.starts_with("CLIENTELE_") && key != "CLIENTELE_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd.output().unwrap()
    };
    let output = run(&[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("5 rows") && stdout.contains("2 created"),
        "{stdout}"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("line 3: email"), "{stderr}");
    assert!(stderr.contains("line 4: status"), "{stderr}");
    let output = run(&["--dry-run"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with("dry run:") && stdout.contains("0 created"),
        "{stdout}"
    );
    let admin = app.token(&tenant, Role::Admin);
    let data = app
        .ok(&admin, "{ clients { totalCount } }", json!({}))
        .await;
    assert_eq!(data["clients"]["totalCount"], 2);
}
