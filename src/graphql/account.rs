//! The signed-in person's own account: reading it, changing the profile, exporting
//! everything held about them, and closing it.

use super::context::Boxed;
use async_graphql::{Context, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Date, audit::AuditEventView, context::ContextExt, errors::IntoGraphql, guards::SignedIn,
    scalars::Timestamp, sessions::SessionView,
};
use crate::{
    domain::{AccountStatus, KycStatus, PasswordAttempt, Role, Ssn},
    error::{AppError, AppResult},
    http::cookies::CookieUpdate,
    services::{
        account_info::AccountInfo,
        accounts::{self, Export, ProfileUpdate},
        profile::{Change, ProfileEdit},
        throttle::Limit,
    },
    state::AppState,
};

// No `Debug`: it holds personal data.
/// An account as its owner and administrators see it. Personal fields are null when not
/// given; the SSN appears only masked.
#[derive(Clone, SimpleObject, Serialize)]
#[graphql(name = "Account")]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// The account's id; it never changes.
    pub id: Uuid,
    /// The address the person signs in with and receives email at, in canonical form (local
    /// part NFKC and lower case, domain IDNA-normalised).
    pub email: String,
    /// Whether the address was confirmed, by a verification link or a password reset link.
    pub email_verified: bool,
    /// Given name, 1–100 characters.
    pub first_name: String,
    /// Family name, 1–100 characters.
    pub last_name: String,
    /// Phone number in E.164 form, such as `+12015550123`.
    pub phone: Option<String>,
    /// Street address, one line.
    pub address: Option<String>,
    /// City or town.
    pub city: Option<String>,
    /// State or province: a USPS or Canadian code (`NY`, `ON`) in the US and Canada, free
    /// text elsewhere.
    pub state: Option<String>,
    /// Postal code in its country's canonical spacing, upper case (`94105`, `SW1A 1AA`).
    pub postal_code: Option<String>,
    /// Country, ISO 3166-1 alpha-2 in upper case (`US`).
    pub country: Option<String>,
    /// Preferred currency, an ISO 4217 code in upper case (`USD`).
    pub default_currency: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    pub date_of_birth: Option<Date>,
    /// The last four digits of the SSN as `***-**-6789`; null when no SSN is held. The full
    /// SSN is never returned by any field (administrators read it through `revealSsn`).
    pub ssn_masked: Option<String>,
    /// Where identity verification stands; `PENDING` until an administrator decides.
    pub kyc_status: KycStatus,
    /// Why the latest KYC decision was made, when the reviewer said; always given for
    /// `REJECTED`.
    pub kyc_reason: Option<String>,
    /// Moves with every change to a field identity verification reviews (names, date of
    /// birth, SSN, address); `setKycStatus` names the version the reviewer saw.
    pub profile_version: i32,
    /// Whether two-step sign-in (an authenticator app) is on.
    pub mfa_enabled: bool,
    /// What the account may do.
    pub role: Role,
    /// Whether the account can be used: `ACTIVE`, `SUSPENDED` by support, or `CLOSED` by its
    /// owner.
    pub status: AccountStatus,
    /// When the account was registered.
    pub created_at: Timestamp,
    /// When the account last changed.
    pub updated_at: Timestamp,
}

impl From<AccountInfo> for AccountView {
    fn from(account: AccountInfo) -> Self {
        Self {
            id: account.id,
            email: account.email,
            email_verified: account.email_verified,
            first_name: account.first_name,
            last_name: account.last_name,
            phone: account.phone,
            address: account.address,
            city: account.city,
            state: account.state,
            postal_code: account.postal_code,
            country: account.country,
            default_currency: account.default_currency,
            date_of_birth: account.date_of_birth.map(Date::from),
            ssn_masked: account.ssn_last4.as_deref().map(Ssn::masked),
            kyc_status: account.kyc_status,
            kyc_reason: account.kyc_reason,
            profile_version: account.profile_version,
            mfa_enabled: account.mfa_enabled,
            role: account.role,
            status: account.status,
            created_at: account.created_at.into(),
            updated_at: account.updated_at.into(),
        }
    }
}

/// The export as JSON: the account as the API shows it, sessions with why they ended, KYC
/// decisions without who made them, and security events.
fn export_json(state: &AppState, export: Export) -> Value {
    let current = Some(export.current_session);
    let sessions: Vec<Value> = export
        .sessions
        .into_iter()
        .map(|session| {
            let revoked_at = session.revoked_at;
            let reason = session.revoke_reason.clone();
            let mut view = json!(SessionView::new(state, session, current));
            view["revokedAt"] = json!(revoked_at);
            view["revokeReason"] = json!(reason);
            view
        })
        .collect();
    let reviews: Vec<Value> = export
        .kyc_reviews
        .into_iter()
        .map(|review| {
            json!({
                "at": Timestamp::from(review.created_at),
                "from": review.from_status,
                "to": review.to_status,
                "reason": review.reason,
                "byReviewer": review.actor_id.is_some(),
            })
        })
        .collect();
    let events: Vec<AuditEventView> = export.events.into_iter().map(Into::into).collect();
    json!({
        "exportedAt": export.exported_at,
        "account": AccountView::from(export.account),
        "sessions": sessions,
        "kycReviews": reviews,
        "securityEvents": events,
    })
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in account. Signed in only (`UNAUTHENTICATED` otherwise).
    #[graphql(guard = "SignedIn")]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<AccountView> {
        let principal = ctx.principal().await?;
        accounts::me(ctx.state(), principal.account)
            .boxed()
            .await
            .map(AccountView::from)
            .graphql()
    }

    /// Everything held about the signed-in person, as one JSON object: `exportedAt`,
    /// `account` (SSN masked), `sessions` (ended ones too, with why), `kycReviews` and
    /// `securityEvents`. Signed in only; limited by `export_account` (5 an hour,
    /// `RATE_LIMITED`). Recorded as `account.exported`.
    #[graphql(guard = "SignedIn.and(Limit::export())", complexity = 100)]
    async fn export_my_data(&self, ctx: &Context<'_>) -> async_graphql::Result<Json<Value>> {
        let principal = ctx.principal().await?;
        accounts::export(ctx.state(), &principal, ctx.request().client())
            .boxed()
            .await
            .map(|export| Json(export_json(ctx.state(), export)))
            .graphql()
    }
}

/// Changes to the profile: only the fields given change; `null` removes an optional field. A
/// bad value is `BAD_USER_INPUT` naming its field, and nothing is written.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// Given name, 1–100 characters: letters, marks, spaces, `'` `’` `-` `.`. Cannot be
    /// removed. Changing it needs a recent `reauthenticate`.
    first_name: MaybeUndefined<String>,
    /// Family name, with the rules of `firstName`. Cannot be removed. Changing it needs a
    /// recent `reauthenticate`.
    last_name: MaybeUndefined<String>,
    /// Phone number: E.164 (`+12015550123`), or national format when the profile has a
    /// `country`.
    phone: MaybeUndefined<String>,
    /// Street address, 1–200 characters on one line.
    address: MaybeUndefined<String>,
    /// City or town, 1–100 characters.
    city: MaybeUndefined<String>,
    /// State or province: required in the US and Canada, as a USPS or Canadian code (`NY`,
    /// `ON`); free text elsewhere.
    state: MaybeUndefined<String>,
    /// Postal code, checked against the country's format (`94105`, `K1A 0B1`, `SW1A 1AA`).
    postal_code: MaybeUndefined<String>,
    /// Country, ISO 3166-1 alpha-2 in any case (`US`).
    country: MaybeUndefined<String>,
    /// Preferred currency, an active ISO 4217 code in any case (`USD`).
    default_currency: MaybeUndefined<String>,
    /// Date of birth, `YYYY-MM-DD`: the person must be of the service's minimum age (18 by
    /// default) and at most 120 years old. Changing it needs a recent `reauthenticate`.
    #[graphql(secret)]
    date_of_birth: MaybeUndefined<Date>,
    /// SSN, `123-45-6789` or `123456789`; stored encrypted, never returned. `CONFLICT` when
    /// another account holds it. Changing it needs a recent `reauthenticate`, and every
    /// attempt spends `ssn_account` (5 a day).
    #[graphql(secret)]
    ssn: MaybeUndefined<String>,
}

fn change<T>(value: MaybeUndefined<T>) -> Change<T> {
    match value {
        MaybeUndefined::Undefined => Change::Keep,
        MaybeUndefined::Null => Change::Clear,
        MaybeUndefined::Value(value) => Change::Set(value),
    }
}

impl TryFrom<UpdateProfileInput> for ProfileUpdate {
    type Error = AppError;

    fn try_from(input: UpdateProfileInput) -> AppResult<Self> {
        let date_of_birth = match input.date_of_birth {
            MaybeUndefined::Value(date) => MaybeUndefined::Value(date.parse("dateOfBirth")?),
            MaybeUndefined::Null => MaybeUndefined::Null,
            MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        };
        Ok(Self {
            first_name: change(input.first_name),
            last_name: change(input.last_name),
            profile: ProfileEdit {
                phone: change(input.phone),
                address: change(input.address),
                city: change(input.city),
                state: change(input.state),
                postal_code: change(input.postal_code),
                country: change(input.country),
                default_currency: change(input.default_currency),
                date_of_birth: change(date_of_birth),
                ssn: change(input.ssn),
            },
        })
    }
}

#[derive(Default)]
pub struct ProfileMutation;

#[Object]
impl ProfileMutation {
    /// Changes the signed-in person's names and profile and answers the account. Changing the
    /// names, date of birth or SSN needs a recent `reauthenticate` (`FORBIDDEN` with
    /// `extensions.reason` `REAUTHENTICATION_REQUIRED` otherwise, nothing changed). Changing
    /// the names, date of birth, SSN or address moves `profileVersion` and sends an approved
    /// or rejected account back to `PENDING`. Errors: `BAD_USER_INPUT` naming the field,
    /// `CONFLICT` on `ssn` (held by another account) or on `input` (the profile changed
    /// meanwhile: reload and retry), `RATE_LIMITED` (`ssn_account`).
    #[graphql(guard = "SignedIn")]
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fields to change; those left out stay as they are.")]
        input: UpdateProfileInput,
    ) -> async_graphql::Result<AccountView> {
        let principal = ctx.principal().await?;
        let update = ProfileUpdate::try_from(input).graphql()?;
        accounts::update_profile(ctx.state(), &principal, update, ctx.request().client())
            .boxed()
            .await
            .map(AccountView::from)
            .graphql()
    }
}

#[derive(Default)]
pub struct ClosureMutation;

#[Object]
impl ClosureMutation {
    /// Closes the signed-in person's account for good: every session ends, the cookies are
    /// cleared, and every personal value is erased; the security log stays. Answers `true`.
    /// A wrong password is `BAD_USER_INPUT` on `password`; limited by `secret_account`
    /// (`RATE_LIMITED`).
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn delete_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The account's current password.")] password: String,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        let password = PasswordAttempt::parse(&password);
        accounts::delete(ctx.state(), &principal, &password, ctx.request().client())
            .boxed()
            .await
            .graphql()?;
        ctx.request().set_cookies(CookieUpdate::SignedOut);
        Ok(true)
    }
}
