//! Two-step sign-in: completing a sign-in with a code, enrolling, turning it off, and
//! recovery codes.

use super::context::Boxed;
use async_graphql::{Context, Object, SimpleObject};
use secrecy::ExposeSecret;

use super::{
    auth::{AuthPayload, signed_in},
    context::ContextExt,
    errors::IntoGraphql,
    guards::SignedIn,
};
use crate::{
    domain::{OneTimeCode, OpaqueToken, PasswordAttempt},
    services::{mfa, throttle::Limit},
};

/// A new TOTP secret (RFC 6238: SHA-1, 6 digits, 30-second steps) to load into an
/// authenticator app, three ways.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MfaSetup")]
pub struct MfaSetupView {
    /// The secret in base32, for typing into the app by hand.
    pub secret: String,
    /// The secret as an `otpauth://totp/…` URI with issuer and account, for apps that open
    /// links.
    pub otpauth_uri: String,
    /// `otpauthUri` as a QR code, an SVG document to show for the app to scan.
    pub qr_code_svg: String,
}

impl From<mfa::Setup> for MfaSetupView {
    fn from(setup: mfa::Setup) -> Self {
        Self {
            secret: setup.secret.expose_secret().to_owned(),
            otpauth_uri: setup.otpauth_uri.expose_secret().to_owned(),
            qr_code_svg: setup.qr_code_svg,
        }
    }
}

/// Single-use recovery codes, shown once: only their hashes are kept.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "RecoveryCodes")]
pub struct RecoveryCodesView {
    /// Ten codes such as `ABCD-EFGH-IJKL`, each usable once where an app code is asked for;
    /// they replace any earlier ones.
    pub codes: Vec<String>,
}

impl From<Vec<secrecy::SecretString>> for RecoveryCodesView {
    fn from(codes: Vec<secrecy::SecretString>) -> Self {
        Self {
            codes: codes
                .iter()
                .map(|code| code.expose_secret().to_owned())
                .collect(),
        }
    }
}

#[derive(Default)]
pub struct MfaMutation;

#[Object]
impl MfaMutation {
    /// Completes a sign-in with a code from the authenticator app or a recovery code: answers
    /// an `AuthPayload` and sets the session cookies, as `login` does. A wrong code is
    /// `BAD_USER_INPUT` on `code`; an expired, used or exhausted challenge is
    /// `UNAUTHENTICATED` (sign in again). `RATE_LIMITED` (`mfa_challenge`, `mfa_account`, or
    /// the lockout after ten wrong codes in a row, with `extensions.retryAfter`); after 100
    /// wrong codes, `FORBIDDEN` with `extensions.reason` `PASSWORD_RESET_REQUIRED`.
    #[graphql(guard = "Limit::mfa(&mfa_token)")]
    async fn verify_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            secret,
            desc = "The `mfaToken` of the `MfaChallenge` that `login` answered."
        )]
        mfa_token: String,
        #[graphql(
            secret,
            desc = "The app's current 6-digit code, or a recovery code (any case; dashes and \
                    spaces optional)."
        )]
        code: String,
    ) -> async_graphql::Result<AuthPayload> {
        let token = OpaqueToken::new(mfa_token);
        let code = OneTimeCode::parse(&code);
        let device = ctx.request().device(ctx.state());
        let outcome = mfa::verify(ctx.state(), &token, &code, device, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        Ok(signed_in(ctx, outcome))
    }

    /// Starts enrolment: a new secret, as text, `otpauth://` URI and QR code (SVG). MFA is on
    /// only once `confirmMfa` gets a code from it. Signed in only; needs a recent
    /// `reauthenticate` (`FORBIDDEN` with `extensions.reason` `REAUTHENTICATION_REQUIRED`
    /// otherwise). `CONFLICT` on `mfa` when MFA is already on.
    #[graphql(guard = "SignedIn")]
    async fn enable_mfa(&self, ctx: &Context<'_>) -> async_graphql::Result<MfaSetupView> {
        let principal = ctx.principal().await?;
        mfa::start_enrolment(ctx.state(), &principal, ctx.request().client())
            .boxed()
            .await
            .map(MfaSetupView::from)
            .graphql()
    }

    /// Turns MFA on with the first code from the app; answers ten recovery codes, shown this
    /// once. This session counts as having passed MFA; every other session that has not ends.
    /// Signed in only. A wrong code, or no enrolment started, is `BAD_USER_INPUT` on `code`;
    /// `CONFLICT` on `mfa` when MFA is already on; `RATE_LIMITED` (`secret_account`).
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn confirm_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The app's current 6-digit code for the new secret.")]
        code: String,
    ) -> async_graphql::Result<RecoveryCodesView> {
        let principal = ctx.principal().await?;
        let code = OneTimeCode::parse(&code);
        mfa::confirm(ctx.state(), &principal, &code, ctx.request().client())
            .boxed()
            .await
            .map(RecoveryCodesView::from)
            .graphql()
    }

    /// Turns MFA off with the password and a current code; every other session ends and the
    /// recovery codes are void. Signed in only; needs a recent `reauthenticate` (`FORBIDDEN`
    /// with `extensions.reason` `REAUTHENTICATION_REQUIRED` otherwise). `BAD_USER_INPUT` on
    /// `password` or `code` when wrong; `CONFLICT` on `mfa` when MFA is off; `RATE_LIMITED`
    /// (`secret_account`). Wrong codes lock out as for `verifyMfa`.
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn disable_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The account's current password.")] password: String,
        #[graphql(secret, desc = "The app's current 6-digit code, or a recovery code.")]
        code: String,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        mfa::disable(
            ctx.state(),
            &principal,
            &PasswordAttempt::parse(&password),
            &OneTimeCode::parse(&code),
            ctx.request().client(),
        )
        .boxed()
        .await
        .graphql()?;
        Ok(true)
    }

    /// Replaces every recovery code with ten new ones, shown this once; every other session
    /// that has not passed MFA ends. Signed in only; needs a recent `reauthenticate`
    /// (`FORBIDDEN` with `extensions.reason` `REAUTHENTICATION_REQUIRED` otherwise).
    /// `BAD_USER_INPUT` on `code` when wrong; `CONFLICT` on `mfa` when MFA is off;
    /// `RATE_LIMITED` (`secret_account`). Wrong codes lock out as for `verifyMfa`.
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn regenerate_recovery_codes(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            secret,
            desc = "The app's current 6-digit code; a recovery code will not do."
        )]
        code: String,
    ) -> async_graphql::Result<RecoveryCodesView> {
        let principal = ctx.principal().await?;
        let code = OneTimeCode::parse(&code);
        mfa::regenerate_recovery_codes(ctx.state(), &principal, &code, ctx.request().client())
            .boxed()
            .await
            .map(RecoveryCodesView::from)
            .graphql()
    }
}
