//! Queries on `sessions`. A session is active while it is not revoked and both its idle and
//! absolute expiries lie ahead; every check below spells that out in SQL so that the database,
//! not a stale read, decides.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, sea_query::Expr,
};

use super::entities::sessions::{ActiveModel, Column, Entity, Model};
use crate::domain::{AccountId, SessionId};

/// Why a session ended, as stored and audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    RevokedByUser,
    RefreshTokenReuse,
    PasswordChanged,
    PasswordReset,
    AccountDeleted,
    MfaChanged,
    AccountSuspended,
    EndedByAdministrator,
    RoleChanged,
    /// Administrators turned the second factor off.
    MfaReset,
    EmailChanged,
    EmailChangeReverted,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::RevokedByUser => "revoked_by_user",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::AccountDeleted => "account_deleted",
            Self::MfaChanged => "mfa_changed",
            Self::AccountSuspended => "account_suspended",
            Self::EndedByAdministrator => "ended_by_administrator",
            Self::RoleChanged => "role_changed",
            Self::MfaReset => "mfa_reset",
            Self::EmailChanged => "email_changed",
            Self::EmailChangeReverted => "email_change_reverted",
        }
    }
}

fn active_at(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::RevokedAt.is_null())
        .add(Column::ExpiresAt.gt(now))
        .add(Column::AbsoluteExpiresAt.gt(now))
}

pub async fn insert(db: &impl ConnectionTrait, model: Model) -> Result<Model, sea_orm::DbErr> {
    let active = ActiveModel {
        id: Set(model.id),
        account_id: Set(model.account_id),
        created_at: Set(model.created_at),
        last_active_at: Set(model.last_active_at),
        expires_at: Set(model.expires_at),
        absolute_expires_at: Set(model.absolute_expires_at),
        ip_address: Set(model.ip_address),
        user_agent: Set(model.user_agent),
        revoked_at: Set(None),
        revoke_reason: Set(None),
        mfa_verified: Set(model.mfa_verified),
        reauthenticated_at: Set(model.reauthenticated_at),
        auth_methods: Set(model.auth_methods),
    };
    Entity::insert(active).exec_with_returning(db).await
}

/// The session if it is active now: the one indexed lookup behind every authenticated request.
pub async fn find_active(
    db: &impl ConnectionTrait,
    id: SessionId,
    now: DateTime<Utc>,
) -> Result<Option<Model>, sea_orm::DbErr> {
    Entity::find_by_id(id.0)
        .filter(active_at(now))
        .one(db)
        .await
}

/// Moves the idle expiry forward to `idle_expiry`, or to the absolute expiry if that comes
/// first, if and only if the session is still active, and answers the session as it now is.
/// As a conditional update it also takes the row lock that orders a refresh against a
/// concurrent logout: whichever commits first wins, and the other finds nothing to do. The cap
/// is computed in SQL so that a refresh needs no read of the session before it.
pub async fn extend_if_active(
    db: &impl ConnectionTrait,
    id: SessionId,
    now: DateTime<Utc>,
    idle_expiry: DateTime<Utc>,
) -> Result<Option<Model>, sea_orm::DbErr> {
    let capped = Expr::case(
        Column::AbsoluteExpiresAt.lt(idle_expiry),
        Expr::col(Column::AbsoluteExpiresAt),
    )
    .finally(idle_expiry);
    let extended = Entity::update_many()
        .col_expr(Column::LastActiveAt, Expr::value(now))
        .col_expr(Column::ExpiresAt, capped.into())
        .filter(Column::Id.eq(id.0))
        .filter(active_at(now))
        .exec_with_returning(db)
        .await?;
    Ok(extended.into_iter().next())
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: SessionId,
) -> Result<Option<Model>, sea_orm::DbErr> {
    Entity::find_by_id(id.0).one(db).await
}

/// Ends one session of `account`; false when it was not theirs or had already ended.
pub async fn revoke(
    db: &impl ConnectionTrait,
    account: AccountId,
    id: SessionId,
    reason: RevokeReason,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .col_expr(Column::RevokeReason, Expr::value(reason.as_str()))
        .filter(Column::Id.eq(id.0))
        .filter(Column::AccountId.eq(account.0))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Ends every active session of `account` except `keep`; returns how many ended.
pub async fn revoke_all_except(
    db: &impl ConnectionTrait,
    account: AccountId,
    keep: Option<SessionId>,
    reason: RevokeReason,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let mut query = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .col_expr(Column::RevokeReason, Expr::value(reason.as_str()))
        .filter(Column::AccountId.eq(account.0))
        .filter(active_at(now));
    if let Some(keep) = keep {
        query = query.filter(Column::Id.ne(keep.0));
    }
    Ok(query.exec(db).await?.rows_affected)
}

/// Active sessions of `account`, newest first.
pub async fn list_active(
    db: &impl ConnectionTrait,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<Vec<Model>, sea_orm::DbErr> {
    Entity::find()
        .filter(Column::AccountId.eq(account.0))
        .filter(active_at(now))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .all(db)
        .await
}

/// Every session of `account`, ended or not, newest first (for the data export).
pub async fn all_of(
    db: &impl ConnectionTrait,
    account: AccountId,
) -> Result<Vec<Model>, sea_orm::DbErr> {
    Entity::find()
        .filter(Column::AccountId.eq(account.0))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .all(db)
        .await
}

/// Ends every active session of `account` that did not pass MFA, except `keep`.
pub async fn revoke_unverified_except(
    db: &impl ConnectionTrait,
    account: AccountId,
    keep: SessionId,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    Ok(Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .col_expr(
            Column::RevokeReason,
            Expr::value(RevokeReason::MfaChanged.as_str()),
        )
        .filter(Column::AccountId.eq(account.0))
        .filter(Column::Id.ne(keep.0))
        .filter(Column::MfaVerified.eq(false))
        .filter(active_at(now))
        .exec(db)
        .await?
        .rows_affected)
}

/// Marks a session as having passed MFA (it just proved a code): `methods` says how it is now
/// signed in. A session that had passed a second factor already (with a passkey) keeps what it
/// proved.
pub async fn mark_mfa_verified(
    db: &impl ConnectionTrait,
    id: SessionId,
    methods: &str,
) -> Result<(), sea_orm::DbErr> {
    Entity::update_many()
        .col_expr(Column::MfaVerified, Expr::value(true))
        .col_expr(Column::AuthMethods, Expr::value(methods))
        .filter(Column::Id.eq(id.0))
        .filter(Column::MfaVerified.eq(false))
        .exec(db)
        .await
        .map(|_| ())
}

/// Records that the session just proved its password (and second factor where on).
pub async fn mark_reauthenticated(
    db: &impl ConnectionTrait,
    id: SessionId,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    Entity::update_many()
        .col_expr(Column::ReauthenticatedAt, Expr::value(now))
        .filter(Column::Id.eq(id.0))
        .exec(db)
        .await
        .map(|_| ())
}

/// Forgets where sessions that ended before `cutoff` came from (client-data retention).
pub async fn erase_client_details_ended_before(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::IpAddress, Expr::value(Option::<String>::None))
        .col_expr(Column::UserAgent, Expr::value(Option::<String>::None))
        .filter(
            Condition::any()
                .add(Column::RevokedAt.lt(cutoff))
                .add(Column::ExpiresAt.lt(cutoff)),
        )
        .filter(
            Condition::any()
                .add(Column::IpAddress.is_not_null())
                .add(Column::UserAgent.is_not_null()),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Forgets where the account's sessions came from (closing an account erases it).
pub async fn erase_client_details(
    db: &impl ConnectionTrait,
    account: AccountId,
) -> Result<(), sea_orm::DbErr> {
    Entity::update_many()
        .col_expr(Column::IpAddress, Expr::value(Option::<String>::None))
        .col_expr(Column::UserAgent, Expr::value(Option::<String>::None))
        .filter(Column::AccountId.eq(account.0))
        .exec(db)
        .await
        .map(|_| ())
}
