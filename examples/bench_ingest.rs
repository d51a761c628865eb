//! Inbound-webhook benchmarks against the real server (`clientele serve` started as its own
//! process on a fresh database), driven over HTTP on 127.0.0.1 by a load generator in this
//! process. Build both first:
//!
//! ```sh
//! cargo build --release --bin clientele --example bench_ingest
//! # 1. ingestion: signed generic webhooks from many connections for 20 s
//! target/release/examples/bench_ingest --db postgres://postgres@127.0.0.1:5432 ingest
//! target/release/examples/bench_ingest --db postgres://postgres@127.0.0.1:5432 --workers ingest
//! target/release/examples/bench_ingest --db sqlite ingest
//! # 2. end to end: 20,000 self-introductions from unknown senders until every one is extracted
//! target/release/examples/bench_ingest --db postgres://postgres@127.0.0.1:5432 \
//!     --worker-concurrency 16 e2e --messages 20000
//! ```
//!
//! `--db` is `sqlite` (a new file under /tmp) or a PostgreSQL server (a new database
//! `clientele_bench_<ts>` on it); either is removed afterwards unless `--keep`.
//!
//! `ingest` keeps `--connections` requests in flight, each a signed `POST /webhooks/generic`
//! with a new provider message id from one of `--senders` numbers, and reports the messages
//! stored per second, latency percentiles and errors over the measured window (after an
//! unmeasured warm-up). With `--workers` the server also runs extraction jobs meanwhile.
//!
//! `e2e` posts `--messages` self-introductions ("Hi, I'm Mary Smith, my email is ...") from as
//! many unknown senders, with workers in the server, and polls the database until no message
//! is pending extraction: messages per second from the first webhook to the last linked client.

#[path = "bench_common/mod.rs"]
mod common;

use anyhow::bail;
use clap::{Parser, Subcommand};
use clientele_domain::TenantId;
use clientele_domain::entities::message::ExtractionState;
use clientele_domain::entities::{client, conversation, message};
use common::{FreshDatabase, Server, ServerSettings, quantile};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, PaginatorTrait, QueryFilter, QuerySelect,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Benchmark inbound webhooks: ingestion and end-to-end extraction")]
struct Args {
    /// `sqlite` or a PostgreSQL server URL (a fresh database is created on it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    db: String,
    /// The server binary (default: `clientele` beside this example's directory).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Run extraction workers inside the server (always on for `e2e`).
    #[arg(long)]
    workers: bool,
    /// Jobs the server's workers run at once.
    #[arg(long, default_value_t = 4)]
    worker_concurrency: usize,
    /// The server's database pool size.
    #[arg(long, default_value_t = 10)]
    db_max_connections: u32,
    /// Requests in flight (one HTTP connection each).
    #[arg(long, default_value_t = 128)]
    connections: usize,
    /// Keep the database afterwards.
    #[arg(long)]
    keep: bool,
    /// Skip the `ANALYZE` after the warm-up (PostgreSQL): measure a database whose planner
    /// statistics still describe empty tables, as in the first minute of a new database
    /// before autovacuum analyses it.
    #[arg(long)]
    cold: bool,
    /// Diagnosis only (PostgreSQL): drop apalis's `notify_workers` trigger once the server
    /// has started, to measure what its per-job `pg_notify` costs (nothing listens to it).
    #[arg(long)]
    without_job_notify: bool,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Sustained ingestion for a fixed time.
    Ingest {
        /// Measured seconds.
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Unmeasured seconds first.
        #[arg(long, default_value_t = 3)]
        warmup: u64,
        /// Distinct sender numbers the messages cycle through.
        #[arg(long, default_value_t = 10_000)]
        senders: u64,
    },
    /// Webhook to linked client, for a fixed number of messages from new senders.
    E2e {
        #[arg(long, default_value_t = 20_000)]
        messages: u64,
        /// Unmeasured messages first, extracted and followed by `ANALYZE` (PostgreSQL), so the
        /// measured ones meet tables with planner statistics, as in production.
        #[arg(long, default_value_t = 2_000)]
        prime: u64,
    },
}

/// One request: when it started (since the run began), how long it took, how it ended.
struct Sample {
    start_us: u64,
    latency_us: u32,
    outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Stored,
    Duplicate,
    Status(u16),
    Transport,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = args
        .server_bin
        .clone()
        .unwrap_or_else(common::default_server_bin);
    let fresh = FreshDatabase::create(&args.db).await?;
    let result = run(&args, &bin, &fresh.url).await;
    if args.keep {
        println!("kept database {}", clientele::db::redact(&fresh.url));
    } else {
        fresh.remove().await?;
    }
    result
}

async fn run(args: &Args, bin: &std::path::Path, url: &str) -> anyhow::Result<()> {
    let (db, tenant, admin) = common::prepare(url).await?;
    let workers = args.workers || matches!(args.mode, Mode::E2e { .. });
    let settings = ServerSettings {
        workers,
        worker_concurrency: args.worker_concurrency,
        db_max_connections: args.db_max_connections,
    };
    println!(
        "before: machine {:.0}% busy, load average {}   ({} cores)",
        common::machine_busy_percent().await,
        common::load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let server = Server::start(bin, url, &settings).await?;
    common::add_inbox(&server, &admin).await?;
    if args.without_job_notify && !common::is_sqlite(&db) {
        db.execute_unprepared("DROP TRIGGER IF EXISTS notify_workers ON apalis.jobs")
            .await?;
        println!("(diagnosis: apalis's notify_workers trigger dropped)");
    }
    println!(
        "{} ({}), server pid {} on {}, pool {} connections, workers {}, {} connections from the load generator",
        common::backend_name(url),
        clientele::db::redact(url),
        server.pid(),
        server.addr,
        settings.db_max_connections,
        if workers {
            format!("on (concurrency {})", settings.worker_concurrency)
        } else {
            "off".to_string()
        },
        args.connections,
    );
    let outcome = match args.mode {
        Mode::Ingest {
            duration,
            warmup,
            senders,
        } => ingest(args, &server, &db, tenant, duration, warmup, senders).await,
        Mode::E2e { messages, prime } => e2e(args, &server, &db, tenant, messages, prime).await,
    };
    let (_, peak) = server.memory_mib();
    println!(
        "server peak RSS {peak:.0} MiB; load average after: {}",
        common::load_average()
    );
    server.stop();
    db.close().await?;
    outcome
}

fn http_client(connections: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// Sends one delivery and classifies the answer.
async fn deliver(http: &reqwest::Client, url: &str, id: &str, from: &str, text: &str) -> Outcome {
    let sent = common::signed_delivery(http, url, id, from, text)
        .send()
        .await;
    let Ok(response) = sent else {
        return Outcome::Transport;
    };
    let status = response.status();
    let Ok(body) = response.bytes().await else {
        return Outcome::Transport;
    };
    if !status.is_success() {
        return Outcome::Status(status.as_u16());
    }
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    match value["status"].as_str() {
        Some("stored") => Outcome::Stored,
        Some("duplicate") => Outcome::Duplicate,
        _ => Outcome::Status(status.as_u16()),
    }
}

/// What the load generator sends: message `n` (below `limit`) is `message(n, senders)`, a
/// sender number and a text.
struct Load {
    connections: usize,
    url: String,
    begun: Instant,
    stop: Arc<AtomicBool>,
    limit: u64,
    message: fn(u64, u64) -> (String, String),
    senders: u64,
}

/// Runs `connections` senders until `stop` or `limit`. Returns every request's sample.
async fn load(spec: Load) -> anyhow::Result<Vec<Sample>> {
    let Load {
        connections,
        url,
        begun,
        stop,
        limit,
        message,
        senders,
    } = spec;
    let next = Arc::new(AtomicU64::new(0));
    let http = http_client(connections)?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (http, url, stop, next, run) = (
            http.clone(),
            url.clone(),
            stop.clone(),
            next.clone(),
            run.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= limit {
                    break;
                }
                let (from, text) = message(n, senders);
                let id = format!("bench-{run}-{n}");
                let started = Instant::now();
                let outcome = deliver(&http, &url, &id, &from, &text).await;
                samples.push(Sample {
                    start_us: (started - begun).as_micros() as u64,
                    latency_us: started.elapsed().as_micros() as u32,
                    outcome,
                });
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await?);
    }
    Ok(all)
}

fn cycling_senders(n: u64, senders: u64) -> (String, String) {
    let s = n % senders.max(1);
    (common::sender_phone(s), common::intro_text(s))
}

fn new_senders(n: u64, _: u64) -> (String, String) {
    // Sender numbers far from those of `ingest` runs, should both share a database.
    let s = 1_000_000 + n;
    (common::sender_phone(s), common::intro_text(s))
}

/// Prints throughput, latency percentiles and outcomes of `samples`.
fn report(samples: &[Sample], seconds: f64) {
    let mut outcomes: BTreeMap<Outcome, u64> = BTreeMap::new();
    let mut latencies: Vec<u32> = Vec::with_capacity(samples.len());
    for s in samples {
        *outcomes.entry(s.outcome.clone()).or_default() += 1;
        latencies.push(s.latency_us);
    }
    latencies.sort_unstable();
    let stored = outcomes.get(&Outcome::Stored).copied().unwrap_or(0);
    let errors: u64 = outcomes
        .iter()
        .filter(|(o, _)| !matches!(o, Outcome::Stored))
        .map(|(_, n)| n)
        .sum();
    let ms = |q: f64| quantile(&latencies, q).map_or(0.0, |us| us as f64 / 1000.0);
    println!(
        "requests {}  stored {}  errors {}  -> {:.0} msgs/s",
        samples.len(),
        stored,
        errors,
        stored as f64 / seconds
    );
    println!(
        "latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(1.0)
    );
    if errors > 0 {
        println!("outcomes: {outcomes:?}");
    }
}

async fn states(
    db: &DatabaseConnection,
    tenant: TenantId,
) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows: Vec<(ExtractionState, i64)> = message::Entity::scoped(tenant)
        .select_only()
        .column(message::Column::ExtractionState)
        .column_as(message::Column::Id.count(), "n")
        .group_by(message::Column::ExtractionState)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(s, n)| (format!("{s:?}").to_lowercase(), n))
        .collect())
}

async fn ingest(
    args: &Args,
    server: &Server,
    db: &DatabaseConnection,
    tenant: TenantId,
    duration: u64,
    warmup: u64,
    senders: u64,
) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let begun = Instant::now();
    let driver = tokio::spawn(load(Load {
        connections: args.connections,
        url: server.url("/webhooks/generic"),
        begun,
        stop: stop.clone(),
        limit: u64::MAX,
        message: cycling_senders,
        senders,
    }));
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    if !args.cold && !common::is_sqlite(db) {
        // What autovacuum does a minute into a new database: without statistics the
        // server's cached generic plans pick poor indexes on the (then empty) tables.
        db.execute_unprepared("ANALYZE").await?;
    }
    let cpu_server = server.cpu_seconds();
    let cpu_self = common::process_cpu_seconds(std::process::id());
    let load_during_start = common::load_average();
    tokio::time::sleep(Duration::from_secs(duration)).await;
    let cpu_server = server.cpu_seconds() - cpu_server;
    let cpu_self = common::process_cpu_seconds(std::process::id()) - cpu_self;
    let load_during = common::load_average();
    let (rss, _) = server.memory_mib();
    stop.store(true, Ordering::Relaxed);
    let samples = driver.await??;
    let (from, to) = (warmup * 1_000_000, (warmup + duration) * 1_000_000);
    let measured: Vec<Sample> = samples
        .into_iter()
        .filter(|s| s.start_us >= from && s.start_us < to)
        .collect();
    println!(
        "\ningest: {} connections, {warmup} s warm-up{}, {duration} s measured, {senders} senders",
        args.connections,
        if args.cold || common::is_sqlite(db) {
            ""
        } else {
            " then ANALYZE"
        }
    );
    report(&measured, duration as f64);
    println!(
        "CPU over the window: server {:.0}% of a core, load generator {:.0}%; server RSS {rss:.0} MiB; load average {load_during_start} -> {load_during}",
        100.0 * cpu_server / duration as f64,
        100.0 * cpu_self / duration as f64,
    );
    println!(
        "messages by extraction state: {:?}",
        states(db, tenant).await?
    );
    Ok(())
}

/// One e2e batch: when the last webhook was answered, when nothing was pending any more,
/// every request's sample and the load average when posting ended.
struct Batch {
    posted: Duration,
    finished: Duration,
    samples: Vec<Sample>,
    load: String,
}

/// Posts `messages` messages (`message(n)`) and waits until none is pending extraction.
async fn batch(
    args: &Args,
    server: &Server,
    db: &DatabaseConnection,
    tenant: TenantId,
    messages: u64,
    message: fn(u64, u64) -> (String, String),
) -> anyhow::Result<Batch> {
    let before: i64 = states(db, tenant).await?.values().sum();
    let begun = Instant::now();
    let mut driver = Some(tokio::spawn(load(Load {
        connections: args.connections,
        url: server.url("/webhooks/generic"),
        begun,
        stop: Arc::new(AtomicBool::new(false)),
        limit: messages,
        message,
        senders: 0,
    })));
    let mut posted = None;
    loop {
        // Each check counts the tenant's messages by state: every 250 ms keeps what it costs
        // the database small beside the work measured, for a quarter second of resolution.
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(task) = driver.take_if(|t| t.is_finished()) {
            posted = Some((begun.elapsed(), task.await??, common::load_average()));
        }
        if let Some((_, samples, _)) = &posted {
            let stored = samples
                .iter()
                .filter(|s| s.outcome == Outcome::Stored)
                .count() as i64;
            let by_state = states(db, tenant).await?;
            let pending = by_state.get("pending").copied().unwrap_or(0);
            let total: i64 = by_state.values().sum();
            if pending == 0 && total >= before + stored {
                let finished = begun.elapsed();
                let (posted, samples, load) = posted.take().expect("checked above");
                return Ok(Batch {
                    posted,
                    finished,
                    samples,
                    load,
                });
            }
        }
        if begun.elapsed() > Duration::from_secs(1800) {
            bail!("messages still pending after 30 minutes");
        }
    }
}

fn primer_senders(n: u64, _: u64) -> (String, String) {
    let s = 3_000_000 + n;
    (common::sender_phone(s), common::intro_text(s))
}

async fn e2e(
    args: &Args,
    server: &Server,
    db: &DatabaseConnection,
    tenant: TenantId,
    messages: u64,
    prime: u64,
) -> anyhow::Result<()> {
    if prime > 0 {
        let primed = batch(args, server, db, tenant, prime, primer_senders).await?;
        println!(
            "primed with {prime} messages (extracted after {:.1} s)",
            primed.finished.as_secs_f64()
        );
        if !args.cold && !common::is_sqlite(db) {
            db.execute_unprepared("ANALYZE").await?;
            println!("ANALYZE done");
        }
    }
    let before = states(db, tenant).await?;
    let clients_before = client::Entity::scoped(tenant).count(db).await?;
    let cpu_server = server.cpu_seconds();
    let cpu_self = common::process_cpu_seconds(std::process::id());
    let measured = batch(args, server, db, tenant, messages, new_senders).await?;
    let cpu_server = server.cpu_seconds() - cpu_server;
    let cpu_self = common::process_cpu_seconds(std::process::id()) - cpu_self;
    let posted = measured.posted.as_secs_f64();
    let total = measured.finished.as_secs_f64();
    println!(
        "\ne2e: {messages} self-introductions from new senders, {} connections",
        args.connections
    );
    println!("webhooks (while extraction runs), {posted:.1} s:");
    report(&measured.samples, posted);
    let after = states(db, tenant).await?;
    let delta = |state: &str| {
        after.get(state).copied().unwrap_or(0) - before.get(state).copied().unwrap_or(0)
    };
    let done = delta("done");
    let clients = client::Entity::scoped(tenant).count(db).await? - clients_before;
    let linked = conversation::Entity::scoped(tenant)
        .filter(conversation::Column::ClientId.is_not_null())
        .count(db)
        .await?;
    let conversations = conversation::Entity::scoped(tenant).count(db).await?;
    println!(
        "all extracted after {total:.1} s: {:.0} msgs/s end to end (webhook to linked client)",
        done as f64 / total
    );
    println!(
        "measured messages: done {done}, skipped {}, failed {}; clients created {clients}; conversations linked {linked} of {conversations} (primer included)",
        delta("skipped"),
        delta("failed"),
    );
    println!(
        "CPU: server {:.0}% of a core, load generator {:.0}%; load average at end of posting {}",
        100.0 * cpu_server / total,
        100.0 * cpu_self / total,
        measured.load,
    );
    Ok(())
}
