use async_graphql::{Context, InputObject, Json, MergedObject, Object};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{
    context::ContextExt,
    errors::IntoGraphql,
    guards::{HasRole, SignedIn},
};
use crate::{
    domain::{AccountId, KycStatus, Role},
    services::{self, accounts, audit, sessions},
    views::{AccountView, AuditEventView, SessionView},
};

#[derive(MergedObject, Default)]
pub struct Query(AccountQuery, SessionQuery, AuditQuery);

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in account.
    #[graphql(guard = "SignedIn")]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<AccountView> {
        let principal = ctx.principal().await?;
        let account = services::signed_in_account(ctx.state(), principal.account)
            .await
            .graphql()?;
        AccountView::new(account, &ctx.state().cipher).graphql()
    }

    /// Everything held about the signed-in person: the account (SSN masked), every session,
    /// every KYC decision and every security event about them.
    #[graphql(guard = "SignedIn")]
    async fn export_my_data(&self, ctx: &Context<'_>) -> async_graphql::Result<Json<Value>> {
        let principal = ctx.principal().await?;
        accounts::export(ctx.state(), &principal, ctx.request().client())
            .await
            .map(Json)
            .graphql()
    }

    /// Open accounts in creation order, optionally of one KYC status (administrators only).
    /// `after` is the `id` of the last account of the previous page.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        kyc_status: Option<KycStatus>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<Uuid>,
    ) -> async_graphql::Result<Vec<AccountView>> {
        let cipher = &ctx.state().cipher;
        accounts::list(
            ctx.state(),
            kyc_status,
            first.unwrap_or(20),
            after.map(AccountId),
        )
        .await
        .and_then(|list| {
            list.into_iter()
                .map(|account| AccountView::new(account, cipher))
                .collect()
        })
        .graphql()
    }

    /// Any account by id (administrators only).
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn account(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<AccountView>> {
        let account = accounts::find(ctx.state(), AccountId(id)).await.graphql()?;
        account
            .map(|account| AccountView::new(account, &ctx.state().cipher))
            .transpose()
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

/// What administrators search the audit trail by; every part is optional.
#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    /// Events about this account or done by it.
    account_id: Option<Uuid>,
    /// An event kind, such as `login.failed`.
    kind: Option<String>,
    /// At or after this instant.
    from: Option<DateTime<Utc>>,
    /// Before this instant.
    to: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The signed-in account's own security activity, newest first. `after` is the `id` of
    /// the last event of the previous page.
    #[graphql(guard = "SignedIn")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Vec<AuditEventView>> {
        let principal = ctx.principal().await?;
        let page = audit::Page {
            first: first.unwrap_or(audit::DEFAULT_PAGE),
            after: after.as_deref(),
        };
        let events = audit::own_events(ctx.state(), principal.account, page)
            .await
            .graphql()?;
        Ok(events.into_iter().map(Into::into).collect())
    }

    /// The whole audit trail, newest first (administrators only).
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn admin_audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditEventFilter>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Vec<AuditEventView>> {
        let filter = filter.unwrap_or_default();
        let search = audit::Search {
            account: filter.account_id.map(AccountId),
            kind: filter.kind.as_deref(),
            from: filter.from,
            to: filter.to,
        };
        let page = audit::Page {
            first: first.unwrap_or(audit::DEFAULT_PAGE),
            after: after.as_deref(),
        };
        let events = audit::search(ctx.state(), &search, page).await.graphql()?;
        Ok(events.into_iter().map(Into::into).collect())
    }
}
