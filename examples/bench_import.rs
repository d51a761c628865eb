//! CSV import benchmark: the code `clientele import` runs (`clients::csv_io::import`), on a fresh
//! database, over a generated file of `--rows` clients in the export's format. Build once:
//!
//! ```sh
//! cargo build --release --example bench_import
//! target/release/examples/bench_import                  # SQLite, 100,000 rows
//! target/release/examples/bench_import --db postgres    # a new database on 127.0.0.1:5432
//! ```
//!
//! Three timed passes over the same tenant:
//! 1. the first import: every row creates a client (with its email and phone identities and an
//!    `imported` timeline event);
//! 2. the same file again: every row must be unchanged (nothing written);
//! 3. the file with every row's status and city changed: every row must update its client.
//!
//! Each pass's counts are checked (created / unchanged / updated and no row errors); the run
//! exits non-zero when one is off. The database is removed afterwards unless `--keep`.

#[path = "bench_common/mod.rs"]
mod common;

use anyhow::bail;
use clap::Parser;
use clientele_domain::clients::csv_io::{self, ImportReport};
use clientele_domain::entities::client;
use clientele_domain::tenants::{self, NewTenant};
use clientele_domain::{Actor, Domain, InProcessBus, Role, TenantId};
use common::FreshDatabase;
use sea_orm::{EntityTrait, PaginatorTrait};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The allocator `clientele import` runs with (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432";

#[derive(Parser)]
#[command(about = "Benchmark CSV import (first import, re-import, update import)")]
struct Args {
    /// `sqlite`, `postgres` (the local server) or a PostgreSQL server URL.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Rows in the generated file.
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
    /// The database pool size (the CLI's default).
    #[arg(long, default_value_t = 4)]
    db_max_connections: u32,
    /// Keep the database afterwards.
    #[arg(long)]
    keep: bool,
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
        bail!("{failures} check(s) failed");
    }
    Ok(())
}

/// Writes `rows` clients with the 10 columns a CRM export usually has; `pass` varies the status
/// and city so that a second file updates every client of the first.
fn write_csv(path: &Path, rows: usize, pass: usize) -> anyhow::Result<()> {
    const FIRST: [&str; 12] = [
        "James", "Mary", "Robert", "Patricia", "Wei", "Ming", "Sterling", "Aisha", "Omar", "Linda",
        "David", "Susan",
    ];
    const LAST: [&str; 10] = [
        "Smith", "Johnson", "Nguyen", "Li", "Garcia", "Miller", "Davis", "Wilson", "Taylor",
        "Brown",
    ];
    const PLACES: [(&str, &str, &str, &str); 4] = [
        ("Toronto", "ON", "M5V 2T6", "CA"),
        ("Vancouver", "BC", "V6B 1A1", "CA"),
        ("Austin", "TX", "73301", "US"),
        ("Boston", "MA", "02108", "US"),
    ];
    let statuses = ["new", "active"];
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "first_name,last_name,email,phone,company,city,state,zip,country,status"
    )?;
    for i in 0..rows {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i / FIRST.len()) % LAST.len()];
        let (city, state, zip, country) = PLACES[(i + pass) % PLACES.len()];
        writeln!(
            out,
            "{first},{last},{}.{}{i}@example.com,{},Acme {} Inc,{city},{state},{zip},{country},{}",
            first.to_lowercase(),
            last.to_lowercase(),
            common::sender_phone(i as u64),
            i % 500,
            statuses[pass % statuses.len()],
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Whether a pass's report is what it should be for `n` rows.
type Expected = fn(&ImportReport, u64) -> bool;

async fn import(
    domain: &Domain,
    actor: &Actor,
    path: &Path,
) -> anyhow::Result<(ImportReport, f64)> {
    let started = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let report = csv_io::import(domain, actor, file, false, |_| {}).await?;
    Ok((report, started.elapsed().as_secs_f64()))
}

async fn run(args: &Args, url: &str) -> anyhow::Result<usize> {
    let db = clientele::db::connect(url, args.db_max_connections).await?;
    clientele::db::migrate(&db).await?;
    let domain = Domain::new(db.clone(), Arc::new(InProcessBus::new(16)));
    let tenant = tenants::create(
        &db,
        NewTenant {
            slug: "bench-import".into(),
            name: "Bench import".into(),
            default_region: "CA".into(),
            timezone: "America/Toronto".into(),
        },
    )
    .await?;
    let actor = Actor {
        user_id: "bench-import".into(),
        name: "bench_import".into(),
        tenant: TenantId(tenant.id),
        role: Role::Admin,
    };
    println!(
        "{} ({}), pool {}, {} rows of 10 columns; machine {:.0}% busy, load {} ({} cores)",
        common::backend_name(url),
        clientele::db::redact(url),
        args.db_max_connections,
        args.rows,
        common::machine_busy_percent().await,
        common::load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let dir = std::env::temp_dir();
    let stamp = uuid::Uuid::new_v4().simple().to_string();
    let files: Vec<PathBuf> = (0..2)
        .map(|pass| dir.join(format!("clientele_bench_import_{stamp}_{pass}.csv")))
        .collect();
    for (pass, file) in files.iter().enumerate() {
        write_csv(file, args.rows, pass)?;
    }
    let n = args.rows as u64;
    let mut failures = 0;
    let passes: [(&str, &Path, Expected); 3] = [
        ("first import", &files[0], |r, n| r.created == n),
        ("same file again", &files[0], |r, n| r.unchanged == n),
        ("every row changed", &files[1], |r, n| r.updated == n),
    ];
    for (what, file, expected) in passes {
        let (report, secs) = import(&domain, &actor, file).await?;
        let ok = expected(&report, n) && report.errors.is_empty() && report.rows == n;
        println!(
            "{what}: {} rows in {secs:.1} s = {:.0} rows/s; {} created, {} updated, {} unchanged, {} errors{}",
            report.rows,
            report.rows as f64 / secs,
            report.created,
            report.updated,
            report.unchanged,
            report.errors.len(),
            if ok { "" } else { "  CHECK FAILED" }
        );
        failures += usize::from(!ok);
    }
    let clients = client::Entity::find().count(&db).await?;
    if clients != n {
        println!("CHECK FAILED: {clients} clients stored for {n} rows");
        failures += 1;
    }
    for file in &files {
        let _ = std::fs::remove_file(file);
    }
    db.close().await?;
    Ok(failures)
}
