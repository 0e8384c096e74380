//! Moving an account to another email address: asked for by the signed-in person, made by a
//! link to the new address, and undoable for a while by a link to the old one, so that whoever
//! steals a session cannot quietly take the account's mailbox (and with it password resets).
//!
//! Whether another account holds the address asked for is never told to the asker: the answer
//! and their own audit trail are the same either way; the holder is told instead.

use chrono::TimeDelta;
use secrecy::ExposeSecret;

use super::{
    ClientInfo, Principal,
    account_info::AccountInfo,
    audit::{Event, Kind},
    rotate_security_stamp, sessions,
    unit_of_work::Work,
};
use crate::{
    cache::sessions::SessionChange,
    crypto::{TokenHash, random_token},
    db::{
        self, account_tokens::Purpose, email_changes::NewChange, entities::accounts,
        sessions::RevokeReason,
    },
    domain::{AccountId, Email, OpaqueToken, SessionId},
    error::{AppError, AppResult, Denial, TokenRejection},
    mail::Mail,
    state::AppState,
};

/// How long the old address may take the account back after a change.
const REVERT_HOURS: i64 = 72;

fn invalid_token() -> AppError {
    AppError::bad_input("token", "is invalid, used or expired")
}

fn address_taken() -> AppError {
    AppError::Conflict {
        field: "token".into(),
        message: "another account uses this address now; nothing was changed".into(),
    }
}

/// `requestEmailChange`: voids any earlier request, then mails a confirmation link to the new
/// address, or, when another account holds it, a notice to that account instead. Needs a
/// recently re-authenticated session.
pub async fn request(
    state: &AppState,
    principal: &Principal,
    new_email: &Email,
    client: &ClientInfo,
) -> AppResult<()> {
    sessions::require_recent_authentication(state, principal).await?;
    let id = principal.account;
    let settings = state.mailer.settings();
    // The link proves the address, as a verification link does, and lives as long.
    let ttl = TimeDelta::from_std(settings.email_verification_ttl)
        .map_err(|err| AppError::Internal(err.into()))?;
    let mut work = Work::begin(state).await?;
    // Concurrent requests take turns here, so only the newest link works.
    db::accounts::lock(work.txn(), id).await?;
    let account = db::accounts::find(work.txn(), id)
        .await?
        .filter(|account| account.deleted_at.is_none())
        .ok_or(AppError::TokenRejected(TokenRejection::SessionEnded))?;
    if new_email.as_str() == account.email {
        return Err(AppError::bad_input(
            "newEmail",
            "is already the address of this account",
        ));
    }
    let now = work.now();
    // Voided whether or not the new address is free: otherwise the older link still working
    // would tell the asker that the address is taken.
    db::email_changes::void_pending(work.txn(), id, now).await?;
    match db::accounts::find_by_email(work.txn(), new_email).await? {
        Some(holder) => {
            let event = Event::new(Kind::EmailChangeToTakenEmail)
                .actor(id)
                .subject(AccountId(holder.id))
                .client(client);
            work.record(event).await?;
            work.mail(&holder, Mail::EmailChangeToTakenAddress);
        }
        None => {
            let token = random_token();
            db::email_changes::insert(
                work.txn(),
                NewChange {
                    account: id,
                    old_email: &account.email,
                    new_email,
                    confirm_hash: &TokenHash::of(&token),
                    now,
                    expires_at: now + ttl,
                },
            )
            .await?;
            let link = state
                .mailer
                .link(&settings.email_change_link_template, token.expose_secret());
            let valid_hours = settings.email_verification_ttl.as_secs().div_ceil(3600);
            work.mail_to(
                new_email.as_str(),
                &account,
                Mail::ConfirmEmailChange { link, valid_hours },
            );
        }
    }
    let event = Event::new(Kind::EmailChangeRequested)
        .by_principal(principal)
        .client(client);
    work.record(event).await?;
    work.commit().await
}

/// `confirmEmailChange`: moves the account to the new address, confirmed, and mails the old
/// address a link that undoes it. Every session of the account ends but the caller's, when the
/// caller is signed in to it. A wrong, used or expired token gets one error; an address that
/// another account took meanwhile is a conflict, and nothing changes.
pub async fn confirm(
    state: &AppState,
    token: &OpaqueToken,
    caller: Option<&Principal>,
    client: &ClientInfo,
) -> AppResult<AccountInfo> {
    let now = state.clock.now();
    let change =
        db::email_changes::find_confirmable(&state.db, &TokenHash::of(token.secret()), now)
            .await?
            .ok_or_else(invalid_token)?;
    let (Some(old_email), Some(new_email)) = (&change.old_email, &change.new_email) else {
        return Err(invalid_token());
    };
    let id = AccountId(change.account_id);
    let account = open_account(state, id).await?;
    // Suspension voids pending links; this refuses one that raced it.
    if account.suspended_at.is_some() {
        return Err(AppError::Forbidden(Denial::AccountSuspended));
    }
    let revert_token = random_token();
    let mut work = Work::begin(state).await?;
    if !db::email_changes::confirm(
        work.txn(),
        change.id,
        &TokenHash::of(&revert_token),
        now + TimeDelta::hours(REVERT_HOURS),
        now,
    )
    .await?
    {
        return Err(invalid_token());
    }
    // Only from the address the request was made from: a revert since then voided this link.
    match db::accounts::replace_email(&work, id, Some(old_email), new_email, now).await {
        Ok(true) => {}
        Ok(false) => return Err(invalid_token()),
        Err(err) if db::is_unique_violation_of(&err, "email") => return Err(address_taken()),
        Err(err) => return Err(err.into()),
    }
    let keep = caller
        .filter(|principal| principal.account == id)
        .map(|principal| principal.session);
    let ended = secure_account(&mut work, id, keep, RevokeReason::EmailChanged).await?;
    let mut event = Event::new(Kind::EmailChanged)
        .subject(id)
        .client(client)
        .detail("sessions_ended", ended);
    if let Some(session) = keep {
        event = event.by(id).session(session);
    }
    work.record(event).await?;
    let revert_link = state.mailer.link(
        &state.mailer.settings().email_change_revert_link_template,
        revert_token.expose_secret(),
    );
    work.mail_to(
        old_email,
        &account,
        Mail::EmailChanged {
            revert_link,
            valid_hours: REVERT_HOURS.unsigned_abs(),
        },
    );
    let changed = db::accounts::find(work.txn(), id)
        .await?
        .ok_or_else(invalid_token)?;
    work.commit().await?;
    AccountInfo::open(state, &changed).await
}

/// `revertEmailChange`: puts the old address back, confirmed, ends every session and voids
/// the links of the change and of any change after it. A wrong, used or expired token gets one
/// error; an old address that another account took meanwhile is a conflict, and nothing
/// changes.
pub async fn revert(state: &AppState, token: &OpaqueToken, client: &ClientInfo) -> AppResult<()> {
    let now = state.clock.now();
    let change = db::email_changes::find_revertible(&state.db, &TokenHash::of(token.secret()), now)
        .await?
        .ok_or_else(invalid_token)?;
    let (Some(old_email), Some(confirmed_at)) = (&change.old_email, change.confirmed_at) else {
        return Err(invalid_token());
    };
    let id = AccountId(change.account_id);
    let account = open_account(state, id).await?;
    let mut work = Work::begin(state).await?;
    if !db::email_changes::revert(work.txn(), change.id, now).await? {
        return Err(invalid_token());
    }
    // From whatever address the account has now: a taker may have moved it on again.
    match db::accounts::replace_email(&work, id, None, old_email, now).await {
        Ok(true) => {}
        Ok(false) => return Err(invalid_token()),
        Err(err) if db::is_unique_violation_of(&err, "email") => return Err(address_taken()),
        Err(err) => return Err(err.into()),
    }
    db::email_changes::void_since(work.txn(), id, confirmed_at, now).await?;
    let ended = secure_account(&mut work, id, None, RevokeReason::EmailChangeReverted).await?;
    let event = Event::new(Kind::EmailChangeReverted)
        .subject(id)
        .client(client)
        .detail("sessions_ended", ended);
    work.record(event).await?;
    work.mail_to(old_email, &account, Mail::EmailChangeReverted);
    work.commit().await
}

/// The account a link belongs to, unless it was closed.
async fn open_account(state: &AppState, id: AccountId) -> AppResult<accounts::Model> {
    db::accounts::find(&state.db, id)
        .await?
        .filter(|account| account.deleted_at.is_none())
        .ok_or_else(invalid_token)
}

/// What follows any move of the address: a new security stamp, the links mailed to the
/// address it left voided, and every session but `keep` ended. Answers how many ended.
async fn secure_account(
    work: &mut Work<'_>,
    id: AccountId,
    keep: Option<SessionId>,
    reason: RevokeReason,
) -> AppResult<u64> {
    let now = work.now();
    rotate_security_stamp(work, id).await?;
    db::account_tokens::void_all(work.txn(), id, Purpose::PasswordReset, now).await?;
    db::account_tokens::void_all(work.txn(), id, Purpose::EmailVerification, now).await?;
    let ended = db::sessions::revoke_all_except(work.txn(), id, keep, reason, now).await?;
    work.sessions_changed(SessionChange::Account(id)).await?;
    Ok(ended)
}
