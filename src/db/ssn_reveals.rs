//! Queries on `ssn_reveals`: every full SSN an administrator read, with why.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use uuid::Uuid;

use super::entities::ssn_reveals::{ActiveModel, Column, Entity};
use crate::domain::AccountId;

/// Records a reveal; returns its id, which the audit event refers to.
pub async fn insert(
    db: &impl ConnectionTrait,
    account: AccountId,
    actor: AccountId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    let model = ActiveModel {
        id: Set(id),
        account_id: Set(account.0),
        actor_id: Set(actor.0),
        reason: Set(Some(reason.to_owned())),
        created_at: Set(now),
    };
    Entity::insert(model).exec_without_returning(db).await?;
    Ok(id)
}

/// Erases the reasons when the account is closed.
pub async fn erase_reasons(db: &impl ConnectionTrait, account: AccountId) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Reason, Expr::value(Option::<String>::None))
        .filter(Column::AccountId.eq(account.0))
        .exec(db)
        .await
        .map(|_| ())
}
