//! What support teams do to someone's account: suspend and reactivate it, end its sessions,
//! change its role.

use super::context::Boxed;
use async_graphql::{Context, Object};
use uuid::Uuid;

use super::{account::AccountView, context::ContextExt, errors::IntoGraphql, guards::HasRole};
use crate::{
    domain::{AccountId, Reason, Role},
    services::lifecycle,
};

#[derive(Default)]
pub struct LifecycleMutation;

#[Object]
impl LifecycleMutation {
    /// Freezes an account, for example on suspected fraud or takeover: every session ends at
    /// once, and sign-in, token refresh and password reset are refused until
    /// `reactivateAccount` (a sign-in with the right password answers `FORBIDDEN` with
    /// `extensions.reason` `ACCOUNT_SUSPENDED`; a wrong one stays `UNAUTHENTICATED`). The
    /// person is emailed. ADMIN only, as for `accounts`; needs a recent `reauthenticate`
    /// (`REAUTHENTICATION_REQUIRED`); never one's own account (`FORBIDDEN`, `OWN_ACCOUNT`).
    /// `CONFLICT` on `accountId` when it is suspended already, `NOT_FOUND` when unknown or
    /// closed. Recorded as `account.suspended`.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn suspend_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account to suspend.")] account_id: Uuid,
        #[graphql(
            desc = "Why, 10–500 characters (`BAD_USER_INPUT` on `reason` otherwise); \
                          kept beside the event for administrators, not shown to the person."
        )]
        reason: String,
    ) -> async_graphql::Result<AccountView> {
        let reason = Reason::parse(&reason, "reason").graphql()?;
        let principal = ctx.principal().await?;
        lifecycle::suspend(
            ctx.state(),
            &principal,
            AccountId(account_id),
            &reason,
            ctx.request().client(),
        )
        .boxed()
        .await
        .map(AccountView::from)
        .graphql()
    }

    /// Unfreezes a suspended account: the person can sign in again (sessions ended by the
    /// suspension stay ended). The person is emailed. ADMIN only, re-authenticated, as for
    /// `suspendAccount`. `CONFLICT` on `accountId` when it is not suspended. Recorded as
    /// `account.reactivated`.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn reactivate_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account to reactivate.")] account_id: Uuid,
        #[graphql(desc = "Why, 10–500 characters, as for `suspendAccount`.")] reason: String,
    ) -> async_graphql::Result<AccountView> {
        let reason = Reason::parse(&reason, "reason").graphql()?;
        let principal = ctx.principal().await?;
        lifecycle::reactivate(
            ctx.state(),
            &principal,
            AccountId(account_id),
            &reason,
            ctx.request().client(),
        )
        .boxed()
        .await
        .map(AccountView::from)
        .graphql()
    }

    /// Ends every session of an account at once, on every instance, and answers how many
    /// ended; the person is emailed when any did. ADMIN only, as for `accounts`. `NOT_FOUND`
    /// when unknown or closed. Recorded as `sessions.ended_by_administrator`.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn end_sessions_of(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account whose sessions end.")] account_id: Uuid,
        #[graphql(desc = "Why, 10–500 characters, as for `suspendAccount`.")] reason: String,
    ) -> async_graphql::Result<i32> {
        let reason = Reason::parse(&reason, "reason").graphql()?;
        let principal = ctx.principal().await?;
        let ended = lifecycle::end_sessions(
            ctx.state(),
            &principal,
            AccountId(account_id),
            &reason,
            ctx.request().client(),
        )
        .boxed()
        .await
        .graphql()?;
        Ok(i32::try_from(ended).unwrap_or(i32::MAX))
    }

    /// Appoints or removes an administrator. The person's sessions end so the new role takes
    /// effect at once, and they are emailed. ADMIN only, re-authenticated, as for
    /// `suspendAccount`; never one's own role (`FORBIDDEN`, `OWN_ACCOUNT`); `CONFLICT` on
    /// `role` when it would leave no administrator who can act. Giving the role the account
    /// has changes nothing. Recorded as `role.changed`.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn set_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account whose role changes.")] account_id: Uuid,
        #[graphql(desc = "The new role.")] role: Role,
    ) -> async_graphql::Result<AccountView> {
        let principal = ctx.principal().await?;
        lifecycle::set_role(
            ctx.state(),
            &principal,
            AccountId(account_id),
            role,
            ctx.request().client(),
        )
        .boxed()
        .await
        .map(AccountView::from)
        .graphql()
    }
}
