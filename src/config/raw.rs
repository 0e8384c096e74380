//! Every setting as an operator writes it: its name (`CUSTODIAN_` + the field in capitals, or
//! the field in `custodian.toml`), what it means, and its default. This is the one list of
//! names; `Settings` is what they become once checked.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::{Environment, LogFormat, MailTransport, RateLimitBackend};

/// Settings as read, before validation. Every field has a default, so no settings at all
/// serve a development instance over SQLite.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawSettings {
    /// `CUSTODIAN_LISTEN`: address to serve on.
    pub(super) listen: String,
    /// `CUSTODIAN_DATABASE_URL`: `sqlite://…` or `postgres://…`.
    pub(super) database_url: SecretString,
    /// `CUSTODIAN_ENV`: `development` or `production`.
    pub(super) env: Environment,
    /// `CUSTODIAN_PUBLIC_URL`: the address people reach this service at; base of links and
    /// the access token's issuer. In development, `http://` and the listen address.
    pub(super) public_url: Option<String>,
    /// `CUSTODIAN_COOKIE_SECURE`: Secure flag and `__Host-` prefix on cookies.
    pub(super) cookie_secure: bool,
    /// `CUSTODIAN_CORS_ORIGINS`: comma-separated exact origins allowed with credentials.
    pub(super) cors_origins: String,
    /// `CUSTODIAN_WEBAUTHN_RP_ID`: the domain passkeys are bound to (the WebAuthn relying
    /// party id); the public URL's host if unset. Changing it orphans every passkey.
    pub(super) webauthn_rp_id: Option<String>,
    /// `CUSTODIAN_WEBAUTHN_ORIGINS`: comma-separated origins whose pages may use passkeys; the
    /// public URL's origin (and, in development, the CORS origins under the relying party id)
    /// if unset.
    pub(super) webauthn_origins: String,
    /// `CUSTODIAN_ENCRYPTION_KEY`: base64 of 32 bytes; encrypts secrets at rest.
    pub(super) encryption_key: Option<SecretString>,
    /// `CUSTODIAN_PREVIOUS_ENCRYPTION_KEYS`: comma-separated older keys, still accepted for
    /// reading while data is re-encrypted under the current one.
    pub(super) previous_encryption_keys: Option<SecretString>,
    /// `CUSTODIAN_PLAYGROUND`: serve GraphiQL at `/`.
    pub(super) playground: Option<bool>,
    /// `CUSTODIAN_DATA_DIR`: where development files (SQLite, generated key) live.
    pub(super) data_dir: PathBuf,
    /// `CUSTODIAN_TOKEN_AUDIENCE`: the `aud` of access tokens.
    pub(super) token_audience: String,
    /// `CUSTODIAN_ACCESS_TOKEN_TTL_SECS`: access token lifetime.
    pub(super) access_token_ttl_secs: u64,
    /// `CUSTODIAN_SESSION_IDLE_TTL_SECS`: a session ends after this long without a refresh.
    pub(super) session_idle_ttl_secs: u64,
    /// `CUSTODIAN_SESSION_ABSOLUTE_TTL_SECS`: a session ends this long after sign-in, whatever.
    pub(super) session_absolute_ttl_secs: u64,
    /// `CUSTODIAN_REFRESH_GRACE_SECS`: how long a just-rotated refresh token still yields the
    /// same successor (two tabs refreshing at once).
    pub(super) refresh_grace_secs: u64,
    /// `CUSTODIAN_REAUTH_WINDOW_SECS`: how long after proving the password (and code) a
    /// session may make sensitive changes without `reauthenticate`.
    pub(super) reauth_window_secs: u64,
    /// `CUSTODIAN_LOG_FORMAT`: `json` or `text`; JSON in production by default.
    pub(super) log_format: Option<LogFormat>,
    /// `CUSTODIAN_METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer`
    /// with this value.
    pub(super) metrics_token: Option<SecretString>,
    /// `CUSTODIAN_MAIL_TRANSPORT`: `file`, `smtp` or `log`; `smtp` when `CUSTODIAN_SMTP_URL`
    /// is set, `file` otherwise (production needs one of the two said).
    pub(super) mail_transport: Option<MailTransport>,
    /// `CUSTODIAN_MAIL_OUTBOX`: folder of the `file` transport; `<data dir>/outbox` if unset.
    pub(super) mail_outbox: Option<PathBuf>,
    /// `CUSTODIAN_SMTP_URL`: `smtp://user:pass@host:587?tls=required` or `smtps://…`.
    pub(super) smtp_url: Option<SecretString>,
    /// `CUSTODIAN_MAIL_FROM`: the sender, `Name <address>`.
    pub(super) mail_from: String,
    /// `CUSTODIAN_PRODUCT_NAME`: how emails name the service.
    pub(super) product_name: String,
    /// `CUSTODIAN_RESET_LINK_TEMPLATE`: the link in reset emails; `{public_url}` and `{token}`
    /// are filled in.
    pub(super) reset_link_template: String,
    /// `CUSTODIAN_VERIFY_EMAIL_LINK_TEMPLATE`: the link in verification emails.
    pub(super) verify_email_link_template: String,
    /// `CUSTODIAN_SESSIONS_LINK_TEMPLATE`: the page where people review and end their sessions,
    /// linked from new-sign-in emails; `{public_url}` is filled in.
    pub(super) sessions_link_template: String,
    /// `CUSTODIAN_EMAIL_CHANGE_LINK_TEMPLATE`: the link, sent to a new address, that moves the
    /// account to it.
    pub(super) email_change_link_template: String,
    /// `CUSTODIAN_EMAIL_CHANGE_REVERT_LINK_TEMPLATE`: the link, sent to the address an account
    /// left, that takes it back.
    pub(super) email_change_revert_link_template: String,
    /// `CUSTODIAN_PASSWORD_RESET_TTL_SECS`: how long a reset link works.
    pub(super) password_reset_ttl_secs: u64,
    /// `CUSTODIAN_EMAIL_VERIFICATION_TTL_SECS`: how long a verification link works.
    pub(super) email_verification_ttl_secs: u64,
    /// `CUSTODIAN_REQUIRE_VERIFIED_EMAIL`: refuse sign-in until the email is verified.
    pub(super) require_verified_email: bool,
    /// `CUSTODIAN_ADMIN_REQUIRE_MFA`: administrator fields refuse sessions that did not pass
    /// a second factor; `true` in production unless set.
    pub(super) admin_require_mfa: Option<bool>,
    /// `CUSTODIAN_MFA_ISSUER`: the name authenticator apps show beside the code.
    pub(super) mfa_issuer: String,
    /// `CUSTODIAN_TRUSTED_PROXIES`: comma-separated CIDRs whose `X-Forwarded-For` is believed.
    pub(super) trusted_proxies: String,
    /// `CUSTODIAN_RATE_LIMIT_BACKEND`: `memory` (one instance) or `redis` (shared).
    pub(super) rate_limit_backend: RateLimitBackend,
    /// `CUSTODIAN_REDIS_URL`: the Redis that shares rate limits between instances.
    pub(super) redis_url: Option<SecretString>,
    /// `CUSTODIAN_RATE_LIMITS`: overrides, `rule=count/seconds,…` (e.g. `login_ip=60/60`).
    pub(super) rate_limits: String,
    /// `CUSTODIAN_MIN_AGE`: the youngest a person may be, in full years, to hold an account.
    pub(super) min_age: u32,
    /// `CUSTODIAN_HEADER_TIMEOUT_SECS`: how long a client may take to send a request's headers,
    /// and a keep-alive connection may sit idle, before it is closed.
    pub(super) header_timeout_secs: u64,
    /// `CUSTODIAN_MAX_CONNECTIONS`: connections served at once; more wait to be accepted.
    pub(super) max_connections: usize,
    /// `CUSTODIAN_SHUTDOWN_GRACE_SECS`: how long requests in flight may finish after SIGTERM.
    pub(super) shutdown_grace_secs: u64,
    /// `CUSTODIAN_SESSION_RETENTION_DAYS`: how long an ended session stays listed (for the
    /// person's security page) before it is deleted.
    pub(super) session_retention_days: u32,
    /// `CUSTODIAN_MAIL_RETENTION_DAYS`: how long a delivered email stays in the outbox.
    pub(super) mail_retention_days: u32,
    /// `CUSTODIAN_HASH_QUEUE`: sign-ins and password changes that may wait for the password
    /// hashing threads; past them, one answers `SERVICE_UNAVAILABLE` at once. Cores × 32 if
    /// unset.
    pub(super) hash_queue: Option<usize>,
    /// `CUSTODIAN_CLIENT_DATA_RETENTION_DAYS`: how long IP addresses and user agents are kept
    /// in the audit trail and in ended sessions.
    pub(super) client_data_retention_days: u32,
    /// `CUSTODIAN_TRUSTED_DOCUMENTS`: a JSON manifest of `"sha256:<hex>"` (or bare hex) ids
    /// to document text, as graphql-codegen's persisted documents; clients may then send
    /// `documentId`.
    pub(super) trusted_documents: Option<PathBuf>,
    /// `CUSTODIAN_TRUSTED_DOCUMENTS_ONLY`: run nothing but the manifest's documents.
    pub(super) trusted_documents_only: bool,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/custodian.db?mode=rwc".into(),
            env: Environment::Development,
            public_url: None,
            cookie_secure: true,
            cors_origins: String::new(),
            webauthn_rp_id: None,
            webauthn_origins: String::new(),
            encryption_key: None,
            previous_encryption_keys: None,
            playground: None,
            data_dir: PathBuf::from("data"),
            token_audience: "custodian".into(),
            access_token_ttl_secs: 15 * 60,
            session_idle_ttl_secs: 7 * 24 * 3600,
            session_absolute_ttl_secs: 30 * 24 * 3600,
            refresh_grace_secs: 10,
            reauth_window_secs: 300,
            log_format: None,
            metrics_token: None,
            mail_transport: None,
            mail_outbox: None,
            smtp_url: None,
            mail_from: "Custodian <no-reply@localhost>".into(),
            product_name: "Custodian".into(),
            reset_link_template: "{public_url}/reset-password?token={token}".into(),
            verify_email_link_template: "{public_url}/verify-email?token={token}".into(),
            sessions_link_template: "{public_url}/sessions".into(),
            email_change_link_template: "{public_url}/confirm-email-change?token={token}".into(),
            email_change_revert_link_template: "{public_url}/revert-email-change?token={token}"
                .into(),
            password_reset_ttl_secs: 30 * 60,
            email_verification_ttl_secs: 24 * 3600,
            require_verified_email: false,
            admin_require_mfa: None,
            min_age: 18,
            client_data_retention_days: 90,
            hash_queue: None,
            session_retention_days: 90,
            mail_retention_days: 7,
            shutdown_grace_secs: 20,
            header_timeout_secs: 10,
            max_connections: 4096,
            mfa_issuer: "Custodian".into(),
            trusted_proxies: String::new(),
            rate_limit_backend: RateLimitBackend::Memory,
            redis_url: None,
            rate_limits: String::new(),
            trusted_documents: None,
            trusted_documents_only: false,
        }
    }
}
