//! Queries on `account_tokens`: single-use tokens sent by email. Only hashes are stored.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use uuid::Uuid;

use super::entities::account_tokens::{ActiveModel, Column, Entity, Model};
use crate::{crypto::TokenHash, domain::AccountId};

/// What a token is for; a token of one purpose never works for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    EmailVerification,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
        }
    }
}

pub async fn insert(
    db: &impl ConnectionTrait,
    account: AccountId,
    purpose: Purpose,
    hash: &TokenHash,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account.0),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(hash.as_str().to_owned()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    };
    Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// The token if it is of this purpose, unused and unexpired.
pub async fn find_usable(
    db: &impl ConnectionTrait,
    hash: &TokenHash,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::TokenHash.eq(hash.as_str()))
        .filter(Column::Purpose.eq(purpose.as_str()))
        .filter(Column::UsedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .one(db)
        .await
}

/// Uses the token if it is still usable. Of concurrent uses exactly one gets `true`.
pub async fn claim(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::UsedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Voids every unused token of `purpose` for the account (a newer one was sent, or the
/// password changed).
pub async fn void_all(
    db: &impl ConnectionTrait,
    account: AccountId,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::AccountId.eq(account.0))
        .filter(Column::Purpose.eq(purpose.as_str()))
        .filter(Column::UsedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// When the newest token of `purpose` was issued to the account, if ever.
pub async fn last_issued_at(
    db: &impl ConnectionTrait,
    account: AccountId,
    purpose: Purpose,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(Entity::find()
        .filter(Column::AccountId.eq(account.0))
        .filter(Column::Purpose.eq(purpose.as_str()))
        .order_by_desc(Column::CreatedAt)
        .one(db)
        .await?
        .map(|token| token.created_at))
}
