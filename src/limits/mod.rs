//! Rate limits on the fields an attacker would hammer: every execution of such a field spends
//! one unit, so a thousand aliases in one request cost a thousand. Counters live in memory
//! (one instance) or in Redis (shared by every instance; one atomic Lua script, on Redis's
//! own clock). Keys are hashed: no email address is written to Redis.

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
    config::{RateLimitBackend, Settings},
    crypto::sha256_hex,
    domain::AccountId,
    error::{AppError, AppResult},
    metrics::Metrics,
    services::{
        ClientInfo,
        audit::{self, Event, Kind},
    },
    state::AppState,
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
    /// `verifyMfa`, per challenge.
    MfaChallenge => "mfa_challenge", 5 / 300;
    /// `verifyMfa`, per account.
    MfaAccount => "mfa_account", 10 / 60;
    /// `requestPasswordReset`, per email.
    ResetEmail => "reset_email", 3 / 3600;
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
    /// `resetPassword` and `verifyEmail`, per client IP: guessing tokens.
    TokenIp => "token_ip", 20 / 60;
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
    pub async fn new(settings: &Settings) -> anyhow::Result<Self> {
        let mut quotas: HashMap<Rule, (u32, Duration)> = Rule::ALL
            .iter()
            .map(|rule| (*rule, rule.default_quota()))
            .collect();
        for (name, count, period) in &settings.rate_limits {
            let rule = Rule::ALL
                .iter()
                .find(|rule| rule.name() == name)
                .ok_or_else(|| {
                    anyhow::anyhow!("invalid setting CUSTODIAN_RATE_LIMITS: no rule `{name}`")
                })?;
            quotas.insert(*rule, (*count, *period));
        }
        let backend = match settings.rate_limit_backend {
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
    fn should_record(&self, rule: Rule, key: &str) -> bool {
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

    /// Spends one unit of every hit; the first that is exhausted answers `RATE_LIMITED` with
    /// when to retry. With Redis unreachable the answer is a refusal too: these fields fail
    /// closed.
    pub async fn spend(&self, metrics: &Metrics, hits: &[Hit<'_>]) -> AppResult<()> {
        self.spend_rules(metrics, hits)
            .await
            .map_err(|(_, error)| error)
    }

    /// [`Limits::spend`], also naming the rule that refused.
    async fn spend_rules(
        &self,
        metrics: &Metrics,
        hits: &[Hit<'_>],
    ) -> Result<(), (Rule, AppError)> {
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
                            return Err((hit.rule, AppError::LimiterUnavailable));
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

/// What a limited field's attempts are counted against.
enum Scope {
    /// The client's IP address.
    Ip,
    /// The client's IP address together with a value of the request (an email).
    IpAnd(String),
    /// A value of the request alone (an email, a challenge).
    Value(String),
    /// The signed-in account.
    Account,
}

/// The limits of one field, declared on it (a GraphQL guard) or called by its REST twin. A
/// guard runs once per execution of the field, so every alias spends its own unit.
pub struct Limit(Vec<(Rule, Scope)>);

fn normalised(value: &str) -> String {
    value.trim().to_lowercase()
}

impl Limit {
    /// `login`: per IP and email, and per IP.
    pub fn login(email: &str) -> Self {
        Self(vec![
            (Rule::LoginIp, Scope::Ip),
            (Rule::LoginIpEmail, Scope::IpAnd(normalised(email))),
        ])
    }

    pub fn register() -> Self {
        Self(vec![(Rule::RegisterIp, Scope::Ip)])
    }

    /// `requestPasswordReset`: per IP, and per email whoever asks.
    pub fn password_reset(email: &str) -> Self {
        Self(vec![
            (Rule::ResetIp, Scope::Ip),
            (Rule::ResetEmail, Scope::Value(normalised(email))),
        ])
    }

    pub fn refresh() -> Self {
        Self(vec![(Rule::RefreshIp, Scope::Ip)])
    }

    /// `verifyMfa`: per challenge (the per-account limit applies once the challenge is read).
    pub fn mfa(mfa_token: &str) -> Self {
        Self(vec![(
            Rule::MfaChallenge,
            Scope::Value(sha256_hex(mfa_token.as_bytes())),
        )])
    }

    /// Fields that check a signed-in person's password or code.
    pub fn secret() -> Self {
        Self(vec![(Rule::SecretAccount, Scope::Account)])
    }

    /// Fields that take an emailed token.
    pub fn token() -> Self {
        Self(vec![(Rule::TokenIp, Scope::Ip)])
    }
}

impl Limit {
    pub fn needs_account(&self) -> bool {
        self.0
            .iter()
            .any(|(_, scope)| matches!(scope, Scope::Account))
    }

    /// Spends one unit of each of the field's rules for this client (and account).
    pub async fn spend(
        &self,
        state: &AppState,
        client: &ClientInfo,
        account: Option<AccountId>,
    ) -> AppResult<()> {
        let ip = client
            .ip
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let keys: Vec<(Rule, String)> = self
            .0
            .iter()
            .map(|(rule, scope)| {
                let key = match scope {
                    Scope::Ip => format!("ip:{ip}"),
                    Scope::IpAnd(value) => format!("ip:{ip}|{value}"),
                    Scope::Value(value) => format!("value:{value}"),
                    Scope::Account => format!(
                        "account:{}",
                        account
                            .map(|account| account.to_string())
                            .unwrap_or_default()
                    ),
                };
                (*rule, key)
            })
            .collect();
        let hits: Vec<Hit<'_>> = keys
            .iter()
            .map(|(rule, key)| Hit { rule: *rule, key })
            .collect();
        let Err((refused, error)) = state.limits.spend_rules(&state.metrics, &hits).await else {
            return Ok(());
        };
        if let Some((rule, key)) = keys.iter().find(|(rule, _)| *rule == refused)
            && matches!(error, AppError::RateLimited { .. })
            && state.limits.should_record(*rule, key)
        {
            let mut event = Event::new(Kind::RateLimitTripped)
                .client(client)
                .detail("rule", rule.name());
            if let Some(account) = account {
                event = event.by(account);
            }
            if let Err(err) = audit::record_alone(state, event).await {
                err.log_if_internal();
            }
        }
        Err(error)
    }
}
