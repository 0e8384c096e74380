//! Queries on `mail_outbox`: storing a message with its change, and handing due ones to one
//! worker at a time.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, LockBehavior, LockType},
};
use uuid::Uuid;

use super::entities::mail_outbox::{ActiveModel, Column, Entity, Model};

pub struct NewMessage<'a> {
    pub message_id: &'a str,
    pub kind: &'a str,
    pub sealed: String,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    id: Uuid,
    message: NewMessage<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let model = ActiveModel {
        id: Set(id),
        message_id: Set(message.message_id.to_owned()),
        kind: Set(message.kind.to_owned()),
        sealed: Set(message.sealed),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_until: Set(None),
        delivered_at: Set(None),
        failed_at: Set(None),
        last_error: Set(None),
    };
    Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Claims up to `limit` messages due at `now` until `lease`, oldest first: a row another
/// worker holds is skipped (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite serialises writers).
pub async fn claim_due(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
    lease: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find()
        .filter(Column::DeliveredAt.is_null())
        .filter(Column::FailedAt.is_null())
        .filter(Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(Column::ClaimedUntil.is_null())
                .add(Column::ClaimedUntil.lt(now)),
        )
        .order_by_asc(Column::CreatedAt)
        .limit(limit);
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let due = query.all(txn).await?;
    if !due.is_empty() {
        Entity::update_many()
            .col_expr(Column::ClaimedUntil, Expr::value(lease))
            .filter(Column::Id.is_in(due.iter().map(|message| message.id)))
            .exec(txn)
            .await?;
    }
    Ok(due)
}

pub async fn mark_delivered(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::DeliveredAt, Expr::value(now))
        .col_expr(
            Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Records a failed attempt: tried again at `next`, or given up when `next` is `None`.
pub async fn mark_failed_attempt(
    db: &impl ConnectionTrait,
    id: Uuid,
    attempts: i32,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    error: &str,
) -> Result<(), DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::Attempts, Expr::value(attempts))
        .col_expr(
            Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::LastError, Expr::value(error));
    update = match next {
        Some(at) => update.col_expr(Column::NextAttemptAt, Expr::value(at)),
        None => update.col_expr(Column::FailedAt, Expr::value(now)),
    };
    update.filter(Column::Id.eq(id)).exec(db).await.map(|_| ())
}
