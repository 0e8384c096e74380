//! Getting back in and proving the address: password reset by email, password change, email
//! verification.

use async_graphql::{Context, Object};

use super::{context::ContextExt, errors::IntoGraphql, guards::SignedIn};
use secrecy::SecretString;

use crate::{
    domain::{Email, OpaqueToken, PasswordAttempt},
    services::{recovery, throttle::Limit, verification},
};

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
        let email = Email::parse(&email, "email").graphql()?;
        recovery::request_reset(ctx.state(), email, ctx.request().client());
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
        let token = OpaqueToken::new(token);
        let new_password = SecretString::from(new_password);
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
            &PasswordAttempt::parse(&current_password),
            &SecretString::from(new_password),
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
        let token = OpaqueToken::new(token);
        verification::verify(ctx.state(), &token, ctx.request().client())
            .await
            .graphql()?;
        Ok(true)
    }
}
