//! Queries on `login_failures`: recent failed sign-ins per (hashed) email address.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::entities::login_failures::{ActiveModel, Column, Entity};

/// Records a failure and forgets this key's failures older than `since`.
pub async fn record(
    db: &impl ConnectionTrait,
    key_hash: &str,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::KeyHash.eq(key_hash))
        .filter(Column::At.lt(since))
        .exec(db)
        .await?;
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        key_hash: Set(key_hash.to_owned()),
        at: Set(now),
    };
    Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map(|_| ())
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
