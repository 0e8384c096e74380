use sea_orm::entity::prelude::*;

use crate::domain::{KycStatus, Role};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub email_verified: bool,
    pub kyc_status: KycStatus,
    pub mfa_enabled: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// E.164.
    pub phone: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub default_currency: Option<String>,
    /// Ciphertext (`crypto::Cipher`), context `account:<id>:date_of_birth`.
    pub date_of_birth: Option<String>,
    /// Ciphertext, context `account:<id>:ssn`. Never leaves the service decrypted.
    pub ssn: Option<String>,
    /// Blind index of the SSN: unique, keyed, not reversible.
    pub ssn_index: Option<String>,
    pub ssn_last4: Option<String>,
    pub kyc_reason: Option<String>,
    /// Set when the account was closed and its personal data erased.
    pub deleted_at: Option<DateTimeUtc>,
    /// Ciphertext of the active TOTP secret, context `account:<id>:mfa_secret`.
    pub mfa_secret: Option<String>,
    /// Ciphertext of a secret being enrolled, until `confirmMfa`.
    pub mfa_pending_secret: Option<String>,
    /// The last TOTP time step accepted: replays are refused against it.
    pub mfa_last_step: Option<i64>,
    /// Rotated by every credential change; what started under another stamp cannot finish.
    pub security_stamp: String,
    /// Second-factor failures in a row.
    pub mfa_failed_streak: i32,
    /// Second-factor failures since the last password reset.
    pub mfa_failures_total: i32,
    /// Second-factor lockouts in a row: each doubles the wait.
    pub mfa_lockouts: i32,
    pub mfa_locked_until: Option<DateTimeUtc>,
    /// Moves with every change to a field KYC reviews (names, date of birth, SSN, address).
    pub profile_version: i32,
    /// Set while support has frozen the account: no sign-in, refresh or recovery.
    pub suspended_at: Option<DateTimeUtc>,
    /// The user handle of the account's passkeys: random, made at the first registration.
    #[sea_orm(unique)]
    pub webauthn_user_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
