//! The signed-in person's devices: listing sessions, ending them, and proving the password
//! again before sensitive changes.

use super::context::Boxed;
use async_graphql::{Context, Object, SimpleObject};
use serde::Serialize;
use uuid::Uuid;

use super::{context::ContextExt, errors::IntoGraphql, guards::SignedIn, scalars::Timestamp};
use crate::{
    db::entities::sessions::Model,
    domain::{OneTimeCode, PasswordAttempt, SessionId},
    http::cookies::CookieUpdate,
    services::{reauth, sessions, throttle::Limit},
    state::AppState,
};

/// One signed-in device. Never carries a token.
#[derive(Debug, Clone, SimpleObject, Serialize)]
#[graphql(name = "Session")]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The session's id, for `revokeSession`.
    pub id: Uuid,
    /// When the sign-in opened it.
    pub created_at: Timestamp,
    /// The sign-in or the latest refresh.
    pub last_active_at: Timestamp,
    /// When it ends unless refreshed before (7 days after the latest refresh by default),
    /// never later than its absolute limit (30 days after sign-in by default).
    pub expires_at: Timestamp,
    /// The client's IP address at sign-in; null when unknown.
    pub ip_address: Option<String>,
    /// The client's `User-Agent` at sign-in; null when it sent none.
    pub user_agent: Option<String>,
    /// The session this request was made with.
    pub current: bool,
    /// Whether this session passed a second factor (an app or recovery code, or a passkey), at
    /// sign-in or by turning MFA on in it. A sign-in with a passkey alone counts: a passkey
    /// verifies its user itself.
    pub mfa_verified: bool,
    /// For the current session: until when it may make sensitive changes without calling
    /// `reauthenticate` first (in the past once the window has closed). Null for other
    /// sessions.
    pub reauthenticated_until: Option<Timestamp>,
}

impl SessionView {
    pub fn new(state: &AppState, model: Model, current: Option<SessionId>) -> Self {
        let current = current.is_some_and(|current| current.0 == model.id);
        Self {
            reauthenticated_until: current
                .then(|| sessions::reauthenticated_until(state, &model))
                .flatten()
                .map(Timestamp::from),
            current,
            id: model.id,
            created_at: model.created_at.into(),
            last_active_at: model.last_active_at.into(),
            expires_at: model.expires_at.into(),
            ip_address: model.ip_address,
            user_agent: model.user_agent,
            mfa_verified: model.mfa_verified,
        }
    }
}

#[derive(Default)]
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// The signed-in account's active sessions, newest first. Signed in only.
    // A person has a handful of sessions, each read in full.
    #[graphql(guard = "SignedIn", complexity = "5 * child_complexity")]
    async fn sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SessionView>> {
        let principal = ctx.principal().await?;
        let list = sessions::list(ctx.state(), &principal)
            .boxed()
            .await
            .graphql()?;
        Ok(list
            .into_iter()
            .map(|session| SessionView::new(ctx.state(), session, Some(principal.session)))
            .collect())
    }
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Ends one of the caller's sessions; its access tokens stop working at once. Ending the
    /// current one also clears the cookies. Signed in only. `NOT_FOUND` when no active session
    /// of the caller has this id (another person's included).
    #[graphql(guard = "SignedIn")]
    async fn revoke_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `id` of the session to end.")] id: Uuid,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        sessions::revoke(
            ctx.state(),
            &principal,
            SessionId(id),
            ctx.request().client(),
        )
        .boxed()
        .await
        .graphql()?;
        if principal.session.0 == id {
            ctx.request().set_cookies(CookieUpdate::SignedOut);
        }
        Ok(true)
    }

    /// Proves the password again, and a code from the authenticator app (or a recovery code)
    /// when two-step sign-in is on: for the next few minutes (5 by default) this session may
    /// make the changes that answer `REAUTHENTICATION_REQUIRED` (`reauthenticatedUntil` says
    /// until when). Signed in only. A wrong password is `BAD_USER_INPUT` on `password`, a
    /// wrong or missing code `BAD_USER_INPUT` on `code`; `RATE_LIMITED` (`secret_account`);
    /// wrong codes lock out as for `verifyMfa`.
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn reauthenticate(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The account's current password.")] password: String,
        #[graphql(
            secret,
            desc = "The app's current 6-digit code, or a recovery code; required when MFA is \
                    on, ignored otherwise."
        )]
        code: Option<String>,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        let code = code.as_deref().map(OneTimeCode::parse);
        reauth::reauthenticate(
            ctx.state(),
            &principal,
            &PasswordAttempt::parse(&password),
            code.as_ref(),
            ctx.request().client(),
        )
        .boxed()
        .await
        .graphql()?;
        Ok(true)
    }

    /// Ends every session of the caller but this one; answers how many ended. Signed in only.
    #[graphql(guard = "SignedIn")]
    async fn revoke_other_sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let principal = ctx.principal().await?;
        let ended = sessions::revoke_others(ctx.state(), &principal, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        Ok(i32::try_from(ended).unwrap_or(i32::MAX))
    }
}
