//! A passkey as the second step of a password sign-in, for accounts with MFA on: the
//! challenge's `passkeyOptions` go to `navigator.credentials.get`, and the answer completes the
//! sign-in as a code would, under the same rules (the challenge's five attempts, the lockout).

use webauthn_rs::prelude::{PasskeyAuthentication, WebauthnError};

use super::{
    clone_suspected, credential_key, credentials_of, from_stored, log_refusal, login::Assertion,
    record_use, relying_party,
};
use crate::{
    db::{self, entities::accounts::Model as Account, webauthn_ceremonies::Ceremony},
    domain::{AccountId, OpaqueToken},
    error::{AppError, AppResult},
    services::{
        ClientInfo,
        devices::Device,
        mfa::{self, Factor},
        sessions::AuthOutcome,
    },
    state::AppState,
};

fn refused() -> AppError {
    AppError::bad_input(
        "credential",
        "is not a valid answer from one of this account's passkeys",
    )
}

/// `verifyMfaPasskey`: completes a sign-in with one of the account's passkeys. A wrong answer
/// counts against the challenge and towards the lockout as a wrong code does; the session's
/// `amr` is `pwd` and `hwk`.
pub async fn verify(
    state: &AppState,
    mfa_token: &OpaqueToken,
    assertion: Assertion,
    device: Option<Device>,
    client: &ClientInfo,
) -> AppResult<AuthOutcome> {
    let (challenge, account) = mfa::open_challenge(state, mfa_token, client).await?;
    mfa::refuse_while_locked(state, &account)?;
    let passed = check(state, &account, challenge.id, &assertion, client).await?;
    mfa::settle(state, &account, passed, client).await?;
    if !passed {
        return Err(mfa::challenge_failed(state, &challenge, client, refused()).await);
    }
    mfa::complete(state, &challenge, &account, Factor::Passkey, device, client).await
}

/// Whether `assertion` answers the challenge's passkey options with one of the account's
/// passkeys, whose use is then recorded. The options stay open until the challenge is used,
/// so a person who picked the wrong authenticator may try another.
async fn check(
    state: &AppState,
    account: &Account,
    challenge: uuid::Uuid,
    assertion: &Assertion,
    client: &ClientInfo,
) -> AppResult<bool> {
    let Some(open) = db::webauthn_ceremonies::find_open(
        &state.db,
        Ceremony::SecondFactor(challenge),
        state.clock.now(),
    )
    .await?
    else {
        return Ok(false);
    };
    let ceremony: PasskeyAuthentication = from_stored(&open.state, "ceremony")?;
    let presented = credential_key(assertion.0.get_credential_id());
    let Some((row, passkey)) = credentials_of(&state.db, AccountId(account.id))
        .await?
        .into_iter()
        .find(|(row, _)| row.credential_id == presented)
    else {
        return Ok(false);
    };
    let result = match relying_party(state)?.finish_passkey_authentication(&assertion.0, &ceremony)
    {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            clone_suspected(state, &row, client).await?;
            return Ok(false);
        }
        Err(err) => {
            log_refusal(&err, "passkey second factor");
            return Ok(false);
        }
    };
    if !record_use(state, &row, passkey, &result).await? {
        clone_suspected(state, &row, client).await?;
        return Ok(false);
    }
    Ok(true)
}
