//! The `clientele` binary as operators run it: zero-setup start, configuration errors, the
//! token command and logs.

use crate::helpers::{fresh_postgres_database, postgres_server};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn clientele(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clientele"));
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("CLIENTELE_") || key == "DATABASE_URL" {
            cmd.env_remove(key);
        }
    }
    cmd.env("CLIENTELE_LOG", "info");
    cmd
}

/// A database for one binary run: the default SQLite file in `dir`, or a fresh PostgreSQL
/// database when testing on PostgreSQL.
fn database_env(cmd: &mut Command, url: &Option<String>) {
    if let Some(url) = url {
        cmd.env("DATABASE_URL", url);
    }
}

struct Server {
    child: Child,
    base: String,
    admin_token: Option<String>,
    stdout: Vec<String>,
}

/// Starts `clientele serve --bind 127.0.0.1:0` and reads its banner.
fn start(mut cmd: Command) -> Server {
    let mut child = cmd
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn clientele");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut base = None;
    let mut admin_token = None;
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server prints its banner");
        if let Some(url) = line.strip_prefix("Clientele listening on ") {
            base = Some(url.to_string());
        }
        if let Some(token) = line.strip_prefix("admin token: ") {
            admin_token = Some(token.to_string());
        }
        let done = line.starts_with("(send it") || line.starts_with("mint a token");
        lines.push(line);
        if done {
            break;
        }
    }
    Server {
        child,
        base: base.expect("listening line"),
        admin_token,
        stdout: lines,
    }
}

impl Server {
    /// Stops the server with SIGTERM and returns what it logged on stderr.
    fn stop(self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let output = self.child.wait_with_output().expect("wait");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

async fn me(base: &str, token: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .header("x-request-id", "req-binary-test-42")
        .json(&json!({ "query": "{ me { role tenant { slug } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn first_start_creates_the_database_and_prints_an_admin_token_second_start_reuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let pg = match postgres_server() {
        Some(server) => Some(fresh_postgres_database(&server, false).await),
        None => None,
    };

    let mut cmd = clientele(dir.path());
    database_env(&mut cmd, &pg);
    let first = start(cmd);
    if pg.is_none() {
        assert!(
            dir.path().join("clientele.db").exists(),
            "SQLite file in the working directory"
        );
    }
    assert!(
        first.stdout.iter().any(|l| l.contains("/graphql")),
        "GraphiQL URL: {:?}",
        first.stdout
    );
    let token = first
        .admin_token
        .clone()
        .expect("admin token on first start");
    let body = me(&first.base, &token).await;
    assert_eq!(body["data"]["me"]["role"], "ADMIN", "{body}");
    assert_eq!(body["data"]["me"]["tenant"]["slug"], "demo");
    first.stop();

    let mut cmd = clientele(dir.path());
    database_env(&mut cmd, &pg);
    let second = start(cmd);
    assert!(
        second.admin_token.is_none(),
        "no new token on a second start"
    );
    let body = me(&second.base, &token).await;
    assert_eq!(
        body["data"]["me"]["role"], "ADMIN",
        "same secret after restart: {body}"
    );
    second.stop();

    // `clientele token` mints one against the same database.
    let mut cmd = clientele(dir.path());
    database_env(&mut cmd, &pg);
    let output = cmd
        .args([
            "token",
            "--tenant",
            "demo",
            "--role",
            "viewer",
            "--name",
            "Vera Viewer",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let viewer = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let mut cmd = clientele(dir.path());
    database_env(&mut cmd, &pg);
    let third = start(cmd);
    let body = me(&third.base, &viewer).await;
    assert_eq!(body["data"]["me"]["role"], "VIEWER", "{body}");
    third.stop();
}

#[test]
fn a_bad_setting_stops_the_process_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (key, value) in [
        ("CLIENTELE_BIND", "not-an-address"),
        ("CLIENTELE_MAX_COMPLEXITY", "lots"),
        ("DATABASE_URL", "mysql://nope"),
    ] {
        let output = clientele(dir.path())
            .env(key, value)
            .arg("serve")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(key), "{stderr}");
    }
    assert!(
        !dir.path().join("clientele.db").exists(),
        "nothing created on a bad start"
    );
}

#[test]
fn token_for_an_unknown_tenant_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let output = clientele(dir.path())
        .args([
            "token", "--tenant", "nobody", "--role", "admin", "--name", "X",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no tenant with slug \"nobody\""));
    let output = clientele(dir.path())
        .args(["token", "--tenant", "demo", "--role", "root", "--name", "X"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown role"));
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_never_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = clientele(dir.path());
    cmd.env("CLIENTELE_LOG_FORMAT", "json");
    let server = start(cmd);
    let token = server.admin_token.clone().expect("token");
    let body = me(&server.base, &token).await;
    assert!(body.get("errors").is_none(), "{body}");
    let stderr = server.stop();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.to_string().contains("req-binary-test-42")),
        "a request log line with the request id: {stderr}"
    );
    assert!(!stderr.contains(&token), "the token never appears in logs");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!stderr.contains(signature));
}

#[test]
fn extract_reads_json_lines_and_writes_facts_per_message() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut child = clientele(dir.path())
        .args(["extract", "--region", "CA"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"{\"id\": 7, \"text\": \"Hi, my name is Ada Lovelace, call 4165551234\", \"channel\": \"sms\"}\n\nnot json\n",
        )
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], 7);
    let facts = lines[0]["facts"].as_array().unwrap();
    assert!(
        facts
            .iter()
            .any(|f| f["kind"] == "phone" && f["e164"] == "+14165551234")
    );
    assert!(
        facts
            .iter()
            .any(|f| f["kind"] == "person" && f["last"] == "Lovelace")
    );
    assert_eq!(lines[1]["line"], 3);
    assert!(
        !dir.path().join("clientele.db").exists(),
        "extract needs no database"
    );
}

#[tokio::test]
async fn seed_fills_a_tenant_with_searchable_clients() {
    let app = crate::helpers::spawn_app().await;
    let tenant = app.tenant().await;
    let dir = tempfile::tempdir().unwrap();
    let output = clientele(dir.path())
        .env("DATABASE_URL", &app.db_url)
        .args(["seed", "--clients", "300", "--tenant", &tenant.slug])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = app.token(&tenant, clientele_domain::Role::Viewer);
    let data = app
        .ok(&token, "{ all: clients { totalCount } smi: clients(filter: { search: \"smi\" }) { totalCount } withEmail: clients(filter: { hasEmail: true }) { totalCount } }", json!({}))
        .await;
    assert_eq!(data["all"]["totalCount"], 300);
    assert!(data["smi"]["totalCount"].as_u64().unwrap() > 0, "{data}");
    assert!(
        data["withEmail"]["totalCount"].as_u64().unwrap() > 0,
        "{data}"
    );
    let output = clientele(dir.path())
        .env("DATABASE_URL", &app.db_url)
        .args(["seed", "--clients", "10", "--tenant", "no-such-tenant"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}
