//! Queries on `kyc_reviews`: every KYC status change with its reason.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use uuid::Uuid;

use super::entities::kyc_reviews::{ActiveModel, Column, Entity, Model};
use crate::domain::{AccountId, KycStatus};

pub struct NewReview<'a> {
    pub account: AccountId,
    pub actor: Option<AccountId>,
    pub from: KycStatus,
    pub to: KycStatus,
    pub reason: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// Records a change; returns its id, which the audit event refers to.
pub async fn insert(db: &impl ConnectionTrait, review: NewReview<'_>) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    let model = ActiveModel {
        id: Set(id),
        account_id: Set(review.account.0),
        actor_id: Set(review.actor.map(|actor| actor.0)),
        from_status: Set(review.from),
        to_status: Set(review.to),
        reason: Set(review.reason.map(str::to_owned)),
        created_at: Set(review.now),
    };
    Entity::insert(model).exec_without_returning(db).await?;
    Ok(id)
}

/// The account's reviews, oldest first.
pub async fn of_account(
    db: &impl ConnectionTrait,
    account: AccountId,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::AccountId.eq(account.0))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// Erases the reasons (free text that may name the person) when the account is closed.
pub async fn erase_reasons(db: &impl ConnectionTrait, account: AccountId) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Reason, Expr::value(Option::<String>::None))
        .filter(Column::AccountId.eq(account.0))
        .exec(db)
        .await
        .map(|_| ())
}
