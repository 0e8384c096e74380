//! What the API shows of an account, for its owner and for administrators.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{data_keys, profile};
use crate::{
    db::entities::accounts,
    domain::{AccountId, AccountStatus, KycStatus, Role},
    error::AppResult,
    state::AppState,
};

/// An account without its secrets: no password hash, no MFA secrets, the date of birth
/// opened and the SSN only as its last four digits. No `Debug`: it holds personal data.
pub struct AccountInfo {
    pub id: Uuid,
    pub email: String,
    pub email_verified: bool,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub default_currency: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub ssn_last4: Option<String>,
    pub kyc_status: KycStatus,
    pub kyc_reason: Option<String>,
    pub profile_version: i32,
    pub mfa_enabled: bool,
    pub role: Role,
    pub status: AccountStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AccountInfo {
    /// The stored account's public part; the date of birth is decrypted here and nowhere else.
    pub async fn open(state: &AppState, model: &accounts::Model) -> AppResult<Self> {
        let sealed = model.date_of_birth.as_deref();
        data_keys::ensure_readable(state, &[sealed]).await?;
        let date_of_birth = profile::date_of_birth(&state.keys, AccountId(model.id), sealed)?;
        Ok(Self {
            id: model.id,
            email: model.email.clone(),
            email_verified: model.email_verified,
            first_name: model.first_name.clone(),
            last_name: model.last_name.clone(),
            phone: model.phone.clone(),
            address: model.address.clone(),
            city: model.city.clone(),
            state: model.state.clone(),
            postal_code: model.postal_code.clone(),
            country: model.country.clone(),
            default_currency: model.default_currency.clone(),
            date_of_birth,
            ssn_last4: model.ssn_last4.clone(),
            kyc_status: model.kyc_status,
            kyc_reason: model.kyc_reason.clone(),
            profile_version: model.profile_version,
            mfa_enabled: model.mfa_enabled,
            role: model.role,
            status: AccountStatus::of(model.deleted_at.is_some(), model.suspended_at.is_some()),
            created_at: model.created_at,
            updated_at: model.updated_at,
        })
    }
}
