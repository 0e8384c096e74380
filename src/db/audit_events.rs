//! Queries on `audit_events` and its chain head. The trail is append-only: this module's only
//! updates of an event are sealing a pending one and erasing client data, and appending needs
//! a transaction, so an event can only be written together with the change it records.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend,
    DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::{
    audit_chain_head,
    audit_events::{ActiveModel, Column, Entity, Model},
};

const HEAD_ID: i32 = 1;

/// Records the link at the head of the chain, with the head's seal.
pub async fn set_head(
    txn: &DatabaseTransaction,
    seq: i64,
    link: &str,
    seal: &str,
) -> Result<(), DbErr> {
    audit_chain_head::Entity::update_many()
        .col_expr(audit_chain_head::Column::Seq, Expr::value(seq))
        .col_expr(audit_chain_head::Column::Hash, Expr::value(link))
        .col_expr(audit_chain_head::Column::Seal, Expr::value(seal))
        .filter(audit_chain_head::Column::Id.eq(HEAD_ID))
        .exec(txn)
        .await
        .map(|_| ())
}

/// Takes the head's lock and reads it: the row lock (PostgreSQL) or the write lock (SQLite)
/// until the transaction ends, so one sealer at a time, across instances, extends the chain.
pub async fn lock_head(txn: &DatabaseTransaction) -> Result<audit_chain_head::Model, DbErr> {
    audit_chain_head::Entity::update_many()
        .col_expr(
            audit_chain_head::Column::Seq,
            Expr::col(audit_chain_head::Column::Seq),
        )
        .filter(audit_chain_head::Column::Id.eq(HEAD_ID))
        .exec(txn)
        .await?;
    head(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("audit chain head".into()))
}

/// Opens the one way past the append-only triggers, for this transaction only: it must be
/// closed with [`end_maintenance`] before the transaction commits.
pub async fn begin_maintenance(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    txn.execute_unprepared("INSERT INTO audit_maintenance (id) VALUES (1)")
        .await
        .map(|_| ())
}

pub async fn end_maintenance(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    txn.execute_unprepared("DELETE FROM audit_maintenance")
        .await
        .map(|_| ())
}

/// Re-links one event of a trail written before keying (inside maintenance only).
pub async fn relink(txn: &DatabaseTransaction, event: &Model) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::PrevHash, Expr::value(event.prev_hash.clone()))
        .col_expr(Column::Hash, Expr::value(event.hash.clone()))
        .col_expr(
            Column::ClientCommitment,
            Expr::value(event.client_commitment.clone()),
        )
        .filter(Column::Id.eq(event.id))
        .exec(txn)
        .await
        .map(|_| ())
}

/// Erases the IP address and user agent of the events about or by `account` (the one update
/// the append-only triggers allow); the chain keeps their commitments.
pub async fn erase_client_data_of(db: &impl ConnectionTrait, account: Uuid) -> Result<u64, DbErr> {
    erase_client_data(
        db,
        Condition::any()
            .add(Column::SubjectId.eq(account))
            .add(Column::ActorId.eq(account)),
    )
    .await
}

/// Erases the IP address and user agent of the events older than `cutoff`.
pub async fn erase_client_data_before(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<u64, DbErr> {
    erase_client_data(db, Condition::all().add(Column::At.lt(cutoff))).await
}

async fn erase_client_data(db: &impl ConnectionTrait, which: Condition) -> Result<u64, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::IpAddress, Expr::value(Option::<String>::None))
        .col_expr(Column::UserAgent, Expr::value(Option::<String>::None))
        .filter(which)
        .filter(
            Condition::any()
                .add(Column::IpAddress.is_not_null())
                .add(Column::UserAgent.is_not_null()),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

pub async fn insert(txn: &DatabaseTransaction, event: Model) -> Result<(), DbErr> {
    let model = ActiveModel {
        id: Set(event.id),
        seq: Set(event.seq),
        at: Set(event.at),
        kind: Set(event.kind),
        outcome: Set(event.outcome),
        actor_id: Set(event.actor_id),
        subject_id: Set(event.subject_id),
        session_id: Set(event.session_id),
        ip_address: Set(event.ip_address),
        user_agent: Set(event.user_agent),
        request_id: Set(event.request_id),
        details: Set(event.details),
        prev_hash: Set(event.prev_hash),
        hash: Set(event.hash),
        client_commitment: Set(event.client_commitment),
        event_mac: Set(event.event_mac),
    };
    Entity::insert(model)
        .exec_without_returning(txn)
        .await
        .map(|_| ())
}

pub async fn head(db: &impl ConnectionTrait) -> Result<Option<audit_chain_head::Model>, DbErr> {
    audit_chain_head::Entity::find_by_id(HEAD_ID).one(db).await
}

/// The sealed event at position `seq`.
pub async fn at_position(db: &impl ConnectionTrait, seq: i64) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::Seq.eq(seq)).one(db).await
}

/// Whether any event after `after` (by id) is pending: a cheap look before taking the head.
pub async fn any_pending(db: &impl ConnectionTrait, after: Option<Uuid>) -> Result<bool, DbErr> {
    let mut query = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Seq.is_null());
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    Ok(query.into_tuple::<Uuid>().one(db).await?.is_some())
}

/// Pending events after `after` (by id), in id order, at most `limit` of them.
pub async fn pending(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find().filter(Column::Seq.is_null());
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    query.order_by_asc(Column::Id).limit(limit).all(db).await
}

/// An event's place in the chain, as the sealer assigns it.
pub struct Seal {
    pub id: Uuid,
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
}

/// Seals pending events: sets their position and links, once (the append-only triggers allow
/// exactly this on a pending event), in one statement.
pub async fn seal(txn: &DatabaseTransaction, seals: &[Seal]) -> Result<(), DbErr> {
    if seals.is_empty() {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(seals.len() * 4);
    let mut rows = Vec::with_capacity(seals.len());
    for seal in seals {
        let row = match backend {
            DbBackend::Postgres => {
                let n = values.len();
                format!(
                    "(CAST(${} AS uuid), CAST(${} AS bigint), CAST(${} AS varchar), CAST(${} AS varchar))",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4
                )
            }
            _ => "(?, ?, ?, ?)".to_owned(),
        };
        rows.push(row);
        values.push(seal.id.into());
        values.push(seal.seq.into());
        values.push(seal.prev_hash.clone().into());
        values.push(seal.hash.clone().into());
    }
    let sql = format!(
        "WITH sealed (id, seq, prev_hash, hash) AS (VALUES {}) \
         UPDATE audit_events SET seq = sealed.seq, prev_hash = sealed.prev_hash, hash = sealed.hash \
         FROM sealed WHERE audit_events.id = sealed.id AND audit_events.seq IS NULL",
        rows.join(", ")
    );
    let result = txn
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    if result.rows_affected() == seals.len() as u64 {
        Ok(())
    } else {
        Err(DbErr::Custom(format!(
            "sealed {} of {} pending audit events: another writer sealed some",
            result.rows_affected(),
            seals.len()
        )))
    }
}

/// Fails unless this connection may seal events (on PostgreSQL, the column privileges the
/// README grants); touches no row.
pub async fn check_may_seal(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_unprepared(
        "UPDATE audit_events SET seq = seq, prev_hash = prev_hash, hash = hash WHERE 1 = 0",
    )
    .await
    .map(|_| ())
}

/// Sealed events in chain order from position `from` on, at most `limit` of them.
pub async fn chain_page(
    db: &impl ConnectionTrait,
    from: i64,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::Seq.gte(from))
        .order_by_asc(Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// Which events a search returns. Every part is optional; `account` matches events about the
/// account or done by it.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub account: Option<Uuid>,
    /// Only events about this account.
    pub subject: Option<Uuid>,
    pub kind: Option<&'a str>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only events older than this chain position (the cursor). Searches list sealed events
    /// only.
    pub before_seq: Option<i64>,
}

/// Newest first.
pub async fn search(
    db: &impl ConnectionTrait,
    filter: &Filter<'_>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut condition = Condition::all();
    if let Some(account) = filter.account {
        condition = condition.add(
            Condition::any()
                .add(Column::SubjectId.eq(account))
                .add(Column::ActorId.eq(account)),
        );
    }
    if let Some(subject) = filter.subject {
        condition = condition.add(Column::SubjectId.eq(subject));
    }
    if let Some(kind) = filter.kind {
        condition = condition.add(Column::Kind.eq(kind));
    }
    if let Some(from) = filter.from {
        condition = condition.add(Column::At.gte(from));
    }
    if let Some(to) = filter.to {
        condition = condition.add(Column::At.lt(to));
    }
    if let Some(before) = filter.before_seq {
        condition = condition.add(Column::Seq.lt(before));
    }
    // Sealed events only: a pending one is listed once sealed, which readers ask for first.
    condition = condition.add(Column::Seq.is_not_null());
    Entity::find()
        .filter(condition)
        .order_by_desc(Column::Seq)
        .limit(limit)
        .all(db)
        .await
}
