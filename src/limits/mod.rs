//! The rate limiter: named rules, each a count per period, spent by key. Counters live in
//! memory (one instance) or in Redis (shared by every instance; one atomic Lua script, on
//! Redis's own clock). Keys are hashed: no email address is written to Redis. Which fields
//! spend which rules, and with what key, is `services::throttle`'s business.

mod redis_gcra;

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock as _, DefaultClock},
};

use crate::{
    config::{LimitSettings, RateLimitBackend},
    crypto::sha256_hex,
    error::AppError,
    metrics::Metrics,
};

/// Declares the rules, one line each: variant, name (as in `CUSTODIAN_RATE_LIMITS`),
/// default count per period in seconds.
macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident => $name:literal, $count:literal / $seconds:literal;)*) => {
        /// A limit: how many attempts a key may make per period.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Rule {
            $($(#[$doc])* $variant,)*
        }

        impl Rule {
            pub const ALL: &[Rule] = &[$(Rule::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            fn default_quota(self) -> (u32, Duration) {
                match self {
                    $(Self::$variant => ($count, Duration::from_secs($seconds)),)*
                }
            }
        }
    };
}

rules! {
    /// `login`, per client IP and email.
    LoginIpEmail => "login_ip_email", 10 / 60;
    /// `login`, per client IP.
    LoginIp => "login_ip", 30 / 60;
    /// `login` from a browser the account recognises (exempt from the per-address backoff),
    /// per device.
    LoginDevice => "login_device", 10 / 900;
    /// `verifyMfa`, per challenge.
    MfaChallenge => "mfa_challenge", 5 / 300;
    /// `verifyMfa`, per account.
    MfaAccount => "mfa_account", 10 / 60;
    /// `requestPasswordReset`, per email whoever asks: above what its owner needs, so
    /// strangers cannot spend it quickly.
    ResetEmail => "reset_email", 10 / 3600;
    /// `requestPasswordReset`, per client IP and email.
    ResetIpEmail => "reset_ip_email", 3 / 3600;
    /// `requestPasswordReset`, per client IP.
    ResetIp => "reset_ip", 10 / 3600;
    /// `register`, per client IP.
    RegisterIp => "register_ip", 10 / 3600;
    /// `refreshToken`, per client IP.
    RefreshIp => "refresh_ip", 120 / 60;
    /// `refreshToken`, per session.
    RefreshSession => "refresh_session", 60 / 60;
    /// Fields that check a password or code of a signed-in person (`changePassword`,
    /// `confirmMfa`, `disableMfa`, `regenerateRecoveryCodes`, `deleteAccount`), per account.
    SecretAccount => "secret_account", 10 / 60;
    /// `updateProfile` setting an SSN, per account: no sweeping SSN ranges for a conflict.
    SsnAccount => "ssn_account", 5 / 86400;
    /// `revealSsn`, per administrator.
    SsnReveal => "ssn_reveal", 20 / 3600;
    /// `exportMyData`, per account: it loads everything held about the person.
    ExportAccount => "export_account", 5 / 3600;
    /// `resetPassword`, `verifyEmail`, `confirmEmailChange` and `revertEmailChange`, per
    /// client IP: guessing tokens.
    TokenIp => "token_ip", 20 / 60;
    /// `requestEmailChange`, per account: each one mails an address the account does not
    /// prove it holds.
    EmailChange => "email_change", 5 / 3600;
    /// `startPasskeyLogin` and `finishPasskeyLogin`, per client IP: no email narrows them.
    PasskeyIp => "passkey_ip", 30 / 60;
    /// `startPasskeyRegistration`, `finishPasskeyRegistration` and `removePasskey`, per
    /// account: each change mails the owner.
    PasskeyAccount => "passkey_account", 20 / 3600;
}

/// One unit to spend: the rule and what it is counted against.
pub struct Hit<'a> {
    pub rule: Rule,
    pub key: &'a str,
}

enum Backend {
    Memory(HashMap<Rule, DefaultKeyedRateLimiter<String>>),
    Redis(redis_gcra::Gcra),
}

/// The rate limiter of this process.
pub struct Limits {
    quotas: HashMap<Rule, (u32, Duration)>,
    backend: Backend,
    /// When each (rule, key) refusal was last put in the audit trail.
    recorded: Mutex<HashMap<String, Instant>>,
    /// Spends so far; every [`SWEEP_EVERY`] the in-memory limiters forget idle keys.
    spends: AtomicU64,
}

/// How often (in spends) the in-memory limiters drop keys that are back to a full quota, so a
/// flood of distinct keys does not grow memory for good.
const SWEEP_EVERY: u64 = 4096;

/// A refusal is recorded in the audit trail at most this often per rule and key.
const RECORD_EVERY: Duration = Duration::from_secs(60);
/// Past this many remembered refusals, the old ones are forgotten.
const RECORDED_MAX: usize = 10_000;

impl Limits {
    pub async fn new(settings: &LimitSettings) -> anyhow::Result<Self> {
        let mut quotas: HashMap<Rule, (u32, Duration)> = Rule::ALL
            .iter()
            .map(|rule| (*rule, rule.default_quota()))
            .collect();
        for (name, count, period) in &settings.overrides {
            let rule = Rule::ALL
                .iter()
                .find(|rule| rule.name() == name)
                .ok_or_else(|| {
                    anyhow::anyhow!("invalid setting CUSTODIAN_RATE_LIMITS: no rule `{name}`")
                })?;
            quotas.insert(*rule, (*count, *period));
        }
        let backend = match settings.backend {
            RateLimitBackend::Memory => Backend::Memory(
                quotas
                    .iter()
                    .map(|(rule, (count, period))| {
                        (*rule, RateLimiter::keyed(quota(*count, *period)))
                    })
                    .collect(),
            ),
            RateLimitBackend::Redis => {
                let url = settings
                    .redis_url
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("CUSTODIAN_REDIS_URL is required"))?;
                Backend::Redis(redis_gcra::Gcra::connect(url).await?)
            }
        };
        Ok(Self {
            quotas,
            backend,
            recorded: Mutex::new(HashMap::new()),
            spends: AtomicU64::new(0),
        })
    }

    /// Whether a refusal for `rule` and `key` should go into the audit trail now.
    pub fn should_record(&self, rule: Rule, key: &str) -> bool {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if recorded.len() > RECORDED_MAX {
            recorded.retain(|_, at| now.duration_since(*at) < RECORD_EVERY);
        }
        let id = format!("{}:{}", rule.name(), sha256_hex(key.as_bytes()));
        match recorded.get(&id) {
            Some(at) if now.duration_since(*at) < RECORD_EVERY => false,
            _ => {
                recorded.insert(id, now);
                true
            }
        }
    }

    /// Spends one unit of every hit; the first that is exhausted refuses, naming its rule, with
    /// `RATE_LIMITED` and when to retry. With Redis unreachable the answer is a refusal too:
    /// limited fields fail closed.
    pub async fn spend(&self, metrics: &Metrics, hits: &[Hit<'_>]) -> Result<(), (Rule, AppError)> {
        if let Backend::Memory(limiters) = &self.backend
            && self.spends.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1
        {
            for limiter in limiters.values() {
                limiter.retain_recent();
            }
        }
        for hit in hits {
            let (count, period) = self
                .quotas
                .get(&hit.rule)
                .copied()
                .unwrap_or_else(|| hit.rule.default_quota());
            let key = sha256_hex(hit.key.as_bytes());
            let wait = match &self.backend {
                Backend::Memory(limiters) => limiters.get(&hit.rule).and_then(|limiter| {
                    limiter
                        .check_key(&key)
                        .err()
                        .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
                }),
                Backend::Redis(gcra) => {
                    match gcra.spend(hit.rule.name(), &key, count, period).await {
                        Ok(wait) => wait,
                        Err(err) => {
                            tracing::error!(
                                rule = hit.rule.name(),
                                error = format!("{err:#}"),
                                "rate limiter unreachable; refusing"
                            );
                            metrics.rate_limited(hit.rule.name());
                            return Err((
                                hit.rule,
                                AppError::LimiterUnavailable {
                                    rule: hit.rule.name(),
                                },
                            ));
                        }
                    }
                }
            };
            if let Some(wait) = wait {
                metrics.rate_limited(hit.rule.name());
                tracing::warn!(rule = hit.rule.name(), "rate limit reached");
                return Err((
                    hit.rule,
                    AppError::RateLimited {
                        rule: hit.rule.name(),
                        retry_after_secs: wait.as_secs().max(1),
                    },
                ));
            }
        }
        Ok(())
    }
}

fn quota(count: u32, period: Duration) -> Quota {
    let burst = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
    let interval = period / burst.get();
    Quota::with_period(interval.max(Duration::from_millis(1)))
        .unwrap_or_else(|| Quota::per_second(burst))
        .allow_burst(burst)
}
