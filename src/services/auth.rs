//! Registration, sign-in and administrator creation.

use sea_orm::TransactionTrait;

use super::{
    ClientInfo,
    access_tokens::AuthMethods,
    passwords::Verified,
    sessions::{self, AuthOutcome},
};
use crate::{
    db::{self, accounts::NewAccount},
    domain::{AccountId, Email, NewPassword, PasswordAttempt, PersonName, Role},
    error::{AppError, AppResult},
    state::AppState,
};

/// A registration, parsed. Field names in errors are the API's (`email`, `firstName`, …).
pub struct Registration {
    email: Email,
    password: NewPassword,
    first_name: PersonName,
    last_name: PersonName,
}

impl Registration {
    /// Parses the raw fields. The password is judged against the person's own email and
    /// names, which an attacker would try first.
    pub fn parse(
        email: &str,
        password: &str,
        first_name: &str,
        last_name: &str,
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
        })
    }
}

/// Creates an account and signs it in on a new session.
pub async fn register(
    state: &AppState,
    registration: Registration,
    client: &ClientInfo,
) -> AppResult<AuthOutcome> {
    let account = create_account(state, &registration, Role::User).await?;
    tracing::info!(account = %account.id, "account registered");
    let txn = state.db.begin().await?;
    let outcome = sessions::open(state, &txn, account, client, AuthMethods::Password).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Creates an administrator (`custodian admin create`).
pub async fn create_admin(state: &AppState, registration: Registration) -> AppResult<AccountId> {
    let account = create_account(state, &registration, Role::Admin).await?;
    tracing::info!(account = %account.id, "administrator created");
    Ok(AccountId(account.id))
}

async fn create_account(
    state: &AppState,
    registration: &Registration,
    role: Role,
) -> AppResult<db::entities::accounts::Model> {
    let password_hash = state.passwords.hash(&registration.password).await?;
    let inserted = db::accounts::insert(
        &state.db,
        NewAccount {
            id: AccountId::generate(),
            email: &registration.email,
            password_hash,
            first_name: &registration.first_name,
            last_name: &registration.last_name,
            role,
            now: state.clock.now(),
        },
    )
    .await;
    match inserted {
        Ok(account) => Ok(account),
        Err(err) if db::is_unique_violation(&err) => Err(AppError::Conflict {
            field: "email".into(),
            message: "an account with this email already exists".into(),
        }),
        Err(err) => Err(err.into()),
    }
}

/// Checks the credentials and opens a session. A malformed email, an unknown email and a
/// wrong password all cost one hash and give the same `InvalidCredentials`.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    client: &ClientInfo,
) -> AppResult<AuthOutcome> {
    let attempt = PasswordAttempt::parse(password);
    let account = match Email::parse(email, "email") {
        Ok(email) => db::accounts::find_by_email(&state.db, &email).await?,
        Err(_) => None,
    };
    let Some(attempt) = attempt else {
        return Err(AppError::InvalidCredentials);
    };
    let stored = account
        .as_ref()
        .map(|account| account.password_hash.as_str());
    let verdict = state.passwords.verify(&attempt, stored).await?;
    let (Verified::Yes { needs_rehash }, Some(account)) = (verdict, account) else {
        tracing::info!("login failed");
        return Err(AppError::InvalidCredentials);
    };
    if needs_rehash {
        rehash(state, &account, &attempt).await;
    }
    let txn = state.db.begin().await?;
    let outcome = sessions::open(state, &txn, account, client, AuthMethods::Password).await?;
    txn.commit().await?;
    tracing::info!(account = %outcome.account.id, session = %outcome.session.id, "login succeeded");
    Ok(outcome)
}

/// Upgrades a hash made with older parameters, now that the password is known to be right.
/// A failure here must not fail the login: it is logged and retried at the next one.
async fn rehash(
    state: &AppState,
    account: &db::entities::accounts::Model,
    attempt: &PasswordAttempt,
) {
    let result = async {
        let new = NewPassword::accept_verified(attempt);
        let hash = state.passwords.hash(&new).await?;
        db::accounts::replace_password_hash(
            &state.db,
            AccountId(account.id),
            &account.password_hash,
            hash,
            state.clock.now(),
        )
        .await?;
        AppResult::Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            tracing::info!(account = %account.id, "password rehashed with current parameters")
        }
        Err(err) => tracing::warn!(account = %account.id, error = ?err, "cannot rehash password"),
    }
}
