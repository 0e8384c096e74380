//! Signing up, signing in (with its second step), refreshing and signing out. REST's
//! `/api/auth/*` twins take and answer these same types.

use async_graphql::{Context, InputObject, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{
    Date, account::AccountView, context::ContextExt, errors::IntoGraphql, sessions::SessionView,
};
use crate::{
    domain::SessionId,
    error::AppError,
    http::cookies::CookieUpdate,
    services::{
        auth::{self, Credentials, LoginOutcome, Registration},
        mfa,
        profile::{Change, ProfileEdit},
        sessions::{self, AuthOutcome},
        throttle::Limit,
    },
    state::AppState,
};

/// A successful sign-in. The refresh token is not here: it travels only in its cookie. No
/// `Debug`: it holds the access token.
#[derive(SimpleObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthPayload {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub account: AccountView,
    pub session: SessionView,
}

impl AuthPayload {
    pub fn new(state: &AppState, outcome: AuthOutcome) -> Self {
        let current = Some(SessionId(outcome.session.id));
        Self {
            access_token: outcome.access.token.expose_secret().to_owned(),
            access_token_expires_at: outcome.access.expires_at,
            account: outcome.account.into(),
            session: SessionView::new(state, outcome.session, current),
        }
    }
}

/// The second step of a sign-in: send `mfaToken` with a code to `verifyMfa` before `expiresAt`.
#[derive(Debug, Clone, SimpleObject, Serialize)]
#[graphql(name = "MfaChallenge")]
#[serde(rename_all = "camelCase")]
pub struct MfaChallengeView {
    pub mfa_token: String,
    pub expires_at: DateTime<Utc>,
}

impl From<&mfa::Challenge> for MfaChallengeView {
    fn from(challenge: &mfa::Challenge) -> Self {
        Self {
            mfa_token: challenge.token.expose_secret().to_owned(),
            expires_at: challenge.expires_at,
        }
    }
}

// A registration as typed, from GraphQL or from `POST /api/auth/register` (a plain comment:
// a doc comment would become the type's description in `schema.graphql`).
#[derive(InputObject, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterInput {
    email: String,
    #[graphql(secret)]
    password: String,
    first_name: String,
    last_name: String,
    /// E.164, or national format when `country` is given.
    phone: Option<String>,
    address: Option<String>,
    city: Option<String>,
    /// Required for US and CA (the two-letter code).
    state: Option<String>,
    postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    country: Option<String>,
    /// ISO 4217.
    default_currency: Option<String>,
    #[graphql(secret)]
    date_of_birth: Option<Date>,
    /// `123-45-6789` or `123456789`. Stored encrypted; never returned.
    #[graphql(secret)]
    ssn: Option<String>,
}

impl RegisterInput {
    /// Parses every field; errors name the field as the API spells it.
    pub fn into_registration(self) -> Result<Registration, AppError> {
        let date_of_birth = self
            .date_of_birth
            .map(|date| date.parse("dateOfBirth"))
            .transpose()?;
        let profile = ProfileEdit {
            phone: Change::from_option(self.phone),
            address: Change::from_option(self.address),
            city: Change::from_option(self.city),
            state: Change::from_option(self.state),
            postal_code: Change::from_option(self.postal_code),
            country: Change::from_option(self.country),
            default_currency: Change::from_option(self.default_currency),
            date_of_birth: Change::from_option(date_of_birth),
            ssn: Change::from_option(self.ssn),
        };
        Registration::parse(
            &self.email,
            &self.password,
            &self.first_name,
            &self.last_name,
            profile,
        )
    }
}

#[derive(InputObject, Deserialize)]
pub struct LoginInput {
    pub email: String,
    #[graphql(secret)]
    pub password: String,
}

/// What `login` answers: tokens, or for an account with MFA, the second step.
#[derive(Union)]
pub enum LoginResult {
    AuthPayload(Box<AuthPayload>),
    MfaChallenge(MfaChallengeView),
}

/// Sets the cookies of a sign-in and returns its payload.
pub(super) fn signed_in(ctx: &Context<'_>, outcome: AuthOutcome) -> AuthPayload {
    ctx.request().set_cookies(CookieUpdate::signed_in(&outcome));
    AuthPayload::new(ctx.state(), outcome)
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Creates an account and signs it in.
    #[graphql(guard = "Limit::register()")]
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let registration = input.into_registration().graphql()?;
        let outcome = auth::register(ctx.state(), registration, ctx.request().client())
            .await
            .graphql()?;
        Ok(signed_in(ctx, outcome))
    }

    /// Signs in with email and password.
    #[graphql(guard = "Limit::login(&input.email)")]
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<LoginResult> {
        let credentials = Credentials::parse(&input.email, &input.password);
        let device = ctx.request().device(ctx.state());
        let outcome = auth::login(ctx.state(), credentials, device, ctx.request().client())
            .await
            .graphql()?;
        Ok(match outcome {
            LoginOutcome::SignedIn(outcome) => {
                LoginResult::AuthPayload(Box::new(signed_in(ctx, *outcome)))
            }
            LoginOutcome::MfaRequired(challenge) => {
                LoginResult::MfaChallenge(MfaChallengeView::from(&challenge))
            }
        })
    }

    /// Rotates the refresh cookie and returns a new access token.
    #[graphql(guard = "Limit::refresh()")]
    async fn refresh_token(&self, ctx: &Context<'_>) -> async_graphql::Result<AuthPayload> {
        let request = ctx.request();
        let token = request
            .refresh_token()
            .ok_or(AppError::InvalidRefreshToken)
            .graphql()?;
        match sessions::refresh(ctx.state(), token, request.client()).await {
            Ok(outcome) => Ok(signed_in(ctx, outcome)),
            Err(err) => {
                // A transient failure must not sign the browser out; a dead token must.
                if matches!(err, AppError::InvalidRefreshToken) {
                    request.set_cookies(CookieUpdate::SignedOut);
                }
                Err(err).graphql()
            }
        }
    }

    /// Ends the current session and clears the cookies.
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let request = ctx.request();
        let principal = request.principal(ctx.state()).await.graphql()?;
        sessions::logout(
            ctx.state(),
            principal.as_ref(),
            request.refresh_token(),
            request.client(),
        )
        .await
        .graphql()?;
        request.set_cookies(CookieUpdate::SignedOut);
        Ok(true)
    }
}
