//! Passkeys: adding and removing them, listing them, signing in with one, and one as the
//! second step of a password sign-in.

use super::context::Boxed;
use async_graphql::{Context, Json, Object, SimpleObject};
use serde_json::Value;
use uuid::Uuid;

use super::{
    auth::{AuthPayload, signed_in},
    context::ContextExt,
    errors::IntoGraphql,
    guards::SignedIn,
    scalars::Timestamp,
};
use crate::{
    db::entities::passkeys::Model,
    domain::{OpaqueToken, PasskeyName},
    services::{
        passkeys::{
            self,
            login::{self, Assertion},
            registration::{self, NewCredential},
            second_factor,
        },
        throttle::Limit,
    },
};

/// One of the signed-in person's passkeys. Never carries key material.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Passkey")]
pub struct PasskeyView {
    /// The passkey's id, for `removePasskey`.
    pub id: Uuid,
    /// What the person called it when adding it.
    pub name: String,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it last signed in (or completed a second step); null if never.
    pub last_used_at: Option<Timestamp>,
    /// Whether the authenticator said the passkey is backed up (synced to other devices by a
    /// password manager or platform account), as of its latest use.
    pub backed_up: bool,
}

impl From<Model> for PasskeyView {
    fn from(model: Model) -> Self {
        Self {
            id: model.id,
            name: model.name,
            created_at: model.created_at.into(),
            last_used_at: model.last_used_at.map(Timestamp::from),
            backed_up: model.backed_up,
        }
    }
}

/// A passkey sign-in to finish with `finishPasskeyLogin` within five minutes.
#[derive(Debug, Clone, SimpleObject)]
pub struct PasskeyChallenge {
    /// Identifies this sign-in attempt to `finishPasskeyLogin`; it works once.
    pub challenge_id: Uuid,
    /// Request options, `{"publicKey": {…}}` with binary fields in base64url: pass
    /// `options.publicKey` to `PublicKeyCredential.parseRequestOptionsFromJSON` and the result to
    /// `navigator.credentials.get({publicKey})`. No credentials are listed: the browser offers
    /// the person's passkeys for this site.
    pub options: Json<Value>,
}

impl From<login::Challenge> for PasskeyChallenge {
    fn from(challenge: login::Challenge) -> Self {
        Self {
            challenge_id: challenge.id,
            options: Json(challenge.options),
        }
    }
}

#[derive(Default)]
pub struct PasskeyQuery;

#[Object]
impl PasskeyQuery {
    /// The signed-in account's passkeys, oldest first (at most ten). Signed in only.
    // A person has a handful of passkeys, each read in full.
    #[graphql(guard = "SignedIn", complexity = "10 * child_complexity")]
    async fn passkeys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PasskeyView>> {
        let principal = ctx.principal().await?;
        let list = passkeys::list(ctx.state(), &principal)
            .boxed()
            .await
            .graphql()?;
        Ok(list.into_iter().map(PasskeyView::from).collect())
    }
}

#[derive(Default)]
pub struct PasskeyMutation;

#[Object]
impl PasskeyMutation {
    /// Starts adding a passkey: answers creation options, `{"publicKey": {…}}` with binary
    /// fields in base64url, for `PublicKeyCredential.parseCreationOptionsFromJSON` and then
    /// `navigator.credentials.create`. They ask for a discoverable credential (so signing in
    /// needs no email) with user verification, and exclude the account's own passkeys. Finish
    /// within five minutes with `finishPasskeyRegistration` from this session; starting again
    /// voids the earlier options. Signed in only; needs a recent `reauthenticate` (`FORBIDDEN`
    /// with `extensions.reason` `REAUTHENTICATION_REQUIRED` otherwise). `CONFLICT` on
    /// `passkeys` when the account has ten; `RATE_LIMITED` (`passkey_account`).
    #[graphql(guard = "SignedIn.and(Limit::passkey_change())")]
    async fn start_passkey_registration(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Json<Value>> {
        let principal = ctx.principal().await?;
        registration::start(ctx.state(), &principal)
            .boxed()
            .await
            .map(Json)
            .graphql()
    }

    /// Keeps the passkey the browser made from `startPasskeyRegistration`'s options, under a
    /// name, and emails the owner. The registration is used up either way. Signed in only;
    /// needs a recent `reauthenticate`. `BAD_USER_INPUT` on `name`, or on `credential` when it
    /// is not an answer to this session's registration; `CONFLICT` on `credential` when that
    /// passkey is already registered, on `passkeys` when the account has ten; `RATE_LIMITED`
    /// (`passkey_account`).
    #[graphql(guard = "SignedIn.and(Limit::passkey_change())")]
    async fn finish_passkey_registration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to call the passkey, 1–64 characters (\"Work laptop\").")]
        name: String,
        #[graphql(
            secret,
            desc = "The browser's credential, as `PublicKeyCredential.toJSON()` gives it."
        )]
        credential: Json<Value>,
    ) -> async_graphql::Result<PasskeyView> {
        let principal = ctx.principal().await?;
        let name = PasskeyName::parse(&name, "name").graphql()?;
        let credential = NewCredential::parse(credential.0).graphql()?;
        registration::finish(
            ctx.state(),
            &principal,
            &name,
            credential,
            ctx.request().client(),
        )
        .boxed()
        .await
        .map(PasskeyView::from)
        .graphql()
    }

    /// Removes one of the caller's passkeys and emails the owner; it no longer signs in, and
    /// sign-ins in flight with it fail. The password always remains, so no account is left
    /// without a way in. Signed in only; needs a recent `reauthenticate`. `NOT_FOUND` when the
    /// caller has no passkey of this id (another person's included); `RATE_LIMITED`
    /// (`passkey_account`).
    #[graphql(guard = "SignedIn.and(Limit::passkey_change())")]
    async fn remove_passkey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `id` of the passkey to remove.")] id: Uuid,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        passkeys::remove(ctx.state(), &principal, id, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        Ok(true)
    }

    /// Starts a sign-in with a passkey; no email is asked. Finish it with `finishPasskeyLogin`
    /// within five minutes. `RATE_LIMITED` (`passkey_ip`).
    #[graphql(guard = "Limit::passkey_login()")]
    async fn start_passkey_login(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<PasskeyChallenge> {
        login::start(ctx.state())
            .boxed()
            .await
            .map(PasskeyChallenge::from)
            .graphql()
    }

    /// Signs in with the passkey the browser chose: answers an `AuthPayload` and sets the
    /// session cookies, as `login` does, with no second step (a passkey verifies its user; the
    /// access token's `amr` is `["hwk", "user"]`). An unknown passkey, or an answer that does
    /// not verify, is `UNAUTHENTICATED` as a wrong password is; a used or expired challenge is
    /// `UNAUTHENTICATED` too (start again). A suspended account is `FORBIDDEN` with
    /// `extensions.reason` `ACCOUNT_SUSPENDED`. `BAD_USER_INPUT` on `credential` when it is
    /// no passkey answer at all; `RATE_LIMITED` (`passkey_ip`).
    #[graphql(guard = "Limit::passkey_login()")]
    async fn finish_passkey_login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `challengeId` of the `PasskeyChallenge` answered.")]
        challenge_id: Uuid,
        #[graphql(
            secret,
            desc = "The browser's answer, as `PublicKeyCredential.toJSON()` gives it after \
                    `navigator.credentials.get`."
        )]
        credential: Json<Value>,
    ) -> async_graphql::Result<AuthPayload> {
        let assertion = Assertion::parse(credential.0).graphql()?;
        let device = ctx.request().device(ctx.state());
        let outcome = login::finish(
            ctx.state(),
            challenge_id,
            assertion,
            device,
            ctx.request().client(),
        )
        .boxed()
        .await
        .graphql()?;
        Ok(signed_in(ctx, outcome))
    }

    /// Completes a password sign-in with one of the account's passkeys instead of a code, for
    /// an `MfaChallenge` whose `methods` include `passkey`: answers an `AuthPayload` and sets
    /// the session cookies, as `verifyMfa` does (the access token's `amr` is `["pwd",
    /// "hwk"]`). An answer that does not verify is `BAD_USER_INPUT` on `credential` and counts
    /// as a wrong code (the fifth ends the challenge; ten in a row lock codes out); an
    /// expired, used or exhausted challenge is `UNAUTHENTICATED`. `RATE_LIMITED`
    /// (`mfa_challenge`, `mfa_account`, `mfa_lockout`).
    #[graphql(guard = "Limit::mfa(&mfa_token)")]
    async fn verify_mfa_passkey(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            secret,
            desc = "The `mfaToken` of the `MfaChallenge` that `login` answered."
        )]
        mfa_token: String,
        #[graphql(
            secret,
            desc = "The browser's answer to the challenge's `passkeyOptions`, as \
                    `PublicKeyCredential.toJSON()` gives it."
        )]
        credential: Json<Value>,
    ) -> async_graphql::Result<AuthPayload> {
        let token = OpaqueToken::new(mfa_token);
        let assertion = Assertion::parse(credential.0).graphql()?;
        let device = ctx.request().device(ctx.state());
        let outcome = second_factor::verify(
            ctx.state(),
            &token,
            assertion,
            device,
            ctx.request().client(),
        )
        .boxed()
        .await
        .graphql()?;
        Ok(signed_in(ctx, outcome))
    }
}
