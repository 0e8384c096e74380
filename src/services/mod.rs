//! Business rules. GraphQL resolvers and REST handlers parse their input into domain types and
//! call exactly one function here, so the two can never disagree.

pub mod access_tokens;
pub mod account_info;
pub mod accounts;
pub mod audit;
pub mod auth;
pub mod data_keys;
pub mod devices;
pub mod email_change;
pub mod lifecycle;
pub mod mfa;
pub mod mfa_reset;
pub mod outbox;
pub mod passkeys;
pub mod profile;
pub mod reauth;
pub mod recovery;
pub mod retention;
pub mod session_changes;
pub mod sessions;
pub mod signing_keys;
pub mod throttle;
pub mod unit_of_work;
pub mod verification;

use std::{net::IpAddr, sync::Arc};

use secrecy::ExposeSecret;
use unit_of_work::Work;

use crate::{
    cache::trusted::MAX_AGE,
    crypto::random_token,
    db::{self, entities::accounts::Model as Account},
    domain::{AccountId, Role, SessionId},
    error::{AppError, AppResult, TokenRejection},
    state::AppState,
};

/// Who is calling, from where, in which request: recorded on sessions and in the audit trail.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// `None` outside a request (the command line).
    pub request_id: Option<String>,
}

/// A signed-in caller whose session was active when the request was checked.
#[derive(Debug, Clone, Copy)]
pub struct Principal {
    pub account: AccountId,
    pub session: SessionId,
    pub role: Role,
    /// The session passed a second factor.
    pub second_factor: bool,
}

/// What a new password must not be built from: the person's email and names.
fn personal_data(account: &Account) -> [&str; 4] {
    let local_part = account.email.split('@').next().unwrap_or_default();
    [
        account.email.as_str(),
        local_part,
        account.first_name.as_str(),
        account.last_name.as_str(),
    ]
}

/// The account of a signed-in caller. Its absence means it was closed mid-session.
pub async fn signed_in_account(state: &AppState, id: AccountId) -> AppResult<Account> {
    db::accounts::find(&state.db, id)
        .await?
        .filter(|account| account.deleted_at.is_none())
        .ok_or(AppError::TokenRejected(TokenRejection::SessionEnded))
}

/// The caller's account for showing it and for checking its role, from this instance's cache
/// when that can be trusted (`cache::accounts`: every write to the row, on any instance,
/// drops it). Never for deciding a write: a write reads the row inside its own transaction (a
/// refresh reads it only after its rotation has committed, for the answer and the token).
pub async fn shown_account(state: &AppState, id: AccountId) -> AppResult<Arc<Account>> {
    let now = state.clock.now();
    if let Some(known) = state.accounts.get(&id, now) {
        state.metrics.account_read(true);
        return Ok(known);
    }
    state.metrics.account_read(false);
    let ticket = state.accounts.ticket();
    let account = Arc::new(signed_in_account(state, id).await?);
    state
        .accounts
        .keep(ticket, id, Arc::clone(&account), now, now + MAX_AGE);
    Ok(account)
}

/// The caller's role as the account holds it now. A token's `role` claim is only as good as
/// the key that signed it, so administrator fields ask the account as well.
pub async fn current_role(state: &AppState, principal: &Principal) -> AppResult<Role> {
    Ok(shown_account(state, principal.account).await?.role)
}

/// A fresh security stamp: whatever carries the old one can no longer finish.
fn new_security_stamp() -> String {
    random_token().expose_secret().to_owned()
}

/// Rotates the account's security stamp inside `work`: MFA challenges and sign-ins that began
/// before this credential change cannot complete after it.
async fn rotate_security_stamp(work: &Work<'_>, account: AccountId) -> AppResult<()> {
    db::accounts::rotate_security_stamp(work.txn(), account, new_security_stamp()).await?;
    Ok(())
}
