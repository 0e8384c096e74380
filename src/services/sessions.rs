//! Sessions and their refresh tokens: opening, rotating, listing, ending.
//!
//! Rotation is where token systems break, so its rules are spelled out here:
//! - the presented token is claimed by a conditional update (`used_at IS NULL`): of any number
//!   of concurrent refreshes, the database lets exactly one mint the successor;
//! - the successor is derived from the presented token (HMAC under a server key), so a retry
//!   inside the grace window gets the very same successor back instead of a second one: two
//!   tabs stay signed in and the token family never forks;
//! - a rotated token presented after the grace window, or after its successor was itself
//!   rotated, means it was copied: the whole session is revoked;
//! - the session is extended by a conditional update on an active row, which also orders the
//!   refresh against a concurrent logout: whichever commits first wins, and the loser leaves no
//!   usable token behind.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DatabaseTransaction;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{
    ClientInfo, Principal,
    access_tokens::{self, AccessToken, AuthMethods},
    account_info::AccountInfo,
    audit::{self, Event, Kind},
    devices::{self, Device},
    throttle::Limit,
    unit_of_work::Work,
};
use crate::{
    cache::sessions::{ActiveSession, SessionChange},
    crypto::{TokenHash, envelope::HashPurpose, random_token},
    db::{
        self,
        entities::{accounts, sessions},
        refresh_tokens::NewRefreshToken,
        sessions::RevokeReason,
    },
    domain::{AccountId, SessionId},
    error::{AppError, AppResult, TokenRejection},
    mail::Mail,
    state::AppState,
};

/// A refresh token as handed to the client (only ever in an HttpOnly cookie).
pub struct IssuedRefreshToken {
    pub token: SecretString,
    pub expires_at: DateTime<Utc>,
}

/// A signed-in result: the account, its new or refreshed session, and both tokens.
pub struct AuthOutcome {
    pub account: AccountInfo,
    pub session: sessions::Model,
    pub access: AccessToken,
    pub refresh: IssuedRefreshToken,
    /// The device cookie to set: on every sign-in, never on a refresh.
    pub device_cookie: Option<SecretString>,
}

fn delta(duration: std::time::Duration) -> AppResult<TimeDelta> {
    TimeDelta::from_std(duration).map_err(|err| AppError::Internal(err.into()))
}

/// Opens a session for `account` inside `txn` and mints its first refresh token.
pub async fn open(
    state: &AppState,
    txn: &DatabaseTransaction,
    account: &accounts::Model,
    client: &ClientInfo,
    methods: AuthMethods,
) -> AppResult<AuthOutcome> {
    let now = state.clock.now();
    let absolute = now + delta(state.settings.sessions.absolute_ttl)?;
    let idle = (now + delta(state.settings.sessions.idle_ttl)?).min(absolute);
    let session = db::sessions::insert(
        txn,
        sessions::Model {
            id: SessionId::generate().0,
            account_id: account.id,
            created_at: now,
            last_active_at: now,
            expires_at: idle,
            absolute_expires_at: absolute,
            ip_address: client.ip.map(|ip| ip.to_string()),
            user_agent: client.user_agent.clone(),
            revoked_at: None,
            revoke_reason: None,
            mfa_verified: methods.is_multi_factor(),
            // Signing in proves the password (and second factor where on), or a passkey.
            reauthenticated_at: Some(now),
            auth_methods: methods.stored(),
        },
    )
    .await?;
    let refresh = random_token();
    db::refresh_tokens::insert(
        txn,
        NewRefreshToken {
            session: SessionId(session.id),
            parent: None,
            hash: &TokenHash::of(&refresh),
            now,
            expires_at: idle,
        },
    )
    .await?;
    let access = access_tokens::issue(
        state,
        AccountId(account.id),
        SessionId(session.id),
        account.role,
        methods,
    )?;
    Ok(AuthOutcome {
        account: AccountInfo::open(state, account).await?,
        session,
        access,
        refresh: IssuedRefreshToken {
            token: refresh,
            expires_at: idle,
        },
        device_cookie: None,
    })
}

/// Opens a session after every factor was checked, in `work`: with it commit `extra` events
/// (the MFA step) and whatever mail the caller queued. A browser without this account's
/// device cookie gets one, and the owner an email about the new sign-in.
pub(super) async fn sign_in(
    state: &AppState,
    mut work: Work<'_>,
    account: &accounts::Model,
    client: &ClientInfo,
    methods: AuthMethods,
    extra: &[Event],
    device: Option<Device>,
) -> AppResult<AuthOutcome> {
    let id = AccountId(account.id);
    // Not under an old stamp: a credential change that committed while the password was being
    // checked (or before `verifyMfa`) voids this sign-in, and one that comes later waits for
    // it, then ends its session with the others.
    if !db::accounts::hold_if_stamp(work.txn(), id, &account.security_stamp).await? {
        return Err(AppError::InvalidCredentials);
    }
    let mut outcome = open(state, work.txn(), account, client, methods).await?;
    let session = SessionId(outcome.session.id);
    for event in extra {
        work.record(event.clone().session(session)).await?;
    }
    let event = Event::new(Kind::LoginSucceeded)
        .by(id)
        .session(session)
        .client(client)
        .detail("method", methods.first_factor());
    work.record(event).await?;
    let device = match device.filter(|device| device.account == id) {
        Some(known) => known,
        None => {
            let event = Event::new(Kind::LoginNewDevice)
                .by(id)
                .session(session)
                .client(client);
            work.record(event).await?;
            work.mail(account, new_sign_in_notice(state, client, work.now()));
            devices::new_device(id)
        }
    };
    outcome.device_cookie = Some(devices::cookie(state, device));
    work.commit().await?;
    state.metrics.login(true);
    tracing::info!(account = %id, session = %outcome.session.id, "login succeeded");
    Ok(outcome)
}

/// The email about a sign-in from a browser the account had not seen: when, from where, with
/// what, and where to review sessions.
fn new_sign_in_notice(state: &AppState, client: &ClientInfo, at: DateTime<Utc>) -> Mail {
    let settings = state.mailer.settings();
    Mail::NewSignIn {
        at: at.format("%Y-%m-%d %H:%M UTC").to_string(),
        ip: client
            .ip
            .map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string()),
        device: devices::describe(client.user_agent.as_deref()),
        sessions_link: state.mailer.link(&settings.sessions_link_template, ""),
    }
}

/// Rotates `presented` and returns fresh tokens for its session.
///
/// On the path every client takes (a token presented once), PostgreSQL rotates in a read and
/// one statement (see `db::rotations`); anything else (a grace retry, a replay, SQLite) goes
/// through [`Rotation::in_transaction`], whose rules the statement follows.
pub async fn refresh(
    state: &AppState,
    presented: &SecretString,
    client: &ClientInfo,
) -> AppResult<AuthOutcome> {
    let successor = successor_of(state, presented);
    let rotation = Rotation {
        now: state.clock.now(),
        hash: TokenHash::of(presented),
        successor_hash: TokenHash::of(&successor),
        client,
    };
    let session = match rotation.in_one_statement(state).await? {
        OneStatement::Rotated(session) => *session,
        OneStatement::Declined { counted } => rotation.in_transaction(state, counted).await?,
    };
    let session_id = SessionId(session.id);
    let account_id = AccountId(session.account_id);
    let methods = AuthMethods::from_stored(&session.auth_methods).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "session {session_id} stores unknown sign-in methods"
        ))
    })?;
    // Read once the rotation has committed, from this instance's cache where it can be
    // trusted: suspension, closure and a change of role end every session of the account in
    // the transaction that makes them (so the extension would have found nothing), and drop
    // its cached row on every instance. Checked anyway, as the one place a refresh could
    // outlive them.
    let account = super::shown_account(state, account_id)
        .await
        .map_err(|err| match err {
            AppError::TokenRejected(_) => AppError::InvalidRefreshToken,
            other => other,
        })?;
    if account.suspended_at.is_some() {
        return Err(AppError::InvalidRefreshToken);
    }
    let access = access_tokens::issue(state, account_id, session_id, account.role, methods)?;
    let expires_at = session.expires_at;
    Ok(AuthOutcome {
        account: AccountInfo::open(state, &account).await?,
        session,
        access,
        refresh: IssuedRefreshToken {
            token: successor,
            expires_at,
        },
        device_cookie: None,
    })
}

/// One refresh request: the presented token, by hash, and the successor it earns.
struct Rotation<'a> {
    now: DateTime<Utc>,
    hash: TokenHash,
    successor_hash: TokenHash,
    client: &'a ClientInfo,
}

/// How the rotation in one statement ended.
enum OneStatement {
    /// The token was claimed and its session extended: this session.
    Rotated(Box<sessions::Model>),
    /// Left to the transaction: not on this database, a token already used, or the statement
    /// lost a race. `counted` when the per-session limit already counted this request.
    Declined { counted: bool },
}

impl Rotation<'_> {
    async fn in_one_statement(&self, state: &AppState) -> AppResult<OneStatement> {
        if !db::rotations::available(&state.db) {
            return Ok(OneStatement::Declined { counted: false });
        }
        let presented = db::rotations::find(&state.db, &self.hash)
            .await?
            .ok_or(AppError::InvalidRefreshToken)?;
        if presented.used_at.is_some() {
            return Ok(OneStatement::Declined { counted: false });
        }
        let session = SessionId(presented.session_id);
        // Counted before anything is written, so a refusal burns no token.
        if let Err(refusal) = Limit::refresh_session(session)
            .count(state, self.client, None)
            .await
        {
            return Err(refusal.record(state).await);
        }
        let event = Event::new(Kind::TokenRefreshed)
            .by(AccountId(presented.account_id))
            .session(session)
            .client(self.client);
        let rotated = db::rotations::rotate(
            &state.db,
            db::rotations::Rotation {
                token: presented.id,
                session,
                now: self.now,
                idle_expiry: self.idle_expiry(state)?,
                successor: Uuid::now_v7(),
                successor_hash: &self.successor_hash,
                event: audit::pending(&state.keys, self.now, event),
            },
        )
        .await?;
        Ok(match rotated {
            Some(session) => {
                state.seal_wanted.notify_one();
                OneStatement::Rotated(Box::new(session))
            }
            None => OneStatement::Declined { counted: true },
        })
    }

    /// The rotation as four statements in one transaction: claim the token, extend the
    /// session, mint the successor, record the event; or, for a token already used, the grace
    /// retry or the reuse it is. Answers the extended session.
    async fn in_transaction(&self, state: &AppState, counted: bool) -> AppResult<sessions::Model> {
        let now = self.now;
        let work = Work::begin(state).await?;
        // Write first: on SQLite this takes the write lock before any read, so the reads below
        // see every rotation that committed before ours.
        let (row, claimed) = match db::refresh_tokens::claim(work.txn(), &self.hash, now).await? {
            Some(row) => (row, true),
            None => match db::refresh_tokens::find_by_hash(work.txn(), &self.hash).await? {
                Some(row) => (row, false),
                None => return Err(AppError::InvalidRefreshToken),
            },
        };
        let session_id = SessionId(row.session_id);
        // Counted per session; a refused refresh rolls its claim back, so it burns no token.
        if !counted
            && let Err(refusal) = Limit::refresh_session(session_id)
                .count(state, self.client, None)
                .await
        {
            work.roll_back().await?;
            return Err(refusal.record(state).await);
        }
        if !claimed {
            let Some(session) = db::sessions::find(work.txn(), session_id).await? else {
                return Err(AppError::InvalidRefreshToken);
            };
            match row.used_at {
                Some(used) if now - used <= delta(state.settings.sessions.refresh_grace)? => {
                    let child = db::refresh_tokens::find_child(work.txn(), row.id).await?;
                    match child {
                        Some(child) if child.token_hash != self.successor_hash.as_str() => {
                            return Err(AppError::InvalidRefreshToken);
                        }
                        // The successor was itself rotated: whoever holds this parent is not
                        // the client that moved on, so a retry here is a replay.
                        Some(child) if child.used_at.is_some() => {
                            return Err(reuse_detected(state, work, &session, self.client).await);
                        }
                        Some(_) => {}
                        None => return Err(AppError::InvalidRefreshToken),
                    }
                }
                Some(_) => return Err(reuse_detected(state, work, &session, self.client).await),
                None => return Err(AppError::InvalidRefreshToken),
            }
        }
        let session =
            db::sessions::extend_if_active(work.txn(), session_id, now, self.idle_expiry(state)?)
                .await?
                .ok_or(AppError::InvalidRefreshToken)?;
        if claimed {
            db::refresh_tokens::insert(
                work.txn(),
                NewRefreshToken {
                    session: session_id,
                    parent: Some(row.id),
                    hash: &self.successor_hash,
                    now,
                    expires_at: session.expires_at,
                },
            )
            .await?;
        }
        let mut event = Event::new(Kind::TokenRefreshed)
            .by(AccountId(session.account_id))
            .session(session_id)
            .client(self.client);
        if !claimed {
            event = event.detail("grace_retry", true);
        }
        work.record(event).await?;
        work.commit().await?;
        Ok(session)
    }

    /// The session's idle expiry once extended, before its absolute expiry caps it.
    fn idle_expiry(&self, state: &AppState) -> AppResult<DateTime<Utc>> {
        Ok(self.now + delta(state.settings.sessions.idle_ttl)?)
    }
}

/// A rotated token came back: revokes its session, records why, and answers the error the
/// client gets. The revocation commits even though the request fails.
async fn reuse_detected(
    state: &AppState,
    mut work: Work<'_>,
    session: &sessions::Model,
    client: &ClientInfo,
) -> AppError {
    let result = async {
        let now = state.clock.now();
        let account = AccountId(session.account_id);
        let id = SessionId(session.id);
        let revoked = db::sessions::revoke(
            work.txn(),
            account,
            id,
            RevokeReason::RefreshTokenReuse,
            now,
        )
        .await?;
        work.sessions_changed(SessionChange::Session(id)).await?;
        let event = Event::new(Kind::RefreshTokenReused)
            .subject(account)
            .session(id)
            .client(client);
        work.record(event).await?;
        // The owner hears of it once, when the session ends.
        if revoked
            && let Some(owner) = db::accounts::find(work.txn(), account).await?
            && owner.deleted_at.is_none()
        {
            work.mail(&owner, Mail::RefreshTokenReused);
        }
        work.commit().await?;
        AppResult::Ok(())
    }
    .await;
    state.metrics.refresh_reuse_detected();
    tracing::warn!(session = %session.id, account = %session.account_id, "refresh token reused after rotation; session revoked");
    match result {
        Ok(()) => AppError::InvalidRefreshToken,
        Err(err) => err,
    }
}

/// The successor of a refresh token: a keyed hash of the token. Unpredictable without the
/// presented token, which is never stored.
fn successor_of(state: &AppState, presented: &SecretString) -> SecretString {
    let mac = state.keys.keyed_mac(
        HashPurpose::RefreshSuccessor,
        presented.expose_secret().as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(mac).into()
}

/// Verifies an access token and that its session is still active. The session is looked up
/// once and then trusted from the cache until anything ends or changes it, which every
/// instance hears at once (see `cache::sessions`): logout and revocation still take effect
/// on the next request, on every instance.
pub async fn authenticate(state: &AppState, access_token: &str) -> AppResult<Principal> {
    let claims = access_tokens::verify(state, access_token).await?;
    let session = active_session(state, claims.session).await?;
    if session.account != claims.account {
        return Err(AppError::TokenRejected(TokenRejection::Invalid));
    }
    Ok(Principal {
        account: claims.account,
        session: claims.session,
        role: claims.role,
        second_factor: session.second_factor,
    })
}

async fn active_session(state: &AppState, id: SessionId) -> AppResult<ActiveSession> {
    let now = state.clock.now();
    if let Some(known) = state.sessions.get(&id, now) {
        state.metrics.session_check(true);
        return Ok(known);
    }
    state.metrics.session_check(false);
    let ticket = state.sessions.ticket();
    // Boxed, like every slow path on the way to a resolver: the cached path's future stays small.
    let row = Box::pin(db::sessions::find_active(&state.db, id, now))
        .await?
        .ok_or(AppError::TokenRejected(TokenRejection::SessionEnded))?;
    let session = ActiveSession {
        account: AccountId(row.account_id),
        second_factor: row.mfa_verified,
    };
    let ends = row.expires_at.min(row.absolute_expires_at);
    state.sessions.keep(ticket, id, session, now, ends);
    Ok(session)
}

/// Who a request's access token names: nobody (no token), a caller, or a token that was
/// refused and why. Fields that need a caller answer the refusal; fields that only use one if
/// present treat a refused token as none.
#[derive(Debug, Clone, Copy)]
pub enum Caller {
    Anonymous,
    Signed(Principal),
    Rejected(TokenRejection),
}

impl Caller {
    /// The signed-in caller, or the error that says why there is none.
    pub fn required(self) -> AppResult<Principal> {
        match self {
            Self::Signed(principal) => Ok(principal),
            Self::Anonymous => Err(AppError::Unauthenticated),
            Self::Rejected(rejection) => Err(AppError::TokenRejected(rejection)),
        }
    }

    /// The signed-in caller, if the token was good.
    pub fn optional(self) -> Option<Principal> {
        match self {
            Self::Signed(principal) => Some(principal),
            Self::Anonymous | Self::Rejected(_) => None,
        }
    }
}

/// The caller behind an optional access token; an error only when the check itself failed.
pub async fn identify(state: &AppState, access_token: Option<&SecretString>) -> AppResult<Caller> {
    let Some(token) = access_token else {
        return Ok(Caller::Anonymous);
    };
    match authenticate(state, token.expose_secret()).await {
        Ok(principal) => Ok(Caller::Signed(principal)),
        Err(AppError::TokenRejected(rejection)) => Ok(Caller::Rejected(rejection)),
        Err(other) => Err(other),
    }
}

/// Until when `session` counts as recently authenticated, if it ever proved its password.
pub fn reauthenticated_until(state: &AppState, session: &sessions::Model) -> Option<DateTime<Utc>> {
    let window = TimeDelta::from_std(state.settings.sessions.reauth_window).ok()?;
    session.reauthenticated_at.map(|at| at + window)
}

/// Sensitive changes need the caller's session to have proved the password (and second
/// factor) within the re-authentication window; otherwise `REAUTHENTICATION_REQUIRED`, before
/// anything changes.
pub async fn require_recent_authentication(
    state: &AppState,
    principal: &Principal,
) -> AppResult<()> {
    let session = db::sessions::find(&state.db, principal.session)
        .await?
        .ok_or(AppError::TokenRejected(TokenRejection::SessionEnded))?;
    match reauthenticated_until(state, &session) {
        Some(until) if until > state.clock.now() => Ok(()),
        _ => Err(AppError::ReauthenticationRequired),
    }
}

/// The caller's active sessions, newest first.
pub async fn list(state: &AppState, principal: &Principal) -> AppResult<Vec<sessions::Model>> {
    Ok(db::sessions::list_active(&state.db, principal.account, state.clock.now()).await?)
}

/// Ends one of the caller's sessions; another person's session is `NotFound`, never a hint.
pub async fn revoke(
    state: &AppState,
    principal: &Principal,
    id: SessionId,
    client: &ClientInfo,
) -> AppResult<()> {
    let now = state.clock.now();
    let mut work = Work::begin(state).await?;
    let revoked = db::sessions::revoke(
        work.txn(),
        principal.account,
        id,
        RevokeReason::RevokedByUser,
        now,
    )
    .await?;
    if !revoked {
        return Err(AppError::NotFound);
    }
    work.sessions_changed(SessionChange::Session(id)).await?;
    let event = Event::new(Kind::SessionRevoked)
        .by(principal.account)
        .session(id)
        .client(client)
        .detail("scope", "one");
    work.record(event).await?;
    work.commit().await?;
    Ok(())
}

/// Ends every session of the caller but the current one; returns how many ended.
pub async fn revoke_others(
    state: &AppState,
    principal: &Principal,
    client: &ClientInfo,
) -> AppResult<u64> {
    let now = state.clock.now();
    let mut work = Work::begin(state).await?;
    let ended = db::sessions::revoke_all_except(
        work.txn(),
        principal.account,
        Some(principal.session),
        RevokeReason::RevokedByUser,
        now,
    )
    .await?;
    if ended > 0 {
        work.sessions_changed(SessionChange::Account(principal.account))
            .await?;
        let event = Event::new(Kind::SessionRevoked)
            .by_principal(principal)
            .client(client)
            .detail("scope", "others")
            .detail("count", ended);
        work.record(event).await?;
    }
    work.commit().await?;
    Ok(ended)
}

/// Ends the caller's session: the one of the access token if there is one, else the one the
/// refresh token belongs to. Ending an already-ended session is not an error, and records
/// nothing.
pub async fn logout(
    state: &AppState,
    principal: Option<&Principal>,
    refresh: Option<&SecretString>,
    client: &ClientInfo,
) -> AppResult<()> {
    let now = state.clock.now();
    let target = match (principal, refresh) {
        (Some(principal), _) => Some((principal.account, principal.session)),
        (None, Some(token)) => session_of_refresh_token(state, token).await?,
        (None, None) => None,
    };
    let Some((account, session)) = target else {
        return Ok(());
    };
    let mut work = Work::begin(state).await?;
    if db::sessions::revoke(work.txn(), account, session, RevokeReason::Logout, now).await? {
        work.sessions_changed(SessionChange::Session(session))
            .await?;
        let event = Event::new(Kind::LoggedOut)
            .by(account)
            .session(session)
            .client(client);
        work.record(event).await?;
    }
    work.commit().await?;
    Ok(())
}

async fn session_of_refresh_token(
    state: &AppState,
    token: &SecretString,
) -> AppResult<Option<(AccountId, SessionId)>> {
    let Some(row) = db::refresh_tokens::find_by_hash(&state.db, &TokenHash::of(token)).await?
    else {
        return Ok(None);
    };
    let session = db::sessions::find(&state.db, SessionId(row.session_id)).await?;
    Ok(session.map(|session| (AccountId(session.account_id), SessionId(session.id))))
}
