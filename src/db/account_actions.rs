//! Queries on `account_actions`: what administrators did to someone's account, with why.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use uuid::Uuid;

use super::entities::account_actions::{ActiveModel, Column, Entity};
use crate::domain::AccountId;

/// What an administrator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Suspend,
    Reactivate,
    EndSessions,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Reactivate => "reactivate",
            Self::EndSessions => "end_sessions",
        }
    }
}

/// Records an action and its reason; returns its id, which the audit event refers to.
pub async fn insert(
    db: &impl ConnectionTrait,
    account: AccountId,
    actor: AccountId,
    action: Action,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    let model = ActiveModel {
        id: Set(id),
        account_id: Set(account.0),
        actor_id: Set(actor.0),
        action: Set(action.as_str().to_owned()),
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
