//! Passkeys (WebAuthn): registering them, signing in with them, using one as the second step of
//! a sign-in, and managing them. The WebAuthn checks themselves are the `webauthn-rs` library's;
//! what is kept here is whose credential is whose, and the rules around them.
//!
//! A ceremony's state lives in the database between its two calls (so any instance finishes
//! what another started), is taken once by a conditional update, and expires with the
//! browser's own timeout. A credential's signature counter moves forward by a conditional
//! update too: a counter that does not is a copied authenticator, refused and recorded.

pub mod login;
pub mod registration;
pub mod second_factor;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::TimeDelta;
use sea_orm::ConnectionTrait;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::{
    Webauthn,
    prelude::{AuthenticationResult, Passkey, WebauthnError},
};

use super::{
    ClientInfo, Principal,
    audit::{self, Event, Kind},
    rotate_security_stamp, sessions, signed_in_account,
    unit_of_work::Work,
};
use crate::{
    db::{
        self,
        entities::{accounts::Model as Account, passkeys::Model as StoredPasskey},
        passkeys::Use,
        webauthn_ceremonies::Ceremony,
    },
    domain::AccountId,
    error::{AppError, AppResult},
    mail::Mail,
    state::AppState,
};

/// How long a ceremony may take: the authenticator timeout `webauthn-rs` gives browsers.
const CEREMONY_TTL: TimeDelta = TimeDelta::minutes(5);
/// Passkeys one account may hold: enough for every device a person has, few enough that a
/// stolen session cannot plant a hundred.
pub const MAX_PASSKEYS: u64 = 10;
/// The largest credential response accepted, serialised. Real ones are well under 4 KiB, with
/// an attestation certificate chain a few more.
const MAX_CREDENTIAL_BYTES: usize = 16 * 1024;

/// A browser's answer to a ceremony (`PublicKeyCredential.toJSON()`), read as the WebAuthn
/// type `T`; anything else is `BAD_USER_INPUT` on `field`, without echoing it.
fn presented<T: DeserializeOwned>(json: Value, field: &str) -> AppResult<T> {
    let size = serde_json::to_vec(&json).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_CREDENTIAL_BYTES {
        return Err(AppError::bad_input(
            field,
            "is larger than any passkey response",
        ));
    }
    serde_json::from_value(json).map_err(|_| {
        AppError::bad_input(
            field,
            "is not a passkey response: send PublicKeyCredential.toJSON() from the browser",
        )
    })
}

/// A value of the WebAuthn library as stored or handed to the browser.
fn to_json<T: Serialize>(value: &T, what: &'static str) -> AppResult<Value> {
    serde_json::to_value(value)
        .map_err(|err| AppError::Internal(anyhow::anyhow!("cannot serialise {what}: {err}")))
}

/// A value of the WebAuthn library as stored before.
fn from_stored<T: DeserializeOwned>(text: &str, what: &'static str) -> AppResult<T> {
    serde_json::from_str(text)
        .map_err(|err| AppError::Internal(anyhow::anyhow!("cannot read a stored {what}: {err}")))
}

/// A credential id as stored and looked up: base64url, as authenticators name it.
fn credential_key(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// Why the WebAuthn library refused, for the log: its error names a check, never a credential
/// or a challenge.
fn log_refusal(err: &WebauthnError, what: &'static str) {
    tracing::info!(error = %err, "{what} refused");
}

/// A credential in its stored form, with what the list shows of it.
struct Stored {
    credential: String,
    backup_eligible: bool,
    backed_up: bool,
    sign_count: i64,
}

impl Stored {
    /// The stored form of `passkey`. The flags and counter are read off its serialised form,
    /// which the library keeps stable for storage, rather than through its "danger" internals.
    fn of(passkey: &Passkey) -> AppResult<Self> {
        let json = to_json(passkey, "a passkey")?;
        let flag = |name: &str| json["cred"][name].as_bool().unwrap_or(false);
        Ok(Self {
            backup_eligible: flag("backup_eligible"),
            backed_up: flag("backup_state"),
            sign_count: json["cred"]["counter"].as_i64().unwrap_or(0),
            credential: json.to_string(),
        })
    }
}

/// The account's passkeys as the WebAuthn library takes them.
async fn credentials_of(
    db: &impl ConnectionTrait,
    account: AccountId,
) -> AppResult<Vec<(StoredPasskey, Passkey)>> {
    db::passkeys::list(db, account)
        .await?
        .into_iter()
        .map(|row| {
            let passkey = from_stored(&row.credential, "passkey")?;
            Ok((row, passkey))
        })
        .collect()
}

/// What a verified use of `passkey` does to its row: the counter and backup state move to what
/// the authenticator said. `false` when another use with this counter or a later one was
/// recorded first (a copy of the authenticator raced the original), which the caller treats as
/// a clone.
async fn record_use(
    state: &AppState,
    row: &StoredPasskey,
    mut passkey: Passkey,
    result: &AuthenticationResult,
) -> AppResult<bool> {
    passkey.update_credential(result);
    let stored = Stored::of(&passkey)?;
    let used = Use {
        credential: stored.credential,
        backed_up: result.backup_state(),
        backup_eligible: stored.backup_eligible,
        sign_count: i64::from(result.counter()),
        now: state.clock.now(),
    };
    Ok(db::passkeys::record_use(&state.db, row.id, used).await?)
}

/// A signature counter that did not move forward: the credential was copied. Recorded for the
/// account, and said to nobody.
async fn clone_suspected(
    state: &AppState,
    row: &StoredPasskey,
    client: &ClientInfo,
) -> AppResult<()> {
    tracing::warn!(account = %row.account_id, passkey = %row.id, "passkey counter went backwards; refused");
    let event = Event::new(Kind::PasskeyCloneSuspected)
        .subject(AccountId(row.account_id))
        .client(client)
        .detail("passkey", row.id.to_string());
    audit::record_alone(state, event).await
}

/// The relying party, or `PasskeysUnavailable` where passkeys are off.
fn relying_party(state: &AppState) -> AppResult<&Webauthn> {
    state.webauthn.as_ref().ok_or(AppError::PasskeysUnavailable)
}

/// What an MFA challenge offers for passkeys: request options for the account's credentials
/// (for `navigator.credentials.get`), their state stored against the challenge, inside `work`.
/// `None` when the account has no passkey, or passkeys are off.
pub(super) async fn second_factor_options(
    state: &AppState,
    work: &Work<'_>,
    account: &Account,
    challenge: Uuid,
) -> AppResult<Option<Value>> {
    let Some(webauthn) = state.webauthn.as_ref() else {
        return Ok(None);
    };
    let credentials: Vec<Passkey> = credentials_of(work.txn(), AccountId(account.id))
        .await?
        .into_iter()
        .map(|(_, passkey)| passkey)
        .collect();
    if credentials.is_empty() {
        return Ok(None);
    }
    let (options, ceremony) = webauthn
        .start_passkey_authentication(&credentials)
        .map_err(|err| AppError::Internal(anyhow::anyhow!("passkey options: {err}")))?;
    db::webauthn_ceremonies::insert(
        work.txn(),
        Ceremony::SecondFactor(challenge),
        Some(AccountId(account.id)),
        to_json(&ceremony, "a ceremony")?.to_string(),
        work.now(),
        work.now() + CEREMONY_TTL,
    )
    .await?;
    Ok(Some(to_json(&options, "passkey options")?))
}

/// `passkeys`: the caller's passkeys, oldest first.
pub async fn list(state: &AppState, principal: &Principal) -> AppResult<Vec<StoredPasskey>> {
    Ok(db::passkeys::list(&state.db, principal.account).await?)
}

/// `removePasskey`: deletes one of the caller's passkeys; another person's is `NotFound`.
///
/// The rule that an account's last way in cannot be removed holds without a check here: every
/// account has a password (registration sets one and nothing takes it away), so removing a
/// passkey always leaves the password. Sign-ins in flight with the removed passkey cannot
/// finish: the security stamp moves.
pub async fn remove(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    sessions::require_recent_authentication(state, principal).await?;
    let account = signed_in_account(state, principal.account).await?;
    let mut work = Work::begin(state).await?;
    if !db::passkeys::delete(work.txn(), principal.account, id).await? {
        return Err(AppError::NotFound);
    }
    rotate_security_stamp(&work, principal.account).await?;
    let event = Event::new(Kind::PasskeyRemoved)
        .by_principal(principal)
        .client(client)
        .detail("passkey", id.to_string());
    work.record(event).await?;
    work.mail(&account, Mail::PasskeyRemoved);
    work.commit().await?;
    tracing::info!(account = %principal.account, passkey = %id, "passkey removed");
    Ok(())
}
