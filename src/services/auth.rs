//! Registration, sign-in and administrator creation.

use sea_orm::DatabaseTransaction;

use super::{
    ClientInfo,
    access_tokens::AuthMethods,
    audit::{self, Event, Kind},
    devices::{self, Device},
    mfa, new_security_stamp,
    profile::{self, ProfileEdit},
    sessions::{self, AuthOutcome},
    throttle::{Limit, Reservation, SignInBackoff},
    unit_of_work::Work,
    verification,
};
use crate::{
    crypto::passwords::Verified,
    db::{
        self,
        accounts::{NewAccount, StoredProfile},
    },
    domain::{AccountId, Email, NewPassword, PasswordAttempt, PersonName, Role, SessionId},
    error::{AppError, AppResult, Denial},
    mail::Mail,
    state::AppState,
};

/// A registration, parsed. Field names in errors are the API's (`email`, `firstName`, …).
pub struct Registration {
    email: Email,
    password: NewPassword,
    first_name: PersonName,
    last_name: PersonName,
    /// Checked against each other (and sealed) by `register`, before the password is hashed.
    profile: ProfileEdit,
}

impl Registration {
    /// Parses the raw fields. The password is judged against the person's own email and
    /// names, which an attacker would try first.
    pub fn parse(
        email: &str,
        password: &str,
        first_name: &str,
        last_name: &str,
        profile: ProfileEdit,
    ) -> AppResult<Self> {
        let email = Email::parse(email, "email")?;
        let first_name = PersonName::parse(first_name, "firstName")?;
        let last_name = PersonName::parse(last_name, "lastName")?;
        let personal = [
            email.as_str(),
            email.local_part(),
            first_name.as_str(),
            last_name.as_str(),
        ];
        let password = NewPassword::parse(password, "password", &personal)?;
        Ok(Self {
            email,
            password,
            first_name,
            last_name,
            profile,
        })
    }
}

/// Creates an account and signs it in on a new session. Where sign-in needs a verified
/// address, it signs nobody in: a fresh address and a taken one get the same answer
/// (`EMAIL_NOT_VERIFIED`: check your inbox), the newcomer gets the verification link and the
/// address's holder hears that someone tried, so registration reveals no accounts.
pub async fn register(
    state: &AppState,
    mut registration: Registration,
    client: &ClientInfo,
) -> AppResult<AuthOutcome> {
    let id = AccountId::generate();
    let edit = std::mem::take(&mut registration.profile);
    let profile =
        profile::resolve(id, &StoredProfile::default(), edit, &profile::rules(state))?.stored;
    let password_hash = state.passwords.hash(&registration.password).await?;
    let mut work = Work::begin(state).await?;
    let account = create_account(
        state,
        work.txn(),
        NewAccountParts {
            id,
            registration: &registration,
            password_hash,
            role: Role::User,
            profile,
        },
    )
    .await;
    let verified_only = state.settings.sessions.require_verified_email;
    let account = match account {
        Ok(account) => account,
        Err(err) => {
            drop(work);
            if verified_only && matches!(&err, AppError::Conflict { field, .. } if field == "email")
            {
                return Err(email_taken_quietly(state, &registration.email, client).await);
            }
            return Err(profile::record_if_ssn_taken(state, None, client, err).await);
        }
    };
    if verified_only {
        let event = Event::new(Kind::AccountRegistered).by(id).client(client);
        work.record(event).await?;
        verification::issue(state, &mut work, &account, client).await?;
        work.commit().await?;
        tracing::info!(account = %id, "account registered; waiting for its address");
        return Err(AppError::EmailNotVerified);
    }
    let mut outcome =
        sessions::open(state, work.txn(), &account, client, AuthMethods::Password).await?;
    // The browser that registered is the account's first device.
    outcome.device_cookie = Some(devices::cookie(state, devices::new_device(id)));
    let event = Event::new(Kind::AccountRegistered)
        .by(id)
        .session(SessionId(outcome.session.id))
        .client(client);
    work.record(event).await?;
    verification::issue(state, &mut work, &account, client).await?;
    work.commit().await?;
    tracing::info!(account = %id, "account registered");
    Ok(outcome)
}

/// Someone registered with an address that has an account, where registration must not say
/// so: the holder is told (as often as the registration limits let anyone try), and the
/// caller gets the answer a fresh address gets.
async fn email_taken_quietly(state: &AppState, email: &Email, client: &ClientInfo) -> AppError {
    let result = async {
        let Some(holder) = db::accounts::find_by_email(&state.db, email).await? else {
            return AppResult::Ok(());
        };
        let mut work = Work::begin(state).await?;
        let event = Event::new(Kind::RegistrationWithTakenEmail)
            .subject(AccountId(holder.id))
            .client(client);
        work.record(event).await?;
        work.mail(&holder, Mail::RegistrationAttempt);
        work.commit().await
    }
    .await;
    match result {
        Ok(()) => AppError::EmailNotVerified,
        Err(err) => err,
    }
}

/// Creates an administrator (`custodian admin create`).
pub async fn create_admin(state: &AppState, registration: Registration) -> AppResult<AccountId> {
    let password_hash = state.passwords.hash(&registration.password).await?;
    let work = Work::begin(state).await?;
    let account = create_account(
        state,
        work.txn(),
        NewAccountParts {
            id: AccountId::generate(),
            registration: &registration,
            password_hash,
            role: Role::Admin,
            profile: StoredProfile::default(),
        },
    )
    .await?;
    let id = AccountId(account.id);
    let event = Event::new(Kind::AdminCreated)
        .subject(id)
        .detail("via", "cli");
    work.record(event).await?;
    work.commit().await?;
    tracing::info!(account = %id, "administrator created");
    Ok(id)
}

struct NewAccountParts<'a> {
    id: AccountId,
    registration: &'a Registration,
    password_hash: String,
    role: Role,
    profile: StoredProfile,
}

async fn create_account(
    state: &AppState,
    txn: &DatabaseTransaction,
    parts: NewAccountParts<'_>,
) -> AppResult<db::entities::accounts::Model> {
    let registration = parts.registration;
    let inserted = db::accounts::insert(
        txn,
        NewAccount {
            id: parts.id,
            email: &registration.email,
            password_hash: parts.password_hash,
            first_name: &registration.first_name,
            last_name: &registration.last_name,
            role: parts.role,
            // An operator creating an administrator vouches for the address.
            email_verified: parts.role == Role::Admin,
            profile: parts.profile,
            security_stamp: new_security_stamp(),
            now: state.clock.now(),
        },
    )
    .await;
    match inserted {
        Ok(account) => Ok(account),
        Err(err) if db::is_unique_violation_of(&err, "ssn_index") => Err(profile::ssn_taken()),
        Err(err) if db::is_unique_violation(&err) => Err(AppError::Conflict {
            field: "email".into(),
            message: "an account with this email already exists".into(),
        }),
        Err(err) => Err(err.into()),
    }
}

/// Why a login failed, as the audit trail records it. The caller only ever sees
/// `InvalidCredentials`.
#[derive(Debug, Clone, Copy)]
pub(super) enum LoginFailure {
    /// Not an email, or a password longer than any stored one.
    Malformed,
    UnknownAccount,
    WrongPassword,
    /// A passkey no account holds, or one presented with another account's user handle.
    UnknownPasskey,
    /// A passkey of the account whose answer did not verify.
    PasskeyRefused,
}

impl LoginFailure {
    fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownAccount => "unknown_account",
            Self::WrongPassword => "wrong_password",
            Self::UnknownPasskey => "unknown_passkey",
            Self::PasskeyRefused => "passkey_refused",
        }
    }

    /// What the sign-in was attempted with.
    fn method(self) -> &'static str {
        match self {
            Self::Malformed | Self::UnknownAccount | Self::WrongPassword => "password",
            Self::UnknownPasskey | Self::PasskeyRefused => "passkey",
        }
    }

    /// The one error every failure of a method gets, so answers reveal no accounts.
    fn error(self) -> AppError {
        match self {
            Self::Malformed | Self::UnknownAccount | Self::WrongPassword => {
                AppError::InvalidCredentials
            }
            Self::UnknownPasskey | Self::PasskeyRefused => AppError::PasskeyNotAccepted,
        }
    }
}

/// What a sign-in offers, parsed. A malformed email is kept as absent rather than refused:
/// it must fail exactly like an unknown one.
pub struct Credentials {
    email: Option<Email>,
    password: PasswordAttempt,
}

impl Credentials {
    pub fn parse(email: &str, password: &str) -> Self {
        Self {
            email: Email::parse(email, "email").ok(),
            password: PasswordAttempt::parse(password),
        }
    }
}

/// Checks the credentials and opens a session, or with MFA on, answers the second step. A
/// malformed email, an unknown email and a wrong password all cost one hash and give the same
/// `InvalidCredentials`. A browser the account recognises (`device`) skips the per-address
/// backoff, so the owner signs in while someone floods their address; it has a limit of its
/// own.
///
/// Under a flood, sign-ins spend most of their time waiting for a hashing thread, so what comes
/// before and after the hash runs in futures of its own: a waiting sign-in holds a few hundred
/// bytes, not the state of every query it will make.
pub async fn login(
    state: &AppState,
    credentials: Credentials,
    device: Option<Device>,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    let Credentials {
        email,
        password: attempt,
    } = credentials;
    let (account, device, reservation) =
        Box::pin(before_password(state, email.as_ref(), device, client)).await?;
    let stored = account
        .as_ref()
        .map(|account| account.password_hash.as_str());
    let verdict = state.passwords.verify(&attempt, stored).await?;
    let (Verified::Yes { needs_rehash }, Some(account)) = (verdict, account.as_ref()) else {
        let reason = match (&email, attempt.expose(), &account) {
            (None, _, _) | (_, None, _) => LoginFailure::Malformed,
            (_, _, None) => LoginFailure::UnknownAccount,
            _ => LoginFailure::WrongPassword,
        };
        let account = account.map(|account| AccountId(account.id));
        return Err(Box::pin(login_failed(state, account, reason, client)).await);
    };
    let right = RightPassword {
        account,
        attempt: &attempt,
        needs_rehash,
        reservation,
        device,
    };
    Box::pin(after_password(state, right, client)).await
}

/// The account an email names, the device if it is that account's, and the per-address
/// backoff's reservation when no known device vouches for the browser.
async fn before_password(
    state: &AppState,
    email: Option<&Email>,
    device: Option<Device>,
    client: &ClientInfo,
) -> AppResult<(
    Option<db::entities::accounts::Model>,
    Option<Device>,
    Option<Reservation>,
)> {
    let account = match email {
        Some(email) => db::accounts::find_by_email(&state.db, email).await?,
        None => None,
    };
    let device = device.filter(|device| {
        account
            .as_ref()
            .is_some_and(|account| device.account.0 == account.id)
    });
    let reservation = match (email, device) {
        (_, Some(device)) => {
            Limit::device(device.id).spend(state, client, None).await?;
            None
        }
        (Some(email), None) => Some(
            SignInBackoff::of(state, email)
                .reserve(state, client)
                .await?,
        ),
        (None, None) => None,
    };
    Ok((account, device, reservation))
}

/// A sign-in whose password was right.
struct RightPassword<'a> {
    account: &'a db::entities::accounts::Model,
    attempt: &'a PasswordAttempt,
    needs_rehash: bool,
    reservation: Option<Reservation>,
    device: Option<Device>,
}

/// What a right password leads to, unless the account is suspended or unverified.
async fn after_password(
    state: &AppState,
    right: RightPassword<'_>,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    let RightPassword {
        account,
        attempt,
        needs_rehash,
        reservation,
        device,
    } = right;
    if let Some(reservation) = reservation {
        reservation.release(state).await?;
    }
    if needs_rehash {
        rehash(state, account, attempt).await;
    }
    if account.suspended_at.is_some() {
        return Err(refuse_suspended(state, account, client).await);
    }
    if state.settings.sessions.require_verified_email && !account.email_verified {
        return Err(refuse_unverified(state, account, client).await);
    }
    if account.mfa_enabled {
        let challenge = mfa::challenge(state, account, client).await?;
        return Ok(LoginOutcome::MfaRequired(challenge));
    }
    let work = Work::begin(state).await?;
    let outcome = sessions::sign_in(
        state,
        work,
        account,
        client,
        AuthMethods::Password,
        &[],
        device,
    )
    .await?;
    Ok(LoginOutcome::SignedIn(Box::new(outcome)))
}

/// What a right password leads to: a session, or the second step.
pub enum LoginOutcome {
    SignedIn(Box<AuthOutcome>),
    MfaRequired(mfa::Challenge),
}

/// The password was right but the address is unconfirmed: a fresh link goes out (at most once
/// a minute) and the person is told so. Only reached with the right password, so it reveals
/// nothing to someone guessing.
pub(super) async fn refuse_unverified(
    state: &AppState,
    account: &db::entities::accounts::Model,
    client: &ClientInfo,
) -> AppError {
    let id = AccountId(account.id);
    let event = Event::new(Kind::LoginUnverified).subject(id).client(client);
    let result = async {
        audit::record_alone(state, event).await?;
        verification::resend(state, account, client).await
    }
    .await;
    match result {
        Ok(_) => AppError::EmailNotVerified,
        Err(err) => err,
    }
}

/// The password was right but support has frozen the account: said only now, so a wrong
/// password on a suspended account still reads as any other wrong password.
pub(super) async fn refuse_suspended(
    state: &AppState,
    account: &db::entities::accounts::Model,
    client: &ClientInfo,
) -> AppError {
    let event = Event::new(Kind::LoginSuspended)
        .subject(AccountId(account.id))
        .client(client);
    match audit::record_alone(state, event).await {
        Ok(()) => AppError::Forbidden(Denial::AccountSuspended),
        Err(err) => err,
    }
}

/// Records a failed login and answers the one error every failure gets.
pub(super) async fn login_failed(
    state: &AppState,
    account: Option<AccountId>,
    reason: LoginFailure,
    client: &ClientInfo,
) -> AppError {
    state.metrics.login(false);
    tracing::info!(reason = reason.as_str(), "login failed");
    let mut event = Event::new(Kind::LoginFailed)
        .client(client)
        .detail("reason", reason.as_str())
        .detail("method", reason.method());
    if let Some(account) = account {
        event = event.subject(account);
    }
    match audit::record_alone(state, event).await {
        Ok(()) => reason.error(),
        Err(err) => err,
    }
}

/// Upgrades a hash made with older parameters, now that the password is known to be right.
/// A failure here must not fail the login: it is logged and retried at the next one.
async fn rehash(
    state: &AppState,
    account: &db::entities::accounts::Model,
    attempt: &PasswordAttempt,
) {
    let Some(new) = NewPassword::accept_verified(attempt) else {
        return;
    };
    let result = async {
        let hash = state.passwords.hash(&new).await?;
        let work = Work::begin(state).await?;
        db::accounts::replace_password_hash(
            &work,
            AccountId(account.id),
            &account.password_hash,
            hash,
            work.now(),
        )
        .await?;
        work.commit().await
    }
    .await;
    match result {
        Ok(()) => {
            tracing::info!(account = %account.id, "password rehashed with current parameters")
        }
        Err(err) => tracing::warn!(account = %account.id, error = ?err, "cannot rehash password"),
    }
}
