//! Email verification: a single-use link sent at registration and on request.

use chrono::TimeDelta;
use secrecy::ExposeSecret;

use super::{
    ClientInfo, Principal,
    audit::{Event, Kind},
    signed_in_account,
    unit_of_work::Work,
};
use crate::{
    crypto::{TokenHash, random_token},
    db::{self, account_tokens::Purpose, entities::accounts},
    domain::{AccountId, OpaqueToken},
    error::{AppError, AppResult},
    mail::Mail,
    state::AppState,
};

/// At most one verification email per account this often.
pub const RESEND_INTERVAL: TimeDelta = TimeDelta::seconds(60);

/// Makes a verification token for `account` inside `work`, voiding earlier ones; the link is
/// mailed once the work commits.
pub async fn issue(
    state: &AppState,
    work: &mut Work<'_>,
    account: &accounts::Model,
    client: &ClientInfo,
) -> AppResult<()> {
    let id = AccountId(account.id);
    let now = work.now();
    let settings = state.mailer.settings();
    let ttl = TimeDelta::from_std(settings.email_verification_ttl)
        .map_err(|err| AppError::Internal(err.into()))?;
    let token = random_token();
    db::account_tokens::void_all(work.txn(), id, Purpose::EmailVerification, now).await?;
    db::account_tokens::insert(
        work.txn(),
        id,
        Purpose::EmailVerification,
        &TokenHash::of(&token),
        now,
        now + ttl,
    )
    .await?;
    work.record(
        Event::new(Kind::EmailVerificationSent)
            .subject(id)
            .client(client),
    )
    .await?;
    let link = state
        .mailer
        .link(&settings.verify_email_link_template, token.expose_secret());
    let valid_hours = settings.email_verification_ttl.as_secs().div_ceil(3600);
    work.mail(account, Mail::VerifyEmail { link, valid_hours });
    Ok(())
}

/// Sends a fresh link unless one went out less than [`RESEND_INTERVAL`] ago; returns the
/// seconds to wait in that case.
pub async fn resend(
    state: &AppState,
    account: &accounts::Model,
    client: &ClientInfo,
) -> AppResult<Option<u64>> {
    let id = AccountId(account.id);
    let mut work = Work::begin(state).await?;
    // Concurrent requests take turns here, so each sees the link the one before it sent.
    db::accounts::lock(work.txn(), id).await?;
    let now = work.now();
    if let Some(last) =
        db::account_tokens::last_issued_at(work.txn(), id, Purpose::EmailVerification).await?
        && now - last < RESEND_INTERVAL
    {
        let wait = (RESEND_INTERVAL - (now - last)).num_seconds().max(1);
        return Ok(Some(u64::try_from(wait).unwrap_or(1)));
    }
    issue(state, &mut work, account, client).await?;
    work.commit().await?;
    Ok(None)
}

/// `requestEmailVerification`: a new link for the signed-in person, at most once a minute.
/// Nothing is sent when the address is already verified.
pub async fn request(
    state: &AppState,
    principal: &Principal,
    client: &ClientInfo,
) -> AppResult<()> {
    let account = signed_in_account(state, principal.account).await?;
    if account.email_verified {
        return Ok(());
    }
    match resend(state, &account, client).await? {
        None => Ok(()),
        Some(retry_after_secs) => Err(AppError::RateLimited {
            rule: "verification_resend",
            retry_after_secs,
        }),
    }
}

/// `verifyEmail`: uses the token and marks the address verified. A wrong, used or expired
/// token gets one error.
pub async fn verify(state: &AppState, token: &OpaqueToken, client: &ClientInfo) -> AppResult<()> {
    let invalid = || AppError::bad_input("token", "is invalid, used or expired");
    let now = state.clock.now();
    let hash = TokenHash::of(token.secret());
    let row = db::account_tokens::find_usable(&state.db, &hash, Purpose::EmailVerification, now)
        .await?
        .ok_or_else(invalid)?;
    let account_id = AccountId(row.account_id);
    let mut work = Work::begin(state).await?;
    if !db::account_tokens::claim(work.txn(), row.id, now).await? {
        return Err(invalid());
    }
    let newly = db::accounts::mark_email_verified(&work, account_id, now).await?;
    if newly {
        let event = Event::new(Kind::EmailVerified)
            .subject(account_id)
            .client(client);
        work.record(event).await?;
        if let Some(account) = db::accounts::find(work.txn(), account_id).await? {
            work.mail(&account, Mail::EmailVerified);
        }
    }
    work.commit().await
}
