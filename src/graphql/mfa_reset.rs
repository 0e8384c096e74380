//! Resetting someone's two-step sign-in takes two administrators: one requests it with a
//! reason, another approves it.

use super::context::Boxed;
use async_graphql::{Context, Object, SimpleObject};
use uuid::Uuid;

use super::{
    account::AccountView, context::ContextExt, errors::IntoGraphql, guards::HasRole,
    scalars::Timestamp,
};
use crate::{
    db::entities::mfa_reset_requests::Model as ResetRequest,
    domain::{AccountId, Reason, Role},
    services::mfa_reset,
};

/// A request to turn off someone's two-step sign-in, waiting for a second administrator.
#[derive(SimpleObject)]
#[graphql(name = "MfaResetRequest")]
pub struct MfaResetRequestView {
    /// The request's id, which `approveMfaReset` and `cancelMfaReset` take.
    pub id: Uuid,
    /// The account whose two-step sign-in is to be turned off.
    pub account_id: Uuid,
    /// The administrator who asked; another one must approve.
    pub requested_by: Uuid,
    /// Why, as the requester wrote it, for the approver to weigh.
    pub reason: String,
    /// When it was requested.
    pub created_at: Timestamp,
    /// Unapproved by then, it lapses and a new request may be filed.
    pub expires_at: Timestamp,
}

impl From<ResetRequest> for MfaResetRequestView {
    fn from(request: ResetRequest) -> Self {
        Self {
            id: request.id,
            account_id: request.account_id,
            requested_by: request.requested_by,
            // Erased only when the account closes, which cancels the request.
            reason: request.reason.unwrap_or_default(),
            created_at: request.created_at.into(),
            expires_at: request.expires_at.into(),
        }
    }
}

#[derive(Default)]
pub struct MfaResetQuery;

#[Object]
impl MfaResetQuery {
    /// Requests to reset two-step sign-in that wait for a second administrator (neither
    /// approved, cancelled nor expired), oldest first. ADMIN only: `FORBIDDEN` otherwise.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn mfa_reset_requests(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<MfaResetRequestView>> {
        let pending = mfa_reset::pending(ctx.state()).boxed().await.graphql()?;
        Ok(pending.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct MfaResetMutation;

#[Object]
impl MfaResetMutation {
    /// Asks to turn off the two-step sign-in of a person who lost their authenticator and
    /// recovery codes; nothing changes until a second administrator approves within 24 hours.
    /// The person is emailed at once. ADMIN only, with a recent `reauthenticate` (`FORBIDDEN`
    /// with `extensions.reason` `REAUTHENTICATION_REQUIRED` otherwise), never on one's own
    /// account (`OWN_ACCOUNT`). `NOT_FOUND` for an unknown or closed account;
    /// `BAD_USER_INPUT` on `accountId` when its two-step sign-in is off; `CONFLICT` on
    /// `accountId` while another request for it is pending. Recorded as
    /// `mfa.reset_requested`.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn request_mfa_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account whose two-step sign-in to turn off.")] account_id: Uuid,
        #[graphql(
            desc = "Why, 10–500 characters (`BAD_USER_INPUT` on `reason` otherwise), \
                          such as how the person's identity was checked; shown to the \
                          approver and kept beside the event."
        )]
        reason: String,
    ) -> async_graphql::Result<MfaResetRequestView> {
        let reason = Reason::parse(&reason, "reason").graphql()?;
        let principal = ctx.principal().await?;
        mfa_reset::request(
            ctx.state(),
            &principal,
            AccountId(account_id),
            &reason,
            ctx.request().client(),
        )
        .boxed()
        .await
        .map(MfaResetRequestView::from)
        .graphql()
    }

    /// Approves a pending request: the person's two-step sign-in goes off, their recovery
    /// codes stop working, every session of theirs ends, and they are emailed; answers their
    /// account. ADMIN only, with a recent `reauthenticate`, as for `requestMfaReset`; by
    /// another administrator than the requester (`FORBIDDEN` with `extensions.reason`
    /// `SECOND_ADMINISTRATOR_REQUIRED`) and not the person (`OWN_ACCOUNT`). `NOT_FOUND` for an
    /// unknown request; `CONFLICT` on `requestId` when it was approved, cancelled or has
    /// expired. Recorded as `mfa.reset_approved`.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn approve_mfa_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `id` of the `MfaResetRequest`.")] request_id: Uuid,
    ) -> async_graphql::Result<AccountView> {
        let principal = ctx.principal().await?;
        mfa_reset::approve(ctx.state(), &principal, request_id, ctx.request().client())
            .boxed()
            .await
            .map(AccountView::from)
            .graphql()
    }

    /// Stops a pending request, for instance when the person says they never asked; answers
    /// true. ADMIN only, the requester included, but not the person (`OWN_ACCOUNT`). No
    /// `reauthenticate` needed: stopping a change is never the dangerous way. `NOT_FOUND` for
    /// an unknown request; `CONFLICT` on `requestId` when it is no longer pending. Recorded as
    /// `mfa.reset_cancelled`.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn cancel_mfa_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `id` of the `MfaResetRequest`.")] request_id: Uuid,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        mfa_reset::cancel(ctx.state(), &principal, request_id, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        Ok(true)
    }
}
