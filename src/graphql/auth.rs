//! Signing up, signing in (with its second step), refreshing and signing out. REST's
//! `/api/auth/*` twins take and answer these same types.

use super::context::Boxed;
use async_graphql::{Context, InputObject, Json, Object, SimpleObject, Union};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Date, account::AccountView, context::ContextExt, errors::IntoGraphql, scalars::Timestamp,
    sessions::SessionView,
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

// No `Debug`: it holds the access token.
/// A successful sign-in or refresh. The refresh token is not here: it travels only in its
/// HttpOnly cookie.
#[derive(SimpleObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthPayload {
    /// A JWT (EdDSA) to send as `Authorization: Bearer …`; it is also set as an HttpOnly
    /// cookie. Its `sub` is the account id, `sid` the session id.
    pub access_token: String,
    /// When the access token stops working (15 minutes after issue by default); call
    /// `refreshToken` for a new one.
    pub access_token_expires_at: Timestamp,
    /// The signed-in account.
    pub account: AccountView,
    /// The session this sign-in opened or this refresh extended.
    pub session: SessionView,
}

impl AuthPayload {
    pub fn new(state: &AppState, outcome: AuthOutcome) -> Self {
        let current = Some(SessionId(outcome.session.id));
        Self {
            access_token: outcome.access.token.expose_secret().to_owned(),
            access_token_expires_at: outcome.access.expires_at.into(),
            account: outcome.account.into(),
            session: SessionView::new(state, outcome.session, current),
        }
    }
}

/// The second step of a sign-in: send `mfaToken` before `expiresAt` with a code to
/// `verifyMfa`, or with a passkey's answer to `verifyMfaPasskey`.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MfaChallenge")]
pub struct MfaChallengeView {
    /// Identifies this sign-in attempt to `verifyMfa` and `verifyMfaPasskey`; it is not an
    /// access token and opens no session by itself. Five wrong codes or passkey answers end
    /// it.
    pub mfa_token: String,
    /// When the challenge expires, five minutes after the password was checked.
    pub expires_at: Timestamp,
    /// What can complete it: `totp` (a code from the authenticator app, always),
    /// `recovery_code` (when the account has unused ones) and `passkey` (when it has a
    /// passkey; see `passkeyOptions`).
    pub methods: Vec<String>,
    /// Request options for the account's passkeys, `{"publicKey": {…}}` with binary fields in
    /// base64url: pass `passkeyOptions.publicKey` to
    /// `PublicKeyCredential.parseRequestOptionsFromJSON`, the result to
    /// `navigator.credentials.get({publicKey})`, and the answer to `verifyMfaPasskey`. Null
    /// when the account has no passkey.
    pub passkey_options: Option<Json<Value>>,
}

impl From<mfa::Challenge> for MfaChallengeView {
    fn from(challenge: mfa::Challenge) -> Self {
        Self {
            mfa_token: challenge.token.expose_secret().to_owned(),
            expires_at: challenge.expires_at.into(),
            methods: challenge
                .methods
                .iter()
                .map(|method| method.as_str().to_owned())
                .collect(),
            passkey_options: challenge.passkey_options.map(Json),
        }
    }
}

// A registration as typed, from GraphQL or from `POST /api/auth/register`.
/// A new account: email, password and names, and optionally the finance profile. Every field
/// is checked; a bad one is `BAD_USER_INPUT` naming it, and nothing is written.
#[derive(InputObject, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterInput {
    /// The address to sign in with; a verification link is sent to it. Addresses are compared
    /// in canonical form: one differing from a registered one only in case or look-alike
    /// characters is taken (`CONFLICT` on `email`).
    email: String,
    /// 12–128 characters, any Unicode; refused when common or built from the person's own
    /// names or email.
    #[graphql(secret)]
    password: String,
    /// Given name, 1–100 characters: letters, marks, spaces, `'` `’` `-` `.`.
    first_name: String,
    /// Family name, with the rules of `firstName`.
    last_name: String,
    /// Phone number: E.164 (`+12015550123`), or national format when `country` is given.
    phone: Option<String>,
    /// Street address, 1–200 characters on one line.
    address: Option<String>,
    /// City or town, 1–100 characters.
    city: Option<String>,
    /// State or province: required in the US and Canada, as a USPS or Canadian code (`NY`,
    /// `ON`); free text elsewhere.
    state: Option<String>,
    /// Postal code, checked against the country's format (`94105`, `K1A 0B1`, `SW1A 1AA`).
    postal_code: Option<String>,
    /// Country, ISO 3166-1 alpha-2 in any case (`US`).
    country: Option<String>,
    /// Preferred currency, an active ISO 4217 code in any case (`USD`).
    default_currency: Option<String>,
    /// Date of birth, `YYYY-MM-DD`: the person must be of the service's minimum age (18 by
    /// default) and at most 120 years old.
    #[graphql(secret)]
    date_of_birth: Option<Date>,
    /// SSN, `123-45-6789` or `123456789`; stored encrypted, never returned. `CONFLICT` when
    /// another account holds it.
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

/// Email and password, the first step of a sign-in.
#[derive(InputObject, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    /// The account's email address; case and look-alike characters do not matter.
    pub email: String,
    /// The account's password.
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
    /// Creates an account and signs it in: answers the tokens and sets the session cookies. A
    /// verification link is emailed. Errors: `BAD_USER_INPUT` naming the field, `CONFLICT` on
    /// `email` or `ssn`, `RATE_LIMITED` (`register_ip`). Where the deployment requires a
    /// confirmed address, nobody is signed in: every registration answers `FORBIDDEN` with
    /// `extensions.reason` `EMAIL_NOT_VERIFIED` (check the inbox), taken address or not.
    #[graphql(guard = "Limit::register()")]
    async fn register(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new account's email, password, names and profile.")]
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let registration = input.into_registration().graphql()?;
        let outcome = auth::register(ctx.state(), registration, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        Ok(signed_in(ctx, outcome))
    }

    /// Signs in with email and password: answers an `AuthPayload` and sets the session
    /// cookies, or for an account with MFA an `MfaChallenge` to complete with `verifyMfa`. A
    /// wrong email and a wrong password are the same `UNAUTHENTICATED`. `RATE_LIMITED`
    /// (`login_ip_email`, `login_ip`, `login_device`, and a per-address backoff after 10
    /// failures in 15 minutes). Where the deployment requires a confirmed address, the right
    /// password to an unconfirmed one is `FORBIDDEN` with `extensions.reason`
    /// `EMAIL_NOT_VERIFIED`, and a fresh link is sent.
    #[graphql(guard = "Limit::login(&input.email)")]
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The email and password.")] input: LoginInput,
    ) -> async_graphql::Result<LoginResult> {
        let credentials = Credentials::parse(&input.email, &input.password);
        let device = ctx.request().device(ctx.state());
        let outcome = auth::login(ctx.state(), credentials, device, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        Ok(match outcome {
            LoginOutcome::SignedIn(outcome) => {
                LoginResult::AuthPayload(Box::new(signed_in(ctx, *outcome)))
            }
            LoginOutcome::MfaRequired(challenge) => {
                LoginResult::MfaChallenge(MfaChallengeView::from(challenge))
            }
        })
    }

    /// Rotates the refresh cookie and answers a new access token; takes no argument, the
    /// cookie is the credential. A missing, expired or ended one is `UNAUTHENTICATED` and
    /// clears the cookies; an already rotated one presented again (after a 10-second grace for
    /// two tabs) also ends its session. `RATE_LIMITED` (`refresh_session`, `refresh_ip`).
    #[graphql(guard = "Limit::refresh()")]
    async fn refresh_token(&self, ctx: &Context<'_>) -> async_graphql::Result<AuthPayload> {
        let request = ctx.request();
        let token = request
            .refresh_token()
            .ok_or(AppError::InvalidRefreshToken)
            .graphql()?;
        match sessions::refresh(ctx.state(), token, request.client())
            .boxed()
            .await
        {
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

    /// Ends the current session (the access token's, else the refresh cookie's) and clears the
    /// cookies. Always `true`, also when nobody was signed in.
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let request = ctx.request();
        let principal = request.principal(ctx.state()).await.graphql()?;
        sessions::logout(
            ctx.state(),
            principal.as_ref(),
            request.refresh_token(),
            request.client(),
        )
        .boxed()
        .await
        .graphql()?;
        request.set_cookies(CookieUpdate::SignedOut);
        Ok(true)
    }
}
