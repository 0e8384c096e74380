//! Queries for multi-factor authentication: the secrets on `accounts`, sign-in challenges and
//! recovery codes. Every check that must hold once holds in a conditional update.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    accounts::AccountWrites,
    entities::{accounts, mfa_challenges, recovery_codes},
};
use crate::{crypto::TokenHash, domain::AccountId};

/// Stores a secret being enrolled (replacing any earlier unfinished enrolment), unless MFA is
/// already on.
pub async fn set_pending_secret(
    work: &impl AccountWrites,
    account: AccountId,
    sealed: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    work.account_changed(account);
    let result = accounts::Entity::update_many()
        .col_expr(accounts::Column::MfaPendingSecret, Expr::value(sealed))
        .col_expr(accounts::Column::UpdatedAt, Expr::value(now))
        .filter(accounts::Column::Id.eq(account.0))
        .filter(accounts::Column::MfaEnabled.eq(false))
        .exec(work.txn())
        .await?;
    Ok(result.rows_affected == 1)
}

/// Turns MFA on with the pending secret, recording the step its first code used. Only the
/// secret that was confirmed is activated, and only once.
pub async fn activate(
    work: &impl AccountWrites,
    account: AccountId,
    confirmed: &str,
    step: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    work.account_changed(account);
    let result = accounts::Entity::update_many()
        .col_expr(accounts::Column::MfaSecret, Expr::value(confirmed))
        .col_expr(
            accounts::Column::MfaPendingSecret,
            Expr::value(Option::<String>::None),
        )
        .col_expr(accounts::Column::MfaEnabled, Expr::value(true))
        .col_expr(accounts::Column::MfaLastStep, Expr::value(step))
        .col_expr(accounts::Column::UpdatedAt, Expr::value(now))
        .filter(accounts::Column::Id.eq(account.0))
        .filter(accounts::Column::MfaEnabled.eq(false))
        .filter(accounts::Column::MfaPendingSecret.eq(confirmed))
        .exec(work.txn())
        .await?;
    Ok(result.rows_affected == 1)
}

/// Turns MFA off and forgets the secret.
pub async fn deactivate(
    work: &impl AccountWrites,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    work.account_changed(account);
    let result = accounts::Entity::update_many()
        .col_expr(
            accounts::Column::MfaSecret,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            accounts::Column::MfaPendingSecret,
            Expr::value(Option::<String>::None),
        )
        .col_expr(accounts::Column::MfaEnabled, Expr::value(false))
        .col_expr(
            accounts::Column::MfaLastStep,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(accounts::Column::UpdatedAt, Expr::value(now))
        .filter(accounts::Column::Id.eq(account.0))
        .filter(accounts::Column::MfaEnabled.eq(true))
        .exec(work.txn())
        .await?;
    Ok(result.rows_affected == 1)
}

/// Accepts TOTP time step `step` for the account if no later or equal step was accepted
/// before. Of two requests with the same code, exactly one gets `true`.
pub async fn accept_step(
    db: &impl ConnectionTrait,
    account: AccountId,
    step: i64,
) -> Result<bool, DbErr> {
    let result = accounts::Entity::update_many()
        .col_expr(accounts::Column::MfaLastStep, Expr::value(step))
        .filter(accounts::Column::Id.eq(account.0))
        .filter(
            Condition::any()
                .add(accounts::Column::MfaLastStep.is_null())
                .add(accounts::Column::MfaLastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Stores a challenge; answers its id.
pub async fn insert_challenge(
    db: &impl ConnectionTrait,
    account: AccountId,
    hash: &TokenHash,
    security_stamp: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    let model = mfa_challenges::ActiveModel {
        id: Set(id),
        account_id: Set(account.0),
        token_hash: Set(hash.as_str().to_owned()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
        failed_attempts: Set(0),
        security_stamp: Set(security_stamp.to_owned()),
    };
    mfa_challenges::Entity::insert(model)
        .exec_without_returning(db)
        .await?;
    Ok(id)
}

/// The challenge if it is unused, unexpired and has guesses left.
pub async fn find_open_challenge(
    db: &impl ConnectionTrait,
    hash: &TokenHash,
    now: DateTime<Utc>,
    max_failures: i32,
) -> Result<Option<mfa_challenges::Model>, DbErr> {
    mfa_challenges::Entity::find()
        .filter(mfa_challenges::Column::TokenHash.eq(hash.as_str()))
        .filter(mfa_challenges::Column::UsedAt.is_null())
        .filter(mfa_challenges::Column::ExpiresAt.gt(now))
        .filter(mfa_challenges::Column::FailedAttempts.lt(max_failures))
        .one(db)
        .await
}

/// Uses the challenge; of concurrent uses exactly one gets `true`.
pub async fn claim_challenge(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
    max_failures: i32,
) -> Result<bool, DbErr> {
    let result = mfa_challenges::Entity::update_many()
        .col_expr(mfa_challenges::Column::UsedAt, Expr::value(now))
        .filter(mfa_challenges::Column::Id.eq(id))
        .filter(mfa_challenges::Column::UsedAt.is_null())
        .filter(mfa_challenges::Column::ExpiresAt.gt(now))
        .filter(mfa_challenges::Column::FailedAttempts.lt(max_failures))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Counts a wrong code against the challenge.
pub async fn count_failure(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    mfa_challenges::Entity::update_many()
        .col_expr(
            mfa_challenges::Column::FailedAttempts,
            Expr::col(mfa_challenges::Column::FailedAttempts).add(1),
        )
        .filter(mfa_challenges::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Ends every open challenge of the account: a sign-in half done cannot finish.
pub async fn void_challenges(
    db: &impl ConnectionTrait,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    mfa_challenges::Entity::update_many()
        .col_expr(mfa_challenges::Column::UsedAt, Expr::value(now))
        .filter(mfa_challenges::Column::AccountId.eq(account.0))
        .filter(mfa_challenges::Column::UsedAt.is_null())
        .filter(mfa_challenges::Column::ExpiresAt.gt(now))
        .exec(db)
        .await
        .map(|_| ())
}

/// Replaces the account's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    db: &impl ConnectionTrait,
    account: AccountId,
    hashes: Vec<String>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    delete_recovery_codes(db, account).await?;
    let models = hashes.into_iter().map(|hash| recovery_codes::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account.0),
        code_hash: Set(hash),
        created_at: Set(now),
        used_at: Set(None),
    });
    recovery_codes::Entity::insert_many(models)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

pub async fn delete_recovery_codes(
    db: &impl ConnectionTrait,
    account: AccountId,
) -> Result<(), DbErr> {
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::AccountId.eq(account.0))
        .exec(db)
        .await
        .map(|_| ())
}

/// Uses an unused recovery code of the account; `true` exactly once per code.
pub async fn use_recovery_code(
    db: &impl ConnectionTrait,
    account: AccountId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = recovery_codes::Entity::update_many()
        .col_expr(recovery_codes::Column::UsedAt, Expr::value(now))
        .filter(recovery_codes::Column::AccountId.eq(account.0))
        .filter(recovery_codes::Column::CodeHash.eq(hash))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Every stored recovery-code hash with its row id, to be hashed again under a key.
pub async fn all_recovery_code_hashes(
    db: &impl ConnectionTrait,
) -> Result<Vec<(Uuid, String)>, DbErr> {
    use sea_orm::QuerySelect;
    recovery_codes::Entity::find()
        .select_only()
        .columns([recovery_codes::Column::Id, recovery_codes::Column::CodeHash])
        .into_tuple()
        .all(db)
        .await
}

pub async fn set_recovery_code_hash(
    db: &impl ConnectionTrait,
    id: Uuid,
    hash: &str,
) -> Result<(), DbErr> {
    recovery_codes::Entity::update_many()
        .col_expr(recovery_codes::Column::CodeHash, Expr::value(hash))
        .filter(recovery_codes::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// How many unused recovery codes the account has left.
pub async fn recovery_codes_left(
    db: &impl ConnectionTrait,
    account: AccountId,
) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    recovery_codes::Entity::find()
        .filter(recovery_codes::Column::AccountId.eq(account.0))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .count(db)
        .await
}

/// Counts a wrong second-factor code against the account: one more in the streak and in the
/// total. Answers the account as it now stands.
pub async fn count_code_failure(
    db: &impl ConnectionTrait,
    account: AccountId,
) -> Result<Option<accounts::Model>, DbErr> {
    accounts::Entity::update_many()
        .col_expr(
            accounts::Column::MfaFailedStreak,
            Expr::col(accounts::Column::MfaFailedStreak).add(1),
        )
        .col_expr(
            accounts::Column::MfaFailuresTotal,
            Expr::col(accounts::Column::MfaFailuresTotal).add(1),
        )
        .filter(accounts::Column::Id.eq(account.0))
        .exec(db)
        .await?;
    accounts::Entity::find_by_id(account.0).one(db).await
}

/// Ends a streak of failures with a lockout until `until`; `false` when another request
/// already ended this streak.
pub async fn lock_codes(
    db: &impl ConnectionTrait,
    account: AccountId,
    streak: i32,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = accounts::Entity::update_many()
        .col_expr(accounts::Column::MfaFailedStreak, Expr::value(0))
        .col_expr(
            accounts::Column::MfaLockouts,
            Expr::col(accounts::Column::MfaLockouts).add(1),
        )
        .col_expr(accounts::Column::MfaLockedUntil, Expr::value(until))
        .filter(accounts::Column::Id.eq(account.0))
        .filter(accounts::Column::MfaFailedStreak.gte(streak))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A right code: the streak and the run of lockouts start over. The total stays until the
/// password is reset.
pub async fn clear_code_streak(db: &impl ConnectionTrait, account: AccountId) -> Result<(), DbErr> {
    accounts::Entity::update_many()
        .col_expr(accounts::Column::MfaFailedStreak, Expr::value(0))
        .col_expr(accounts::Column::MfaLockouts, Expr::value(0))
        .col_expr(
            accounts::Column::MfaLockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(accounts::Column::Id.eq(account.0))
        .filter(
            Condition::any()
                .add(accounts::Column::MfaFailedStreak.ne(0))
                .add(accounts::Column::MfaLockouts.ne(0))
                .add(accounts::Column::MfaLockedUntil.is_not_null()),
        )
        .exec(db)
        .await
        .map(|_| ())
}

/// A password reset proved the mailbox: every second-factor counter starts over.
pub async fn reset_code_failures(
    db: &impl ConnectionTrait,
    account: AccountId,
) -> Result<(), DbErr> {
    accounts::Entity::update_many()
        .col_expr(accounts::Column::MfaFailedStreak, Expr::value(0))
        .col_expr(accounts::Column::MfaFailuresTotal, Expr::value(0))
        .col_expr(accounts::Column::MfaLockouts, Expr::value(0))
        .col_expr(
            accounts::Column::MfaLockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(accounts::Column::Id.eq(account.0))
        .exec(db)
        .await
        .map(|_| ())
}
