use async_graphql::{Context, InputObject, MaybeUndefined, MergedObject, Object, Union};
use uuid::Uuid;

use super::{
    Date,
    context::ContextExt,
    errors::IntoGraphql,
    guards::{HasRole, SignedIn},
};
use crate::{
    domain::{AccountId, KycStatus, Role, SessionId},
    error::{AppError, AppResult},
    http::cookies::CookieUpdate,
    services::{
        accounts::{self, ProfileUpdate},
        auth::{self, LoginOutcome, Registration},
        mfa,
        profile::{Change, NewProfile, ProfileEdit},
        recovery,
        sessions::{self, AuthOutcome},
        throttle::Limit,
        verification,
    },
    views::{AccountView, AuthPayload, MfaChallengeView, MfaSetupView, RecoveryCodesView},
};

#[derive(MergedObject, Default)]
pub struct Mutation(
    AuthMutation,
    SessionMutation,
    RecoveryMutation,
    AccountMutation,
    MfaMutation,
);

#[derive(InputObject)]
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
    fn profile(&mut self) -> NewProfile {
        NewProfile {
            phone: self.phone.take(),
            address: self.address.take(),
            city: self.city.take(),
            state: self.state.take(),
            postal_code: self.postal_code.take(),
            country: self.country.take(),
            default_currency: self.default_currency.take(),
            date_of_birth: self.date_of_birth.take().map(Date::into_text),
            ssn: self.ssn.take(),
        }
    }
}

#[derive(InputObject)]
pub struct LoginInput {
    email: String,
    #[graphql(secret)]
    password: String,
}

/// What `login` answers: tokens, or for an account with MFA, the second step.
#[derive(Union)]
pub enum LoginResult {
    AuthPayload(Box<AuthPayload>),
    MfaChallenge(MfaChallengeView),
}

/// Sets the cookies of a sign-in and returns its payload.
fn signed_in(ctx: &Context<'_>, outcome: &AuthOutcome) -> async_graphql::Result<AuthPayload> {
    let payload = AuthPayload::new(outcome, &ctx.state().cipher).graphql()?;
    ctx.request().set_cookies(CookieUpdate::signed_in(outcome));
    Ok(payload)
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
        mut input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let profile = input.profile().into_edit().graphql()?;
        let registration = Registration::parse(
            &input.email,
            &input.password,
            &input.first_name,
            &input.last_name,
            profile,
        )
        .graphql()?;
        let outcome = auth::register(ctx.state(), registration, ctx.request().client())
            .await
            .graphql()?;
        signed_in(ctx, &outcome)
    }

    /// Signs in with email and password.
    #[graphql(guard = "Limit::login(&input.email)")]
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<LoginResult> {
        let outcome = auth::login(
            ctx.state(),
            &input.email,
            &input.password,
            ctx.request().client(),
        )
        .await
        .graphql()?;
        match outcome {
            LoginOutcome::SignedIn(outcome) => {
                signed_in(ctx, &outcome).map(|payload| LoginResult::AuthPayload(Box::new(payload)))
            }
            LoginOutcome::MfaRequired(challenge) => Ok(LoginResult::MfaChallenge(
                MfaChallengeView::from(&challenge),
            )),
        }
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
            Ok(outcome) => signed_in(ctx, &outcome),
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

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Ends one of the caller's sessions.
    #[graphql(guard = "SignedIn")]
    async fn revoke_session(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        sessions::revoke(
            ctx.state(),
            &principal,
            SessionId(id),
            ctx.request().client(),
        )
        .await
        .graphql()?;
        if principal.session.0 == id {
            ctx.request().set_cookies(CookieUpdate::SignedOut);
        }
        Ok(true)
    }

    /// Ends every session of the caller but this one; answers how many ended.
    #[graphql(guard = "SignedIn")]
    async fn revoke_other_sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let principal = ctx.principal().await?;
        let ended = sessions::revoke_others(ctx.state(), &principal, ctx.request().client())
            .await
            .graphql()?;
        Ok(i32::try_from(ended).unwrap_or(i32::MAX))
    }
}

#[derive(Default)]
pub struct RecoveryMutation;

#[Object]
impl RecoveryMutation {
    /// Emails a reset link if an account has this address. Always `true`, in the same time,
    /// so the answer says nothing about which addresses have accounts.
    #[graphql(guard = "Limit::password_reset(&email)")]
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> async_graphql::Result<bool> {
        recovery::request_reset(ctx.state(), &email, ctx.request().client()).graphql()?;
        Ok(true)
    }

    /// Sets a new password with the token from a reset email; every session ends.
    #[graphql(guard = "Limit::token()")]
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] token: String,
        #[graphql(secret)] new_password: String,
    ) -> async_graphql::Result<bool> {
        recovery::reset(ctx.state(), &token, &new_password, ctx.request().client())
            .await
            .graphql()?;
        Ok(true)
    }

    /// Changes the password; this session stays, the others end.
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] current_password: String,
        #[graphql(secret)] new_password: String,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        recovery::change(
            ctx.state(),
            &principal,
            &current_password,
            &new_password,
            ctx.request().client(),
        )
        .await
        .graphql()?;
        Ok(true)
    }

    /// Emails a new verification link (at most once a minute; nothing when already verified).
    #[graphql(guard = "SignedIn")]
    async fn request_email_verification(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        verification::request(ctx.state(), &principal, ctx.request().client())
            .await
            .graphql()?;
        Ok(true)
    }

    /// Confirms the email address with the token from a verification email.
    #[graphql(guard = "Limit::token()")]
    async fn verify_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] token: String,
    ) -> async_graphql::Result<bool> {
        verification::verify(ctx.state(), &token, ctx.request().client())
            .await
            .graphql()?;
        Ok(true)
    }
}

/// Only the fields given change; `null` removes an optional field.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    first_name: MaybeUndefined<String>,
    last_name: MaybeUndefined<String>,
    phone: MaybeUndefined<String>,
    address: MaybeUndefined<String>,
    city: MaybeUndefined<String>,
    state: MaybeUndefined<String>,
    postal_code: MaybeUndefined<String>,
    country: MaybeUndefined<String>,
    default_currency: MaybeUndefined<String>,
    #[graphql(secret)]
    date_of_birth: MaybeUndefined<Date>,
    #[graphql(secret)]
    ssn: MaybeUndefined<String>,
}

fn change<T>(value: MaybeUndefined<T>) -> Change<T> {
    match value {
        MaybeUndefined::Undefined => Change::Keep,
        MaybeUndefined::Null => Change::Clear,
        MaybeUndefined::Value(value) => Change::Set(value),
    }
}

impl TryFrom<UpdateProfileInput> for ProfileUpdate {
    type Error = AppError;

    fn try_from(input: UpdateProfileInput) -> AppResult<Self> {
        let date_of_birth = match input.date_of_birth {
            MaybeUndefined::Value(date) => MaybeUndefined::Value(date.parse("dateOfBirth")?),
            MaybeUndefined::Null => MaybeUndefined::Null,
            MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        };
        Ok(Self {
            first_name: change(input.first_name),
            last_name: change(input.last_name),
            profile: ProfileEdit {
                phone: change(input.phone),
                address: change(input.address),
                city: change(input.city),
                state: change(input.state),
                postal_code: change(input.postal_code),
                country: change(input.country),
                default_currency: change(input.default_currency),
                date_of_birth: change(date_of_birth),
                ssn: change(input.ssn),
            },
        })
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Changes the signed-in person's names and profile. Changing the legal name, date of
    /// birth, SSN or address after KYC approval sends the account back to review.
    #[graphql(guard = "SignedIn")]
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> async_graphql::Result<AccountView> {
        let principal = ctx.principal().await?;
        let update = ProfileUpdate::try_from(input).graphql()?;
        let account =
            accounts::update_profile(ctx.state(), &principal, update, ctx.request().client())
                .await
                .graphql()?;
        AccountView::new(account, &ctx.state().cipher).graphql()
    }

    /// Decides on an account's identity verification (administrators only; never one's own).
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn set_kyc_status(
        &self,
        ctx: &Context<'_>,
        account_id: Uuid,
        status: KycStatus,
        reason: Option<String>,
    ) -> async_graphql::Result<AccountView> {
        let principal = ctx.principal().await?;
        let account = accounts::set_kyc_status(
            ctx.state(),
            &principal,
            AccountId(account_id),
            status,
            reason.as_deref(),
            ctx.request().client(),
        )
        .await
        .graphql()?;
        AccountView::new(account, &ctx.state().cipher).graphql()
    }

    /// Closes the signed-in person's account with their password: every session ends and
    /// every personal value is erased; the security log stays.
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn delete_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] password: String,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        accounts::delete(ctx.state(), &principal, &password, ctx.request().client())
            .await
            .graphql()?;
        ctx.request().set_cookies(CookieUpdate::SignedOut);
        Ok(true)
    }
}

#[derive(Default)]
pub struct MfaMutation;

#[Object]
impl MfaMutation {
    /// Completes a sign-in with a code from the authenticator app or a recovery code.
    #[graphql(guard = "Limit::mfa(&mfa_token)")]
    async fn verify_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] mfa_token: String,
        #[graphql(secret)] code: String,
    ) -> async_graphql::Result<AuthPayload> {
        let outcome = mfa::verify(ctx.state(), &mfa_token, &code, ctx.request().client())
            .await
            .graphql()?;
        signed_in(ctx, &outcome)
    }

    /// Starts enrolment: a new secret, as text, `otpauth://` URI and QR code (SVG). MFA is on
    /// only once `confirmMfa` gets a code from it.
    #[graphql(guard = "SignedIn")]
    async fn enable_mfa(&self, ctx: &Context<'_>) -> async_graphql::Result<MfaSetupView> {
        let principal = ctx.principal().await?;
        mfa::start_enrolment(ctx.state(), &principal, ctx.request().client())
            .await
            .map(MfaSetupView::from)
            .graphql()
    }

    /// Turns MFA on with the first code; answers ten recovery codes, shown this once.
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn confirm_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] code: String,
    ) -> async_graphql::Result<RecoveryCodesView> {
        let principal = ctx.principal().await?;
        mfa::confirm(ctx.state(), &principal, &code, ctx.request().client())
            .await
            .map(RecoveryCodesView::from)
            .graphql()
    }

    /// Turns MFA off with the password and a current code; other sessions end.
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn disable_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] password: String,
        #[graphql(secret)] code: String,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        mfa::disable(
            ctx.state(),
            &principal,
            &password,
            &code,
            ctx.request().client(),
        )
        .await
        .graphql()?;
        Ok(true)
    }

    /// Replaces the recovery codes; needs a current code from the app.
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn regenerate_recovery_codes(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] code: String,
    ) -> async_graphql::Result<RecoveryCodesView> {
        let principal = ctx.principal().await?;
        mfa::regenerate_recovery_codes(ctx.state(), &principal, &code, ctx.request().client())
            .await
            .map(RecoveryCodesView::from)
            .graphql()
    }
}
