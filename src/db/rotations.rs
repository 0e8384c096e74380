//! A refresh token's rotation in one statement, on PostgreSQL only (the one exception to
//! "every query runs on both"): a rotation in a transaction is six round trips to a server
//! that is often on another machine, and holds a pooled connection for all of them. Here it
//! is a read and one statement. SQLite keeps the transaction: its statements cost no round
//! trip, and it cannot modify rows inside `WITH`.
//!
//! The statement takes its row locks in the transaction's order (the token, then its
//! session), so the two ways of rotating never wait for each other in a cycle.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, Statement, Value};
use uuid::Uuid;

use super::entities::{audit_events, sessions};
use crate::{crypto::TokenHash, domain::SessionId};

/// Whether `db` rotates in one statement.
pub fn available(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// A presented token as found, with the account its session belongs to.
#[derive(Debug, FromQueryResult)]
pub struct Presented {
    pub id: Uuid,
    pub session_id: Uuid,
    pub account_id: Uuid,
    pub used_at: Option<DateTime<Utc>>,
}

/// The token whose hash is `hash`, read outside any transaction: what the statement below is
/// built from.
pub async fn find(db: &impl ConnectionTrait, hash: &TokenHash) -> Result<Option<Presented>, DbErr> {
    let sql = "SELECT t.id, t.session_id, s.account_id, t.used_at \
               FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
               WHERE t.token_hash = $1";
    Presented::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [hash.as_str().into()],
    ))
    .one(db)
    .await
}

/// What one rotation writes.
pub struct Rotation<'a> {
    pub token: Uuid,
    pub session: SessionId,
    pub now: DateTime<Utc>,
    /// The session's new idle expiry, before its absolute expiry caps it.
    pub idle_expiry: DateTime<Utc>,
    pub successor: Uuid,
    pub successor_hash: &'a TokenHash,
    /// The pending audit event that records the rotation.
    pub event: audit_events::Model,
}

/// Claims the token if it is unused, unexpired and its session active; extends the session
/// while it is still active; mints the successor (expiring with the session) and appends the
/// event. All of it or nothing: the extended session is answered only when the successor was
/// minted. `None` when the token was claimed by someone else first or its session had ended;
/// the claim alone commits only when a revocation of the session committed between the
/// statement's snapshot and its lock on the session, which leaves a used token on an ended
/// session.
pub async fn rotate(
    db: &impl ConnectionTrait,
    rotation: Rotation<'_>,
) -> Result<Option<sessions::Model>, DbErr> {
    // "Active" is `sessions::active_at`: not revoked, neither expiry passed.
    const SQL: &str = "WITH claimed AS ( \
            UPDATE refresh_tokens SET used_at = $1 \
            WHERE id = $2 AND session_id = $3 AND used_at IS NULL AND expires_at > $1 \
              AND EXISTS (SELECT 1 FROM sessions WHERE id = $3 AND revoked_at IS NULL AND expires_at > $1 AND absolute_expires_at > $1) \
            RETURNING id, session_id \
         ), extended AS ( \
            UPDATE sessions SET last_active_at = $1, \
                expires_at = CASE WHEN absolute_expires_at < $4 THEN absolute_expires_at ELSE $4 END \
            WHERE id = (SELECT session_id FROM claimed) AND revoked_at IS NULL AND expires_at > $1 AND absolute_expires_at > $1 \
            RETURNING * \
         ), minted AS ( \
            INSERT INTO refresh_tokens (id, session_id, parent_id, token_hash, issued_at, expires_at) \
            SELECT CAST($5 AS uuid), extended.id, claimed.id, CAST($6 AS varchar), $1, extended.expires_at \
            FROM extended, claimed \
            RETURNING id \
         ), recorded AS ( \
            INSERT INTO audit_events (id, at, kind, outcome, actor_id, subject_id, session_id, \
                ip_address, user_agent, request_id, details, client_commitment, event_mac) \
            SELECT CAST($7 AS uuid), CAST($8 AS timestamptz), CAST($9 AS varchar), \
                CAST($10 AS varchar), CAST($11 AS uuid), CAST($12 AS uuid), CAST($13 AS uuid), \
                CAST($14 AS varchar), CAST($15 AS varchar), CAST($16 AS varchar), \
                CAST($17 AS text), CAST($18 AS varchar), CAST($19 AS varchar) \
            FROM minted \
         ) \
         SELECT extended.* FROM extended, minted";
    let event = rotation.event;
    let values: [Value; 19] = [
        rotation.now.into(),
        rotation.token.into(),
        rotation.session.0.into(),
        rotation.idle_expiry.into(),
        rotation.successor.into(),
        rotation.successor_hash.as_str().into(),
        event.id.into(),
        event.at.into(),
        event.kind.into(),
        event.outcome.into(),
        event.actor_id.into(),
        event.subject_id.into(),
        event.session_id.into(),
        event.ip_address.into(),
        event.user_agent.into(),
        event.request_id.into(),
        event.details.into(),
        event.client_commitment.into(),
        event.event_mac.into(),
    ];
    sessions::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DbBackend::Postgres,
            SQL,
            values,
        ))
        .one(db)
        .await
}
