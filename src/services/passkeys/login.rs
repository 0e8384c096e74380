//! Signing in with a passkey: no email is asked. The browser offers the person's passkeys for
//! this site, the one chosen answers the challenge with its user handle, and that handle and
//! the credential id together name the account. A passkey verifies its user itself, so the
//! session counts as multi-factor (`amr` `hwk` and `user`).

use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PublicKeyCredential, WebauthnError,
};

use super::{
    CEREMONY_TTL, clone_suspected, credential_key, from_stored, log_refusal, presented, record_use,
    relying_party, to_json,
};
use crate::{
    db::{
        self,
        entities::{accounts::Model as Account, passkeys::Model as StoredPasskey},
        webauthn_ceremonies::Ceremony,
    },
    domain::AccountId,
    error::{AppError, AppResult},
    services::{
        ClientInfo,
        access_tokens::AuthMethods,
        auth::{self, LoginFailure},
        devices::Device,
        sessions::{self, AuthOutcome},
        unit_of_work::Work,
    },
    state::AppState,
};

/// A browser's answer to a sign-in challenge (`PublicKeyCredential.toJSON()` after
/// `navigator.credentials.get`), read but not yet checked.
pub struct Assertion(pub(super) PublicKeyCredential);

impl Assertion {
    pub fn parse(json: Value) -> AppResult<Self> {
        presented(json, "credential").map(Self)
    }
}

/// A sign-in challenge: its id, to finish it with, and the options for the browser.
pub struct Challenge {
    pub id: Uuid,
    pub options: Value,
}

/// `startPasskeyLogin`: request options for any of this site's passkeys, without `mediation`
/// (a button starts the ceremony, not the browser's autofill). Their state is kept for five
/// minutes and finishes one sign-in.
pub async fn start(state: &AppState) -> AppResult<Challenge> {
    let (mut options, ceremony) = relying_party(state)?
        .start_discoverable_authentication()
        .map_err(|err| AppError::Internal(anyhow::anyhow!("passkey request options: {err}")))?;
    options.mediation = None;
    let now = state.clock.now();
    let id = db::webauthn_ceremonies::insert(
        &state.db,
        Ceremony::Login,
        None,
        to_json(&ceremony, "a ceremony")?.to_string(),
        now,
        now + CEREMONY_TTL,
    )
    .await?;
    Ok(Challenge {
        id,
        options: to_json(&options, "passkey options")?,
    })
}

/// `finishPasskeyLogin`: checks the answer to challenge `id` (which it uses up, right or
/// wrong) and opens a session as a password sign-in does. An unknown passkey and a refused
/// answer are `PasskeyNotAccepted`, one error as for passwords; a signature counter that went
/// backwards is too, and is recorded as a suspected clone. Suspended accounts are refused as
/// at a password sign-in, closed ones are unknown.
pub async fn finish(
    state: &AppState,
    id: Uuid,
    assertion: Assertion,
    device: Option<Device>,
    client: &ClientInfo,
) -> AppResult<AuthOutcome> {
    let now = state.clock.now();
    let taken = db::webauthn_ceremonies::take(&state.db, Ceremony::Login, id, now)
        .await?
        .ok_or(AppError::PasskeyChallengeInvalid)?;
    let ceremony: DiscoverableAuthentication = from_stored(&taken.state, "ceremony")?;
    let Some((row, passkey, account)) = owner(state, &assertion).await? else {
        return Err(auth::login_failed(state, None, LoginFailure::UnknownPasskey, client).await);
    };
    let verified = relying_party(state)?.finish_discoverable_authentication_v2(
        &assertion.0,
        ceremony,
        &passkey,
    );
    let result = match verified {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            clone_suspected(state, &row, client).await?;
            return Err(AppError::PasskeyNotAccepted);
        }
        Err(err) => {
            log_refusal(&err, "passkey sign-in");
            let account = Some(AccountId(account.id));
            return Err(
                auth::login_failed(state, account, LoginFailure::PasskeyRefused, client).await,
            );
        }
    };
    if !record_use(state, &row, passkey, &result).await? {
        clone_suspected(state, &row, client).await?;
        return Err(AppError::PasskeyNotAccepted);
    }
    if account.suspended_at.is_some() {
        return Err(auth::refuse_suspended(state, &account, client).await);
    }
    if state.settings.sessions.require_verified_email && !account.email_verified {
        return Err(auth::refuse_unverified(state, &account, client).await);
    }
    let work = Work::begin(state).await?;
    sessions::sign_in(
        state,
        work,
        &account,
        client,
        AuthMethods::Passkey,
        &[],
        device,
    )
    .await
}

/// The passkey an answer names and its open account, if the user handle it carries is that
/// account's. The account is read before the answer is checked, so a credential change that
/// commits meanwhile (removing this passkey) voids the sign-in through the security stamp.
async fn owner(
    state: &AppState,
    assertion: &Assertion,
) -> AppResult<Option<(StoredPasskey, Passkey, Account)>> {
    let Ok((user_id, credential_id)) =
        relying_party(state)?.identify_discoverable_authentication(&assertion.0)
    else {
        return Ok(None);
    };
    let Some(row) =
        db::passkeys::find_by_credential_id(&state.db, &credential_key(credential_id)).await?
    else {
        return Ok(None);
    };
    let account = db::accounts::find(&state.db, AccountId(row.account_id))
        .await?
        .filter(|account| {
            account.deleted_at.is_none() && account.webauthn_user_id == Some(user_id)
        });
    let Some(account) = account else {
        return Ok(None);
    };
    let passkey = from_stored(&row.credential, "passkey")?;
    Ok(Some((row, passkey, account)))
}
