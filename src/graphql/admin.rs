//! What administrators do: search and read accounts, decide on KYC, search the audit trail.

use super::context::Boxed;
use async_graphql::{Context, InputObject, Object};
use uuid::Uuid;

use super::{
    account::AccountView, audit::AuditEventView, context::ContextExt, errors::IntoGraphql,
    guards::HasRole, scalars::Timestamp,
};
use crate::{
    db::accounts::Search,
    domain::{AccountId, AccountStatus, Email, KycStatus, PersonName, Reason, Role, SsnLast4},
    error::{AppError, AppResult},
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

/// What administrators search accounts by; every part is optional, and the parts given must
/// all match. A search that selects personal fields is recorded, with which parts it used
/// (never their values), as `personal_data.viewed` for each person found.
#[derive(InputObject, Default)]
pub struct AccountFilter {
    /// The sign-in address, exactly, in any case (`BAD_USER_INPUT` on `filter.email` when it
    /// is not an address).
    email: Option<String>,
    /// The start of the family name, in any case (`BAD_USER_INPUT` on `filter.lastName` when
    /// it could not start a name).
    last_name: Option<String>,
    /// The last four digits of the SSN (`BAD_USER_INPUT` on `filter.ssnLast4` otherwise).
    ssn_last4: Option<String>,
    /// Where identity verification stands.
    kyc_status: Option<KycStatus>,
    /// Whether the account can be used; open accounts (`ACTIVE` and `SUSPENDED`) when left
    /// out. `CLOSED` accounts hold no personal data any more.
    status: Option<AccountStatus>,
}

/// An [`AccountFilter`] parsed into domain types.
struct ParsedFilter {
    email: Option<Email>,
    last_name: Option<PersonName>,
    ssn_last4: Option<SsnLast4>,
    kyc_status: Option<KycStatus>,
    status: Option<AccountStatus>,
}

impl ParsedFilter {
    fn parse(filter: AccountFilter, kyc_status: Option<KycStatus>) -> AppResult<Self> {
        if kyc_status.is_some() && filter.kyc_status.is_some() {
            return Err(AppError::bad_input(
                "kycStatus",
                "give the KYC status once, in filter.kycStatus",
            ));
        }
        Ok(Self {
            email: filter
                .email
                .map(|email| Email::parse(&email, "filter.email"))
                .transpose()?,
            last_name: filter
                .last_name
                .map(|name| PersonName::parse(&name, "filter.lastName"))
                .transpose()?,
            ssn_last4: filter
                .ssn_last4
                .map(|digits| SsnLast4::parse(&digits, "filter.ssnLast4"))
                .transpose()?,
            kyc_status: filter.kyc_status.or(kyc_status),
            status: filter.status,
        })
    }

    fn search(&self) -> Search<'_> {
        Search {
            email: self.email.as_ref(),
            last_name_prefix: self.last_name.as_ref().map(PersonName::as_str),
            ssn_last4: self.ssn_last4.as_ref().map(SsnLast4::as_str),
            kyc_status: self.kyc_status,
            status: self.status,
        }
    }

    /// The parts of the filter given, as the API names them.
    fn criteria(&self) -> Vec<&'static str> {
        [
            (self.email.is_some(), "email"),
            (self.last_name.is_some(), "lastName"),
            (self.ssn_last4.is_some(), "ssnLast4"),
            (self.kyc_status.is_some(), "kycStatus"),
            (self.status.is_some(), "status"),
        ]
        .into_iter()
        .filter_map(|(given, name)| given.then_some(name))
        .collect()
    }
}

#[derive(Default)]
pub struct AdminAccountQuery;

#[Object]
impl AdminAccountQuery {
    /// Accounts in creation order, open ones unless `filter.status` says otherwise. ADMIN
    /// only: `FORBIDDEN` otherwise, with `extensions.reason` `MFA_REQUIRED` where
    /// administrators must have passed a second factor. Reading another person's personal
    /// fields records `personal_data.viewed`, which they see.
    #[graphql(
        guard = "HasRole(Role::Admin)",
        complexity = "(first.unwrap_or(20).clamp(1, 100) as usize).div_ceil(10) * child_complexity + 1"
    )]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which accounts; all open ones when left out.")] filter: Option<
            AccountFilter,
        >,
        #[graphql(
            desc = "Only accounts of this KYC status; as `filter.kycStatus`, which it may not \
                    be given with.",
            deprecation = "Use `filter.kycStatus`."
        )]
        kyc_status: Option<KycStatus>,
        #[graphql(default = 20, desc = "How many accounts to return, 1–100.")] first: Option<i32>,
        #[graphql(
            desc = "The `id` of the last account of the previous page; from the start \
                          when left out."
        )]
        after: Option<Uuid>,
    ) -> async_graphql::Result<Vec<AccountView>> {
        let filter = ParsedFilter::parse(filter.unwrap_or_default(), kyc_status).graphql()?;
        let principal = ctx.principal().await?;
        let fields = personal_fields(ctx);
        let criteria = filter.criteria();
        let read = AdminRead {
            viewer: &principal,
            fields: &fields,
            criteria: &criteria,
            client: ctx.request().client(),
        };
        let list = accounts::list(
            ctx.state(),
            &filter.search(),
            first.unwrap_or(20),
            after.map(AccountId),
            read,
        )
        .boxed()
        .await
        .graphql()?;
        Ok(list.into_iter().map(AccountView::from).collect())
    }

    /// Any open account by id; null when there is none (unknown or closed). ADMIN only, and
    /// recorded, as for `accounts`.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's `id`.")] id: Uuid,
    ) -> async_graphql::Result<Option<AccountView>> {
        let principal = ctx.principal().await?;
        let fields = personal_fields(ctx);
        let read = AdminRead {
            viewer: &principal,
            fields: &fields,
            criteria: &[],
            client: ctx.request().client(),
        };
        accounts::find(ctx.state(), AccountId(id), read)
            .boxed()
            .await
            .map(|account| account.map(AccountView::from))
            .graphql()
    }
}

/// What administrators search the audit trail by; every part is optional, and the parts given
/// must all match.
#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    /// Events about this account or done by it.
    account_id: Option<Uuid>,
    /// An event kind, such as `login.failed`; an unknown kind is `BAD_USER_INPUT` on
    /// `filter.kind`.
    kind: Option<String>,
    /// Events at or after this instant.
    from: Option<Timestamp>,
    /// Events before this instant; not before `from` (`BAD_USER_INPUT` on `filter.to`).
    to: Option<Timestamp>,
}

#[derive(Default)]
pub struct AdminAuditQuery;

#[Object]
impl AdminAuditQuery {
    /// The whole audit trail, newest first, optionally filtered. ADMIN only, as for
    /// `accounts`.
    #[graphql(
        guard = "HasRole(Role::Admin)",
        complexity = "(first.unwrap_or(20).clamp(1, 100) as usize).div_ceil(10) * child_complexity + 1"
    )]
    async fn admin_audit_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which events; all when left out.")] filter: Option<AuditEventFilter>,
        #[graphql(default = 20, desc = "How many events to return, 1–100.")] first: Option<i32>,
        #[graphql(
            desc = "The `id` of the last event of the previous page; from the newest \
                          when left out. Anything else is `BAD_USER_INPUT` on `after`."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Vec<AuditEventView>> {
        let filter = filter.unwrap_or_default();
        let search = audit::Search {
            account: filter.account_id.map(AccountId),
            kind: filter.kind.as_deref(),
            from: filter.from.map(|instant| instant.0),
            to: filter.to.map(|instant| instant.0),
        };
        let page = audit::Page {
            first: first.unwrap_or(audit::DEFAULT_PAGE),
            after: after.as_deref(),
        };
        let events = audit::search(ctx.state(), &search, page)
            .boxed()
            .await
            .graphql()?;
        Ok(events.into_iter().map(Into::into).collect())
    }
}

/// The full SSN is read through a mutation: it is an act, recorded with its reason, never a
/// field a query could select by accident.
#[derive(Default)]
pub struct KycMutation;

#[Object]
impl KycMutation {
    /// Decides on an account's identity verification and answers the account; the person is
    /// emailed the outcome. ADMIN only, as for `accounts`, and never on one's own account
    /// (`FORBIDDEN`). Allowed moves: `PENDING` to `APPROVED` or `REJECTED`, and `APPROVED` or
    /// `REJECTED` back to `PENDING`; another is `BAD_USER_INPUT` on `status`. If the person
    /// changed a reviewed field since `profileVersion`, the decision is refused (`CONFLICT` on
    /// `profileVersion`); `CONFLICT` on `status` when another decision landed meanwhile.
    /// `NOT_FOUND` for an unknown or closed account.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn set_kyc_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account decided on.")] account_id: Uuid,
        #[graphql(desc = "The new status.")] status: KycStatus,
        #[graphql(
            desc = "Why, at most 500 characters, shown to the person; required for \
                          `REJECTED` (`BAD_USER_INPUT` on `reason`)."
        )]
        reason: Option<String>,
        #[graphql(desc = "The account's `profileVersion` as the reviewer read it.")]
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
        .boxed()
        .await
        .map(AccountView::from)
        .graphql()
    }

    /// The full SSN of an account, as `123-45-6789`, to check against identity documents.
    /// ADMIN only, as for `accounts`; needs a recent `reauthenticate` (`FORBIDDEN` with
    /// `extensions.reason` `REAUTHENTICATION_REQUIRED` otherwise); limited by `ssn_reveal`
    /// (20 an hour, `RATE_LIMITED`). Recorded as `ssn.revealed`, which the person sees.
    /// `NOT_FOUND` when the account is unknown or closed or holds no SSN.
    #[graphql(guard = "HasRole(Role::Admin)")]
    async fn reveal_ssn(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account whose SSN to read.")] account_id: Uuid,
        #[graphql(desc = "Why it is needed, 10–500 characters (`BAD_USER_INPUT` on \
                          `reason` otherwise); kept beside the event.")]
        reason: String,
    ) -> async_graphql::Result<String> {
        let reason = Reason::parse(&reason, "reason").graphql()?;
        let principal = ctx.principal().await?;
        accounts::reveal_ssn(
            ctx.state(),
            &principal,
            AccountId(account_id),
            &reason,
            ctx.request().client(),
        )
        .boxed()
        .await
        .graphql()
    }
}
