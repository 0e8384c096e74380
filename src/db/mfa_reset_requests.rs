//! Queries on `mfa_reset_requests`: administrators' requests to turn off someone's second
//! factor, each settled once (approved or cancelled) by a conditional update.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::mfa_reset_requests::{ActiveModel, Column, Entity, Model};
use crate::domain::AccountId;

/// A request as it is filed.
pub struct NewRequest<'a> {
    pub account: AccountId,
    pub requested_by: AccountId,
    pub reason: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewRequest<'_>) -> Result<Model, DbErr> {
    let model = Model {
        id: Uuid::now_v7(),
        account_id: new.account.0,
        requested_by: new.requested_by.0,
        reason: Some(new.reason.to_owned()),
        created_at: new.now,
        expires_at: new.expires_at,
        approved_by: None,
        approved_at: None,
        cancelled_by: None,
        cancelled_at: None,
    };
    let active = ActiveModel::from(model.clone()).reset_all();
    Entity::insert(active).exec_without_returning(db).await?;
    Ok(model)
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// Neither approved nor cancelled, and not yet lapsed.
fn pending_at(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::ApprovedAt.is_null())
        .add(Column::CancelledAt.is_null())
        .add(Column::ExpiresAt.gt(now))
}

/// Whether the account has a request still pending.
pub async fn has_pending(
    db: &impl ConnectionTrait,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(Entity::find()
        .filter(Column::AccountId.eq(account.0))
        .filter(pending_at(now))
        .one(db)
        .await?
        .is_some())
}

/// Pending requests, oldest first, at most `limit`.
pub async fn pending(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(pending_at(now))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Approves a pending request by someone other than its requester. Of concurrent approvals,
/// exactly one gets `true`.
pub async fn approve(
    db: &impl ConnectionTrait,
    id: Uuid,
    approver: AccountId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::ApprovedBy, Expr::value(approver.0))
        .col_expr(Column::ApprovedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::RequestedBy.ne(approver.0))
        .filter(pending_at(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Cancels a pending request; `false` when it was no longer pending.
pub async fn cancel(
    db: &impl ConnectionTrait,
    id: Uuid,
    by: AccountId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::CancelledBy, Expr::value(by.0))
        .col_expr(Column::CancelledAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(pending_at(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The account is closed: the reasons of its requests are erased, and a pending one is
/// cancelled, as it can no longer be approved.
pub async fn erase_for_closure(
    db: &impl ConnectionTrait,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::CancelledAt, Expr::value(now))
        .filter(Column::AccountId.eq(account.0))
        .filter(pending_at(now))
        .exec(db)
        .await?;
    Entity::update_many()
        .col_expr(Column::Reason, Expr::value(Option::<String>::None))
        .filter(Column::AccountId.eq(account.0))
        .exec(db)
        .await
        .map(|_| ())
}
