//! The signed-in person's own account: reading it, changing the profile, exporting
//! everything held about them, and closing it.

use async_graphql::{Context, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Date, audit::AuditEventView, context::ContextExt, errors::IntoGraphql, guards::SignedIn,
    sessions::SessionView,
};
use crate::{
    domain::{KycStatus, PasswordAttempt, Role, Ssn},
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

/// An account as its owner and administrators see it. The SSN appears only masked. No
/// `Debug`: it holds personal data.
#[derive(Clone, SimpleObject, Serialize)]
#[graphql(name = "Account")]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: Uuid,
    pub email: String,
    pub email_verified: bool,
    pub first_name: String,
    pub last_name: String,
    /// E.164.
    pub phone: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// ISO 4217.
    pub default_currency: Option<String>,
    pub date_of_birth: Option<Date>,
    /// `***-**-6789`; the full SSN is never returned by any field.
    pub ssn_masked: Option<String>,
    pub kyc_status: KycStatus,
    /// Why the latest KYC decision was made, when the reviewer said.
    pub kyc_reason: Option<String>,
    /// Moves with every change to a field identity verification reviews (names, date of
    /// birth, SSN, address); `setKycStatus` names the version the reviewer saw.
    pub profile_version: i32,
    pub mfa_enabled: bool,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
            created_at: account.created_at,
            updated_at: account.updated_at,
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
                "at": review.created_at,
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
    /// The signed-in account.
    #[graphql(guard = "SignedIn")]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<AccountView> {
        let principal = ctx.principal().await?;
        accounts::me(ctx.state(), principal.account)
            .await
            .map(AccountView::from)
            .graphql()
    }

    /// Everything held about the signed-in person: the account (SSN masked), every session,
    /// every KYC decision and every security event about them.
    #[graphql(guard = "SignedIn.and(Limit::export())", complexity = 100)]
    async fn export_my_data(&self, ctx: &Context<'_>) -> async_graphql::Result<Json<Value>> {
        let principal = ctx.principal().await?;
        accounts::export(ctx.state(), &principal, ctx.request().client())
            .await
            .map(|export| Json(export_json(ctx.state(), export)))
            .graphql()
    }
}

/// Only the fields given change; `null` removes an optional field.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    first_name: MaybeUndefined<String>,
    last_name: MaybeUndefined<String>,
    phone: MaybeUndefined<String>,
    address: MaybeUndefined<String>,
    city: MaybeUndefined<String>,
    state: MaybeUndefined<String>,
    postal_code: MaybeUndefined<String>,
    country: MaybeUndefined<String>,
    default_currency: MaybeUndefined<String>,
    #[graphql(secret)]
    date_of_birth: MaybeUndefined<Date>,
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
    /// Changes the signed-in person's names and profile. Changing the legal name, date of
    /// birth, SSN or address after KYC approval sends the account back to review.
    #[graphql(guard = "SignedIn")]
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> async_graphql::Result<AccountView> {
        let principal = ctx.principal().await?;
        let update = ProfileUpdate::try_from(input).graphql()?;
        accounts::update_profile(ctx.state(), &principal, update, ctx.request().client())
            .await
            .map(AccountView::from)
            .graphql()
    }
}

#[derive(Default)]
pub struct ClosureMutation;

#[Object]
impl ClosureMutation {
    /// Closes the signed-in person's account with their password: every session ends and
    /// every personal value is erased; the security log stays.
    #[graphql(guard = "SignedIn.and(Limit::secret())")]
    async fn delete_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] password: String,
    ) -> async_graphql::Result<bool> {
        let principal = ctx.principal().await?;
        let password = PasswordAttempt::parse(&password);
        accounts::delete(ctx.state(), &principal, &password, ctx.request().client())
            .await
            .graphql()?;
        ctx.request().set_cookies(CookieUpdate::SignedOut);
        Ok(true)
    }
}
