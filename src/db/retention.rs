//! Deleting, in small batches, rows no rule needs any more. Never audit events.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Statement, sea_query::Condition,
};
use uuid::Uuid;

use super::entities::{
    account_tokens, email_changes, login_backoff_locks, login_failures, mail_outbox,
    mfa_challenges, refresh_tokens, sessions, webauthn_ceremonies,
};

/// The advisory-lock key of a retention pass on PostgreSQL: any fixed number all instances
/// agree on.
const LOCK_KEY: i64 = 0x6375_7374_6f64; // "custod"

/// Whether this transaction may prune: on PostgreSQL, the one holding the advisory lock (held
/// until it ends), so instances do not delete the same rows at once; on SQLite, always.
pub async fn claim(txn: &DatabaseTransaction) -> Result<bool, DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(true);
    }
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock($1) AS claimed",
            [LOCK_KEY.into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<bool>("", "claimed")?,
        None => false,
    })
}

/// What one batch deletes from.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    /// Refresh tokens past their expiry: used or not, no rule reads them any more.
    RefreshTokens,
    /// Sessions ended before the cutoff (with their refresh tokens).
    Sessions,
    MfaChallenges,
    AccountTokens,
    LoginFailures,
    BackoffLocks,
    /// Delivered email (undeliverable stays, for inspection).
    MailOutbox,
    /// Changes of address none of whose links can work any more, with the addresses they
    /// held.
    EmailChanges,
    /// Passkey ceremonies past their expiry, finished or not.
    WebauthnCeremonies,
}

impl Table {
    pub const ALL: [Self; 9] = [
        Self::RefreshTokens,
        Self::Sessions,
        Self::MfaChallenges,
        Self::AccountTokens,
        Self::LoginFailures,
        Self::BackoffLocks,
        Self::MailOutbox,
        Self::EmailChanges,
        Self::WebauthnCeremonies,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::RefreshTokens => "refresh_tokens",
            Self::Sessions => "sessions",
            Self::MfaChallenges => "mfa_challenges",
            Self::AccountTokens => "account_tokens",
            Self::LoginFailures => "login_failures",
            Self::BackoffLocks => "login_backoff_locks",
            Self::MailOutbox => "mail_outbox",
            Self::EmailChanges => "email_changes",
            Self::WebauthnCeremonies => "webauthn_ceremonies",
        }
    }
}

/// Deletes at most `limit` rows of `table` that are older than `cutoff` by its rule; answers
/// how many went.
pub async fn delete_batch(
    db: &impl ConnectionTrait,
    table: Table,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<u64, DbErr> {
    let deleted = match table {
        Table::RefreshTokens => {
            let ids = ids::<refresh_tokens::Entity, Uuid>(
                db,
                refresh_tokens::Column::Id,
                Condition::all().add(refresh_tokens::Column::ExpiresAt.lt(cutoff)),
                limit,
            )
            .await?;
            refresh_tokens::Entity::delete_many()
                .filter(refresh_tokens::Column::Id.is_in(ids))
                .exec(db)
                .await?
        }
        Table::Sessions => {
            let ended = Condition::any()
                .add(sessions::Column::RevokedAt.lt(cutoff))
                .add(sessions::Column::ExpiresAt.lt(cutoff));
            let ids = ids::<sessions::Entity, Uuid>(db, sessions::Column::Id, ended, limit).await?;
            sessions::Entity::delete_many()
                .filter(sessions::Column::Id.is_in(ids))
                .exec(db)
                .await?
        }
        Table::MfaChallenges => {
            let expired = Condition::all().add(mfa_challenges::Column::ExpiresAt.lt(cutoff));
            let ids =
                ids::<mfa_challenges::Entity, Uuid>(db, mfa_challenges::Column::Id, expired, limit)
                    .await?;
            mfa_challenges::Entity::delete_many()
                .filter(mfa_challenges::Column::Id.is_in(ids))
                .exec(db)
                .await?
        }
        Table::AccountTokens => {
            let expired = Condition::all().add(account_tokens::Column::ExpiresAt.lt(cutoff));
            let ids =
                ids::<account_tokens::Entity, Uuid>(db, account_tokens::Column::Id, expired, limit)
                    .await?;
            account_tokens::Entity::delete_many()
                .filter(account_tokens::Column::Id.is_in(ids))
                .exec(db)
                .await?
        }
        Table::LoginFailures => {
            let old = Condition::all().add(login_failures::Column::At.lt(cutoff));
            let ids =
                ids::<login_failures::Entity, Uuid>(db, login_failures::Column::Id, old, limit)
                    .await?;
            login_failures::Entity::delete_many()
                .filter(login_failures::Column::Id.is_in(ids))
                .exec(db)
                .await?
        }
        Table::MailOutbox => {
            let delivered = Condition::all().add(mail_outbox::Column::DeliveredAt.lt(cutoff));
            let ids =
                ids::<mail_outbox::Entity, Uuid>(db, mail_outbox::Column::Id, delivered, limit)
                    .await?;
            mail_outbox::Entity::delete_many()
                .filter(mail_outbox::Column::Id.is_in(ids))
                .exec(db)
                .await?
        }
        Table::EmailChanges => {
            use email_changes::Column;
            let over = Condition::any()
                .add(Column::VoidedAt.lt(cutoff))
                .add(Column::RevertedAt.lt(cutoff))
                .add(Column::RevertExpiresAt.lt(cutoff))
                .add(
                    Condition::all()
                        .add(Column::ConfirmedAt.is_null())
                        .add(Column::ExpiresAt.lt(cutoff)),
                );
            let ids = ids::<email_changes::Entity, Uuid>(db, Column::Id, over, limit).await?;
            email_changes::Entity::delete_many()
                .filter(Column::Id.is_in(ids))
                .exec(db)
                .await?
        }
        Table::WebauthnCeremonies => {
            use webauthn_ceremonies::Column;
            let expired = Condition::all().add(Column::ExpiresAt.lt(cutoff));
            let ids =
                ids::<webauthn_ceremonies::Entity, Uuid>(db, Column::Id, expired, limit).await?;
            webauthn_ceremonies::Entity::delete_many()
                .filter(Column::Id.is_in(ids))
                .exec(db)
                .await?
        }
        Table::BackoffLocks => {
            let old = Condition::all().add(login_backoff_locks::Column::TouchedAt.lt(cutoff));
            let keys = ids::<login_backoff_locks::Entity, String>(
                db,
                login_backoff_locks::Column::KeyHash,
                old,
                limit,
            )
            .await?;
            login_backoff_locks::Entity::delete_many()
                .filter(login_backoff_locks::Column::KeyHash.is_in(keys))
                .exec(db)
                .await?
        }
    };
    Ok(deleted.rows_affected)
}

/// The keys of at most `limit` rows matching `which`.
async fn ids<E, K>(
    db: &impl ConnectionTrait,
    key: E::Column,
    which: Condition,
    limit: u64,
) -> Result<Vec<K>, DbErr>
where
    E: EntityTrait,
    K: sea_orm::TryGetableMany,
{
    E::find()
        .select_only()
        .column(key)
        .filter(which)
        .limit(limit)
        .into_tuple::<K>()
        .all(db)
        .await
}
