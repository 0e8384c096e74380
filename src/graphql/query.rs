use async_graphql::{Context, MergedObject, Object};
use uuid::Uuid;

use super::{
    context::ContextExt,
    errors::IntoGraphql,
    guards::{HasRole, SignedIn},
};
use crate::{
    domain::{AccountId, Role},
    services::{accounts, sessions},
    views::{AccountView, SessionView},
};

#[derive(MergedObject, Default)]
pub struct Query(AccountQuery, SessionQuery);

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in account.
    #[graphql(guard = "SignedIn")]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<AccountView> {
        let principal = ctx.principal().await?;
        accounts::get(ctx.state(), principal.account)
            .await
            .map(Into::into)
            .graphql()
    }

    /// Any account by id (administrators only).
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn account(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<AccountView>> {
        accounts::find(ctx.state(), AccountId(id))
            .await
            .map(|account| account.map(Into::into))
            .graphql()
    }
}

#[derive(Default)]
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// The signed-in account's active sessions, newest first.
    #[graphql(guard = "SignedIn")]
    async fn sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SessionView>> {
        let principal = ctx.principal().await?;
        let list = sessions::list(ctx.state(), &principal).await.graphql()?;
        Ok(list
            .into_iter()
            .map(|session| SessionView::new(session, Some(principal.session)))
            .collect())
    }
}
