//! Two-step sign-in: completing a sign-in with a code, enrolling, turning it off, and
//! recovery codes.

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

/// A new TOTP secret to load into an authenticator app.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MfaSetup")]
pub struct MfaSetupView {
    /// Base32, for typing into the app by hand.
    pub secret: String,
    pub otpauth_uri: String,
    /// The `otpauth_uri` as a QR code, an SVG document.
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
    /// Completes a sign-in with a code from the authenticator app or a recovery code.
    #[graphql(guard = "Limit::mfa(&mfa_token)")]
    async fn verify_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] mfa_token: String,
        #[graphql(secret)] code: String,
    ) -> async_graphql::Result<AuthPayload> {
        let token = OpaqueToken::new(mfa_token);
        let code = OneTimeCode::parse(&code);
        let device = ctx.request().device(ctx.state());
        let outcome = mfa::verify(ctx.state(), &token, &code, device, ctx.request().client())
            .await
            .graphql()?;
        Ok(signed_in(ctx, outcome))
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
        let code = OneTimeCode::parse(&code);
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
            &PasswordAttempt::parse(&password),
            &OneTimeCode::parse(&code),
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
        let code = OneTimeCode::parse(&code);
        mfa::regenerate_recovery_codes(ctx.state(), &principal, &code, ctx.request().client())
            .await
            .map(RecoveryCodesView::from)
            .graphql()
    }
}
