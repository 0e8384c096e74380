//! Telling every instance that sessions changed, so none keeps trusting one that ended:
//! PostgreSQL's `NOTIFY`, sent inside the changing transaction, is delivered when, and only
//! when, the change commits. SQLite serves one instance, which needs no telling.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, sqlx::postgres::PgListener,
};

const CHANNEL: &str = "custodian_sessions";

/// Announces `change` to every listening instance once the transaction of `db` commits.
pub async fn announce(db: &impl ConnectionTrait, change: &str) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), change.into()],
    ))
    .await
    .map(|_| ())
}

/// Hears the changes every instance announces, this one's included.
pub struct Listener(PgListener);

impl Listener {
    /// Listens on a connection of its own; none on SQLite.
    pub async fn connect(db: &DatabaseConnection) -> anyhow::Result<Option<Self>> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let mut listener = PgListener::connect_with(db.get_postgres_connection_pool()).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Self(listener)))
    }

    /// The next change announced; `None` once the connection is lost, after which changes
    /// may have gone unheard.
    pub async fn next(&mut self) -> Option<String> {
        match self.0.try_recv().await {
            Ok(Some(notification)) => Some(notification.payload().to_owned()),
            Ok(None) | Err(_) => None,
        }
    }
}
