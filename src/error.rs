use std::fmt;

/// The one error of the service layer. It knows nothing of HTTP or GraphQL: `graphql::errors`
/// and `http::error` each map it once. Public messages are fixed sentences; the detail of an
/// internal failure stays in the log under the request id.
#[derive(thiserror::Error)]
pub enum AppError {
    /// An input failed validation; `field` names it as the client spelled it.
    #[error("{message}")]
    BadInput { field: String, message: String },
    /// Wrong email or password: one error for both, so answers reveal no accounts.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// No access token at all: sign in.
    #[error("authentication required: sign in")]
    Unauthenticated,
    /// An access token was presented and not accepted.
    #[error("{}", .0.message())]
    TokenRejected(TokenRejection),
    /// A refresh token that is missing, unknown, expired, reused or of an ended session.
    #[error("invalid or expired refresh token")]
    InvalidRefreshToken,
    /// Signed in, but not allowed to do this.
    #[error("{}", .0.message())]
    Forbidden(Denial),
    /// The change clashes with existing data (for example an email already registered).
    #[error("{message}")]
    Conflict { field: String, message: String },
    /// The MFA challenge of a sign-in is unknown, used, expired or out of attempts.
    #[error("this sign-in has expired or failed too often; sign in again")]
    MfaChallengeInvalid,
    /// A passkey no account holds, or whose answer did not verify: one error for both, as for
    /// passwords.
    #[error("this passkey was not accepted: sign in another way")]
    PasskeyNotAccepted,
    /// This deployment has passkeys off: nothing names a domain to bind them to.
    #[error("passkeys are not set up on this server")]
    PasskeysUnavailable,
    /// A passkey sign-in whose challenge is unknown, used or expired: ask for a new one.
    #[error("this passkey sign-in has expired or was already used; start again")]
    PasskeyChallengeInvalid,
    /// Too many attempts under `rule`; try again after this many seconds.
    #[error("too many attempts ({rule}); try again later")]
    RateLimited {
        rule: &'static str,
        retry_after_secs: u64,
    },
    /// The shared rate limiter cannot be reached: sensitive fields refuse rather than run
    /// unlimited.
    #[error("this operation is briefly unavailable; try again shortly")]
    LimiterUnavailable { rule: &'static str },
    /// The password was right but the account's email is not verified yet, and the
    /// deployment requires it. A fresh verification link has been sent.
    #[error("confirm your email address before signing in: a new link has been sent to it")]
    EmailNotVerified,
    /// A sensitive change needs the password (and code) proved recently: call
    /// `reauthenticate`, then try again.
    #[error("confirm it is you: call reauthenticate with your password (and code), then retry")]
    ReauthenticationRequired,
    /// An administrator field, from a session that did not pass a second factor.
    #[error("administrator access needs two-step sign-in: turn it on and sign in with a code")]
    MfaRequired,
    /// Second-factor codes failed so often that only a password reset lets them be tried again.
    #[error("too many wrong codes: reset your password to try again")]
    SecondFactorBlocked,
    /// Nothing of that id that the caller may see.
    #[error("not found")]
    NotFound,
    /// Too much work queued (the password-hashing queue is full): try again in a moment.
    #[error("the service is busy; try again in a moment")]
    Overloaded,
    /// The database cannot be reached right now: nothing was changed; try again shortly.
    #[error("the service cannot reach its database; try again shortly")]
    DatabaseUnavailable,
    /// Anything unexpected: logged in full, answered as `INTERNAL` with the request id only.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The stable code clients switch on, as API.md lists them.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::InvalidCredentials
            | Self::Unauthenticated
            | Self::TokenRejected(_)
            | Self::InvalidRefreshToken
            | Self::MfaChallengeInvalid
            | Self::PasskeyNotAccepted
            | Self::PasskeyChallengeInvalid => "UNAUTHENTICATED",
            Self::Forbidden(_)
            | Self::PasskeysUnavailable
            | Self::EmailNotVerified
            | Self::ReauthenticationRequired
            | Self::MfaRequired
            | Self::SecondFactorBlocked => "FORBIDDEN",
            Self::RateLimited { .. } | Self::LimiterUnavailable { .. } => "RATE_LIMITED",
            Self::Conflict { .. } => "CONFLICT",
            Self::NotFound => "NOT_FOUND",
            Self::Overloaded | Self::DatabaseUnavailable => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The input field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::BadInput { field, .. } | Self::Conflict { field, .. } => Some(field),
            _ => None,
        }
    }

    /// A machine-readable reason beside the code, where one code covers several cases.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Unauthenticated => Some("AUTHENTICATION_REQUIRED"),
            Self::Overloaded => Some("OVERLOADED"),
            Self::DatabaseUnavailable => Some("DATABASE_UNAVAILABLE"),
            Self::TokenRejected(rejection) => Some(rejection.reason()),
            Self::Forbidden(denial) => Some(denial.reason()),
            Self::EmailNotVerified => Some("EMAIL_NOT_VERIFIED"),
            Self::ReauthenticationRequired => Some("REAUTHENTICATION_REQUIRED"),
            Self::MfaRequired => Some("MFA_REQUIRED"),
            Self::SecondFactorBlocked => Some("PASSWORD_RESET_REQUIRED"),
            Self::PasskeysUnavailable => Some("PASSKEYS_UNAVAILABLE"),
            _ => None,
        }
    }

    /// Seconds to wait before trying again, for `RATE_LIMITED`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::LimiterUnavailable { .. } => Some(5),
            Self::Overloaded => Some(1),
            Self::DatabaseUnavailable => Some(2),
            _ => None,
        }
    }

    /// The rate-limit rule that refused, for `RATE_LIMITED`.
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            Self::RateLimited { rule, .. } | Self::LimiterUnavailable { rule } => Some(rule),
            _ => None,
        }
    }

    /// Logs an internal failure with its whole cause chain (the span carries the request id).
    pub fn log_if_internal(&self) {
        if let Self::Internal(source) = self {
            tracing::error!(error = format!("{source:#}"), "internal error");
        }
    }
}

/// Why a presented access token was not accepted: clients refresh on one, sign in on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// Past its `exp`: refresh it.
    Expired,
    /// Malformed, forged, of another issuer or audience, or signed by a revoked key.
    Invalid,
    /// Its session was ended (logout, revocation, password change, closure): sign in again.
    SessionEnded,
}

impl TokenRejection {
    fn reason(self) -> &'static str {
        match self {
            Self::Expired => "TOKEN_EXPIRED",
            Self::Invalid => "TOKEN_INVALID",
            Self::SessionEnded => "SESSION_ENDED",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::Expired => "the access token has expired: refresh it",
            Self::Invalid => "the access token is not valid: sign in again",
            Self::SessionEnded => "this session has ended: sign in again",
        }
    }
}

/// Why a signed-in caller was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// The field needs a role the caller does not hold (administrator fields).
    RoleRequired,
    /// Administrators do not act on their own account (KYC review, suspension, role,
    /// second-factor reset).
    OwnAccount,
    /// The right password of an account support has frozen: sign-in is refused until it is
    /// reactivated. Only said to someone who proved the password.
    AccountSuspended,
    /// A second-factor reset needs two administrators: its requester cannot approve it.
    SecondAdministratorRequired,
}

impl Denial {
    fn reason(self) -> &'static str {
        match self {
            Self::RoleRequired => "ROLE_REQUIRED",
            Self::OwnAccount => "OWN_ACCOUNT",
            Self::AccountSuspended => "ACCOUNT_SUSPENDED",
            Self::SecondAdministratorRequired => "SECOND_ADMINISTRATOR_REQUIRED",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::RoleRequired => "not allowed: this needs an administrator",
            Self::OwnAccount => "not allowed on your own account: another administrator decides",
            Self::AccountSuspended => "this account is suspended: contact support",
            Self::SecondAdministratorRequired => {
                "not allowed: you requested this reset, so another administrator must approve it"
            }
        }
    }
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Internal(source) => write!(f, "Internal({source:?})"),
            other => write!(f, "{}: {other}", other.code()),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    /// A database that cannot be reached is the service's condition, said as such (and
    /// retried by clients); anything else is a fault, logged in full.
    fn from(err: sea_orm::DbErr) -> Self {
        if unreachable(&err) {
            tracing::warn!(error = %err, "database unreachable");
            return Self::DatabaseUnavailable;
        }
        Self::Internal(anyhow::Error::new(err).context("database"))
    }
}

/// Whether `err` says the database could not be reached (no connection to be had, or one lost
/// under the query), as opposed to a query it refused.
fn unreachable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx::Error};
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(inner))
        | DbErr::Exec(RuntimeErr::SqlxError(inner))
        | DbErr::Query(RuntimeErr::SqlxError(inner)) => matches!(
            inner.as_ref(),
            Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed
        ),
        DbErr::Conn(_) => true,
        _ => false,
    }
}

pub type AppResult<T> = Result<T, AppError>;
