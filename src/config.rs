use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Where the optional settings file is looked for, unless `CUSTODIAN_CONFIG` names another.
const DEFAULT_CONFIG_FILE: &str = "custodian.toml";

/// Development or production. Production refuses unsafe settings instead of warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

/// Settings as read, before validation. Every field has a default, so no settings at all
/// serve a development instance over SQLite.
#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawSettings {
    /// `CUSTODIAN_LISTEN`: address to serve on.
    listen: String,
    /// `CUSTODIAN_DATABASE_URL`: `sqlite://…` or `postgres://…`.
    database_url: SecretString,
    /// `CUSTODIAN_ENV`: `development` or `production`.
    env: Environment,
    /// `CUSTODIAN_PUBLIC_URL`: the address people reach this service at; base of links and
    /// the access token's issuer.
    public_url: String,
    /// `CUSTODIAN_COOKIE_SECURE`: Secure flag and `__Host-` prefix on cookies.
    cookie_secure: bool,
    /// `CUSTODIAN_CORS_ORIGINS`: comma-separated exact origins allowed with credentials.
    cors_origins: String,
    /// `CUSTODIAN_ENCRYPTION_KEY`: base64 of 32 bytes; encrypts secrets at rest.
    encryption_key: Option<SecretString>,
    /// `CUSTODIAN_PREVIOUS_ENCRYPTION_KEYS`: comma-separated older keys, still accepted for
    /// reading while data is re-encrypted under the current one.
    previous_encryption_keys: Option<SecretString>,
    /// `CUSTODIAN_PLAYGROUND`: serve GraphiQL at `/`.
    playground: Option<bool>,
    /// `CUSTODIAN_DATA_DIR`: where development files (SQLite, generated key) live.
    data_dir: PathBuf,
    /// `CUSTODIAN_TOKEN_AUDIENCE`: the `aud` of access tokens.
    token_audience: String,
    /// `CUSTODIAN_ACCESS_TOKEN_TTL_SECS`: access token lifetime.
    access_token_ttl_secs: u64,
    /// `CUSTODIAN_SESSION_IDLE_TTL_SECS`: a session ends after this long without a refresh.
    session_idle_ttl_secs: u64,
    /// `CUSTODIAN_SESSION_ABSOLUTE_TTL_SECS`: a session ends this long after sign-in, whatever.
    session_absolute_ttl_secs: u64,
    /// `CUSTODIAN_REFRESH_GRACE_SECS`: how long a just-rotated refresh token still yields the
    /// same successor (two tabs refreshing at once).
    refresh_grace_secs: u64,
    /// `CUSTODIAN_LOG_FORMAT`: `json` or `text`; JSON in production by default.
    log_format: Option<LogFormat>,
    /// `CUSTODIAN_METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer`
    /// with this value.
    metrics_token: Option<SecretString>,
    /// `CUSTODIAN_MAIL_TRANSPORT`: `file`, `smtp` or `log`.
    mail_transport: MailTransport,
    /// `CUSTODIAN_MAIL_OUTBOX`: folder of the `file` transport; `<data dir>/outbox` if unset.
    mail_outbox: Option<PathBuf>,
    /// `CUSTODIAN_SMTP_URL`: `smtp://user:pass@host:587?tls=required` or `smtps://…`.
    smtp_url: Option<SecretString>,
    /// `CUSTODIAN_MAIL_FROM`: the sender, `Name <address>`.
    mail_from: String,
    /// `CUSTODIAN_PRODUCT_NAME`: how emails name the service.
    product_name: String,
    /// `CUSTODIAN_RESET_LINK_TEMPLATE`: the link in reset emails; `{public_url}` and `{token}`
    /// are filled in.
    reset_link_template: String,
    /// `CUSTODIAN_VERIFY_EMAIL_LINK_TEMPLATE`: the link in verification emails.
    verify_email_link_template: String,
    /// `CUSTODIAN_PASSWORD_RESET_TTL_SECS`: how long a reset link works.
    password_reset_ttl_secs: u64,
    /// `CUSTODIAN_EMAIL_VERIFICATION_TTL_SECS`: how long a verification link works.
    email_verification_ttl_secs: u64,
    /// `CUSTODIAN_REQUIRE_VERIFIED_EMAIL`: refuse sign-in until the email is verified.
    require_verified_email: bool,
    /// `CUSTODIAN_MFA_ISSUER`: the name authenticator apps show beside the code.
    mfa_issuer: String,
    /// `CUSTODIAN_TRUSTED_PROXIES`: comma-separated CIDRs whose `X-Forwarded-For` is believed.
    trusted_proxies: String,
    /// `CUSTODIAN_RATE_LIMIT_BACKEND`: `memory` (one instance) or `redis` (shared).
    rate_limit_backend: RateLimitBackend,
    /// `CUSTODIAN_REDIS_URL`: the Redis that shares rate limits between instances.
    redis_url: Option<SecretString>,
    /// `CUSTODIAN_RATE_LIMITS`: overrides, `rule=count/seconds,…` (e.g. `login_ip=60/60`).
    rate_limits: String,
    /// `CUSTODIAN_MIN_AGE`: the youngest a person may be, in full years, to hold an account.
    min_age: u32,
}

/// How emails leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// One `.eml` file per message in the outbox folder.
    File,
    Smtp,
    /// Subject and message id only: bodies carry tokens.
    Log,
}

/// Everything the mail module and the email flows need.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub outbox: PathBuf,
    pub smtp_url: Option<SecretString>,
    pub from: String,
    pub product_name: String,
    pub reset_link_template: String,
    pub verify_email_link_template: String,
    pub password_reset_ttl: Duration,
    pub email_verification_ttl: Duration,
    pub require_verified_email: bool,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/custodian.db?mode=rwc".into(),
            env: Environment::Development,
            public_url: "http://localhost:8080".into(),
            cookie_secure: true,
            cors_origins: String::new(),
            encryption_key: None,
            previous_encryption_keys: None,
            playground: None,
            data_dir: PathBuf::from("data"),
            token_audience: "custodian".into(),
            access_token_ttl_secs: 15 * 60,
            session_idle_ttl_secs: 7 * 24 * 3600,
            session_absolute_ttl_secs: 30 * 24 * 3600,
            refresh_grace_secs: 10,
            log_format: None,
            metrics_token: None,
            mail_transport: MailTransport::File,
            mail_outbox: None,
            smtp_url: None,
            mail_from: "Custodian <no-reply@localhost>".into(),
            product_name: "Custodian".into(),
            reset_link_template: "{public_url}/reset-password?token={token}".into(),
            verify_email_link_template: "{public_url}/verify-email?token={token}".into(),
            password_reset_ttl_secs: 30 * 60,
            email_verification_ttl_secs: 24 * 3600,
            require_verified_email: false,
            min_age: 18,
            mfa_issuer: "Custodian".into(),
            trusted_proxies: String::new(),
            rate_limit_backend: RateLimitBackend::Memory,
            redis_url: None,
            rate_limits: String::new(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: SecretString,
    pub env: Environment,
    /// Without a trailing slash.
    pub public_url: String,
    pub cookie_secure: bool,
    pub cors_origins: Vec<String>,
    pub encryption_key: Option<SecretString>,
    pub previous_encryption_keys: Option<SecretString>,
    pub playground: bool,
    pub data_dir: PathBuf,
    pub token_audience: String,
    pub access_token_ttl: Duration,
    pub session_idle_ttl: Duration,
    pub session_absolute_ttl: Duration,
    pub refresh_grace: Duration,
    pub log_format: LogFormat,
    pub metrics_token: Option<SecretString>,
    pub mail: MailSettings,
    pub min_age: u32,
    pub mfa_issuer: String,
    pub trusted_proxies: Vec<IpNet>,
    pub rate_limit_backend: RateLimitBackend,
    pub redis_url: Option<SecretString>,
    /// Rule name → (count, period), over the defaults.
    pub rate_limits: Vec<(String, u32, Duration)>,
}

/// Where rate-limit counters live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitBackend {
    Memory,
    Redis,
}

/// A setting that cannot be used, named as the operator would set it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid setting {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("production refuses to start: {0}")]
    Production(String),
    #[error("cannot read settings: {0}")]
    Read(#[from] Box<figment::Error>),
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

impl Settings {
    /// Defaults, then `custodian.toml` (or the file `CUSTODIAN_CONFIG` names), then
    /// `CUSTODIAN_*` environment variables, which win.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("CUSTODIAN_CONFIG").unwrap_or_else(|_| DEFAULT_CONFIG_FILE.into());
        Self::from_figment(
            Figment::new()
                .merge(Toml::file(file))
                .merge(Env::prefixed("CUSTODIAN_")),
        )
    }

    /// Settings from defaults and the given `CUSTODIAN_*`-style pairs only (tests, tools).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ConfigError> {
        // Later pairs win, as later sources do.
        let pairs: std::collections::BTreeMap<String, &str> = pairs
            .into_iter()
            .map(|(key, value)| (key.to_lowercase(), value))
            .collect();
        let toml: String = pairs
            .iter()
            .map(|(key, value)| format!("{key} = {}\n", toml_string(value)))
            .collect();
        Self::from_figment(Figment::new().merge(Toml::string(&toml)))
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let raw: RawSettings = figment.extract().map_err(Box::new)?;
        Self::validate(raw)
    }

    fn validate(raw: RawSettings) -> Result<Self, ConfigError> {
        let listen = raw.listen.parse().map_err(|_| {
            invalid(
                "CUSTODIAN_LISTEN",
                format!("`{}` is not host:port", raw.listen),
            )
        })?;
        let public_url = raw.public_url.trim_end_matches('/').to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(invalid(
                "CUSTODIAN_PUBLIC_URL",
                "must start with http:// or https://",
            ));
        }
        let cors_origins = parse_origins(&raw.cors_origins)?;
        let production = raw.env == Environment::Production;
        if production {
            production_checks(&raw)?;
        }
        if raw.access_token_ttl_secs == 0 || raw.access_token_ttl_secs > 3600 {
            return Err(invalid(
                "CUSTODIAN_ACCESS_TOKEN_TTL_SECS",
                "must be between 1 and 3600",
            ));
        }
        if raw.session_idle_ttl_secs == 0 {
            return Err(invalid(
                "CUSTODIAN_SESSION_IDLE_TTL_SECS",
                "must be positive",
            ));
        }
        if raw.session_absolute_ttl_secs < raw.session_idle_ttl_secs {
            return Err(invalid(
                "CUSTODIAN_SESSION_ABSOLUTE_TTL_SECS",
                "must not be shorter than CUSTODIAN_SESSION_IDLE_TTL_SECS",
            ));
        }
        if raw.refresh_grace_secs > 60 {
            return Err(invalid(
                "CUSTODIAN_REFRESH_GRACE_SECS",
                "must be at most 60",
            ));
        }
        let mail = validate_mail(&raw, production)?;
        if raw.mfa_issuer.trim().is_empty() || raw.mfa_issuer.contains(':') {
            return Err(invalid(
                "CUSTODIAN_MFA_ISSUER",
                "must be a non-empty name without a colon",
            ));
        }
        let trusted_proxies = parse_cidrs(&raw.trusted_proxies)?;
        let rate_limits = parse_rate_limits(&raw.rate_limits)?;
        if raw.rate_limit_backend == RateLimitBackend::Redis && raw.redis_url.is_none() {
            return Err(invalid(
                "CUSTODIAN_REDIS_URL",
                "is required when CUSTODIAN_RATE_LIMIT_BACKEND is redis",
            ));
        }
        if raw.min_age > 120 {
            return Err(invalid("CUSTODIAN_MIN_AGE", "must be at most 120"));
        }
        Ok(Self {
            listen,
            database_url: raw.database_url,
            env: raw.env,
            public_url,
            cookie_secure: raw.cookie_secure,
            cors_origins,
            encryption_key: raw.encryption_key,
            previous_encryption_keys: raw.previous_encryption_keys,
            playground: raw.playground.unwrap_or(!production),
            data_dir: raw.data_dir,
            token_audience: raw.token_audience,
            access_token_ttl: Duration::from_secs(raw.access_token_ttl_secs),
            session_idle_ttl: Duration::from_secs(raw.session_idle_ttl_secs),
            session_absolute_ttl: Duration::from_secs(raw.session_absolute_ttl_secs),
            refresh_grace: Duration::from_secs(raw.refresh_grace_secs),
            log_format: raw.log_format.unwrap_or(if production {
                LogFormat::Json
            } else {
                LogFormat::Text
            }),
            metrics_token: raw
                .metrics_token
                .filter(|token| !token.expose_secret().is_empty()),
            mail,
            min_age: raw.min_age,
            mfa_issuer: raw.mfa_issuer,
            trusted_proxies,
            rate_limit_backend: raw.rate_limit_backend,
            redis_url: raw.redis_url,
            rate_limits,
        })
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }
}

/// Exact origins only: scheme, host and optional port, no path, never `*` or `null`.
fn validate_mail(raw: &RawSettings, production: bool) -> Result<MailSettings, ConfigError> {
    if raw.mail_from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(invalid(
            "CUSTODIAN_MAIL_FROM",
            "must be an address, optionally with a name: `Name <address>`",
        ));
    }
    for (name, template) in [
        ("CUSTODIAN_RESET_LINK_TEMPLATE", &raw.reset_link_template),
        (
            "CUSTODIAN_VERIFY_EMAIL_LINK_TEMPLATE",
            &raw.verify_email_link_template,
        ),
    ] {
        if !template.contains("{token}") {
            return Err(invalid(name, "must contain {token}"));
        }
    }
    if raw.password_reset_ttl_secs == 0 || raw.password_reset_ttl_secs > 24 * 3600 {
        return Err(invalid(
            "CUSTODIAN_PASSWORD_RESET_TTL_SECS",
            "must be between 1 and 86400",
        ));
    }
    if raw.email_verification_ttl_secs == 0 {
        return Err(invalid(
            "CUSTODIAN_EMAIL_VERIFICATION_TTL_SECS",
            "must be positive",
        ));
    }
    if raw.mail_transport == MailTransport::Smtp {
        let Some(url) = &raw.smtp_url else {
            return Err(invalid(
                "CUSTODIAN_SMTP_URL",
                "is required when CUSTODIAN_MAIL_TRANSPORT is smtp",
            ));
        };
        check_smtp_url(url.expose_secret(), production)?;
    }
    Ok(MailSettings {
        transport: raw.mail_transport,
        outbox: raw
            .mail_outbox
            .clone()
            .unwrap_or_else(|| raw.data_dir.join("outbox")),
        smtp_url: raw.smtp_url.clone(),
        from: raw.mail_from.clone(),
        product_name: raw.product_name.clone(),
        reset_link_template: raw.reset_link_template.clone(),
        verify_email_link_template: raw.verify_email_link_template.clone(),
        password_reset_ttl: Duration::from_secs(raw.password_reset_ttl_secs),
        email_verification_ttl: Duration::from_secs(raw.email_verification_ttl_secs),
        require_verified_email: raw.require_verified_email,
    })
}

/// The URL must name a host, and production never sends a password over plain text.
fn check_smtp_url(url: &str, production: bool) -> Result<(), ConfigError> {
    let name = "CUSTODIAN_SMTP_URL";
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid(name, "must look like smtp://host:port or smtps://host:port"))?;
    if scheme != "smtp" && scheme != "smtps" {
        return Err(invalid(name, "the scheme must be smtp or smtps"));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (credentials, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid(name, "must name a host"));
    }
    let encrypted = scheme == "smtps" || url.contains("tls=required");
    if production && credentials.contains(':') && !encrypted {
        return Err(invalid(
            name,
            "production refuses to send SMTP credentials unencrypted: use smtps:// or ?tls=required",
        ));
    }
    Ok(())
}

/// Everything production refuses, named all at once so one restart fixes them all.
fn production_checks(raw: &RawSettings) -> Result<(), ConfigError> {
    let mut problems = Vec::new();
    if raw.encryption_key.is_none() {
        problems.push(
            "CUSTODIAN_ENCRYPTION_KEY is missing: production never uses a generated key (make one with `openssl rand -base64 32`)",
        );
    }
    if !raw.cookie_secure {
        problems.push("CUSTODIAN_COOKIE_SECURE is false: production requires Secure cookies");
    }
    if !raw.public_url.starts_with("https://") {
        problems.push("CUSTODIAN_PUBLIC_URL is not https: production is served over TLS");
    }
    if raw.rate_limit_backend == RateLimitBackend::Memory {
        tracing::warn!(
            "CUSTODIAN_RATE_LIMIT_BACKEND is memory: limits are per instance; use redis when running several"
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Production(problems.join("; ")))
    }
}

fn parse_cidrs(list: &str) -> Result<Vec<IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    invalid(
                        "CUSTODIAN_TRUSTED_PROXIES",
                        format!("`{item}` is not an IP address or CIDR"),
                    )
                })
        })
        .collect()
}

fn parse_rate_limits(list: &str) -> Result<Vec<(String, u32, Duration)>, ConfigError> {
    let name = "CUSTODIAN_RATE_LIMITS";
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let bad = || invalid(name, format!("`{item}` is not rule=count/seconds"));
            let (rule, quota) = item.split_once('=').ok_or_else(bad)?;
            let (count, seconds) = quota.split_once('/').ok_or_else(bad)?;
            let count: u32 = count.trim().parse().map_err(|_| bad())?;
            let seconds: u64 = seconds.trim().parse().map_err(|_| bad())?;
            if count == 0 || seconds == 0 {
                return Err(bad());
            }
            Ok((rule.trim().to_owned(), count, Duration::from_secs(seconds)))
        })
        .collect()
}

fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains('/') && !host.contains('*') => {
                    Ok(origin.to_owned())
                }
                _ => Err(invalid(
                    "CUSTODIAN_CORS_ORIGINS",
                    format!("`{origin}` is not an exact origin such as https://app.example.com"),
                )),
            }
        })
        .collect()
}

fn toml_string(value: &str) -> String {
    match value {
        "true" | "false" => value.to_owned(),
        number if number.parse::<u64>().is_ok() => number.to_owned(),
        text => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_development_over_sqlite() {
        let settings = Settings::from_pairs([]).expect("defaults are valid");
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert!(settings.playground);
        assert!(settings.cookie_secure);
        assert_eq!(settings.access_token_ttl, Duration::from_secs(900));
    }

    #[test]
    fn a_bad_setting_is_named_in_the_error() {
        let err = Settings::from_pairs([("LISTEN", "nowhere")]).expect_err("invalid");
        assert!(err.to_string().contains("CUSTODIAN_LISTEN"), "{err}");
        let err = Settings::from_pairs([("CORS_ORIGINS", "*")]).expect_err("invalid");
        assert!(err.to_string().contains("CUSTODIAN_CORS_ORIGINS"), "{err}");
    }

    #[test]
    fn production_names_every_unsafe_setting() {
        let err = Settings::from_pairs([("ENV", "production"), ("COOKIE_SECURE", "false")])
            .expect_err("invalid");
        for name in [
            "CUSTODIAN_ENCRYPTION_KEY",
            "CUSTODIAN_COOKIE_SECURE",
            "CUSTODIAN_PUBLIC_URL",
        ] {
            assert!(err.to_string().contains(name), "{err}");
        }
        let fine = Settings::from_pairs([
            ("ENV", "production"),
            (
                "ENCRYPTION_KEY",
                "c2VjcmV0LWtleS1tYXRlcmlhbC1kby1ub3QtbG9nISE=",
            ),
            ("PUBLIC_URL", "https://id.example.com"),
        ])
        .expect("valid");
        assert!(!fine.playground, "no playground unless asked for");
        let err = Settings::from_pairs([("ENV", "production"), ("CORS_ORIGINS", "*")])
            .expect_err("invalid");
        assert!(err.to_string().contains("CUSTODIAN_CORS_ORIGINS"), "{err}");
    }

    #[test]
    fn secrets_print_redacted() {
        let settings = Settings::from_pairs([
            (
                "ENCRYPTION_KEY",
                "c2VjcmV0LWtleS1tYXRlcmlhbC1kby1ub3QtbG9nISE=",
            ),
            (
                "DATABASE_URL",
                "postgres://app:db-password-123@db/custodian",
            ),
            ("METRICS_TOKEN", "metrics-token-456"),
        ])
        .expect("valid");
        let printed = format!("{settings:?}");
        assert!(printed.contains("[REDACTED]"), "{printed}");
        for secret in ["c2VjcmV0", "db-password-123", "metrics-token-456"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
    }
}
