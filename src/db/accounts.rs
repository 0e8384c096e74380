//! Queries on `accounts`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr,
};

use super::entities::accounts::{ActiveModel, Column, Entity, Model};
use crate::domain::{AccountId, Email, KycStatus, PersonName, Role};

/// What a new account is made of.
pub struct NewAccount<'a> {
    pub id: AccountId,
    pub email: &'a Email,
    pub password_hash: String,
    pub first_name: &'a PersonName,
    pub last_name: &'a PersonName,
    pub role: Role,
    pub email_verified: bool,
    pub now: DateTime<Utc>,
}

/// Inserts an account; a taken email surfaces as a unique violation (`db::is_unique_violation`).
pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewAccount<'_>,
) -> Result<Model, sea_orm::DbErr> {
    let model = ActiveModel {
        id: Set(new.id.0),
        email: Set(new.email.as_str().to_owned()),
        password_hash: Set(new.password_hash),
        first_name: Set(new.first_name.as_str().to_owned()),
        last_name: Set(new.last_name.as_str().to_owned()),
        role: Set(new.role),
        email_verified: Set(new.email_verified),
        kyc_status: Set(KycStatus::Pending),
        mfa_enabled: Set(false),
        created_at: Set(new.now),
        updated_at: Set(new.now),
    };
    Entity::insert(model).exec_with_returning(db).await
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<Model>, sea_orm::DbErr> {
    Entity::find()
        .filter(Column::Email.eq(email.as_str()))
        .one(db)
        .await
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: AccountId,
) -> Result<Option<Model>, sea_orm::DbErr> {
    Entity::find_by_id(id.0).one(db).await
}

/// Replaces the stored hash only if it is still `old`: of two concurrent changes, one wins and
/// the other gets `false`.
pub async fn replace_password_hash(
    db: &impl ConnectionTrait,
    id: AccountId,
    old: &str,
    new: String,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::PasswordHash, Expr::value(new))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id.0))
        .filter(Column::PasswordHash.eq(old))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks the email verified; `false` when it already was.
pub async fn mark_email_verified(
    db: &impl ConnectionTrait,
    id: AccountId,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::EmailVerified, Expr::value(true))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id.0))
        .filter(Column::EmailVerified.eq(false))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
