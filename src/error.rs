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
    /// No valid access token, or the session behind it has ended.
    #[error("authentication required")]
    Unauthenticated,
    /// A refresh token that is missing, unknown, expired, reused or of an ended session.
    #[error("invalid or expired refresh token")]
    InvalidRefreshToken,
    /// Signed in, but not allowed to do this.
    #[error("not allowed")]
    Forbidden,
    /// The change clashes with existing data (for example an email already registered).
    #[error("{message}")]
    Conflict { field: String, message: String },
    /// The MFA challenge of a sign-in is unknown, used, expired or out of attempts.
    #[error("this sign-in has expired or failed too often; sign in again")]
    MfaChallengeInvalid,
    /// Too many attempts; try again after this many seconds.
    #[error("too many attempts; try again later")]
    RateLimited { retry_after_secs: u64 },
    /// The shared rate limiter cannot be reached: sensitive fields refuse rather than run
    /// unlimited.
    #[error("this operation is briefly unavailable; try again shortly")]
    LimiterUnavailable,
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
            | Self::InvalidRefreshToken
            | Self::MfaChallengeInvalid => "UNAUTHENTICATED",
            Self::Forbidden
            | Self::EmailNotVerified
            | Self::ReauthenticationRequired
            | Self::MfaRequired
            | Self::SecondFactorBlocked => "FORBIDDEN",
            Self::RateLimited { .. } | Self::LimiterUnavailable => "RATE_LIMITED",
            Self::Conflict { .. } => "CONFLICT",
            Self::NotFound => "NOT_FOUND",
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
            Self::EmailNotVerified => Some("EMAIL_NOT_VERIFIED"),
            Self::ReauthenticationRequired => Some("REAUTHENTICATION_REQUIRED"),
            Self::MfaRequired => Some("MFA_REQUIRED"),
            Self::SecondFactorBlocked => Some("PASSWORD_RESET_REQUIRED"),
            _ => None,
        }
    }

    /// Seconds to wait before trying again, for `RATE_LIMITED`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Self::LimiterUnavailable => Some(5),
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

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Internal(source) => write!(f, "Internal({source:?})"),
            other => write!(f, "{}: {other}", other.code()),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(anyhow::Error::new(err).context("database"))
    }
}

pub type AppResult<T> = Result<T, AppError>;
