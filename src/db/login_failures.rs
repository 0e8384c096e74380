//! Queries on `login_failures`: recent failed sign-ins per (hashed) email address, and the
//! per-address lock rows that make counting them race-free.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};
use uuid::Uuid;

use super::entities::{
    login_backoff_locks,
    login_failures::{ActiveModel, Column, Entity},
};

/// Reserves a place in this key's count of failures, counted one attempt after another: the
/// key's lock row is written first (which holds it until the transaction ends, on SQLite and
/// PostgreSQL alike), then the failures since `since` are read. With fewer than `max`, a
/// failure is recorded in advance and its id returned, to be released if the attempt
/// succeeds; otherwise nothing is recorded and the times of the failures come back, oldest
/// first, to say when one ages out.
pub async fn reserve(
    db: &DatabaseTransaction,
    key_hash: &str,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    max: u64,
) -> Result<Result<Uuid, Vec<DateTime<Utc>>>, DbErr> {
    let lock = login_backoff_locks::ActiveModel {
        key_hash: Set(key_hash.to_owned()),
        touched_at: Set(now),
    };
    login_backoff_locks::Entity::insert(lock)
        .on_conflict(
            OnConflict::column(login_backoff_locks::Column::KeyHash)
                .update_column(login_backoff_locks::Column::TouchedAt)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Entity::delete_many()
        .filter(Column::KeyHash.eq(key_hash))
        .filter(Column::At.lt(since))
        .exec(db)
        .await?;
    let failures = recent(db, key_hash, since, max).await?;
    if u64::try_from(failures.len()).unwrap_or(u64::MAX) >= max {
        return Ok(Err(failures));
    }
    let id = Uuid::now_v7();
    let model = ActiveModel {
        id: Set(id),
        key_hash: Set(key_hash.to_owned()),
        at: Set(now),
    };
    Entity::insert(model).exec_without_returning(db).await?;
    Ok(Ok(id))
}

/// Takes back a reservation: the attempt succeeded.
pub async fn release(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Entity::delete_by_id(id).exec(db).await.map(|_| ())
}

/// The times of this key's newest `limit` failures since `since`, oldest first.
pub async fn recent(
    db: &impl ConnectionTrait,
    key_hash: &str,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<DateTime<Utc>>, DbErr> {
    let mut times: Vec<DateTime<Utc>> = Entity::find()
        .filter(Column::KeyHash.eq(key_hash))
        .filter(Column::At.gte(since))
        .order_by_desc(Column::At)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|failure| failure.at)
        .collect();
    times.reverse();
    Ok(times)
}
