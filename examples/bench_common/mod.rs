//! Shared by the ingestion and fan-out benchmarks: a fresh database, the real server started
//! as its own process (`clientele serve`, so its memory and CPU are its own), a tenant with a
//! generic webhook inbox, signed deliveries and percentiles.

#![allow(dead_code)]

use anyhow::{Context, bail};
use clientele::config::Config;
use clientele_api::Tokens;
use clientele_api::webhooks::signature;
use clientele_domain::tenants::{self, NewTenant};
use clientele_domain::{Role, TenantId};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TENANT: &str = "bench";
pub const INBOX: &str = "+16475550100";
pub const SECRET: &str = "bench-webhook-secret";
const JWT_SECRET: &str = "bench-jwt-secret-bench-jwt-secret-0123456789";

/// A database made for one run and dropped (PostgreSQL) or deleted (SQLite) afterwards.
pub struct FreshDatabase {
    pub url: String,
    /// PostgreSQL: the maintenance URL and the database name, to drop it.
    drop_pg: Option<(String, String)>,
    sqlite_file: Option<PathBuf>,
}

impl FreshDatabase {
    /// `target` is `sqlite` (a new file under /tmp) or a PostgreSQL server URL such as
    /// `postgres://postgres@127.0.0.1:5432` (a new database `clientele_bench_<ts>` on it).
    pub async fn create(target: &str) -> anyhow::Result<Self> {
        let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
        let nonce = &uuid::Uuid::new_v4().simple().to_string()[..6];
        if target == "sqlite" {
            let file = std::env::temp_dir().join(format!("clientele_bench_{stamp}_{nonce}.db"));
            return Ok(FreshDatabase {
                url: format!("sqlite://{}", file.display()),
                drop_pg: None,
                sqlite_file: Some(file),
            });
        }
        if !(target.starts_with("postgres://") || target.starts_with("postgresql://")) {
            bail!("--db is `sqlite` or a postgres:// server URL, not {target:?}");
        }
        let maintenance = with_database(target, "postgres");
        let name = format!("clientele_bench_{stamp}_{nonce}");
        let admin = Database::connect(&maintenance)
            .await
            .with_context(|| format!("cannot connect to {maintenance}"))?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        admin.close().await?;
        Ok(FreshDatabase {
            url: with_database(target, &name),
            drop_pg: Some((maintenance, name)),
            sqlite_file: None,
        })
    }

    pub async fn remove(self) -> anyhow::Result<()> {
        if let Some((maintenance, name)) = self.drop_pg {
            let admin = Database::connect(&maintenance).await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await?;
            admin.close().await?;
        }
        if let Some(file) = self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
        Ok(())
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    format!("{prefix}/{name}{query}")
}

pub fn backend_name(url: &str) -> &'static str {
    if url.starts_with("sqlite") {
        "SQLite"
    } else {
        "PostgreSQL"
    }
}

/// Migrates the database and creates the `bench` tenant; returns an admin token for it.
pub async fn prepare(url: &str) -> anyhow::Result<(DatabaseConnection, TenantId, String)> {
    let mut config = Config::defaults();
    config.database_url = url.to_string();
    config.db_max_connections = 2;
    config.demo_tenant = false;
    let db = clientele::app::open_database(&config).await?;
    let tenant = tenants::create(
        &db,
        NewTenant {
            slug: TENANT.into(),
            name: "Bench".into(),
            default_region: "CA".into(),
            timezone: "America/Toronto".into(),
        },
    )
    .await?;
    let tenant = TenantId(tenant.id);
    let tokens =
        Tokens::hs256(JWT_SECRET.as_bytes()).map_err(|e| anyhow::anyhow!("token key: {e}"))?;
    let token = tokens
        .mint(
            tenant,
            "bench-admin",
            "Bench",
            Role::Admin,
            Duration::from_secs(4 * 3600),
        )
        .map_err(|e| anyhow::anyhow!("cannot mint a token: {e}"))?;
    Ok((db, tenant, token))
}

/// Server settings the benchmarks vary.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    pub workers: bool,
    pub worker_concurrency: usize,
    pub db_max_connections: u32,
}

/// `clientele serve` running as a child process.
pub struct Server {
    child: Child,
    pub addr: String,
    pub log: PathBuf,
}

/// `target/release/clientele`, beside this example's directory.
pub fn default_server_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("clientele")))
        .unwrap_or_else(|| PathBuf::from("target/release/clientele"))
}

impl Server {
    pub async fn start(bin: &Path, url: &str, settings: &ServerSettings) -> anyhow::Result<Self> {
        if !bin.exists() {
            bail!(
                "{} not found: build it first with `cargo build --release --bin clientele`",
                bin.display()
            );
        }
        // A free port: bind, read it, release it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log = std::env::temp_dir().join(format!("clientele_bench_server_{port}.log"));
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(bin)
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("CLIENTELE_BIND", &addr)
            .env("CLIENTELE_JWT_SECRET", JWT_SECRET)
            .env("CLIENTELE_DEMO_TENANT", "false")
            .env("CLIENTELE_WORKERS", settings.workers.to_string())
            .env(
                "CLIENTELE_WORKER_CONCURRENCY",
                settings.worker_concurrency.to_string(),
            )
            .env(
                "CLIENTELE_DB_MAX_CONNECTIONS",
                settings.db_max_connections.to_string(),
            )
            .env("CLIENTELE_GRAPHIQL", "false")
            .env("CLIENTELE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut server = Server { child, addr, log };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("the server exited ({status}); see {}", server.log.display());
            }
            if let Ok(r) = http.get(server.url("/readyz")).send().await
                && r.status().is_success()
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("the server did not become ready in 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (VmRSS, VmHWM) in MiB, from /proc.
    pub fn memory_mib(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// CPU seconds (user + system) the server used so far.
    pub fn cpu_seconds(&self) -> f64 {
        process_cpu_seconds(self.pid())
    }

    /// Stops the server (SIGKILL: the benchmark does not measure shutdown).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds (user + system) of process `pid`, from /proc.
pub fn process_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => 0.0,
    }
}

/// How busy the whole machine is (percent of all cores, over one second): other work that
/// would compete with the measurement.
pub async fn machine_busy_percent() -> f64 {
    fn sample() -> (u64, u64) {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let total: u64 = cpu.iter().sum();
        // idle + iowait
        let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
        (total, idle)
    }
    let (t0, i0) = sample();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (t1, i1) = sample();
    let total = t1.saturating_sub(t0).max(1);
    100.0 * (total - i1.saturating_sub(i0)) as f64 / total as f64
}

/// The 1-minute load average.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Registers the generic webhook inbox for the tenant through GraphQL, as an admin would.
pub async fn add_inbox(server: &Server, admin: &str) -> anyhow::Result<()> {
    let response: Value = reqwest::Client::new()
        .post(server.url("/graphql"))
        .bearer_auth(admin)
        .json(&json!({
            "query": "mutation($a: String!, $s: String!) { addTenantChannel(provider: \"generic\", address: $a, channel: SMS, secret: $s) { id } }",
            "variables": { "a": INBOX, "s": SECRET },
        }))
        .send()
        .await?
        .json()
        .await?;
    if response.get("errors").is_some() {
        bail!("addTenantChannel: {response}");
    }
    Ok(())
}

const AREAS: [u32; 12] = [416, 647, 437, 905, 289, 613, 514, 438, 604, 778, 403, 587];
const FIRST: [&str; 20] = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
];
const LAST: [&str; 20] = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris",
    "Clark", "Lewis",
];

/// The phone number of sender `i`: distinct for every `i` below 8.4 million, valid in CA.
pub fn sender_phone(i: u64) -> String {
    let area = AREAS[(i % AREAS.len() as u64) as usize];
    let rest = i / AREAS.len() as u64;
    let line = rest % 10_000;
    let mut exchange = 200 + (rest / 10_000) % 700;
    if exchange % 100 == 11 {
        exchange += 1;
    }
    format!("+1{area}{exchange:03}{line:04}")
}

/// What sender `i` writes: a self-introduction with a unique email address.
pub fn intro_text(i: u64) -> String {
    let first = FIRST[(i % 20) as usize];
    let last = LAST[((i / 20) % 20) as usize];
    format!(
        "Hi, I'm {first} {last}, my email is {}.{}{i}@gmail.com. Do you have the blue one in stock?",
        first.to_lowercase(),
        last.to_lowercase()
    )
}

/// A signed generic webhook delivery, ready to send.
pub fn signed_delivery(
    http: &reqwest::Client,
    url: &str,
    id: &str,
    from: &str,
    text: &str,
) -> reqwest::RequestBuilder {
    let raw =
        json!({ "id": id, "channel": "sms", "from": from, "to": INBOX, "text": text }).to_string();
    let now = chrono::Utc::now().timestamp();
    http.post(url)
        .header("content-type", "application/json")
        .header(
            signature::GENERIC_SIGNATURE_HEADER,
            signature::sign_generic(SECRET.as_bytes(), now, raw.as_bytes()),
        )
        .body(raw)
}

/// The `q` quantile (0..=1) of sorted values (nearest rank).
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

pub fn is_sqlite(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Sqlite
}
