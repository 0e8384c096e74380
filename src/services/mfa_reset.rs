//! Four-eyes reset of a second factor, for a person who lost their authenticator and their
//! recovery codes: one administrator files a request with a reason, a second one approves it
//! within a day. The person is emailed at both steps, so a request talked out of support by
//! someone else is noticed before it takes effect.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{
    ClientInfo, Principal,
    account_info::AccountInfo,
    audit::{Event, Kind},
    rotate_security_stamp, sessions,
    unit_of_work::Work,
};
use crate::{
    cache::sessions::SessionChange,
    db::{
        self,
        entities::{accounts, mfa_reset_requests::Model as ResetRequest},
        mfa_reset_requests::NewRequest,
        sessions::RevokeReason,
    },
    domain::{AccountId, Reason},
    error::{AppError, AppResult, Denial},
    mail::Mail,
    state::AppState,
};

/// How long a request waits for its second administrator.
const REQUEST_TTL: TimeDelta = TimeDelta::hours(24);
/// More pending requests than support ever has at once; a bound, not a page.
const LISTED: u64 = 500;

async fn open_account(state: &AppState, id: AccountId) -> AppResult<accounts::Model> {
    db::accounts::find(&state.db, id)
        .await?
        .filter(|account| account.deleted_at.is_none())
        .ok_or(AppError::NotFound)
}

fn is_pending(request: &ResetRequest, now: DateTime<Utc>) -> bool {
    request.approved_at.is_none() && request.cancelled_at.is_none() && request.expires_at > now
}

fn settled() -> AppError {
    AppError::Conflict {
        field: "requestId".into(),
        message: "this request is no longer pending: it was approved, cancelled or has expired"
            .into(),
    }
}

/// `requestMfaReset`: files a request to turn off the second factor of someone else's account,
/// at most one pending per account.
pub async fn request(
    state: &AppState,
    admin: &Principal,
    id: AccountId,
    reason: &Reason,
    client: &ClientInfo,
) -> AppResult<ResetRequest> {
    sessions::require_recent_authentication(state, admin).await?;
    if id == admin.account {
        return Err(AppError::Forbidden(Denial::OwnAccount));
    }
    let account = open_account(state, id).await?;
    if !account.mfa_enabled {
        return Err(AppError::bad_input(
            "accountId",
            "two-step sign-in is not on for this account: there is nothing to reset",
        ));
    }
    let mut work = Work::begin(state).await?;
    // Concurrent requests for one account take turns here, so only one is filed.
    db::accounts::lock(work.txn(), id).await?;
    if db::mfa_reset_requests::has_pending(work.txn(), id, work.now()).await? {
        return Err(AppError::Conflict {
            field: "accountId".into(),
            message: "a reset of this account's two-step sign-in is already pending".into(),
        });
    }
    let request = db::mfa_reset_requests::insert(
        work.txn(),
        NewRequest {
            account: id,
            requested_by: admin.account,
            reason: reason.as_str(),
            now: work.now(),
            expires_at: work.now() + REQUEST_TTL,
        },
    )
    .await?;
    let event = Event::new(Kind::MfaResetRequested)
        .actor(admin.account)
        .subject(id)
        .session(admin.session)
        .client(client)
        .detail("request", request.id.to_string());
    work.record(event).await?;
    work.mail(&account, Mail::MfaResetRequested);
    work.commit().await?;
    Ok(request)
}

/// `approveMfaReset`: a second administrator agrees, and in one transaction the person's
/// second factor and recovery codes go, every session and half-done sign-in ends, and the
/// security stamp moves. Answers the account as it now stands.
pub async fn approve(
    state: &AppState,
    approver: &Principal,
    request_id: Uuid,
    client: &ClientInfo,
) -> AppResult<AccountInfo> {
    sessions::require_recent_authentication(state, approver).await?;
    let request = db::mfa_reset_requests::find(&state.db, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let id = AccountId(request.account_id);
    if id == approver.account {
        return Err(AppError::Forbidden(Denial::OwnAccount));
    }
    if request.requested_by == approver.account.0 {
        return Err(AppError::Forbidden(Denial::SecondAdministratorRequired));
    }
    if !is_pending(&request, state.clock.now()) {
        return Err(settled());
    }
    let account = open_account(state, id).await?;
    let mut work = Work::begin(state).await?;
    let now = work.now();
    if !db::mfa_reset_requests::approve(work.txn(), request.id, approver.account, now).await? {
        return Err(settled());
    }
    if !db::mfa::deactivate(&work, id, now).await? {
        // Rolled back: the request stays pending until it lapses or is cancelled.
        return Err(AppError::Conflict {
            field: "requestId".into(),
            message: "two-step sign-in is already off for this account".into(),
        });
    }
    db::mfa::delete_recovery_codes(work.txn(), id).await?;
    db::mfa::void_challenges(work.txn(), id, now).await?;
    // Support vouched for the person: wrong codes guessed before no longer count against them.
    db::mfa::reset_code_failures(work.txn(), id).await?;
    rotate_security_stamp(&work, id).await?;
    let ended =
        db::sessions::revoke_all_except(work.txn(), id, None, RevokeReason::MfaReset, now).await?;
    work.sessions_changed(SessionChange::Account(id)).await?;
    let event = Event::new(Kind::MfaResetApproved)
        .actor(approver.account)
        .subject(id)
        .session(approver.session)
        .client(client)
        .detail("request", request.id.to_string())
        .detail("sessions_ended", ended);
    work.record(event).await?;
    work.mail(&account, Mail::MfaResetApproved);
    let updated = db::accounts::find(work.txn(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    work.commit().await?;
    AccountInfo::open(state, &updated).await
}

/// `cancelMfaReset`: any administrator but the person themselves stops a pending request,
/// for instance when the person says it was not them who asked.
pub async fn cancel(
    state: &AppState,
    admin: &Principal,
    request_id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    let request = db::mfa_reset_requests::find(&state.db, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let id = AccountId(request.account_id);
    if id == admin.account {
        return Err(AppError::Forbidden(Denial::OwnAccount));
    }
    let work = Work::begin(state).await?;
    if !db::mfa_reset_requests::cancel(work.txn(), request.id, admin.account, work.now()).await? {
        return Err(settled());
    }
    let event = Event::new(Kind::MfaResetCancelled)
        .actor(admin.account)
        .subject(id)
        .session(admin.session)
        .client(client)
        .detail("request", request.id.to_string());
    work.record(event).await?;
    work.commit().await
}

/// `mfaResetRequests`: the requests waiting for a second administrator, oldest first.
pub async fn pending(state: &AppState) -> AppResult<Vec<ResetRequest>> {
    Ok(db::mfa_reset_requests::pending(&state.db, state.clock.now(), LISTED).await?)
}
