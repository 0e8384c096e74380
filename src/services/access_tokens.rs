//! Access tokens: short-lived EdDSA JWTs (RFC 9068 profile, `typ: at+jwt`).
//!
//! Verification trusts nothing the token says about how to verify it: the algorithm must be
//! EdDSA, the key is looked up by `kid` among our own keys only (`jwk`, `jku`, `x5u` are
//! ignored), and expiry is checked against the injectable clock.

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, Header, Validation};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::signing_keys;
use crate::{
    cache::tokens::VerifiedToken,
    domain::{AccountId, Role, SessionId},
    error::{AppError, AppResult, TokenRejection},
    state::AppState,
};

const TOKEN_TYPE: &str = "at+jwt";
/// Tolerated clock difference between instances.
const LEEWAY_SECS: i64 = 5;

/// How the person proved who they are, as the access token's `amr` says it (RFC 8176 values)
/// and as the session keeps it, so every refresh says the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethods {
    Password,
    PasswordAndOtp,
    /// The password, then a passkey as the second step.
    PasswordAndPasskey,
    /// A passkey alone: a key held in hardware (`hwk`) that verified its user (`user`).
    Passkey,
}

impl AuthMethods {
    const ALL: [Self; 4] = [
        Self::Password,
        Self::PasswordAndOtp,
        Self::PasswordAndPasskey,
        Self::Passkey,
    ];

    fn claim(self) -> &'static [&'static str] {
        match self {
            Self::Password => &["pwd"],
            Self::PasswordAndOtp => &["pwd", "otp"],
            Self::PasswordAndPasskey => &["pwd", "hwk"],
            Self::Passkey => &["hwk", "user"],
        }
    }

    /// More than one factor: a passkey verifies its user itself.
    pub fn is_multi_factor(self) -> bool {
        self != Self::Password
    }

    /// What the sign-in started from, as audit events name it.
    pub fn first_factor(self) -> &'static str {
        match self {
            Self::Passkey => "passkey",
            Self::Password | Self::PasswordAndOtp | Self::PasswordAndPasskey => "password",
        }
    }

    /// As a session stores it: the `amr` values, space-separated.
    pub fn stored(self) -> String {
        self.claim().join(" ")
    }

    /// What a session stored; `None` for anything this version never writes.
    pub fn from_stored(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|methods| methods.stored() == text)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: Uuid,
    sid: Uuid,
    jti: Uuid,
    iat: i64,
    exp: i64,
    role: String,
    amr: Vec<String>,
}

/// A signed access token and when it stops working.
pub struct AccessToken {
    pub token: SecretString,
    pub expires_at: DateTime<Utc>,
}

/// What a verified access token says. The session behind it still has to be checked.
#[derive(Debug, Clone)]
pub struct TokenClaims {
    pub account: AccountId,
    pub session: SessionId,
    pub role: Role,
}

pub fn issue(
    state: &AppState,
    account: AccountId,
    session: SessionId,
    role: Role,
    methods: AuthMethods,
) -> AppResult<AccessToken> {
    let now = state.clock.now();
    let expires_at = now
        + TimeDelta::from_std(state.settings.sessions.access_token_ttl)
            .map_err(anyhow::Error::from)?;
    let claims = Claims {
        iss: state.settings.server.public_url.clone(),
        aud: state.settings.sessions.token_audience.clone(),
        sub: account.0,
        sid: session.0,
        jti: Uuid::now_v7(),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
        role: role.as_str().into(),
        amr: methods
            .claim()
            .iter()
            .map(|value| (*value).to_owned())
            .collect(),
    };
    let (kid, key) = state.keyring.signer(now);
    let header = Header {
        typ: Some(TOKEN_TYPE.into()),
        kid: Some(kid),
        ..Header::new(Algorithm::EdDSA)
    };
    let token = jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|err| AppError::Internal(anyhow::anyhow!("cannot sign an access token: {err}")))?;
    Ok(AccessToken {
        token: token.into(),
        expires_at,
    })
}

/// Checks signature, type, issuer, audience and lifetime. A token past its `exp` is
/// `TOKEN_EXPIRED` (refresh it), any other failure `TOKEN_INVALID`. A token seen before skips
/// the signature check while its key is still trusted; its lifetime is checked every time.
pub async fn verify(state: &AppState, token: &str) -> AppResult<TokenClaims> {
    let now = state.clock.now().timestamp();
    if let Some(known) = state.tokens.get(token)
        && state.keyring.verifier(&known.kid).is_some()
    {
        check_lifetime(known.issued_at, known.expires_at, now)?;
        return Ok(TokenClaims {
            account: known.account,
            session: known.session,
            role: known.role,
        });
    }
    // Once per token and process: boxed, so the cached path's future stays small.
    let verified = Box::pin(verify_signed(state, token)).await?;
    check_lifetime(verified.issued_at, verified.expires_at, now)?;
    let claims = TokenClaims {
        account: verified.account,
        session: verified.session,
        role: verified.role,
    };
    state.tokens.keep(token, verified, now);
    Ok(claims)
}

/// What the token says, if it is one of ours: signature, type, issuer and audience.
async fn verify_signed(state: &AppState, token: &str) -> AppResult<VerifiedToken> {
    let invalid = || AppError::TokenRejected(TokenRejection::Invalid);
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
    if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(TOKEN_TYPE) {
        return Err(invalid());
    }
    let kid = header.kid.ok_or_else(invalid)?;
    let key = signing_keys::verifier(state, &kid)
        .await
        .ok_or_else(invalid)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[&state.settings.sessions.token_audience]);
    validation.set_issuer(&[&state.settings.server.public_url]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map_err(|_| invalid())?
        .claims;
    let role = Role::parse(&claims.role).ok_or_else(invalid)?;
    Ok(VerifiedToken {
        account: AccountId(claims.sub),
        session: SessionId(claims.sid),
        role,
        kid: kid.into(),
        issued_at: claims.iat,
        expires_at: claims.exp,
    })
}

/// Issued no later than now and not yet expired, give or take the clocks' difference.
fn check_lifetime(issued_at: i64, expires_at: i64, now: i64) -> AppResult<()> {
    if issued_at - LEEWAY_SECS > now {
        return Err(AppError::TokenRejected(TokenRejection::Invalid));
    }
    if expires_at + LEEWAY_SECS <= now {
        return Err(AppError::TokenRejected(TokenRejection::Expired));
    }
    Ok(())
}
