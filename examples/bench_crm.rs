//! CRM sync benchmark, the full path: clients in the database → `crm::sync::push` → the local
//! fake CRM with its published limits, then incremental `crm::sync::pull` back. Build once:
//!
//! ```sh
//! cargo build --release --example bench_crm
//! target/release/examples/bench_crm                       # SQLite, 100,000 clients, every provider
//! target/release/examples/bench_crm --db postgres --provider hubspot
//! target/release/examples/bench_crm --clients 20000 --changes 10000
//! ```
//!
//! `--db` is `sqlite` (a new file under /tmp), `postgres` (a new database `clientele_bench_<ts>`
//! on `postgres://postgres@127.0.0.1:5432`) or a PostgreSQL server URL; it is removed afterwards
//! unless `--keep`.
//!
//! Per provider: a tenant of its own with `--clients` clients (bulk-inserted; not timed into the
//! figures), a connection made as an admin would (OAuth code + PKCE against the fake, or client
//! credentials), then:
//! 1. push: every client, timed; requests, 429s and the share of the rate-limit ceiling;
//! 2. a second push, which must push nothing;
//! 3. a first pull (it reads everything since the connection started: the pushed records),
//!    timed and reported, which establishes the cursor;
//! 4. `--changes` remote changes (nine in ten update the city of a pushed contact, one in ten
//!    are new contacts), then the incremental pull, timed;
//! 5. checks: the fake holds one record per client with unique external and remote ids, the
//!    updates and new contacts arrived, and a push after the pull pushes nothing.
//!
//! The HTTP policy is the production default: the executor paces requests to the window the
//! CRM announces and honours `Retry-After`. Exits non-zero when a check fails.

#[path = "bench_common/mod.rs"]
mod common;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use clientele_connectors::fakes::{
    FakeDynamics, FakeHubSpot, FakeOptions, FakeSalesforce, FakeServer, FakeStats,
};
use clientele_connectors::{CrmContact, HttpPolicy};
use clientele_domain::clients::{self, fields};
use clientele_domain::crm::{self, CrmSettings, NewConnection, sync};
use clientele_domain::entities::client::{self, ClientSource};
use clientele_domain::entities::crm_link;
use clientele_domain::tenants::{self, NewTenant};
use clientele_domain::{Actor, Domain, InProcessBus, Role, TenantId};
use common::FreshDatabase;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, TransactionTrait,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432";
const CITY: &str = "Pulltown";

#[derive(Parser)]
#[command(about = "Benchmark CRM push and incremental pull against the local fakes")]
struct Args {
    /// `sqlite`, `postgres` (the local server) or a PostgreSQL server URL.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Clients pushed per provider.
    #[arg(long, default_value_t = 100_000)]
    clients: usize,
    /// Remote changes pulled incrementally per provider.
    #[arg(long, default_value_t = 10_000)]
    changes: usize,
    #[arg(long, value_enum, default_value_t = Which::All)]
    provider: Which,
    /// The database pool size.
    #[arg(long, default_value_t = 4)]
    db_max_connections: u32,
    /// Keep the database afterwards.
    #[arg(long)]
    keep: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Hubspot,
    Salesforce,
    Dynamics,
    All,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    HubSpot,
    Salesforce,
    Dynamics,
}

impl Kind {
    fn slug(self) -> &'static str {
        match self {
            Kind::HubSpot => "hubspot",
            Kind::Salesforce => "salesforce",
            Kind::Dynamics => "dynamics",
        }
    }
}

/// A running fake of either provider.
enum Fake {
    HubSpot(FakeHubSpot),
    Salesforce(FakeSalesforce),
    Dynamics(FakeDynamics),
}

impl std::ops::Deref for Fake {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        match self {
            Fake::HubSpot(f) => f,
            Fake::Salesforce(f) => f,
            Fake::Dynamics(f) => f,
        }
    }
}

impl Fake {
    async fn start(kind: Kind) -> std::io::Result<Self> {
        Ok(match kind {
            Kind::HubSpot => Fake::HubSpot(FakeHubSpot::start_with(FakeOptions::hubspot()).await?),
            Kind::Salesforce => {
                Fake::Salesforce(FakeSalesforce::start_with(FakeOptions::salesforce()).await?)
            }
            Kind::Dynamics => {
                Fake::Dynamics(FakeDynamics::start_with(FakeOptions::dynamics()).await?)
            }
        })
    }
}

/// What one provider's run measured.
struct Figures {
    kind: Kind,
    setup: Duration,
    push: Duration,
    pushed: i32,
    push_failed: i32,
    push_stats: FakeStats,
    /// Limit text, ceiling text and share text.
    ceiling: (String, String, String),
    full_pull: Duration,
    full_pulled: i32,
    full_requests: u64,
    pull: Duration,
    pulled: i32,
    pull_failed: i32,
    pull_requests: u64,
    failures: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let target = if args.db == "postgres" {
        PG_DEFAULT.to_owned()
    } else {
        args.db.clone()
    };
    let fresh = FreshDatabase::create(&target).await?;
    let result = run(&args, &fresh.url).await;
    if args.keep {
        println!("kept database {}", clientele::db::redact(&fresh.url));
    } else {
        fresh.remove().await?;
    }
    let failures = result?;
    if failures > 0 {
        bail!("{failures} correctness check(s) failed");
    }
    Ok(())
}

async fn run(args: &Args, url: &str) -> anyhow::Result<usize> {
    let db = clientele::db::connect(url, args.db_max_connections).await?;
    clientele::db::migrate(&db).await?;
    let mut domain = Domain::new(db.clone(), Arc::new(InProcessBus::new(1024)));
    domain.crm = CrmSettings::new(
        None,
        HttpPolicy::default(),
        "http://127.0.0.1/oauth/callback".into(),
    );
    println!(
        "{} ({}), pool {}, {} clients and {} remote changes per provider; machine {:.0}% busy, load {} ({} cores)",
        common::backend_name(url),
        clientele::db::redact(url),
        args.db_max_connections,
        args.clients,
        args.changes,
        common::machine_busy_percent().await,
        common::load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let kinds: Vec<Kind> = match args.provider {
        Which::Hubspot => vec![Kind::HubSpot],
        Which::Salesforce => vec![Kind::Salesforce],
        Which::Dynamics => vec![Kind::Dynamics],
        Which::All => vec![Kind::HubSpot, Kind::Salesforce, Kind::Dynamics],
    };
    let mut all = Vec::new();
    for kind in kinds {
        let figures = provider_run(&domain, args, kind)
            .await
            .with_context(|| format!("{} run", kind.slug()))?;
        all.push(figures);
    }
    print_table(args, &all);
    db.close().await?;
    Ok(all.iter().map(|f| f.failures.len()).sum())
}

fn admin(tenant: TenantId) -> Actor {
    Actor {
        user_id: "bench-admin".into(),
        name: "Bench".into(),
        tenant,
        role: Role::Admin,
    }
}

/// A tenant with `n` clients (names, email, phone), inserted in bulk.
async fn seed(domain: &Domain, slug: &str, n: usize) -> anyhow::Result<TenantId> {
    let tenant = tenants::create(
        &domain.db,
        NewTenant {
            slug: slug.into(),
            name: format!("Bench {slug}"),
            default_region: "CA".into(),
            timezone: "America/Toronto".into(),
        },
    )
    .await?;
    let tenant = TenantId(tenant.id);
    let rules = clients::rules_for(&domain.db, tenant).await?;
    const ROWS_PER_INSERT: usize = 500;
    const ROWS_PER_TXN: usize = 10_000;
    let mut i = 0;
    while i < n {
        let txn = domain.db.begin().await?;
        let end = (i + ROWS_PER_TXN).min(n);
        while i < end {
            let upto = (i + ROWS_PER_INSERT).min(end);
            let rows: Vec<client::ActiveModel> = (i..upto)
                .map(|k| {
                    let mut row = clients::blank(tenant, &rules, ClientSource::Import);
                    let (first, last) = name(k as u64);
                    row.email = Some(format!(
                        "{}.{}{k}@example.com",
                        first.to_lowercase(),
                        last.to_lowercase()
                    ));
                    row.phone = Some(common::sender_phone(k as u64));
                    row.first_name = Some(first.into());
                    row.last_name = Some(last.into());
                    fields::refresh_derived(&mut row);
                    row.into_active_model().reset_all()
                })
                .collect();
            client::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await?;
            i = upto;
        }
        txn.commit().await?;
    }
    // What autovacuum does shortly after a bulk load (and `clientele import` does itself): the
    // planner needs the statistics. Without them PostgreSQL sorted the tenant's whole client
    // table for every batch of 200 (93 ms instead of 0.5 ms), which halved the push rate.
    domain.db.execute_unprepared("ANALYZE").await?;
    Ok(tenant)
}

fn name(i: u64) -> (&'static str, &'static str) {
    const FIRST: [&str; 10] = [
        "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
        "Susan",
    ];
    const LAST: [&str; 10] = [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
        "Taylor",
    ];
    (FIRST[(i % 10) as usize], LAST[((i / 10) % 10) as usize])
}

/// The value of query parameter `key` in `url`.
fn query_param(url: &str, key: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(url)?;
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .with_context(|| format!("no {key} in the authorization URL"))
}

/// Connects `fake` as an admin would; returns the active connection's id.
async fn connect(domain: &Domain, actor: &Actor, kind: Kind, fake: &Fake) -> anyhow::Result<Uuid> {
    let cfg = fake.connection_config();
    let connected = crm::connect(
        domain,
        actor,
        NewConnection {
            provider: kind.slug().into(),
            client_id: cfg.client_id.clone(),
            client_secret: cfg.client_secret.clone(),
            api_base_url: cfg.api_base_url.as_ref().map(|u| u.to_string()),
            token_url: cfg.token_url.as_ref().map(|u| u.to_string()),
            auth_url: cfg.auth_url.as_ref().map(|u| u.to_string()),
            azure_tenant: cfg.tenant.clone(),
            ..NewConnection::default()
        },
    )
    .await?;
    let id = connected.connection.id;
    if let Some(url) = connected.authorization_url {
        let state = query_param(&url, "state")?;
        let code = fake.approve(&query_param(&url, "code_challenge")?);
        let row = crm::complete_authorization(domain, &state, &code).await?;
        if row.last_error.is_some() {
            bail!("authorization failed: {:?}", row.last_error);
        }
    }
    let row = crm::get(domain, actor, id).await?;
    if row.status != clientele_domain::entities::crm_connection::ConnectionStatus::Active {
        bail!("the connection is {:?}: {:?}", row.status, row.last_error);
    }
    Ok(id)
}

fn delta(after: &FakeStats, before: &FakeStats) -> FakeStats {
    FakeStats {
        api_requests: after.api_requests - before.api_requests,
        token_requests: after.token_requests - before.token_requests,
        refreshes: after.refreshes - before.refreshes,
        unauthorized: after.unauthorized - before.unauthorized,
        rate_limited: after.rate_limited - before.rate_limited,
        injected_failures: after.injected_failures - before.injected_failures,
        upsert_calls: after.upsert_calls - before.upsert_calls,
        max_batch: after.max_batch,
    }
}

/// Limit, ceiling in records/s and the share of it reached.
fn ceiling(
    kind: Kind,
    records: usize,
    elapsed: Duration,
    stats: &FakeStats,
) -> (String, String, String) {
    let rate = records as f64 / elapsed.as_secs_f64();
    let per_request = stats.max_batch.max(1) as f64;
    match kind {
        Kind::HubSpot => {
            let ceiling = 110.0 / 10.0 * per_request;
            (
                "110 req / 10 s".into(),
                format!("{ceiling:.0} rec/s"),
                format!("{:.1} %", 100.0 * rate / ceiling),
            )
        }
        Kind::Dynamics => {
            let ceiling = 6000.0 / 300.0 * per_request;
            let req_rate = stats.api_requests as f64 / elapsed.as_secs_f64();
            (
                "6,000 req / 5 min, 52 concurrent".into(),
                format!("{ceiling:.0} rec/s"),
                format!(
                    "{:.0} % ({:.0} % of 20 req/s)",
                    100.0 * rate / ceiling,
                    100.0 * req_rate / 20.0
                ),
            )
        }
        Kind::Salesforce => (
            "15,000 req / day".into(),
            "no short window".into(),
            format!(
                "{:.1} % of the daily allowance",
                100.0 * stats.api_requests as f64 / 15_000.0
            ),
        ),
    }
}

async fn live_clients(domain: &Domain, tenant: TenantId) -> anyhow::Result<u64> {
    Ok(client::Entity::find()
        .filter(client::Column::TenantId.eq(tenant.0))
        .filter(client::Column::DeletedAt.is_null())
        .filter(client::Column::MergedIntoId.is_null())
        .count(&domain.db)
        .await?)
}

async fn provider_run(domain: &Domain, args: &Args, kind: Kind) -> anyhow::Result<Figures> {
    let n = args.clients;
    let mut failures = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            println!("  CHECK FAILED: {what}");
            failures.push(what);
        }
    };

    let started = Instant::now();
    let tenant = seed(domain, &format!("bench-{}", kind.slug()), n).await?;
    let setup = started.elapsed();
    println!(
        "{}: {n} clients inserted in {:.1} s (setup, not measured)",
        kind.slug(),
        setup.as_secs_f64()
    );
    let actor = admin(tenant);
    let fake = Fake::start(kind).await?;
    let connection = connect(domain, &actor, kind, &fake).await?;

    // 1. push
    let before = fake.stats();
    let started = Instant::now();
    let summary = sync::push(domain, tenant, connection)
        .await?
        .context("the connection did not push")?;
    let push = started.elapsed();
    let push_stats = delta(&fake.stats(), &before);
    let ceiling = ceiling(kind, summary.pushed as usize, push, &push_stats);
    println!(
        "{}: pushed {} ({} failed) in {:.1} s = {:.0} rec/s; {} requests, {} rate-limited (429), {} token requests; ceiling {} ({}): {}",
        kind.slug(),
        summary.pushed,
        summary.failed,
        push.as_secs_f64(),
        summary.pushed as f64 / push.as_secs_f64(),
        push_stats.api_requests,
        push_stats.rate_limited,
        push_stats.token_requests,
        ceiling.1,
        ceiling.0,
        ceiling.2,
    );
    check(
        summary.pushed as usize == n && summary.failed == 0,
        format!(
            "push: {} pushed, {} failed, of {n}",
            summary.pushed, summary.failed
        ),
    );

    // 2. the fake holds each client once; nothing is left to push
    let remote = fake.contacts();
    let externals: HashSet<&str> = remote.iter().map(|c| c.external_id.as_str()).collect();
    let remote_ids: HashSet<&str> = remote
        .iter()
        .filter_map(|c| c.remote_id.as_deref())
        .collect();
    check(
        remote.len() == n && externals.len() == n && remote_ids.len() == n,
        format!(
            "the fake holds {} records, {} external ids, {} remote ids; expected {n}",
            remote.len(),
            externals.len(),
            remote_ids.len()
        ),
    );
    let again = sync::push(domain, tenant, connection)
        .await?
        .context("the connection did not push")?;
    check(
        again.pushed == 0 && again.failed == 0,
        format!(
            "second push pushed {} ({} failed)",
            again.pushed, again.failed
        ),
    );

    // 3. the first pull reads everything since the connection started
    let before = fake.stats();
    let started = Instant::now();
    let first = sync::pull(domain, tenant, connection)
        .await?
        .context("the connection did not pull")?;
    let full_pull = started.elapsed();
    let full_requests = fake.stats().api_requests - before.api_requests;
    println!(
        "{}: first pull read {} ({} skipped) in {:.1} s = {:.0} rec/s, {} requests",
        kind.slug(),
        first.pulled,
        first.failed,
        full_pull.as_secs_f64(),
        first.pulled as f64 / full_pull.as_secs_f64(),
        full_requests,
    );

    // 4. remote changes: nine in ten update a pushed contact's city, the rest are new
    let new_ones = args.changes / 10;
    let updates = args.changes - new_ones;
    for c in remote.iter().take(updates) {
        fake.insert_remote_change(CrmContact {
            remote_id: c.remote_id.clone(),
            city: Some(CITY.into()),
            ..CrmContact::default()
        });
    }
    for k in 0..new_ones {
        fake.insert_remote_change(CrmContact {
            first_name: Some("Remote".into()),
            last_name: Some(format!("Person{k}")),
            email: Some(format!("remote.person{k}@example.org")),
            ..CrmContact::default()
        });
    }
    let before = fake.stats();
    let started = Instant::now();
    let second = sync::pull(domain, tenant, connection)
        .await?
        .context("the connection did not pull")?;
    let pull = started.elapsed();
    let pull_requests = fake.stats().api_requests - before.api_requests;
    println!(
        "{}: incremental pull of {} changes: {} applied ({} skipped) in {:.1} s = {:.0} rec/s, {} requests",
        kind.slug(),
        args.changes,
        second.pulled,
        second.failed,
        pull.as_secs_f64(),
        second.pulled as f64 / pull.as_secs_f64(),
        pull_requests,
    );

    // 5. the changes arrived; nothing goes back
    let moved = client::Entity::find()
        .filter(client::Column::TenantId.eq(tenant.0))
        .filter(client::Column::City.eq(CITY))
        .count(&domain.db)
        .await?;
    check(
        moved as usize == updates,
        format!("{moved} clients have the pulled city; expected {updates}"),
    );
    let live = live_clients(domain, tenant).await?;
    check(
        live as usize == n + new_ones,
        format!("{live} clients after the pull; expected {}", n + new_ones),
    );
    let linked = crm_link::Entity::find()
        .filter(crm_link::Column::ConnectionId.eq(connection))
        .filter(crm_link::Column::RemoteId.is_not_null())
        .count(&domain.db)
        .await?;
    check(
        linked as usize == n + new_ones,
        format!("{linked} linked clients; expected {}", n + new_ones),
    );
    check(
        second.pulled as usize >= args.changes && second.failed == 0,
        format!(
            "incremental pull applied {} ({} skipped) of {} changes",
            second.pulled, second.failed, args.changes
        ),
    );
    let after = sync::push(domain, tenant, connection)
        .await?
        .context("the connection did not push")?;
    check(
        after.pushed == 0 && after.failed == 0,
        format!(
            "the push after the pull pushed {} ({} failed)",
            after.pushed, after.failed
        ),
    );

    Ok(Figures {
        kind,
        setup,
        push,
        pushed: summary.pushed,
        push_failed: summary.failed,
        push_stats,
        ceiling,
        full_pull,
        full_pulled: first.pulled,
        full_requests,
        pull,
        pulled: second.pulled,
        pull_failed: second.failed,
        pull_requests,
        failures,
    })
}

fn print_table(args: &Args, all: &[Figures]) {
    println!();
    println!(
        "| provider (limit) | push {} clients | requests / 429s | ceiling | share | first pull (all) | incremental pull of {} | checks |",
        args.clients, args.changes
    );
    println!("|---|---|---|---|---|---|---|---|");
    for f in all {
        println!(
            "| {} ({}) | {:.1} s, {:.0} rec/s{} | {} / {} | {} | {} | {} in {:.1} s = {:.0} rec/s, {} req | {} in {:.1} s = {:.0} rec/s, {} req{} | {} |",
            f.kind.slug(),
            f.ceiling.0,
            f.push.as_secs_f64(),
            f.pushed as f64 / f.push.as_secs_f64(),
            if f.push_failed > 0 {
                format!(" ({} failed)", f.push_failed)
            } else {
                String::new()
            },
            f.push_stats.api_requests,
            f.push_stats.rate_limited,
            f.ceiling.1,
            f.ceiling.2,
            f.full_pulled,
            f.full_pull.as_secs_f64(),
            f.full_pulled as f64 / f.full_pull.as_secs_f64(),
            f.full_requests,
            f.pulled,
            f.pull.as_secs_f64(),
            f.pulled as f64 / f.pull.as_secs_f64(),
            f.pull_requests,
            if f.pull_failed > 0 {
                format!(" ({} skipped)", f.pull_failed)
            } else {
                String::new()
            },
            if f.failures.is_empty() {
                "ok".to_owned()
            } else {
                format!("{} FAILED", f.failures.len())
            },
        );
    }
    let setup: Vec<String> = all
        .iter()
        .map(|f| format!("{} {:.1} s", f.kind.slug(), f.setup.as_secs_f64()))
        .collect();
    println!("(setup, not measured: {})", setup.join(", "));
}
