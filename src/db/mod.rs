//! The database: connection set-up, entities and one query module per table. Every query
//! runs on SQLite and PostgreSQL alike, except in `rotations`, which says why.

pub mod account_actions;
pub mod account_tokens;
pub mod accounts;
pub mod audit_events;
pub mod data_keys;
pub mod email_changes;
pub mod entities;
pub mod kyc_reviews;
pub mod login_failures;
pub mod mail_outbox;
pub mod mfa;
pub mod mfa_reset_requests;
pub mod passkeys;
pub mod refresh_tokens;
pub mod retention;
pub mod rotations;
pub mod session_changes;
pub mod sessions;
pub mod signing_keys;
pub mod ssn_reveals;
pub mod webauthn_ceremonies;

use std::{path::Path, time::Duration};

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};
use secrecy::{ExposeSecret, SecretString};

use crate::metrics::PoolStats;

const MAX_CONNECTIONS: u32 = 16;
/// SQLite takes one writer at a time and each connection keeps a thread and a page cache of
/// its own; with sessions and accounts answered from memory, reads are few, so fewer
/// connections serve as much with less memory.
const SQLITE_MAX_CONNECTIONS: u32 = 8;

/// How long a pooled PostgreSQL connection may sit unused before it is checked before use.
const CHECK_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// The pool's size, on SQLite or not.
fn max_connections(sqlite: bool) -> u32 {
    if sqlite {
        SQLITE_MAX_CONNECTIONS
    } else {
        MAX_CONNECTIONS
    }
}

/// Opens a pool on `url`. For SQLite it creates the file's folder and turns on WAL, foreign
/// keys and a busy timeout, so concurrent writers wait their turn instead of failing.
pub async fn connect(url: &SecretString) -> anyhow::Result<DatabaseConnection> {
    let url = url.expose_secret();
    let folder = sqlite_path(url)
        .and_then(|path| Path::new(path).parent())
        .filter(|parent| !parent.as_os_str().is_empty());
    if let Some(parent) = folder {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the database folder {}", parent.display()))?;
    }
    let sqlite = sqlite_path(url).is_some();
    let mut options = ConnectOptions::new(url);
    if sqlite {
        // A file cannot hang up: nothing to check before a connection is used.
        options.test_before_acquire(false);
    } else {
        // Checked (a round trip) only after a pause long enough for a server restart or an
        // idle-connection timeout to have closed it; a busy connection's next statement is
        // its check, and a broken one fails that request alone and is replaced.
        options.test_before_acquire_if_idle_for(CHECK_IF_IDLE_FOR);
    }
    options
        .sqlx_logging(false)
        .max_connections(max_connections(sqlite))
        .min_connections(1)
        // Short: when the database is down, requests answer SERVICE_UNAVAILABLE rather than
        // pile up waiting for a connection that will not come.
        .acquire_timeout(Duration::from_secs(3))
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(15))
                // 512 KiB of pages per connection instead of 2 MiB: the hot pages of sign-in
                // and session checks fit, the operating system caches the file anyway, and 16
                // connections would otherwise keep 32 MiB of copies.
                .pragma("cache_size", "-512")
        });
    Database::connect(options)
        .await
        .context("cannot connect to the database (check CUSTODIAN_DATABASE_URL)")
}

/// A pool on `url` with every pending migration applied, none of whose connections was open
/// while the schema changed: SQLite connections keep what they prepared against the old
/// schema (the columns a statement returns), so the pool that migrated is closed and a fresh
/// one serves.
pub async fn connect_migrated(url: &SecretString) -> anyhow::Result<DatabaseConnection> {
    let migrating = connect(url).await?;
    migrate(&migrating).await?;
    migrating
        .close()
        .await
        .context("cannot close the migration connections")?;
    connect(url).await
}

/// A transaction that is going to write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), waiting its turn: a deferred one that reads first is refused outright
/// (not made to wait) when another writer, such as the audit sealer right after a commit,
/// commits between its first read and its first write. On PostgreSQL, a plain `BEGIN`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await
    } else {
        db.begin().await
    }
}

/// Applies every pending migration. With none pending it writes nothing, so a role that may
/// not change the schema (the insert-only role the README shows) starts on a migrated
/// database.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    let pending = Migrator::get_pending_migrations_read_only(db)
        .await
        .context("cannot read the applied migrations")?;
    if pending.is_empty() {
        return Ok(());
    }
    Migrator::up(db, None).await.context(
        "cannot apply migrations (a role without schema rights needs `custodian migrate up` run by the database owner first)",
    )
}

/// Whether `url` names a database Custodian has already set up. A SQLite file that does not
/// exist is not created to find out.
pub async fn holds_custodian(url: &SecretString) -> anyhow::Result<bool> {
    if let Some(path) = sqlite_path(url.expose_secret())
        && !Path::new(path).exists()
    {
        return Ok(false);
    }
    let db = connect(url).await?;
    let applied = Migrator::get_applied_migrations_read_only(&db)
        .await
        .context("cannot read the applied migrations")?;
    db.close().await.context("cannot close the connection")?;
    Ok(!applied.is_empty())
}

/// `url` with its password replaced by `***`, to say which database is used.
pub fn masked(url: &SecretString) -> String {
    let url = url.expose_secret();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            let hidden = if credentials.contains(':') {
                ":***"
            } else {
                ""
            };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// The file path of a `sqlite://` URL, without its query string.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// True when the error is a violated unique constraint (for example an email taken).
pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

pub fn pool_stats(db: &DatabaseConnection) -> PoolStats {
    let (open, idle) = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    PoolStats {
        open,
        idle: u32::try_from(idle).unwrap_or(u32::MAX),
        max: max_connections(db.get_database_backend() == DbBackend::Sqlite),
    }
}

/// True when the error is a violated unique constraint whose name or column contains `what`
/// (both databases name the column or index in the message).
pub fn is_unique_violation_of(err: &sea_orm::DbErr, what: &str) -> bool {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(message)) => message.contains(what),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_masked_and_nothing_else() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db.internal:5432/custodian?sslmode=require",
                "postgres://app:***@db.internal:5432/custodian?sslmode=require",
            ),
            ("postgres://app@db/custodian", "postgres://app@db/custodian"),
            (
                "sqlite://data/custodian.db?mode=rwc",
                "sqlite://data/custodian.db?mode=rwc",
            ),
            ("postgres://a:b:c@h/d", "postgres://a:***@h/d"),
        ] {
            assert_eq!(masked(&SecretString::from(url)), shown, "{url}");
        }
    }
}
