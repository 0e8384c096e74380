use async_graphql::{Context, InputObject, MergedObject, Object, Union};
use uuid::Uuid;

use super::{context::ContextExt, errors::IntoGraphql, guards::SignedIn};
use crate::{
    domain::SessionId,
    error::AppError,
    http::cookies::CookieUpdate,
    services::{
        auth::{self, Registration},
        recovery,
        sessions::{self, AuthOutcome},
        verification,
    },
    views::AuthPayload,
};

#[derive(MergedObject, Default)]
pub struct Mutation(AuthMutation, SessionMutation, RecoveryMutation);

#[derive(InputObject)]
pub struct RegisterInput {
    email: String,
    #[graphql(secret)]
    password: String,
    first_name: String,
    last_name: String,
}

#[derive(InputObject)]
pub struct LoginInput {
    email: String,
    #[graphql(secret)]
    password: String,
}

/// What `login` answers. Accounts with MFA will answer a challenge here instead of tokens.
#[derive(Union)]
pub enum LoginResult {
    AuthPayload(AuthPayload),
}

/// Sets the cookies of a sign-in and returns its payload.
fn signed_in(ctx: &Context<'_>, outcome: &AuthOutcome) -> AuthPayload {
    ctx.request().set_cookies(CookieUpdate::signed_in(outcome));
    AuthPayload::from(outcome)
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Creates an account and signs it in.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let registration = Registration::parse(
            &input.email,
            &input.password,
            &input.first_name,
            &input.last_name,
        )
        .graphql()?;
        let outcome = auth::register(ctx.state(), registration, ctx.request().client())
            .await
            .graphql()?;
        Ok(signed_in(ctx, &outcome))
    }

    /// Signs in with email and password.
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
        Ok(LoginResult::AuthPayload(signed_in(ctx, &outcome)))
    }

    /// Rotates the refresh cookie and returns a new access token.
    async fn refresh_token(&self, ctx: &Context<'_>) -> async_graphql::Result<AuthPayload> {
        let request = ctx.request();
        let token = request
            .refresh_token()
            .ok_or(AppError::InvalidRefreshToken)
            .graphql()?;
        match sessions::refresh(ctx.state(), token, request.client()).await {
            Ok(outcome) => Ok(signed_in(ctx, &outcome)),
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
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> async_graphql::Result<bool> {
        recovery::request_reset(ctx.state(), &email, ctx.request().client()).graphql()?;
        Ok(true)
    }

    /// Sets a new password with the token from a reset email; every session ends.
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
    #[graphql(guard = "SignedIn")]
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
