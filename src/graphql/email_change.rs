//! Moving the account to another email address: asked for signed in, confirmed by a link to
//! the new address, undoable by a link to the old one.

use super::context::Boxed;
use async_graphql::{Context, Object};

use super::{account::AccountView, context::ContextExt, errors::IntoGraphql, guards::SignedIn};
use crate::{
    domain::{Email, OpaqueToken},
    services::{email_change, throttle::Limit},
};

#[derive(Default)]
pub struct EmailChangeMutation;

#[Object]
impl EmailChangeMutation {
    /// Asks to move the signed-in person's account to another email address: a link that
    /// makes the move (valid once, for 24 hours by default) goes to that address, and a newer
    /// request voids the older link. Always `true`: when another account holds the address,
    /// nothing goes to it and its holder gets a notice instead, so the answer says nothing
    /// about which addresses have accounts. Needs a recent `reauthenticate` (`FORBIDDEN` with
    /// `extensions.reason` `REAUTHENTICATION_REQUIRED` otherwise). A malformed address, or the
    /// account's own, is `BAD_USER_INPUT` on `newEmail`; `RATE_LIMITED` (`email_change`).
    #[graphql(guard = "SignedIn.and(Limit::email_change())")]
    async fn request_email_change(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The address the account should use from now on.")]
        new_email: String,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        let new_email = Email::parse(&new_email, "newEmail").graphql()?;
        email_change::request(ctx.state(), &principal, &new_email, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        Ok(true)
    }

    /// Moves the account to the new address with the token from the link sent there, and
    /// answers the account: the address counts as confirmed, every other session ends (a
    /// session of this account making the call stays), pending reset and verification links
    /// are void, and the old address gets a link that undoes the change for 72 hours. Needs no
    /// session, so the link works on any device. A wrong, used or expired token is
    /// `BAD_USER_INPUT` on `token`; `CONFLICT` on `token` when another account took the
    /// address meanwhile (nothing changes); `RATE_LIMITED` (`token_ip`).
    #[graphql(guard = "Limit::token()")]
    async fn confirm_email_change(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The token from the link sent to the new address.")] token: String,
    ) -> async_graphql::Result<AccountView> {
        let token = OpaqueToken::new(token);
        let caller = ctx.request().principal(ctx.state()).await.graphql()?;
        email_change::confirm(ctx.state(), &token, caller.as_ref(), ctx.request().client())
            .boxed()
            .await
            .map(AccountView::from)
            .graphql()
    }

    /// Undoes a change of address with the token from the link sent to the old address,
    /// within 72 hours: the old address is back (confirmed), every session ends, and pending
    /// links (reset, verification, later changes) are void; reset the password next. Needs no
    /// session. A wrong, used or expired token is `BAD_USER_INPUT` on `token`; `CONFLICT` on
    /// `token` when another account took the old address meanwhile (nothing changes);
    /// `RATE_LIMITED` (`token_ip`).
    #[graphql(guard = "Limit::token()")]
    async fn revert_email_change(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The token from the link sent to the old address.")] token: String,
    ) -> async_graphql::Result<bool> {
        let token = OpaqueToken::new(token);
        email_change::revert(ctx.state(), &token, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        Ok(true)
    }
}
