//! Adding a passkey: a signed-in, recently re-authenticated session asks for creation options,
//! the browser makes a credential with them, and the session hands it back with a name.

use serde_json::Value;
use webauthn_rs::prelude::{
    CredentialID, Passkey, PasskeyRegistration, RegisterPublicKeyCredential,
};

use super::{
    CEREMONY_TTL, MAX_PASSKEYS, Stored, credential_key, credentials_of, from_stored, log_refusal,
    presented, relying_party, to_json,
};
use crate::{
    crypto::random_bytes,
    db::{
        self, entities::passkeys::Model as StoredPasskey, passkeys::NewPasskey,
        webauthn_ceremonies::Ceremony,
    },
    domain::{AccountId, PasskeyName},
    error::{AppError, AppResult},
    mail::Mail,
    services::{
        ClientInfo, Principal,
        audit::{Event, Kind},
        sessions, signed_in_account,
        unit_of_work::Work,
    },
    state::AppState,
};

/// A credential the browser made (`PublicKeyCredential.toJSON()` after
/// `navigator.credentials.create`), read but not yet checked.
pub struct NewCredential(RegisterPublicKeyCredential);

impl NewCredential {
    pub fn parse(json: Value) -> AppResult<Self> {
        presented(json, "credential").map(Self)
    }
}

fn too_many() -> AppError {
    AppError::Conflict {
        field: "passkeys".into(),
        message: format!("an account holds at most {MAX_PASSKEYS} passkeys: remove one first"),
    }
}

/// `startPasskeyRegistration`: creation options for `navigator.credentials.create`, asking for
/// a discoverable credential with user verification, excluding the account's own. The user
/// handle is the account's random WebAuthn user id, made now if it has none. A session
/// registers one passkey at a time: starting again voids the earlier options.
pub async fn start(state: &AppState, principal: &Principal) -> AppResult<Value> {
    sessions::require_recent_authentication(state, principal).await?;
    let account = signed_in_account(state, principal.account).await?;
    let existing = credentials_of(&state.db, principal.account).await?;
    if existing.len() as u64 >= MAX_PASSKEYS {
        return Err(too_many());
    }
    let user_id = match account.webauthn_user_id {
        Some(user_id) => user_id,
        None => {
            let fresh = uuid::Builder::from_random_bytes(random_bytes::<16>()).into_uuid();
            db::accounts::assign_webauthn_user_id(&state.db, principal.account, fresh)
                .await?
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no WebAuthn user id kept")))?
        }
    };
    let exclude: Vec<CredentialID> = existing
        .iter()
        .map(|(_, passkey)| passkey.cred_id().clone())
        .collect();
    let display_name = format!("{} {}", account.first_name, account.last_name);
    let (options, ceremony) = relying_party(state)?
        .start_passkey_registration(user_id, &account.email, &display_name, Some(exclude))
        .map_err(|err| AppError::Internal(anyhow::anyhow!("passkey creation options: {err}")))?;
    let mut options = to_json(&options, "creation options")?;
    // Discoverable, so signing in needs no email: the library asks for that only as a
    // preference, and the request is what browsers act on.
    let selection = &mut options["publicKey"]["authenticatorSelection"];
    selection["residentKey"] = "required".into();
    selection["requireResidentKey"] = true.into();
    let tie = Ceremony::Registration(principal.session);
    let work = Work::begin(state).await?;
    db::webauthn_ceremonies::void(work.txn(), tie, work.now()).await?;
    db::webauthn_ceremonies::insert(
        work.txn(),
        tie,
        Some(principal.account),
        to_json(&ceremony, "a ceremony")?.to_string(),
        work.now(),
        work.now() + CEREMONY_TTL,
    )
    .await?;
    work.commit().await?;
    Ok(options)
}

/// `finishPasskeyRegistration`: checks the credential against this session's registration
/// (which it uses up, right or wrong) and keeps it under `name`. A credential that does not
/// answer the registration is `BAD_USER_INPUT` on `credential`; one registered before is
/// `CONFLICT` on `credential`; an eleventh passkey is `CONFLICT` on `passkeys`.
pub async fn finish(
    state: &AppState,
    principal: &Principal,
    name: &PasskeyName,
    credential: NewCredential,
    client: &ClientInfo,
) -> AppResult<StoredPasskey> {
    sessions::require_recent_authentication(state, principal).await?;
    let account = signed_in_account(state, principal.account).await?;
    let now = state.clock.now();
    let tie = Ceremony::Registration(principal.session);
    let none_open = || {
        AppError::bad_input(
            "credential",
            "answers no registration in progress for this session: call startPasskeyRegistration",
        )
    };
    let open = db::webauthn_ceremonies::find_open(&state.db, tie, now)
        .await?
        .ok_or_else(none_open)?;
    let taken = db::webauthn_ceremonies::take(&state.db, tie, open.id, now)
        .await?
        .ok_or_else(none_open)?;
    let registration: PasskeyRegistration = from_stored(&taken.state, "ceremony")?;
    let passkey: Passkey = relying_party(state)?
        .finish_passkey_registration(&credential.0, &registration)
        .map_err(|err| {
            log_refusal(&err, "passkey registration");
            AppError::bad_input(
                "credential",
                "is not a valid passkey for this registration: start again",
            )
        })?;
    let stored = Stored::of(&passkey)?;
    let mut work = Work::begin(state).await?;
    // Holds the account's row, so two registrations at once are counted one after the other.
    if !db::accounts::hold_if_stamp(work.txn(), principal.account, &account.security_stamp).await? {
        return Err(AppError::ReauthenticationRequired);
    }
    if db::passkeys::count(work.txn(), principal.account).await? >= MAX_PASSKEYS {
        return Err(too_many());
    }
    let inserted = db::passkeys::insert(
        work.txn(),
        NewPasskey {
            account: principal.account,
            credential_id: &credential_key(passkey.cred_id()),
            credential: stored.credential,
            name: name.as_str(),
            backup_eligible: stored.backup_eligible,
            backed_up: stored.backed_up,
            sign_count: stored.sign_count,
            now: work.now(),
        },
    )
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(err) if db::is_unique_violation(&err) => {
            return Err(AppError::Conflict {
                field: "credential".into(),
                message: "this passkey is already registered".into(),
            });
        }
        Err(err) => return Err(err.into()),
    };
    let event = Event::new(Kind::PasskeyAdded)
        .by_principal(principal)
        .client(client)
        .detail("passkey", row.id.to_string())
        .detail("backed_up", row.backed_up);
    work.record(event).await?;
    work.mail(&account, Mail::PasskeyAdded);
    work.commit().await?;
    tracing::info!(account = %AccountId(row.account_id), passkey = %row.id, "passkey added");
    Ok(row)
}
