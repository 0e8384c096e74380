//! Every limit on attempts, in one place: the per-field rate limits (spent once per execution
//! of a field, so a thousand aliases in one request cost a thousand; REST twins spend the same
//! rules) and the per-address sign-in backoff kept in the database. Refusals go into the audit
//! trail, at most once a minute per rule and key, so a flood is not a flood of writes.

use std::net::IpAddr;

use chrono::TimeDelta;
use ipnet::IpNet;
use uuid::Uuid;

use super::{
    ClientInfo,
    audit::{self, Event, Kind},
};
use crate::{
    crypto::{envelope::HashPurpose, sha256_hex},
    db,
    domain::{AccountId, Email, SessionId},
    error::{AppError, AppResult},
    limits::{Hit, Rule},
    state::AppState,
};

/// What an operation's attempts are counted against.
enum Scope {
    /// The client's IP address.
    Ip,
    /// The client's IP address together with a value of the request (an email).
    IpAnd(String),
    /// A value of the request alone (an email, a challenge).
    Value(String),
    /// The account acting: the signed-in caller, or the one a challenge belongs to.
    Account,
    /// One session, whoever presents its token.
    Session(SessionId),
}

/// The limits of one operation, declared on its GraphQL field (a guard) or spent by its REST
/// twin.
pub struct Limit(Vec<(Rule, Scope)>);

/// An email as every lookup compares it (its canonical form), or as typed when it is none.
fn normalised(value: &str) -> String {
    Email::parse(value, "email").map_or_else(
        |_| value.trim().to_lowercase(),
        |email| email.as_str().to_owned(),
    )
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

    /// `requestPasswordReset`: per IP, per IP and email, and (with a higher cap) per email
    /// whoever asks, so a stranger cannot spend the owner's allowance.
    pub fn password_reset(email: &str) -> Self {
        let email = normalised(email);
        Self(vec![
            (Rule::ResetIp, Scope::Ip),
            (Rule::ResetIpEmail, Scope::IpAnd(email.clone())),
            (Rule::ResetEmail, Scope::Value(email)),
        ])
    }

    /// `login` from a recognised browser, per device: it skips the per-address backoff.
    pub(super) fn device(device: Uuid) -> Self {
        Self(vec![(
            Rule::LoginDevice,
            Scope::Value(format!("device:{device}")),
        )])
    }

    /// `refreshToken`, per IP: also bounds guessing unknown tokens.
    pub fn refresh() -> Self {
        Self(vec![(Rule::RefreshIp, Scope::Ip)])
    }

    /// `refreshToken`, per session: a refused spend rolls the token's claim back.
    pub(super) fn refresh_session(session: SessionId) -> Self {
        Self(vec![(Rule::RefreshSession, Scope::Session(session))])
    }

    /// `verifyMfa`, per challenge (the per-account limit applies once the challenge is read).
    pub fn mfa(mfa_token: &str) -> Self {
        Self(vec![(
            Rule::MfaChallenge,
            Scope::Value(sha256_hex(mfa_token.as_bytes())),
        )])
    }

    /// `verifyMfa`, per account the challenge belongs to.
    pub(super) fn mfa_account() -> Self {
        Self(vec![(Rule::MfaAccount, Scope::Account)])
    }

    /// Fields that check a signed-in person's password or code.
    pub fn secret() -> Self {
        Self(vec![(Rule::SecretAccount, Scope::Account)])
    }

    /// `updateProfile` calls that set an SSN.
    pub(super) fn ssn_change() -> Self {
        Self(vec![(Rule::SsnAccount, Scope::Account)])
    }

    /// `revealSsn`, per administrator.
    pub(super) fn ssn_reveal() -> Self {
        Self(vec![(Rule::SsnReveal, Scope::Account)])
    }

    /// `exportMyData`.
    pub fn export() -> Self {
        Self(vec![(Rule::ExportAccount, Scope::Account)])
    }

    /// `requestEmailChange`, per account.
    pub fn email_change() -> Self {
        Self(vec![(Rule::EmailChange, Scope::Account)])
    }

    /// `startPasskeyLogin` and `finishPasskeyLogin`, per IP.
    pub fn passkey_login() -> Self {
        Self(vec![(Rule::PasskeyIp, Scope::Ip)])
    }

    /// Adding and removing passkeys, per account.
    pub fn passkey_change() -> Self {
        Self(vec![(Rule::PasskeyAccount, Scope::Account)])
    }

    /// Fields that take an emailed token.
    pub fn token() -> Self {
        Self(vec![(Rule::TokenIp, Scope::Ip)])
    }

    /// Whether spending needs the account acting.
    pub fn needs_account(&self) -> bool {
        self.0
            .iter()
            .any(|(_, scope)| matches!(scope, Scope::Account))
    }

    /// Spends one unit of each rule for this client (and account); the first exhausted rule
    /// answers `RATE_LIMITED` with when to retry.
    pub async fn spend(
        &self,
        state: &AppState,
        client: &ClientInfo,
        account: Option<AccountId>,
    ) -> AppResult<()> {
        match self.count(state, client, account).await {
            Ok(()) => Ok(()),
            Err(refusal) => Err(refusal.record(state).await),
        }
    }

    /// Spends as [`Limit::spend`] does, but leaves recording a refusal to the caller: for a
    /// caller inside a transaction, which ends it first (on SQLite the record would wait for
    /// the write lock that transaction holds).
    pub(super) async fn count(
        &self,
        state: &AppState,
        client: &ClientInfo,
        account: Option<AccountId>,
    ) -> Result<(), Refusal> {
        let ip = client
            .ip
            .map_or_else(|| "unknown".to_owned(), |ip| network_of(ip).to_string());
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
                    Scope::Session(session) => format!("session:{session}"),
                };
                (*rule, key)
            })
            .collect();
        let hits: Vec<Hit<'_>> = keys
            .iter()
            .map(|(rule, key)| Hit { rule: *rule, key })
            .collect();
        let Err((refused, error)) = state.limits.spend(&state.metrics, &hits).await else {
            return Ok(());
        };
        let trip = keys
            .iter()
            .find(|(rule, _)| *rule == refused)
            .filter(|(rule, key)| {
                matches!(error, AppError::RateLimited { .. })
                    && state.limits.should_record(*rule, key)
            })
            .map(|(rule, _)| {
                let event = Event::new(Kind::RateLimitTripped)
                    .client(client)
                    .detail("rule", rule.name());
                match account {
                    Some(account) => event.by(account),
                    None => event,
                }
            });
        Err(Refusal { error, trip })
    }
}

/// A limit that refused, and the audit event that says so when this rule and key have not
/// been recorded in the last minute.
pub(super) struct Refusal {
    error: AppError,
    trip: Option<Event>,
}

impl Refusal {
    /// Records the refusal (in a transaction of its own) and answers the caller's error.
    pub(super) async fn record(self, state: &AppState) -> AppError {
        if let Some(event) = self.trip
            && let Err(err) = audit::record_alone(state, event).await
        {
            err.log_if_internal();
        }
        self.error
    }
}

/// The network a client's limits are counted against: its IPv4 address, or the /64 of its
/// IPv6 address, since one home or one virtual machine gets a whole /64 to pick from.
fn network_of(ip: IpAddr) -> IpNet {
    let prefix = if ip.is_ipv4() { 32 } else { 64 };
    IpNet::new(ip, prefix).map_or_else(|_| IpNet::from(ip), |net| net.trunc())
}

/// Failed passwords for one address, from any IP, that start the backoff…
const BACKOFF_FAILURES: u64 = 10;
/// …within this window; it rolls, so nobody is locked out for good.
pub(super) const BACKOFF_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// The per-address sign-in backoff: after [`BACKOFF_FAILURES`] failed passwords for an address
/// within [`BACKOFF_WINDOW`], further attempts are refused, whichever IP they come from, until
/// the oldest falls out. Counted in the database, so every instance shares it without Redis.
pub(super) struct SignInBackoff {
    /// An HMAC of the address, so unknown addresses back off the same way (the answer reveals
    /// no account) and no address is stored.
    key: String,
}

impl SignInBackoff {
    pub(super) fn of(state: &AppState, email: &Email) -> Self {
        Self {
            key: state
                .keys
                .keyed_hash(HashPurpose::LoginBackoff, email.as_str().as_bytes()),
        }
    }

    /// Takes a place in the address's count before the password is checked: the attempt
    /// counts as a failure unless [`SignInBackoff::release`] takes it back. Refused while the
    /// count is full, so concurrent attempts cannot all slip past one check.
    pub(super) async fn reserve(
        &self,
        state: &AppState,
        client: &ClientInfo,
    ) -> AppResult<Reservation> {
        let now = state.clock.now();
        let txn = db::begin_write(&state.db).await?;
        let reserved = db::login_failures::reserve(
            &txn,
            &self.key,
            now,
            now - BACKOFF_WINDOW,
            BACKOFF_FAILURES,
        )
        .await?;
        txn.commit().await?;
        let failures = match reserved {
            Ok(id) => return Ok(Reservation(id)),
            Err(failures) => failures,
        };
        let free_at = failures
            .first()
            .map_or(now, |oldest| *oldest + BACKOFF_WINDOW);
        let wait = (free_at - now).num_seconds().max(1);
        state.metrics.rate_limited("login_backoff");
        tracing::warn!(client_ip = ?client.ip, "sign-in backoff for an address");
        Err(AppError::RateLimited {
            rule: "login_backoff",
            retry_after_secs: u64::try_from(wait).unwrap_or(1),
        })
    }
}

/// A place taken in an address's count of failed sign-ins.
pub(super) struct Reservation(Uuid);

impl Reservation {
    /// The password was right: the attempt was no failure.
    pub(super) async fn release(self, state: &AppState) -> AppResult<()> {
        db::login_failures::release(&state.db, self.0).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let net = |text: &str| network_of(text.parse().unwrap()).to_string();
        assert_eq!(net("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(net("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(net("2001:db8:1:3::1"), "2001:db8:1:2::/64");
        assert_eq!(net("198.51.100.7"), "198.51.100.7/32");
    }
}
