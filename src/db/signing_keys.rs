//! Queries on `signing_keys`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};

use super::entities::signing_keys::{ActiveModel, Column, Entity, Model};

/// Every key, newest first. The newest unretired one signs.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Model>, sea_orm::DbErr> {
    Entity::find()
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .all(db)
        .await
}

pub async fn insert(db: &impl ConnectionTrait, model: Model) -> Result<(), sea_orm::DbErr> {
    let active = ActiveModel {
        id: Set(model.id),
        algorithm: Set(model.algorithm),
        private_key: Set(model.private_key),
        public_key: Set(model.public_key),
        created_at: Set(model.created_at),
        retired_at: Set(model.retired_at),
        activates_at: Set(model.activates_at),
        revoked_at: Set(model.revoked_at),
    };
    Entity::insert(active)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Retires every signing key but `keep` at `at`, when `keep` takes over.
pub async fn retire_all_except(
    db: &impl ConnectionTrait,
    keep: &str,
    at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    Entity::update_many()
        .col_expr(Column::RetiredAt, Expr::value(at))
        .filter(Column::Id.ne(keep))
        .filter(Column::RetiredAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// Replaces a key's sealed private key if it is still `old`.
pub async fn reseal(
    db: &impl ConnectionTrait,
    kid: &str,
    old: &str,
    new: &str,
) -> Result<bool, sea_orm::DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::PrivateKey, Expr::value(new))
        .filter(Column::Id.eq(kid))
        .filter(Column::PrivateKey.eq(old))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Revokes key `kid`; `false` when there is no such key or it was revoked already.
pub async fn revoke(
    db: &impl ConnectionTrait,
    kid: &str,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .filter(Column::Id.eq(kid))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
