//! Starting the app and talking to it.

use clientele::app::{self, RunningApp};
use clientele::config::Config;
use clientele_domain::conversations::MessageSender;
use clientele_domain::entities::tenant;
use clientele_domain::tenants::{self, NewTenant};
use clientele_domain::{Domain, Role, TenantId};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::OnceCell;
use uuid::Uuid;

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub http: reqwest::Client,
    pub db_url: String,
    pub app: RunningApp,
    _dir: Option<TempDir>,
}

pub struct TestTenant {
    pub id: TenantId,
    pub slug: String,
}

/// The PostgreSQL server to test against, when `TEST_DATABASE_URL` names one.
pub fn postgres_server() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    // Everything up to the first '/' after the host is kept; the rest is the database name.
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    format!("{prefix}/{name}{query}")
}

/// Creates a new, empty, migrated PostgreSQL database and returns its URL. Databases left by
/// earlier runs (older than six hours) are dropped first.
pub async fn fresh_postgres_database(server: &str, migrate: bool) -> String {
    let admin = Database::connect(server)
        .await
        .expect("connect to TEST_DATABASE_URL");
    let now = chrono::Utc::now().timestamp();
    let rows = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE 'clientele_test_%'",
        ))
        .await
        .expect("list test databases");
    for row in rows {
        let name: String = row.try_get("", "datname").expect("datname");
        let created: i64 = name
            .split('_')
            .nth(2)
            .and_then(|t| t.parse().ok())
            .unwrap_or(now);
        if now - created > 6 * 3600 {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
    let name = format!("clientele_test_{now}_{}", Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let url = with_database(server, &name);
    if migrate {
        let db = clientele::db::connect(&url, 2).await.expect("connect");
        clientele::db::migrate(&db).await.expect("migrate");
        db.close().await.ok();
    }
    url
}

/// One migrated PostgreSQL database for this whole test run, shared by tenant isolation.
async fn shared_postgres(server: &str) -> String {
    static URL: OnceCell<String> = OnceCell::const_new();
    URL.get_or_init(|| fresh_postgres_database(server, true))
        .await
        .clone()
}

/// The configuration tests start from: port 0, no demo tenant, a quiet log.
pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::defaults();
    config.bind = "127.0.0.1:0".parse().expect("addr");
    config.database_url = database_url.to_string();
    config.demo_tenant = false;
    // Jobs run only in the tests that ask for them, so a test sees exactly what it did.
    config.workers.enabled = false;
    config.db_max_connections = 4;
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let (db_url, dir) = test_database().await;
    spawn_app_on(&db_url, dir, adjust).await
}

/// The database tests use: the shared PostgreSQL test database, or a new SQLite file.
pub async fn test_database() -> (String, Option<TempDir>) {
    match postgres_server() {
        Some(server) => (shared_postgres(&server).await, None),
        None => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            (url, Some(dir))
        }
    }
}

/// A database of its own, for tests that must not share jobs or workers with other tests: a
/// new PostgreSQL database, or a new SQLite file.
pub async fn isolated_database() -> (String, Option<TempDir>) {
    match postgres_server() {
        Some(server) => (fresh_postgres_database(&server, true).await, None),
        None => test_database().await,
    }
}

pub async fn spawn_app_on(
    db_url: &str,
    dir: Option<TempDir>,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    spawn_app_sending(db_url, dir, adjust, None).await
}

/// An app whose outbound messages go to `sender`.
pub async fn spawn_app_sending(
    db_url: &str,
    dir: Option<TempDir>,
    adjust: impl FnOnce(&mut Config),
    sender: Option<Arc<dyn MessageSender>>,
) -> TestApp {
    let mut config = test_config(db_url);
    adjust(&mut config);
    let app = app::start_with(&config, sender).await.expect("start app");
    TestApp {
        addr: app.addr,
        http: reqwest::Client::new(),
        db_url: db_url.to_string(),
        app,
        _dir: dir,
    }
}

impl TestApp {
    pub fn domain(&self) -> &Domain {
        &self.app.domain
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A new tenant with a unique slug.
    pub async fn tenant(&self) -> TestTenant {
        let slug = format!("t-{}", &Uuid::new_v4().simple().to_string()[..12]);
        let t: tenant::Model = tenants::create(
            &self.domain().db,
            NewTenant {
                slug: slug.clone(),
                name: format!("Tenant {slug}"),
                default_region: "CA".into(),
                timezone: "America/Toronto".into(),
            },
        )
        .await
        .expect("create tenant");
        TestTenant {
            id: TenantId(t.id),
            slug,
        }
    }

    pub fn token(&self, tenant: &TestTenant, role: Role) -> String {
        self.app
            .tokens
            .mint(
                tenant.id,
                &format!("user-{}", role.as_str()),
                &format!("Test {}", role.as_str()),
                role,
                Duration::from_secs(3600),
            )
            .expect("mint")
    }

    /// POSTs a GraphQL request and returns the JSON response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("send");
        response.json().await.expect("json body")
    }

    /// POSTs a GraphQL request that must succeed and returns its `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(Some(token), query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Creates a client through the API and returns it.
    pub async fn create_client(&self, token: &str, input: Value) -> Value {
        let body = self
            .gql(
                Some(token),
                "mutation($input: CreateClientInput!) { createClient(input: $input) { id firstName lastName email phone company version } }",
                json!({ "input": input }),
            )
            .await;
        assert!(body.get("errors").is_none(), "createClient failed: {body}");
        body["data"]["createClient"].clone()
    }
}

/// The `extensions.code` of the first error.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

#[test]
fn database_names_are_replaced() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1/test?sslmode=disable", "x"),
        "postgres://postgres@127.0.0.1/x?sslmode=disable"
    );
}

/// A receiving number no other test uses (tests on PostgreSQL share one database, and a
/// receiving number belongs to one tenant).
pub fn unique_number() -> String {
    let n = Uuid::new_v4().as_u128() % 8_000_000 + 2_000_000;
    format!("+1647{n}")
}
