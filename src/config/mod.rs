//! Settings: read from defaults, `custodian.toml` and `CUSTODIAN_*` variables (`raw.rs` names
//! every one), checked once at start, and handed out grouped by the concern that uses them.

mod lists;
mod passkeys;
mod raw;
mod sources;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Format, Toml},
};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use lists::{check_smtp_url, parse_cidrs, parse_origins, parse_rate_limits};
pub use passkeys::PasskeySettings;
use raw::RawSettings;

/// Where the optional settings file is looked for, unless `CUSTODIAN_CONFIG` names another.
const DEFAULT_CONFIG_FILE: &str = "custodian.toml";

/// The name of every setting, as a key of the settings file (`listen`).
pub fn setting_names() -> &'static [&'static str] {
    sources::known_keys()
}

/// `register_ip` in development, per hour.
const DEVELOPMENT_REGISTRATIONS_PER_HOUR: u32 = 1000;

/// Development or production. Production refuses unsafe settings instead of warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

/// Validated settings, grouped by the concern that uses them.
#[derive(Debug, Clone)]
pub struct Settings {
    pub env: Environment,
    pub database_url: SecretString,
    pub server: ServerSettings,
    pub crypto: CryptoSettings,
    pub sessions: SessionSettings,
    pub mail: MailSettings,
    pub limits: LimitSettings,
    pub profile: ProfileSettings,
    pub retention: RetentionSettings,
    /// `None` when passkeys are off (nothing names a domain to bind them to).
    pub passkeys: Option<PasskeySettings>,
    /// What was accepted but deserves a word at start (ignored variables, risky choices).
    pub warnings: Vec<String>,
}

/// Where and how the service is reached over HTTP, and what it logs.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// Without a trailing slash: the base of links and the access token's issuer.
    pub public_url: String,
    pub cookie_secure: bool,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub playground: bool,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub metrics_token: Option<SecretString>,
    pub trusted_documents: TrustedDocumentSettings,
    /// Callers that may wait for the password-hashing threads.
    pub hash_queue: usize,
    /// How long requests in flight may finish after shutdown begins.
    pub shutdown_grace: Duration,
    /// For a request's headers to arrive, and for an idle keep-alive connection.
    pub header_timeout: Duration,
    pub max_connections: usize,
}

/// Where the trusted documents' manifest is, and whether only its documents may run. The
/// manifest itself is read and checked when the server starts.
#[derive(Debug, Clone, Default)]
pub struct TrustedDocumentSettings {
    pub manifest: Option<PathBuf>,
    pub only: bool,
}

impl TrustedDocumentSettings {
    fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        let manifest = raw
            .trusted_documents
            .clone()
            .filter(|path| !path.as_os_str().is_empty());
        if raw.trusted_documents_only && manifest.is_none() {
            return Err(invalid(
                "CUSTODIAN_TRUSTED_DOCUMENTS_ONLY",
                "is true but CUSTODIAN_TRUSTED_DOCUMENTS names no manifest",
            ));
        }
        Ok(Self {
            manifest,
            only: raw.trusted_documents_only,
        })
    }
}

/// The keys that seal data at rest.
#[derive(Debug, Clone)]
pub struct CryptoSettings {
    pub encryption_key: Option<SecretString>,
    pub previous_encryption_keys: Option<SecretString>,
}

/// Tokens, sessions and what signing in requires.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub token_audience: String,
    pub access_token_ttl: Duration,
    pub idle_ttl: Duration,
    pub absolute_ttl: Duration,
    pub refresh_grace: Duration,
    /// How long a session counts as recently authenticated.
    pub reauth_window: Duration,
    pub require_verified_email: bool,
    /// Administrator fields need a session that passed a second factor.
    pub admin_require_mfa: bool,
    /// The name authenticator apps show beside the code.
    pub mfa_issuer: String,
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
    pub sessions_link_template: String,
    pub email_change_link_template: String,
    pub email_change_revert_link_template: String,
    pub password_reset_ttl: Duration,
    pub email_verification_ttl: Duration,
}

/// Where rate-limit counters live, and the quotas that differ from the defaults.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    pub backend: RateLimitBackend,
    pub redis_url: Option<SecretString>,
    /// Rule name → (count, period), over the defaults.
    pub overrides: Vec<(String, u32, Duration)>,
}

/// How long personal data that serves security is kept.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// IP addresses and user agents in the audit trail and in ended sessions.
    pub client_data: Duration,
    /// Ended sessions, before they are deleted.
    pub sessions: Duration,
    /// Delivered email, before it leaves the outbox.
    pub delivered_mail: Duration,
}

impl RetentionSettings {
    fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        if !(1..=3650).contains(&raw.client_data_retention_days) {
            return Err(invalid(
                "CUSTODIAN_CLIENT_DATA_RETENTION_DAYS",
                "must be between 1 and 3650",
            ));
        }
        if !(1..=3650).contains(&raw.session_retention_days) {
            return Err(invalid(
                "CUSTODIAN_SESSION_RETENTION_DAYS",
                "must be between 1 and 3650",
            ));
        }
        Ok(Self {
            client_data: Duration::from_secs(u64::from(raw.client_data_retention_days) * 86_400),
            sessions: Duration::from_secs(u64::from(raw.session_retention_days) * 86_400),
            delivered_mail: Duration::from_secs(u64::from(raw.mail_retention_days) * 86_400),
        })
    }
}

/// The rules a finance profile is held to.
#[derive(Debug, Clone)]
pub struct ProfileSettings {
    /// The youngest a person may be, in full years, to hold an account.
    pub min_age: u32,
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

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
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
    /// A value that cannot be read, under the name the operator gave it.
    #[error("invalid setting {name}: {reason}")]
    Value { name: String, reason: String },
    /// Keys of the settings file that are no setting.
    #[error("{0}")]
    Unknown(String),
    #[error("production refuses to start: {0}")]
    Production(String),
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

fn toml_string(value: &str) -> String {
    match value {
        "true" | "false" => value.to_owned(),
        number if number.parse::<u64>().is_ok() => number.to_owned(),
        text => format!("{text:?}"),
    }
}

impl Settings {
    /// Defaults, then `custodian.toml` (or the file `CUSTODIAN_CONFIG` names), then
    /// `CUSTODIAN_*` environment variables, which win.
    pub fn load() -> Result<Self, ConfigError> {
        let path = std::env::var("CUSTODIAN_CONFIG").unwrap_or_else(|_| DEFAULT_CONFIG_FILE.into());
        let file = Figment::new().merge(Toml::file(&path));
        sources::unknown_file_keys(&file, &path)?;
        let merged = file.merge(sources::variables());
        let mut settings = Self::from_figment(merged.clone())
            .map_err(|err| sources::as_written(err, &merged, &path))?;
        settings.warnings.extend(sources::unknown_variables());
        Ok(settings)
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
        let raw: RawSettings = figment.extract().map_err(|err| sources::read_error(&err))?;
        let production = raw.env == Environment::Production;
        let server = ServerSettings::from_raw(&raw, production)?;
        let mut warnings = Vec::new();
        if production {
            production_checks(&raw, &mut warnings)?;
        }
        let passkeys = PasskeySettings::from_raw(
            &raw,
            &server.public_url,
            &server.cors_origins,
            production,
            &mut warnings,
        )?;
        let mail = MailSettings::from_raw(&raw, production)?;
        if production && mail.transport == MailTransport::File {
            warnings.push(
                "CUSTODIAN_MAIL_TRANSPORT is file in production: emails are written to files, not sent"
                    .to_owned(),
            );
        }
        Ok(Self {
            env: raw.env,
            server,
            crypto: CryptoSettings {
                encryption_key: raw.encryption_key.clone(),
                previous_encryption_keys: raw.previous_encryption_keys.clone(),
            },
            sessions: SessionSettings::from_raw(&raw)?,
            mail,
            limits: LimitSettings::from_raw(&raw)?,
            profile: ProfileSettings::from_raw(&raw)?,
            retention: RetentionSettings::from_raw(&raw)?,
            passkeys,
            database_url: sqlite_creates_its_file(raw.database_url),
            warnings,
        })
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }
}

impl ServerSettings {
    fn from_raw(raw: &RawSettings, production: bool) -> Result<Self, ConfigError> {
        let listen = listen_address(&raw.listen)?;
        let public_url = raw
            .public_url
            .clone()
            .unwrap_or_else(|| development_public_url(listen));
        let public_url = public_url.trim_end_matches('/').to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(invalid(
                "CUSTODIAN_PUBLIC_URL",
                "must start with http:// or https://",
            ));
        }
        Ok(Self {
            listen,
            public_url,
            cookie_secure: raw.cookie_secure,
            cors_origins: parse_origins(&raw.cors_origins)?,
            trusted_proxies: parse_cidrs(&raw.trusted_proxies)?,
            playground: raw.playground.unwrap_or(!production),
            data_dir: raw.data_dir.clone(),
            log_format: raw.log_format.unwrap_or(if production {
                LogFormat::Json
            } else {
                LogFormat::Text
            }),
            metrics_token: raw
                .metrics_token
                .clone()
                .filter(|token| !token.expose_secret().is_empty()),
            trusted_documents: TrustedDocumentSettings::from_raw(raw)?,
            shutdown_grace: Duration::from_secs(raw.shutdown_grace_secs),
            header_timeout: match raw.header_timeout_secs {
                0 => {
                    return Err(invalid(
                        "CUSTODIAN_HEADER_TIMEOUT_SECS",
                        "must be at least 1",
                    ));
                }
                secs => Duration::from_secs(secs),
            },
            max_connections: match raw.max_connections {
                0 => return Err(invalid("CUSTODIAN_MAX_CONNECTIONS", "must be at least 1")),
                max => max,
            },
            hash_queue: match raw.hash_queue {
                Some(0) => return Err(invalid("CUSTODIAN_HASH_QUEUE", "must be at least 1")),
                Some(queue) => queue,
                None => std::thread::available_parallelism().map_or(1, usize::from) * 32,
            },
        })
    }
}

impl SessionSettings {
    fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
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
        if raw.reauth_window_secs == 0 || raw.reauth_window_secs > 24 * 3600 {
            return Err(invalid(
                "CUSTODIAN_REAUTH_WINDOW_SECS",
                "must be between 1 and 86400",
            ));
        }
        if raw.mfa_issuer.trim().is_empty() || raw.mfa_issuer.contains(':') {
            return Err(invalid(
                "CUSTODIAN_MFA_ISSUER",
                "must be a non-empty name without a colon",
            ));
        }
        Ok(Self {
            token_audience: raw.token_audience.clone(),
            access_token_ttl: Duration::from_secs(raw.access_token_ttl_secs),
            idle_ttl: Duration::from_secs(raw.session_idle_ttl_secs),
            absolute_ttl: Duration::from_secs(raw.session_absolute_ttl_secs),
            refresh_grace: Duration::from_secs(raw.refresh_grace_secs),
            reauth_window: Duration::from_secs(raw.reauth_window_secs),
            require_verified_email: raw.require_verified_email,
            admin_require_mfa: raw
                .admin_require_mfa
                .unwrap_or(raw.env == Environment::Production),
            mfa_issuer: raw.mfa_issuer.clone(),
        })
    }
}

impl MailSettings {
    fn from_raw(raw: &RawSettings, production: bool) -> Result<Self, ConfigError> {
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
            (
                "CUSTODIAN_EMAIL_CHANGE_LINK_TEMPLATE",
                &raw.email_change_link_template,
            ),
            (
                "CUSTODIAN_EMAIL_CHANGE_REVERT_LINK_TEMPLATE",
                &raw.email_change_revert_link_template,
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
        let transport = raw.mail_transport.unwrap_or(if raw.smtp_url.is_some() {
            MailTransport::Smtp
        } else {
            MailTransport::File
        });
        if transport == MailTransport::Smtp {
            let Some(url) = &raw.smtp_url else {
                return Err(invalid(
                    "CUSTODIAN_SMTP_URL",
                    "is required when CUSTODIAN_MAIL_TRANSPORT is smtp",
                ));
            };
            check_smtp_url(url.expose_secret(), production)?;
        }
        Ok(Self {
            transport,
            outbox: raw
                .mail_outbox
                .clone()
                .unwrap_or_else(|| raw.data_dir.join("outbox")),
            smtp_url: raw.smtp_url.clone(),
            from: raw.mail_from.clone(),
            product_name: raw.product_name.clone(),
            reset_link_template: raw.reset_link_template.clone(),
            verify_email_link_template: raw.verify_email_link_template.clone(),
            sessions_link_template: raw.sessions_link_template.clone(),
            email_change_link_template: raw.email_change_link_template.clone(),
            email_change_revert_link_template: raw.email_change_revert_link_template.clone(),
            password_reset_ttl: Duration::from_secs(raw.password_reset_ttl_secs),
            email_verification_ttl: Duration::from_secs(raw.email_verification_ttl_secs),
        })
    }
}

impl LimitSettings {
    fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        if raw.rate_limit_backend == RateLimitBackend::Redis && raw.redis_url.is_none() {
            return Err(invalid(
                "CUSTODIAN_REDIS_URL",
                "is required when CUSTODIAN_RATE_LIMIT_BACKEND is redis",
            ));
        }
        let mut overrides = Vec::new();
        if raw.env == Environment::Development {
            // Someone building a sign-up form registers dozens of times an hour from one
            // address; production keeps the rule's own limit. Explicit overrides still win.
            overrides.push((
                "register_ip".to_owned(),
                DEVELOPMENT_REGISTRATIONS_PER_HOUR,
                Duration::from_secs(3600),
            ));
        }
        overrides.extend(parse_rate_limits(&raw.rate_limits)?);
        Ok(Self {
            backend: raw.rate_limit_backend,
            redis_url: raw.redis_url.clone(),
            overrides,
        })
    }
}

impl ProfileSettings {
    fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        if raw.min_age > 120 {
            return Err(invalid("CUSTODIAN_MIN_AGE", "must be at most 120"));
        }
        Ok(Self {
            min_age: raw.min_age,
        })
    }
}

/// The address to listen on: an IP and port, or a host name and port resolved once at start
/// (an IPv4 address first, as `localhost` usually means).
fn listen_address(listen: &str) -> Result<SocketAddr, ConfigError> {
    if let Ok(address) = listen.parse() {
        return Ok(address);
    }
    let explain = || {
        invalid(
            "CUSTODIAN_LISTEN",
            format!(
                "`{listen}` is not host:port (for example 127.0.0.1:8080, 0.0.0.0:8080 or localhost:8080)"
            ),
        )
    };
    let addresses: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(listen)
        .map_err(|_| explain())?
        .collect();
    addresses
        .iter()
        .find(|address| address.is_ipv4())
        .or_else(|| addresses.first())
        .copied()
        .ok_or_else(explain)
}

/// Development's public address: where it listens, as a browser on this machine reaches it.
fn development_public_url(listen: SocketAddr) -> String {
    let host = if listen.ip().is_loopback() || listen.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        match listen.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            std::net::IpAddr::V4(ip) => ip.to_string(),
        }
    };
    format!("http://{host}:{}", listen.port())
}

/// A SQLite URL that names no `mode` opens read-write and creates its file, as a first run
/// expects; one that names a mode keeps it.
fn sqlite_creates_its_file(url: SecretString) -> SecretString {
    let text = url.expose_secret();
    if !text.starts_with("sqlite:") || text.contains("mode=") {
        return url;
    }
    let separator = if text.contains('?') { '&' } else { '?' };
    SecretString::from(format!("{text}{separator}mode=rwc"))
}

/// Everything production refuses, named all at once so one restart fixes them all.
fn production_checks(raw: &RawSettings, warnings: &mut Vec<String>) -> Result<(), ConfigError> {
    let mut problems = Vec::new();
    if raw.encryption_key.is_none() {
        problems.push(
            "CUSTODIAN_ENCRYPTION_KEY is missing: production never uses a generated key (make one with `openssl rand -base64 32`)",
        );
    }
    if !raw.cookie_secure {
        problems.push("CUSTODIAN_COOKIE_SECURE is false: production requires Secure cookies");
    }
    match &raw.public_url {
        None => problems.push(
            "CUSTODIAN_PUBLIC_URL is missing: links in emails and the tokens' issuer need the address people reach",
        ),
        Some(url) if !url.starts_with("https://") => {
            problems.push("CUSTODIAN_PUBLIC_URL is not https: production is served over TLS");
        }
        Some(_) => {}
    }
    if raw.mail_transport.is_none() && raw.smtp_url.is_none() {
        problems.push(
            "neither CUSTODIAN_SMTP_URL nor CUSTODIAN_MAIL_TRANSPORT is set: production sends email over SMTP (or say CUSTODIAN_MAIL_TRANSPORT=file to keep it in files)",
        );
    }
    if raw.rate_limit_backend == RateLimitBackend::Memory {
        warnings.push(
            "CUSTODIAN_RATE_LIMIT_BACKEND is memory: limits are per instance; use redis when running several"
                .to_owned(),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Production(problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_development_over_sqlite() {
        let settings = Settings::from_pairs([]).expect("defaults are valid");
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:8080");
        assert!(settings.server.playground);
        assert!(settings.server.cookie_secure);
        assert_eq!(settings.sessions.access_token_ttl, Duration::from_secs(900));
    }

    #[test]
    fn a_bad_setting_is_named_in_the_error() {
        let err = Settings::from_pairs([("LISTEN", "nowhere")]).expect_err("invalid");
        assert!(err.to_string().contains("CUSTODIAN_LISTEN"), "{err}");
        let err = Settings::from_pairs([("CORS_ORIGINS", "*")]).expect_err("invalid");
        assert!(err.to_string().contains("CUSTODIAN_CORS_ORIGINS"), "{err}");
    }

    #[test]
    fn trusted_documents_only_needs_a_manifest() {
        let err =
            Settings::from_pairs([("TRUSTED_DOCUMENTS_ONLY", "true")]).expect_err("no manifest");
        assert!(
            err.to_string().contains("CUSTODIAN_TRUSTED_DOCUMENTS_ONLY"),
            "{err}"
        );
        let settings = Settings::from_pairs([
            ("TRUSTED_DOCUMENTS", "documents.json"),
            ("TRUSTED_DOCUMENTS_ONLY", "true"),
        ])
        .expect("valid");
        let documents = &settings.server.trusted_documents;
        assert_eq!(documents.manifest, Some(PathBuf::from("documents.json")));
        assert!(documents.only);
        let unset = Settings::from_pairs([("TRUSTED_DOCUMENTS", "")]).expect("valid");
        assert_eq!(unset.server.trusted_documents.manifest, None);
    }

    #[test]
    fn production_names_every_unsafe_setting() {
        let err = Settings::from_pairs([("ENV", "production"), ("COOKIE_SECURE", "false")])
            .expect_err("invalid");
        for name in [
            "CUSTODIAN_ENCRYPTION_KEY",
            "CUSTODIAN_COOKIE_SECURE",
            "CUSTODIAN_PUBLIC_URL",
            "CUSTODIAN_SMTP_URL",
            "CUSTODIAN_MAIL_TRANSPORT",
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
            ("SMTP_URL", "smtps://mailer:secret@smtp.example.com"),
        ])
        .expect("valid");
        assert!(!fine.server.playground, "no playground unless asked for");
        assert_eq!(
            fine.mail.transport,
            MailTransport::Smtp,
            "the SMTP URL says it"
        );
        let err = Settings::from_pairs([("ENV", "production"), ("CORS_ORIGINS", "*")])
            .expect_err("invalid");
        assert!(err.to_string().contains("CUSTODIAN_CORS_ORIGINS"), "{err}");
    }

    #[test]
    fn development_derives_what_it_can() {
        let settings = Settings::from_pairs([("LISTEN", "localhost:18432")]).expect("valid");
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:18432");
        assert_eq!(settings.server.public_url, "http://localhost:18432");
        let settings = Settings::from_pairs([("LISTEN", "0.0.0.0:9000")]).expect("valid");
        assert_eq!(settings.server.public_url, "http://localhost:9000");
        assert_eq!(settings.mail.transport, MailTransport::File);
        let smtp = Settings::from_pairs([("SMTP_URL", "smtp://127.0.0.1:2525")]).expect("valid");
        assert_eq!(
            smtp.mail.transport,
            MailTransport::Smtp,
            "the URL alone says SMTP"
        );
        for (url, opened) in [
            ("sqlite://data/x.db", "sqlite://data/x.db?mode=rwc"),
            (
                "sqlite://x.db?cache=shared",
                "sqlite://x.db?cache=shared&mode=rwc",
            ),
            ("sqlite://x.db?mode=ro", "sqlite://x.db?mode=ro"),
            ("postgres://db/custodian", "postgres://db/custodian"),
        ] {
            let settings = Settings::from_pairs([("DATABASE_URL", url)]).expect("valid");
            assert_eq!(settings.database_url.expose_secret(), opened);
        }
        let err = Settings::from_pairs([("LISTEN", "no such host.invalid:80")]).expect_err("bad");
        assert!(err.to_string().contains("localhost:8080"), "{err}");
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
