//! Queries on `data_keys`: the sealed keys of envelope encryption.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};

use super::entities::data_keys::{ActiveModel, Column, Entity, Model};

/// Every key, newest first: the newest encryption key encrypts.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .all(db)
        .await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    purpose: &str,
    id: &str,
    sealed: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let model = ActiveModel {
        purpose: Set(purpose.to_owned()),
        id: Set(id.to_owned()),
        sealed: Set(sealed.to_owned()),
        created_at: Set(now),
    };
    Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Replaces a key's sealed form, if it is still `old`; `true` when it was.
pub async fn reseal(db: &impl ConnectionTrait, key: &Model, sealed: &str) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Sealed, Expr::value(sealed))
        .filter(Column::Purpose.eq(key.purpose.as_str()))
        .filter(Column::Id.eq(key.id.as_str()))
        .filter(Column::Sealed.eq(key.sealed.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
