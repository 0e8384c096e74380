//! Getting back in and proving the address: password reset by email, password change, email
//! verification.

use super::context::Boxed;
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
    /// Emails a reset link (valid once, for 30 minutes by default) if an account has this
    /// address. Always `true`, in the same time, so the answer says nothing about which
    /// addresses have accounts; a second request within a minute sends nothing. Needs no
    /// session. Only a malformed address is refused (`BAD_USER_INPUT` on `email`);
    /// `RATE_LIMITED` (`reset_ip_email`, `reset_email`, `reset_ip`).
    #[graphql(guard = "Limit::password_reset(&email)")]
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The address the account was registered with.")] email: String,
    ) -> async_graphql::Result<bool> {
        let email = Email::parse(&email, "email").graphql()?;
        recovery::request_reset(ctx.state(), email, ctx.request().client());
        Ok(true)
    }

    /// Sets a new password with the token from a reset email: every session ends, the email
    /// address counts as confirmed, and a notice is emailed. Needs no session. A wrong, used
    /// or expired token is `BAD_USER_INPUT` on `token`; a refused password is
    /// `BAD_USER_INPUT` on `newPassword` and leaves the link usable. `RATE_LIMITED`
    /// (`token_ip`).
    #[graphql(guard = "Limit::token()")]
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The token from the link in the reset email.")] token: String,
        #[graphql(
            secret,
            desc = "The new password: 12–128 characters, not common, not built from the \
                    person's names or email."
        )]
        new_password: String,
    ) -> async_graphql::Result<bool> {
        let token = OpaqueToken::new(token);
        let new_password = SecretString::from(new_password);
        recovery::reset(ctx.state(), &token, &new_password, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        Ok(true)
    }

    /// Changes the password; this session stays, the others end, pending reset links are
    /// void, and a notice is emailed. Signed in only. A wrong current password is
    /// `BAD_USER_INPUT` on `currentPassword`; a refused new one on `newPassword`.
    /// `RATE_LIMITED` (`secret_account`).
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The password in use now.")] current_password: String,
        #[graphql(
            secret,
            desc = "The new password: 12–128 characters, not common, not built from the \
                    person's names or email, and not the current one."
        )]
        new_password: String,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        recovery::change(
            ctx.state(),
            &principal,
            &PasswordAttempt::parse(&current_password),
            &SecretString::from(new_password),
            ctx.request().client(),
        )
        .boxed()
        .await
        .graphql()?;
        Ok(true)
    }

    /// Emails a new verification link (valid once, for 24 hours by default) and voids older
    /// ones; does nothing when the address is already confirmed. Signed in only; at most once
    /// a minute (`RATE_LIMITED` with `extensions.retryAfter`).
    #[graphql(guard = "SignedIn")]
    async fn request_email_verification(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        verification::request(ctx.state(), &principal, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        Ok(true)
    }

    /// Confirms the email address with the token from a verification email. Needs no
    /// session, so the link works on any device. A wrong, used or expired token is
    /// `BAD_USER_INPUT` on `token`; `RATE_LIMITED` (`token_ip`).
    #[graphql(guard = "Limit::token()")]
    async fn verify_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The token from the link in the verification email.")]
        token: String,
    ) -> async_graphql::Result<bool> {
        let token = OpaqueToken::new(token);
        verification::verify(ctx.state(), &token, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        Ok(true)
    }
}
