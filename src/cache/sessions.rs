//! Sessions known to be active, so that an authenticated request needs no database round trip
//! to learn that its session still is. Every change that could end a session or alter what a
//! request learns of it (revocation, a passed second factor) is a [`SessionChange`]; see
//! [`super::trusted`] for the rules that keep the cache true.

use super::trusted::Trusted;
use crate::domain::{AccountId, SessionId};

/// Sessions kept at most.
pub const CAPACITY: usize = 50_000;

/// What an authenticated request needs to know of its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveSession {
    pub account: AccountId,
    /// The session passed a second factor.
    pub second_factor: bool,
}

/// A change that makes cached sessions stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionChange {
    /// One session ended or changed.
    Session(SessionId),
    /// Some or all sessions of an account ended.
    Account(AccountId),
}

impl SessionChange {
    /// The form sent between instances.
    pub fn encode(self) -> String {
        match self {
            Self::Session(id) => format!("session:{id}"),
            Self::Account(id) => format!("account:{id}"),
        }
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (kind, id) = text.split_once(':')?;
        let id = uuid::Uuid::parse_str(id).ok()?;
        match kind {
            "session" => Some(Self::Session(SessionId(id))),
            "account" => Some(Self::Account(AccountId(id))),
            _ => None,
        }
    }
}

/// The cache of active sessions.
pub type ActiveSessions = Trusted<SessionId, ActiveSession>;

impl ActiveSessions {
    /// Drops what `change` makes stale.
    pub fn apply(&self, change: SessionChange) {
        match change {
            SessionChange::Session(id) => self.forget(&id),
            SessionChange::Account(account) => {
                self.forget_where(|session| session.account == account);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::*;

    fn session() -> (SessionId, ActiveSession) {
        (
            SessionId::generate(),
            ActiveSession {
                account: AccountId::generate(),
                second_factor: false,
            },
        )
    }

    #[test]
    fn an_account_change_drops_all_its_sessions_and_no_other() {
        let cache = ActiveSessions::new(true, CAPACITY);
        let now = Utc::now();
        let later = now + TimeDelta::hours(1);
        let (first, active) = session();
        let second = SessionId::generate();
        let (other, stranger) = session();
        for (id, session) in [(first, active), (second, active), (other, stranger)] {
            cache.keep(cache.ticket(), id, session, now, later);
        }
        cache.apply(SessionChange::Account(active.account));
        assert_eq!(cache.get(&first, now), None);
        assert_eq!(cache.get(&second, now), None);
        assert_eq!(cache.get(&other, now), Some(stranger));
        cache.apply(SessionChange::Session(other));
        assert_eq!(cache.get(&other, now), None);
    }

    #[test]
    fn changes_cross_instances_as_text() {
        let id = SessionId::generate();
        let account = AccountId::generate();
        for change in [SessionChange::Session(id), SessionChange::Account(account)] {
            assert_eq!(SessionChange::decode(&change.encode()), Some(change));
        }
        assert_eq!(SessionChange::decode("session:nope"), None);
        assert_eq!(SessionChange::decode("user:0"), None);
    }
}
