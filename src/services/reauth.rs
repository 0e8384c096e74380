//! Re-authentication ("sudo mode"): a signed-in session proves the password again (and the
//! second factor where it is on) before sensitive changes, so a stolen access token alone
//! cannot take over the second factor or the legal identity.

use super::{
    ClientInfo, Principal,
    audit::{self, Event, Kind},
    mfa, signed_in_account,
    unit_of_work::Work,
};
use crate::{
    db,
    domain::{OneTimeCode, PasswordAttempt},
    error::{AppError, AppResult},
    state::AppState,
};

/// `reauthenticate`: with the password, and a code when MFA is on, marks the caller's session
/// as recently authenticated.
pub async fn reauthenticate(
    state: &AppState,
    principal: &Principal,
    password: &PasswordAttempt,
    code: Option<&OneTimeCode>,
    client: &ClientInfo,
) -> AppResult<()> {
    let account = signed_in_account(state, principal.account).await?;
    let refused = |reason: &'static str| {
        Event::new(Kind::ReauthenticationFailed)
            .by_principal(principal)
            .client(client)
            .detail("reason", reason)
    };
    if !state
        .passwords
        .matches(password, &account.password_hash)
        .await?
    {
        audit::record_alone(state, refused("password")).await?;
        return Err(AppError::bad_input("password", "is not correct"));
    }
    if account.mfa_enabled {
        let Some(code) = code else {
            return Err(AppError::bad_input(
                "code",
                "is required: two-step sign-in is on for this account",
            ));
        };
        if mfa::check_second_factor(state, &account, code, true, client)
            .await?
            .is_none()
        {
            audit::record_alone(state, refused("code")).await?;
            return Err(AppError::bad_input("code", "is not a valid code"));
        }
    }
    let work = Work::begin(state).await?;
    db::sessions::mark_reauthenticated(work.txn(), principal.session, work.now()).await?;
    let event = Event::new(Kind::SessionReauthenticated)
        .by_principal(principal)
        .client(client);
    work.record(event).await?;
    work.commit().await
}
