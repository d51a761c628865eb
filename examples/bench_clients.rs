//! Client-list benchmark: end-to-end GraphQL latency over HTTP on 127.0.0.1, against the real
//! app started in-process on ONE database connection.
//!
//! ```sh
//! cargo run --release --example bench_clients -- --database-url sqlite:///tmp/bench.db --clients 100000
//! cargo run --release --example bench_clients -- \
//!     --database-url postgres://postgres@127.0.0.1:5432/clientele_bench --clients 100000
//! ```
//!
//! It seeds the `bench` tenant up to `--clients` (with `clientele seed`'s generator), then
//! sends each query `--warmup` times untimed and `--iterations` times timed, one request at a
//! time, and prints p50/p90/p99/max and requests per second. `--explain` also prints the SQL
//! the list and count of each query run and the database's plan for it.

use anyhow::{Context, bail};
use clap::Parser;
use clientele::config::Config;
use clientele_domain::clients::query::{self, ClientFilter};
use clientele_domain::entities::client::{self, PurchaseIntent};
use clientele_domain::pagination::{Ordering, PageArgs};
use clientele_domain::tenants::{self, NewTenant};
use clientele_domain::{Role, TenantId};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, PaginatorTrait, QuerySelect, QueryTrait,
    Statement,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[path = "../src/seed_cli.rs"]
mod seed_cli;

const TENANT: &str = "bench";

#[derive(Parser)]
#[command(about = "Benchmark the clients list over GraphQL")]
struct Args {
    /// sqlite://FILE or postgres://USER@HOST/DB
    #[arg(long)]
    database_url: String,
    /// Clients the `bench` tenant should have (seeded up to this many).
    #[arg(long, default_value_t = 100_000)]
    clients: usize,
    /// Timed requests per query.
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// Untimed requests per query first.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Print each query's SQL and the database's plan for it.
    #[arg(long)]
    explain: bool,
}

struct Case {
    name: &'static str,
    query: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = Config::defaults();
    config.bind = "127.0.0.1:0".parse()?;
    config.database_url = args.database_url.clone();
    config.demo_tenant = false;

    // Seed (several connections are fine here; only the measurement uses one).
    let db = clientele::app::open_database(&config).await?;
    let backend = db.get_database_backend();
    let tenant = match tenants::find_by_slug(&db, TENANT).await? {
        Some(t) => t,
        None => {
            tenants::create(
                &db,
                NewTenant {
                    slug: TENANT.into(),
                    name: "Bench".into(),
                    default_region: "CA".into(),
                    timezone: "America/Toronto".into(),
                },
            )
            .await?
        }
    };
    let tenant_id = TenantId(tenant.id);
    let have = client::Entity::scoped(tenant_id).count(&db).await? as usize;
    if have < args.clients {
        let started = Instant::now();
        seed_cli::run(&config, TENANT, args.clients - have).await?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "seeding: {} clients in {secs:.1}s ({:.0} clients/s)",
            args.clients - have,
            (args.clients - have) as f64 / secs
        );
        if backend == DbBackend::Postgres {
            // What autovacuum does shortly after a bulk load; the planner needs the statistics.
            let started = Instant::now();
            db.execute_unprepared("ANALYZE").await?;
            println!("ANALYZE: {:.1}s", started.elapsed().as_secs_f64());
        }
    }
    let total = client::Entity::scoped(tenant_id).count(&db).await?;

    if args.explain {
        explain(&db, tenant_id).await?;
    }
    db.close().await?;

    // The measured app: one connection.
    config.db_max_connections = 1;
    let running = clientele::app::start(&config).await?;
    let token = running
        .tokens
        .mint(
            tenant_id,
            "bench",
            "Bench",
            Role::Agent,
            Duration::from_secs(3600),
        )
        .map_err(|e| anyhow::anyhow!("cannot mint a token: {e}"))?;
    let url = format!("http://{}/graphql", running.addr);
    let http = reqwest::Client::new();
    let post = |query: String| {
        let request = http
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({ "query": query }));
        async move {
            let started = Instant::now();
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            let elapsed = started.elapsed();
            let value: Value = serde_json::from_slice(&body)
                .with_context(|| format!("HTTP {status}: not JSON"))?;
            if !status.is_success() || value.get("errors").is_some() {
                bail!("HTTP {status}: {value}");
            }
            anyhow::Ok((elapsed, value))
        }
    };

    // Page 2 of the name-sorted list starts after page 1's end cursor.
    let name_order = "orderBy: {field: NAME, direction: ASC}";
    let (_, page1) = post(format!(
        "{{ clients(first: 50, {name_order}) {{ pageInfo {{ endCursor }} }} }}"
    ))
    .await?;
    let cursor = page1["data"]["clients"]["pageInfo"]["endCursor"]
        .as_str()
        .context("no end cursor")?
        .to_string();

    let search = r#"filter: {search: "smi"}"#;
    let filtered = r#"filter: {statuses: ["active"], hasEmail: true, intents: [COMPARING]}"#;
    let cases = [
        Case {
            name: "Q1 search \"smi\" + totalCount",
            query: format!(
                "{{ clients(first: 50, {search}) {{ totalCount edges {{ node {{ id displayName email phone }} }} }} }}"
            ),
        },
        Case {
            name: "Q2 filtered + totalCount",
            query: format!(
                "{{ clients(first: 50, {filtered}) {{ totalCount edges {{ node {{ id displayName }} }} }} }}"
            ),
        },
        Case {
            name: "Q3 search \"smi\", no count",
            query: format!(
                "{{ clients(first: 50, {search}) {{ edges {{ node {{ id displayName email phone }} }} }} }}"
            ),
        },
        Case {
            name: "Q4 by name, page 2 (cursor)",
            query: format!(
                "{{ clients(first: 50, after: \"{cursor}\", {name_order}) {{ edges {{ node {{ id displayName }} }} pageInfo {{ hasNextPage }} }} }}"
            ),
        },
        Case {
            name: "Q5 filtered, no count",
            query: format!(
                "{{ clients(first: 50, {filtered}) {{ edges {{ node {{ id displayName }} }} }} }}"
            ),
        },
    ];

    let kind = match backend {
        DbBackend::Postgres => "PostgreSQL",
        DbBackend::Sqlite => "SQLite",
        _ => "other",
    };
    println!(
        "\n{kind} ({}), tenant {TENANT:?}: {total} clients; 1 connection; {} warm-up + {} timed requests per query, sequential HTTP on 127.0.0.1\n",
        clientele::db::redact(&args.database_url),
        args.warmup,
        args.iterations
    );
    println!(
        "{:<32} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "query", "matches", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s"
    );
    for case in &cases {
        let mut matches = None;
        for _ in 0..args.warmup {
            let (_, value) = post(case.query.clone()).await?;
            matches = value["data"]["clients"]["totalCount"].as_u64().or(matches);
        }
        let mut times = Vec::with_capacity(args.iterations);
        let started = Instant::now();
        for _ in 0..args.iterations {
            let (elapsed, value) = post(case.query.clone()).await?;
            matches = value["data"]["clients"]["totalCount"].as_u64().or(matches);
            times.push(elapsed);
        }
        let wall = started.elapsed().as_secs_f64();
        times.sort();
        let ms = |q: f64| {
            let rank = ((q * times.len() as f64).ceil() as usize).clamp(1, times.len());
            times[rank - 1].as_secs_f64() * 1000.0
        };
        println!(
            "{:<32} {:>8} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.0}",
            case.name,
            matches.map_or("-".to_string(), |m| m.to_string()),
            ms(0.50),
            ms(0.90),
            ms(0.99),
            ms(1.0),
            times.len() as f64 / wall
        );
    }
    running.shutdown().await?;
    Ok(())
}

/// Prints the list and count SQL of the benchmarked filters and the plan of each.
async fn explain(db: &DatabaseConnection, tenant: TenantId) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    let search = ClientFilter {
        search: Some("smi".into()),
        ..Default::default()
    };
    let filtered = ClientFilter {
        statuses: vec!["active".into()],
        has_email: Some(true),
        intents: vec![PurchaseIntent::Comparing],
        ..Default::default()
    };
    let newest = Ordering {
        name: "created-desc",
        column: Some(client::Column::CreatedAt),
        descending: true,
    };
    for (name, filter) in [("search \"smi\"", search), ("filtered", filtered)] {
        let page = PageArgs {
            first: Some(50),
            ..Default::default()
        }
        .resolve(newest.name)?;
        let base = query::filtered(backend, tenant, &filter)?;
        let list = page
            .apply(base.clone(), &newest, client::Column::Id)
            .limit(page.limit + 1)
            .build(backend);
        // What `PaginatorTrait::count` sends.
        let inner = base.build(backend);
        let count = Statement {
            sql: format!(
                "SELECT COUNT(*) AS num_items FROM ({}) AS \"sub_query\"",
                inner.sql
            ),
            ..inner
        };
        for (what, statement) in [("list", list), ("count", count)] {
            println!("\n== {name}: {what}\n{statement}\n");
            let prefix = match backend {
                DbBackend::Postgres => "EXPLAIN (ANALYZE, BUFFERS) ",
                _ => "EXPLAIN QUERY PLAN ",
            };
            let rows = db
                .query_all_raw(Statement {
                    sql: format!("{prefix}{}", statement.sql),
                    ..statement.clone()
                })
                .await?;
            for row in rows {
                let line: String = match backend {
                    DbBackend::Postgres => row.try_get("", "QUERY PLAN")?,
                    _ => row.try_get("", "detail")?,
                };
                println!("  {line}");
            }
            let started = Instant::now();
            db.query_all_raw(statement).await?;
            println!(
                "  (run once: {:.2} ms)",
                started.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    Ok(())
}
