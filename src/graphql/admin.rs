//! What administrators do: list and read accounts, decide on KYC, search the audit trail.

use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    account::AccountView, audit::AuditEventView, context::ContextExt, errors::IntoGraphql,
    guards::HasRole,
};
use crate::{
    domain::{AccountId, KycStatus, Role},
    services::{
        accounts::{self, AdminRead, KycDecision},
        audit,
    },
};

/// The personal fields of `Account` a query selects, as the API names them.
fn personal_fields<'a>(ctx: &'a Context<'a>) -> Vec<&'a str> {
    const PERSONAL: &[&str] = &[
        "email",
        "firstName",
        "lastName",
        "phone",
        "address",
        "city",
        "state",
        "postalCode",
        "country",
        "dateOfBirth",
        "ssnMasked",
        "kycReason",
    ];
    let mut fields: Vec<&str> = ctx
        .field()
        .selection_set()
        .map(|field| field.name())
        .filter(|name| PERSONAL.contains(name))
        .collect();
    fields.sort_unstable();
    fields.dedup();
    fields
}

#[derive(Default)]
pub struct AdminAccountQuery;

#[Object]
impl AdminAccountQuery {
    /// Open accounts in creation order, optionally of one KYC status (administrators only).
    /// `after` is the `id` of the last account of the previous page.
    #[graphql(
        guard = "HasRole(Role::Admin)",
        complexity = "(first.unwrap_or(20).clamp(1, 100) as usize).div_ceil(10) * child_complexity + 1"
    )]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        kyc_status: Option<KycStatus>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<Uuid>,
    ) -> async_graphql::Result<Vec<AccountView>> {
        let principal = ctx.principal().await?;
        let fields = personal_fields(ctx);
        let read = AdminRead {
            viewer: &principal,
            fields: &fields,
            client: ctx.request().client(),
        };
        let list = accounts::list(
            ctx.state(),
            kyc_status,
            first.unwrap_or(20),
            after.map(AccountId),
            read,
        )
        .await
        .graphql()?;
        Ok(list.into_iter().map(AccountView::from).collect())
    }

    /// Any account by id (administrators only).
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn account(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<AccountView>> {
        let principal = ctx.principal().await?;
        let fields = personal_fields(ctx);
        let read = AdminRead {
            viewer: &principal,
            fields: &fields,
            client: ctx.request().client(),
        };
        accounts::find(ctx.state(), AccountId(id), read)
            .await
            .map(|account| account.map(AccountView::from))
            .graphql()
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
pub struct AdminAuditQuery;

#[Object]
impl AdminAuditQuery {
    /// The whole audit trail, newest first (administrators only).
    #[graphql(
        guard = "HasRole(Role::Admin)",
        complexity = "(first.unwrap_or(20).clamp(1, 100) as usize).div_ceil(10) * child_complexity + 1"
    )]
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

/// The full SSN is read through a mutation: it is an act, recorded with its reason, never a
/// field a query could select by accident.
#[derive(Default)]
pub struct KycMutation;

#[Object]
impl KycMutation {
    /// Decides on an account's identity verification (administrators only; never one's own).
    /// `profileVersion` is the account's as the reviewer read it: if the person changed a
    /// reviewed field since, the decision is refused (`CONFLICT` on `profileVersion`).
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn set_kyc_status(
        &self,
        ctx: &Context<'_>,
        account_id: Uuid,
        status: KycStatus,
        reason: Option<String>,
        profile_version: i32,
    ) -> async_graphql::Result<AccountView> {
        let principal = ctx.principal().await?;
        let decision = KycDecision {
            status,
            reason: reason.as_deref(),
            profile_version,
        };
        accounts::set_kyc_status(
            ctx.state(),
            &principal,
            AccountId(account_id),
            decision,
            ctx.request().client(),
        )
        .await
        .map(AccountView::from)
        .graphql()
    }

    /// The full SSN of an account, to check against identity documents (administrators
    /// only; needs a recent `reauthenticate`; `reason`, 10–500 characters, is kept beside the
    /// `ssn.revealed` event the person sees).
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn reveal_ssn(
        &self,
        ctx: &Context<'_>,
        account_id: Uuid,
        reason: String,
    ) -> async_graphql::Result<String> {
        let principal = ctx.principal().await?;
        accounts::reveal_ssn(
            ctx.state(),
            &principal,
            AccountId(account_id),
            &reason,
            ctx.request().client(),
        )
        .await
        .graphql()
    }
}
