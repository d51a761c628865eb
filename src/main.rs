//! `clientele`: one binary for the server and the operator's commands.

use anyhow::Context;
use clap::{Parser, Subcommand};
use clientele::app::{self, RunningApp};
use clientele::config::{Config, Sources};
use clientele::{db, telemetry};
use clientele_domain::tenants::{self, NewTenant};
use clientele_domain::{Role, TenantId};
use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

mod extract_cli;
mod seed_cli;

/// mimalloc instead of the system allocator: under webhook load glibc's malloc and free took a
/// sixth of the server's CPU time (allocation per request, per query and per row).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "clientele",
    version,
    about = "Client-intelligence backend over GraphQL"
)]
struct Cli {
    /// TOML configuration file (same as CLIENTELE_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<String>,
    /// Database URL (same as DATABASE_URL): sqlite://FILE or postgres://...
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve {
        /// Address to listen on (same as CLIENTELE_BIND).
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Run background-job workers only (extraction, CRM sync), beside servers started with
    /// CLIENTELE_WORKERS=false or to add capacity.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Mint a bearer token for a user of a tenant.
    Token {
        #[arg(long, value_name = "SLUG")]
        tenant: String,
        /// viewer, agent or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The user's display name.
        #[arg(long)]
        name: String,
        /// The user's id (defaults to the name in lower case with dashes).
        #[arg(long)]
        user_id: Option<String>,
        /// Lifetime such as 12h or 30d (defaults to CLIENTELE_TOKEN_TTL).
        #[arg(long, value_parser = humantime::parse_duration)]
        ttl: Option<std::time::Duration>,
    },
    /// Extract contact facts from JSON lines on stdin (`{"id", "text", "channel", "sender"}`),
    /// one JSON line of facts per message on stdout.
    Extract {
        /// Region for phone numbers written without a country code.
        #[arg(long, default_value = "US")]
        region: String,
    },
    /// Import clients from a CSV file (the export's format) into a tenant.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
        #[arg(long, value_name = "SLUG")]
        tenant: String,
        /// Report what would happen without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Fill a tenant with realistic fake clients (demos, benchmarks).
    Seed {
        /// How many clients to add.
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, value_name = "SLUG", default_value = "demo")]
        tenant: String,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// Region for phone numbers without a country code (ISO 3166-1 alpha-2).
        #[arg(long, default_value = "US")]
        region: String,
        /// IANA time zone.
        #[arg(long, default_value = "UTC")]
        timezone: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Schema) => {
            print!("{}", clientele_api::sdl());
            return ExitCode::SUCCESS;
        }
        // Pure text processing: needs no configuration or database.
        Some(Command::Extract { region }) => {
            let stdin = std::io::stdin().lock();
            let stdout = std::io::stdout().lock();
            return match extract_cli::run(region, stdin, stdout) {
                Ok(summary) => {
                    if summary.errors > 0 {
                        eprintln!(
                            "clientele: {} of {} lines could not be read (see the error lines)",
                            summary.errors, summary.lines
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("clientele: {e:#}");
                    ExitCode::from(2)
                }
            };
        }
        _ => {}
    }
    let mut flags = HashMap::new();
    if let Some(c) = &cli.config {
        flags.insert("config".to_string(), c.clone());
    }
    if let Some(url) = &cli.database_url {
        flags.insert("database_url".to_string(), url.clone());
    }
    if let Some(Command::Serve { bind: Some(b) }) = &cli.command {
        flags.insert("bind".to_string(), b.clone());
    }
    let config = match Config::load(Sources::from_process(flags)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("clientele: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format, &config.log_filter);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("clientele: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(
        cli.command.unwrap_or(Command::Serve { bind: None }),
        config,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clientele: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { .. } => serve(config).await,
        Command::Worker => {
            app::run_worker(&config, shutdown_signal()).await?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Migrate => {
            app::open_database(&config).await?;
            println!("migrations applied to {}", db::redact(&config.database_url));
            Ok(())
        }
        Command::Schema | Command::Extract { .. } => {
            unreachable!("handled before configuration is read")
        }
        Command::Token {
            tenant,
            role,
            name,
            user_id,
            ttl,
        } => {
            let db = app::open_database(&config).await?;
            let tenant = tenants::find_by_slug(&db, &tenant)
                .await?
                .with_context(|| format!("no tenant with slug {tenant:?}"))?;
            let tokens = app::tokens(&config, &db).await?;
            let user_id = user_id.unwrap_or_else(|| name.to_lowercase().replace(' ', "-"));
            let token = tokens
                .mint(
                    TenantId(tenant.id),
                    &user_id,
                    &name,
                    role,
                    ttl.unwrap_or(config.token_ttl),
                )
                .map_err(|e| anyhow::anyhow!(e))?;
            println!("{token}");
            Ok(())
        }
        Command::Import {
            file,
            tenant,
            dry_run,
        } => import(&config, &file, &tenant, dry_run).await,
        Command::Seed { clients, tenant } => seed_cli::run(&config, &tenant, clients).await,
        Command::Tenant {
            command:
                TenantCommand::Create {
                    slug,
                    name,
                    region,
                    timezone,
                },
        } => {
            let db = app::open_database(&config).await?;
            let tenant = tenants::create(
                &db,
                NewTenant {
                    slug,
                    name,
                    default_region: region,
                    timezone,
                },
            )
            .await?;
            println!("created tenant {} ({})", tenant.slug, tenant.id);
            Ok(())
        }
    }
}

async fn import(
    config: &Config,
    file: &std::path::Path,
    tenant: &str,
    dry_run: bool,
) -> anyhow::Result<()> {
    use std::io::BufRead;
    let db = app::open_database(config).await?;
    let tenant = tenants::find_by_slug(&db, tenant)
        .await?
        .with_context(|| format!("no tenant with slug {tenant:?}"))?;
    let open =
        || std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()));
    // Count the rows first so the progress bar knows its length.
    let total = std::io::BufReader::new(open()?)
        .lines()
        .count()
        .saturating_sub(1) as u64;
    let bar = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rows ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let domain = clientele_domain::Domain::new(
        db,
        std::sync::Arc::new(clientele_domain::InProcessBus::new(16)),
    );
    let actor = clientele_domain::Actor {
        user_id: "cli-import".into(),
        name: "clientele import".into(),
        tenant: TenantId(tenant.id),
        role: Role::Admin,
    };
    let started = std::time::Instant::now();
    let report = clientele_domain::clients::csv_io::import(
        &domain,
        &actor,
        std::io::BufReader::new(open()?),
        dry_run,
        |rows| bar.set_position(rows),
    )
    .await?;
    bar.finish_and_clear();
    for error in &report.errors {
        eprintln!("line {}: {}: {}", error.line, error.field, error.message);
    }
    println!(
        "{}{} rows in {:.1}s: {} created, {} updated, {} unchanged, {} with errors",
        if dry_run { "dry run: " } else { "" },
        report.rows,
        started.elapsed().as_secs_f64(),
        report.created,
        report.updated,
        report.unchanged,
        report.errors.len()
    );
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let running: RunningApp = app::start(&config).await?;
    let base = format!("http://{}", running.addr);
    {
        // The banner goes to stdout; logs go to stderr.
        let mut out = std::io::stdout().lock();
        writeln!(out, "Clientele listening on {base}")?;
        if config.graphiql {
            writeln!(out, "GraphiQL: {base}/graphql")?;
        }
        match &running.first_start {
            Some(first) => {
                writeln!(out, "first start: created tenant {:?}", first.tenant_slug)?;
                writeln!(out, "admin token: {}", first.admin_token)?;
                writeln!(
                    out,
                    "(send it as the header  Authorization: Bearer <token>)"
                )?;
            }
            None => writeln!(
                out,
                "mint a token with: clientele token --tenant {} --role admin --name \"Your Name\"",
                app::DEMO_TENANT
            )?,
        }
        out.flush()?;
    }
    running.wait(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
