//! Password reset by email, and password change for a signed-in person.

use chrono::TimeDelta;
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

use super::{
    ClientInfo, Principal,
    audit::{self, Event, Kind},
    personal_data, rotate_security_stamp, signed_in_account,
    unit_of_work::Work,
};
use crate::{
    cache::sessions::SessionChange,
    crypto::{TokenHash, random_token},
    db::{self, account_tokens::Purpose, sessions::RevokeReason},
    domain::{AccountId, Email, NewPassword, OpaqueToken, PasswordAttempt},
    error::{AppError, AppResult, Denial},
    mail::Mail,
    state::AppState,
};

/// At most one reset email per account this often; further requests are answered the same
/// way but send nothing, so nobody can flood a mailbox.
const RESEND_INTERVAL: TimeDelta = TimeDelta::seconds(60);

/// `requestPasswordReset`. Answers at once, whether or not an account has the address: the
/// lookup, the token and the email happen after the answer, so neither the answer nor its
/// timing tells the two apart.
pub fn request_reset(state: &AppState, email: Email, client: &ClientInfo) {
    let state = state.clone();
    let client = client.clone();
    tokio::spawn(
        async move {
            if let Err(err) = send_reset(&state, &email, &client).await {
                err.log_if_internal();
            }
        }
        .instrument(tracing::Span::current()),
    );
}

async fn send_reset(state: &AppState, email: &Email, client: &ClientInfo) -> AppResult<()> {
    let now = state.clock.now();
    let Some(account) = db::accounts::find_by_email(&state.db, email).await? else {
        let event = Event::new(Kind::PasswordResetUnknownEmail).client(client);
        return audit::record_alone(state, event).await;
    };
    let id = AccountId(account.id);
    if account.suspended_at.is_some() {
        tracing::info!(account = %id, "password reset asked for a suspended account; nothing sent");
        return Ok(());
    }
    let settings = state.mailer.settings();
    let ttl = TimeDelta::from_std(settings.password_reset_ttl)
        .map_err(|err| AppError::Internal(err.into()))?;
    let mut work = Work::begin(state).await?;
    // Concurrent requests take turns here, so each sees the link the one before it sent.
    db::accounts::lock(work.txn(), id).await?;
    if let Some(last) =
        db::account_tokens::last_issued_at(work.txn(), id, Purpose::PasswordReset).await?
        && now - last < RESEND_INTERVAL
    {
        tracing::info!(account = %id, "password reset asked again within a minute; nothing sent");
        return Ok(());
    }
    let token = random_token();
    // A newer link voids the older ones.
    db::account_tokens::void_all(work.txn(), id, Purpose::PasswordReset, now).await?;
    db::account_tokens::insert(
        work.txn(),
        id,
        Purpose::PasswordReset,
        &TokenHash::of(&token),
        now,
        now + ttl,
    )
    .await?;
    let event = Event::new(Kind::PasswordResetRequested)
        .subject(id)
        .client(client);
    work.record(event).await?;
    let link = state
        .mailer
        .link(&settings.reset_link_template, token.expose_secret());
    let valid_minutes = settings.password_reset_ttl.as_secs().div_ceil(60);
    work.mail(
        &account,
        Mail::PasswordReset {
            link,
            valid_minutes,
        },
    );
    work.commit().await
}

/// `resetPassword`: sets the new password, ends every session, uses the token. A wrong, used
/// or expired token gets one error; a new password the policy refuses leaves the token usable.
pub async fn reset(
    state: &AppState,
    token: &OpaqueToken,
    new_password: &SecretString,
    client: &ClientInfo,
) -> AppResult<()> {
    let invalid = || AppError::bad_input("token", "is invalid, used or expired");
    let now = state.clock.now();
    let hash = TokenHash::of(token.secret());
    let row = db::account_tokens::find_usable(&state.db, &hash, Purpose::PasswordReset, now)
        .await?
        .ok_or_else(invalid)?;
    let id = AccountId(row.account_id);
    let account = db::accounts::find(&state.db, id)
        .await?
        .ok_or_else(invalid)?;
    if account.suspended_at.is_some() {
        return Err(AppError::Forbidden(Denial::AccountSuspended));
    }
    let password = NewPassword::parse(
        new_password.expose_secret(),
        "newPassword",
        &personal_data(&account),
    )?;
    let password_hash = state.passwords.hash(&password).await?;
    let mut work = Work::begin(state).await?;
    if !db::account_tokens::claim(work.txn(), row.id, now).await?
        || !db::accounts::replace_password_hash(
            &work,
            id,
            &account.password_hash,
            password_hash,
            now,
        )
        .await?
    {
        return Err(invalid());
    }
    db::account_tokens::void_all(work.txn(), id, Purpose::PasswordReset, now).await?;
    rotate_security_stamp(&work, id).await?;
    // Whoever locked the second factor out by guessing, the owner starts over.
    db::mfa::reset_code_failures(work.txn(), id).await?;
    // The link reached the mailbox, which proves the address.
    db::accounts::mark_email_verified(&work, id, now).await?;
    let ended =
        db::sessions::revoke_all_except(work.txn(), id, None, RevokeReason::PasswordReset, now)
            .await?;
    work.sessions_changed(SessionChange::Account(id)).await?;
    let event = Event::new(Kind::PasswordResetCompleted)
        .subject(id)
        .client(client)
        .detail("sessions_ended", ended);
    work.record(event).await?;
    work.mail(&account, Mail::PasswordWasReset);
    work.commit().await
}

/// `changePassword`: needs the current password; keeps this session and ends the others.
pub async fn change(
    state: &AppState,
    principal: &Principal,
    current: &PasswordAttempt,
    new_password: &SecretString,
    client: &ClientInfo,
) -> AppResult<()> {
    let wrong = || AppError::bad_input("currentPassword", "is not correct");
    let now = state.clock.now();
    let account = signed_in_account(state, principal.account).await?;
    if !state
        .passwords
        .matches(current, &account.password_hash)
        .await?
    {
        let event = Event::new(Kind::PasswordChangeFailed)
            .by_principal(principal)
            .client(client);
        audit::record_alone(state, event).await?;
        return Err(wrong());
    }
    let password = NewPassword::parse(
        new_password.expose_secret(),
        "newPassword",
        &personal_data(&account),
    )?;
    if current.expose() == Some(password.expose()) {
        return Err(AppError::bad_input(
            "newPassword",
            "must differ from the current password",
        ));
    }
    let password_hash = state.passwords.hash(&password).await?;
    let mut work = Work::begin(state).await?;
    if !db::accounts::replace_password_hash(
        &work,
        principal.account,
        &account.password_hash,
        password_hash,
        now,
    )
    .await?
    {
        // Another change won the race; this one's current password is no longer current.
        return Err(wrong());
    }
    db::account_tokens::void_all(work.txn(), principal.account, Purpose::PasswordReset, now)
        .await?;
    rotate_security_stamp(&work, principal.account).await?;
    let ended = db::sessions::revoke_all_except(
        work.txn(),
        principal.account,
        Some(principal.session),
        RevokeReason::PasswordChanged,
        now,
    )
    .await?;
    work.sessions_changed(SessionChange::Account(principal.account))
        .await?;
    let event = Event::new(Kind::PasswordChanged)
        .by_principal(principal)
        .client(client)
        .detail("sessions_ended", ended);
    work.record(event).await?;
    work.mail(&account, Mail::PasswordChanged);
    work.commit().await?;
    Ok(())
}
