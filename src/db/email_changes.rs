//! Queries on `email_changes`: an account's changes of address and their two single-use
//! links, confirm (to the new address) and revert (to the old one). Only hashes are stored.
//! Every "only once" is a conditional update: of concurrent uses of a link, one wins.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::{Condition, Expr},
};
use uuid::Uuid;

use super::entities::email_changes::{ActiveModel, Column, Entity, Model};
use crate::{
    crypto::TokenHash,
    domain::{AccountId, Email},
};

/// A change as asked for.
pub struct NewChange<'a> {
    pub account: AccountId,
    pub old_email: &'a str,
    pub new_email: &'a Email,
    pub confirm_hash: &'a TokenHash,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewChange<'_>) -> Result<(), DbErr> {
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(new.account.0),
        old_email: Set(Some(new.old_email.to_owned())),
        new_email: Set(Some(new.new_email.as_str().to_owned())),
        confirm_hash: Set(new.confirm_hash.as_str().to_owned()),
        revert_hash: Set(None),
        created_at: Set(new.now),
        expires_at: Set(new.expires_at),
        confirmed_at: Set(None),
        revert_expires_at: Set(None),
        reverted_at: Set(None),
        voided_at: Set(None),
    };
    Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// A change whose confirmation link still works.
fn confirmable(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::ConfirmedAt.is_null())
        .add(Column::VoidedAt.is_null())
        .add(Column::ExpiresAt.gt(now))
}

/// A change whose revert link still works.
fn revertible(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::RevertedAt.is_null())
        .add(Column::VoidedAt.is_null())
        .add(Column::RevertExpiresAt.gt(now))
}

/// The change this confirmation link belongs to, if the link still works.
pub async fn find_confirmable(
    db: &impl ConnectionTrait,
    hash: &TokenHash,
    now: DateTime<Utc>,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::ConfirmHash.eq(hash.as_str()))
        .filter(confirmable(now))
        .one(db)
        .await
}

/// Uses the confirmation link and opens the revert link until `revert_expires_at`, if the
/// confirmation link still works. Of concurrent confirmations exactly one gets `true`.
pub async fn confirm(
    db: &impl ConnectionTrait,
    id: Uuid,
    revert_hash: &TokenHash,
    revert_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::ConfirmedAt, Expr::value(now))
        .col_expr(Column::RevertHash, Expr::value(revert_hash.as_str()))
        .col_expr(Column::RevertExpiresAt, Expr::value(revert_expires_at))
        .filter(Column::Id.eq(id))
        .filter(confirmable(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The change this revert link belongs to, if the link still works.
pub async fn find_revertible(
    db: &impl ConnectionTrait,
    hash: &TokenHash,
    now: DateTime<Utc>,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::RevertHash.eq(hash.as_str()))
        .filter(revertible(now))
        .one(db)
        .await
}

/// Uses the revert link, if it still works. Of concurrent reverts exactly one gets `true`.
pub async fn revert(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::RevertedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(revertible(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Voids the account's changes still waiting for confirmation: a newer request replaces them,
/// and a suspension stops them.
pub async fn void_pending(
    db: &impl ConnectionTrait,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::VoidedAt, Expr::value(now))
        .filter(Column::AccountId.eq(account.0))
        .filter(Column::ConfirmedAt.is_null())
        .filter(Column::VoidedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// Voids the links of the account's changes that are pending or were confirmed after `since`
/// (the confirmation of the change being reverted). Whoever made those changes must not undo
/// the revert with their own revert link; the links of earlier changes stay, so the holder of
/// an older address can still take the account back.
pub async fn void_since(
    db: &impl ConnectionTrait,
    account: AccountId,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::VoidedAt, Expr::value(now))
        .filter(Column::AccountId.eq(account.0))
        .filter(Column::VoidedAt.is_null())
        .filter(Column::RevertedAt.is_null())
        .filter(
            Condition::any()
                .add(Column::ConfirmedAt.is_null())
                .add(Column::ConfirmedAt.gt(since)),
        )
        .exec(db)
        .await
        .map(|_| ())
}

/// Erases the addresses of the account's changes and voids their links: the account is
/// closed.
pub async fn erase(
    db: &impl ConnectionTrait,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::OldEmail, Expr::value(Option::<String>::None))
        .col_expr(Column::NewEmail, Expr::value(Option::<String>::None))
        .filter(Column::AccountId.eq(account.0))
        .exec(db)
        .await?;
    Entity::update_many()
        .col_expr(Column::VoidedAt, Expr::value(now))
        .filter(Column::AccountId.eq(account.0))
        .filter(Column::VoidedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}
