//! The public shapes of accounts, sessions and sign-in results. GraphQL and REST both answer
//! with these, built from models, so no column reaches a client unless it is listed here.

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;
use uuid::Uuid;

use crate::{
    crypto::Cipher,
    db::entities::{accounts, audit_events, sessions},
    domain::{AccountId, KycStatus, Role, SessionId, Ssn},
    error::AppResult,
    graphql::Date,
    services::{mfa, profile, sessions::AuthOutcome},
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
    pub mfa_enabled: bool,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AccountView {
    /// The view of a stored account; the date of birth is decrypted here and nowhere else.
    pub fn new(model: accounts::Model, cipher: &Cipher) -> AppResult<Self> {
        let date_of_birth =
            profile::date_of_birth(cipher, AccountId(model.id), model.date_of_birth.as_deref())?;
        Ok(Self {
            id: model.id,
            email: model.email,
            email_verified: model.email_verified,
            first_name: model.first_name,
            last_name: model.last_name,
            phone: model.phone,
            address: model.address,
            city: model.city,
            state: model.state,
            postal_code: model.postal_code,
            country: model.country,
            default_currency: model.default_currency,
            date_of_birth: date_of_birth.map(Date::from),
            ssn_masked: model.ssn_last4.as_deref().map(Ssn::masked),
            kyc_status: model.kyc_status,
            kyc_reason: model.kyc_reason,
            mfa_enabled: model.mfa_enabled,
            role: model.role,
            created_at: model.created_at,
            updated_at: model.updated_at,
        })
    }
}

/// One signed-in device. Never carries a token.
#[derive(Debug, Clone, SimpleObject, Serialize)]
#[graphql(name = "Session")]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_active_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// The session this request was made with.
    pub current: bool,
    pub mfa_verified: bool,
}

impl SessionView {
    pub fn new(model: sessions::Model, current: Option<SessionId>) -> Self {
        Self {
            current: current.is_some_and(|current| current.0 == model.id),
            id: model.id,
            created_at: model.created_at,
            last_active_at: model.last_active_at,
            expires_at: model.expires_at,
            ip_address: model.ip_address,
            user_agent: model.user_agent,
            mfa_verified: model.mfa_verified,
        }
    }
}

/// A successful sign-in. The refresh token is not here: it travels only in its cookie. No
/// `Debug`: it holds the access token.
#[derive(Clone, SimpleObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthPayload {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub account: AccountView,
    pub session: SessionView,
}

impl AuthPayload {
    pub fn new(outcome: &AuthOutcome, cipher: &Cipher) -> AppResult<Self> {
        Ok(Self {
            access_token: outcome.access.token.expose_secret().to_owned(),
            access_token_expires_at: outcome.access.expires_at,
            account: AccountView::new(outcome.account.clone(), cipher)?,
            session: SessionView::new(outcome.session.clone(), Some(SessionId(outcome.session.id))),
        })
    }
}

/// One entry of the audit trail. `details` holds categories and counts, never personal data.
#[derive(Debug, Clone, SimpleObject, Serialize)]
#[graphql(name = "AuditEvent")]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// For example `login.succeeded` or `session.revoked`.
    pub kind: String,
    /// `success` or `failure`.
    pub outcome: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// The account the event is about.
    pub account_id: Option<Uuid>,
    /// Who acted: the account itself, an administrator, or nobody (the command line).
    pub actor_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub details: async_graphql::Json<serde_json::Value>,
}

impl From<audit_events::Model> for AuditEventView {
    fn from(model: audit_events::Model) -> Self {
        let details = serde_json::from_str(&model.details).unwrap_or_default();
        Self {
            id: model.id,
            at: model.at,
            kind: model.kind,
            outcome: model.outcome,
            ip_address: model.ip_address,
            user_agent: model.user_agent,
            account_id: model.subject_id,
            actor_id: model.actor_id,
            session_id: model.session_id,
            request_id: model.request_id,
            details: async_graphql::Json(details),
        }
    }
}

/// The second step of a sign-in: send `mfaToken` with a code to `verifyMfa` before `expiresAt`.
#[derive(Debug, Clone, SimpleObject, Serialize)]
#[graphql(name = "MfaChallenge")]
#[serde(rename_all = "camelCase")]
pub struct MfaChallengeView {
    pub mfa_token: String,
    pub expires_at: DateTime<Utc>,
}

impl From<&mfa::Challenge> for MfaChallengeView {
    fn from(challenge: &mfa::Challenge) -> Self {
        Self {
            mfa_token: challenge.token.expose_secret().to_owned(),
            expires_at: challenge.expires_at,
        }
    }
}

/// A new TOTP secret to load into an authenticator app.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MfaSetup")]
pub struct MfaSetupView {
    /// Base32, for typing into the app by hand.
    pub secret: String,
    pub otpauth_uri: String,
    /// The `otpauth_uri` as a QR code, an SVG document.
    pub qr_code_svg: String,
}

impl From<mfa::Setup> for MfaSetupView {
    fn from(setup: mfa::Setup) -> Self {
        Self {
            secret: setup.secret.expose_secret().to_owned(),
            otpauth_uri: setup.otpauth_uri.expose_secret().to_owned(),
            qr_code_svg: setup.qr_code_svg,
        }
    }
}

/// Single-use recovery codes, shown once: only their hashes are kept.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "RecoveryCodes")]
pub struct RecoveryCodesView {
    pub codes: Vec<String>,
}

impl From<Vec<secrecy::SecretString>> for RecoveryCodesView {
    fn from(codes: Vec<secrecy::SecretString>) -> Self {
        Self {
            codes: codes
                .iter()
                .map(|code| code.expose_secret().to_owned())
                .collect(),
        }
    }
}
