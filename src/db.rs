//! Opening the database (SQLite or PostgreSQL) and migrating it.

use anyhow::Context;
use clientele_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use std::time::Duration;

pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        // A connection in use moments ago is handed out as it is; one idle longer is pinged
        // first (the pool's default pings on every acquire: one more round trip for each
        // statement run outside a transaction and for each transaction).
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        // Statements are not logged (they may carry personal data); slow ones are, at WARN.
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        options.map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                // A 64 MiB page cache and memory-mapped reads keep list queries off the disk.
                .pragma("cache_size", "-65536")
                .pragma("mmap_size", "268435456")
        });
    }
    Database::connect(options)
        .await
        .with_context(|| format!("cannot open the database at {}", redact(url)))
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("cannot apply database migrations")?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // SQLite plans from statistics it only has after ANALYZE; without them a search or a
        // filtered count can walk a whole index. `optimize` analyses what needs it, cheaply.
        db.execute_unprepared("PRAGMA optimize=0x10002")
            .await
            .context("cannot analyse the SQLite database")?;
    }
    Ok(())
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}@{}", &url[..scheme_end + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/clientele"),
            "postgres://app@db:5432/clientele"
        );
        assert_eq!(redact("sqlite://clientele.db"), "sqlite://clientele.db");
    }
}
