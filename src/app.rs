//! Wiring: database, migrations, token keys, first-start bootstrap and the HTTP server.

use crate::config::{Config, JwtConfig};
use crate::db;
use crate::workers::{self, RunningWorkers};
use anyhow::Context;
use base64::Engine;
use clientele_api::{HttpConfig, Tokens};
use clientele_domain::conversations::MessageSender;
use clientele_domain::tenants::{self, NewTenant};
use clientele_domain::{
    Domain, DomainError, EventBus, InProcessBus, PgBus, Role, TenantId, instance,
};
use clientele_jobs::Jobs;
use rand::RngCore;
use sea_orm::{DatabaseConnection, DbBackend};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const JWT_SECRET_KEY: &str = "jwt_hs256_secret";
pub const DEMO_TENANT: &str = "demo";

/// Opens and migrates the database.
pub async fn open_database(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let db = db::connect(&config.database_url, config.db_max_connections).await?;
    db::migrate(&db).await?;
    Ok(db)
}

/// The token keys: configured, or the HS256 secret kept in the database (created on first
/// start, so a second start and every replica use the same one).
pub async fn tokens(config: &Config, db: &DatabaseConnection) -> anyhow::Result<Tokens> {
    let tokens = match &config.jwt {
        JwtConfig::Hs256 {
            secret: Some(secret),
        } => Tokens::hs256(secret.as_bytes()),
        JwtConfig::Hs256 { secret: None } => {
            let secret = instance::get_or_create(db, JWT_SECRET_KEY, || {
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                base64::engine::general_purpose::STANDARD.encode(bytes)
            })
            .await?;
            Tokens::hs256(secret.as_bytes())
        }
        JwtConfig::Rs256 {
            public_key,
            private_key,
        } => {
            let public = std::fs::read(public_key)
                .with_context(|| format!("cannot read {}", public_key.display()))?;
            let private = private_key
                .as_ref()
                .map(|p| std::fs::read(p).with_context(|| format!("cannot read {}", p.display())))
                .transpose()?;
            Tokens::rs256(&public, private.as_deref())
        }
    };
    tokens.map_err(|e| anyhow::anyhow!("invalid token key: {e}"))
}

/// What a first start created.
#[derive(Clone, Debug)]
pub struct FirstStart {
    pub tenant_slug: String,
    pub admin_token: String,
}

/// On a database without tenants, creates the demo tenant and mints an admin token for it.
pub async fn bootstrap(
    config: &Config,
    db: &DatabaseConnection,
    tokens: &Tokens,
) -> anyhow::Result<Option<FirstStart>> {
    if !config.demo_tenant || tenants::count(db).await? > 0 {
        return Ok(None);
    }
    let tenant = match tenants::create(
        db,
        NewTenant {
            slug: DEMO_TENANT.into(),
            name: "Demo".into(),
            default_region: "CA".into(),
            timezone: "America/Toronto".into(),
        },
    )
    .await
    {
        Ok(t) => t,
        // Another replica bootstrapped at the same moment.
        Err(DomainError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let admin_token = tokens
        .mint(
            TenantId(tenant.id),
            "demo-admin",
            "Demo Admin",
            Role::Admin,
            config.token_ttl,
        )
        .map_err(|e| anyhow::anyhow!("cannot mint the demo admin token: {e}"))?;
    Ok(Some(FirstStart {
        tenant_slug: tenant.slug,
        admin_token,
    }))
}

/// A running server.
pub struct RunningApp {
    pub addr: SocketAddr,
    pub first_start: Option<FirstStart>,
    pub domain: Domain,
    pub tokens: Tokens,
    /// The job store (shared by every replica and worker on the same database).
    pub jobs: Jobs,
    workers: Option<RunningWorkers>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningApp {
    /// Stops accepting connections, lets in-flight requests finish, then stops the workers
    /// (in-flight jobs finish or go back to the queue), and returns.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let served = (&mut self.task).await;
        if let Some(workers) = self.workers.take() {
            workers.shutdown().await;
        }
        served??;
        Ok(())
    }

    /// Waits until the server stops (it only stops on `shutdown` or an IO error).
    pub async fn wait(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            result = &mut self.task => result??,
            () = signal => self.shutdown().await?,
        }
        Ok(())
    }
}

/// On PostgreSQL, events travel between replicas through LISTEN/NOTIFY; a SQLite database
/// has one process, and an in-process bus serves.
async fn event_bus(db: &DatabaseConnection, buffer: usize) -> anyhow::Result<Arc<dyn EventBus>> {
    Ok(match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool().clone();
            PgBus::start(pool, buffer)
                .await
                .context("cannot listen for events on PostgreSQL")?
        }
        _ => Arc::new(InProcessBus::new(buffer)),
    })
}

fn crm_settings(config: &Config) -> clientele_domain::crm::CrmSettings {
    clientele_domain::crm::CrmSettings::new(
        config.crm.key.clone(),
        config.crm.http.clone(),
        config.crm.redirect_uri.clone(),
    )
}

/// Opens the database, migrates, bootstraps, binds `config.bind` and serves.
pub async fn start(config: &Config) -> anyhow::Result<RunningApp> {
    start_with(config, None).await
}

/// [`start`], with outbound messages handed to `sender` instead of the log.
pub async fn start_with(
    config: &Config,
    sender: Option<Arc<dyn MessageSender>>,
) -> anyhow::Result<RunningApp> {
    let db = open_database(config).await?;
    let tokens = tokens(config, &db).await?;
    let first_start = bootstrap(config, &db, &tokens).await?;
    let events = event_bus(&db, config.subscriber_buffer).await?;
    let jobs = workers::open(config, &db).await?;
    let mut domain = Domain::new(db, events);
    domain.queue = Arc::new(workers::Queue::new(config, jobs.clone()));
    domain.crm = crm_settings(config);
    domain.webhooks = config.webhooks.delivery.clone();
    if let Some(sender) = sender {
        domain.sender = sender;
    }
    let workers = if config.workers.enabled {
        Some(workers::start(config, &jobs, domain.clone()).await?)
    } else {
        None
    };
    let schema = clientele_api::schema::build(domain.clone(), Some(jobs.clone()), config.limits);
    let router = clientele_api::router(
        schema,
        domain.clone(),
        tokens.clone(),
        HttpConfig {
            graphiql: config.graphiql,
            max_body_bytes: config.max_body_bytes,
            max_upload_bytes: config.max_upload_bytes,
            subscriber_buffer: config.subscriber_buffer,
        },
    );
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    tracing::info!(%addr, "listening");
    Ok(RunningApp {
        addr,
        first_start,
        domain,
        tokens,
        jobs,
        workers,
        shutdown: Some(tx),
        task,
    })
}

/// A worker process (`clientele worker`): the job workers without the HTTP server. Runs until
/// `signal`, then lets in-flight jobs finish or returns them to the queue.
pub async fn run_worker(
    config: &Config,
    signal: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let db = open_database(config).await?;
    let events = event_bus(&db, config.subscriber_buffer).await?;
    let jobs = workers::open(config, &db).await?;
    let mut domain = Domain::new(db, events);
    domain.queue = Arc::new(workers::Queue::new(config, jobs.clone()));
    domain.crm = crm_settings(config);
    domain.webhooks = config.webhooks.delivery.clone();
    let running = workers::start(config, &jobs, domain).await?;
    tracing::info!(concurrency = config.workers.concurrency, "worker started");
    signal.await;
    running.shutdown().await;
    Ok(())
}
