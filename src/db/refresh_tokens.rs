//! Queries on `refresh_tokens`. Only hashes are stored.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::refresh_tokens::{ActiveModel, Column, Entity, Model};
use crate::{crypto::TokenHash, domain::SessionId};

pub struct NewRefreshToken<'a> {
    pub session: SessionId,
    pub parent: Option<Uuid>,
    pub hash: &'a TokenHash,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewRefreshToken<'_>,
) -> Result<(), sea_orm::DbErr> {
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(new.session.0),
        parent_id: Set(new.parent),
        token_hash: Set(new.hash.as_str().to_owned()),
        issued_at: Set(new.now),
        used_at: Set(None),
        expires_at: Set(new.expires_at),
    };
    Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Marks the token used if it is unused and unexpired, and answers it. Exactly one of any
/// number of concurrent callers gets it: the database decides, not a read before the write.
pub async fn claim(
    db: &impl ConnectionTrait,
    hash: &TokenHash,
    now: DateTime<Utc>,
) -> Result<Option<Model>, sea_orm::DbErr> {
    let claimed = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::TokenHash.eq(hash.as_str()))
        .filter(Column::UsedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .exec_with_returning(db)
        .await?;
    Ok(claimed.into_iter().next())
}

pub async fn find_by_hash(
    db: &impl ConnectionTrait,
    hash: &TokenHash,
) -> Result<Option<Model>, sea_orm::DbErr> {
    Entity::find()
        .filter(Column::TokenHash.eq(hash.as_str()))
        .one(db)
        .await
}

/// The successor already minted from `parent`, if any.
pub async fn find_child(
    db: &impl ConnectionTrait,
    parent: Uuid,
) -> Result<Option<Model>, sea_orm::DbErr> {
    Entity::find()
        .filter(Column::ParentId.eq(parent))
        .one(db)
        .await
}
