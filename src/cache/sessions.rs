//! Sessions known to be active, so that an authenticated request needs no database round trip
//! to learn that its session still is.
//!
//! Correctness rests on three rules:
//! - every change that could end a session or alter what a request learns of it (revocation,
//!   a passed second factor) is announced after it commits, on this instance at once and on
//!   the others through the database's notifications, and removes the entries it concerns;
//! - an answer read from the database is kept only if no change was announced while it was
//!   being read (the epoch check), so a read that raced a revocation cannot put the ended
//!   session back;
//! - while changes made elsewhere might go unheard (no notification channel yet, or it broke),
//!   the cache is off and every request asks the database.

use std::{
    collections::HashMap,
    sync::{
        PoisonError, RwLock,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::{AccountId, SessionId};

/// How long an entry is trusted at most, even if no change is announced: the bound on any
/// notification lost without the channel noticing.
const MAX_AGE: TimeDelta = TimeDelta::seconds(60);
/// Sessions kept at most; past it the cache starts over, which costs one lookup each.
const CAPACITY: usize = 50_000;

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

/// Taken before reading a session from the database; an answer is kept only if no change was
/// announced since.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

struct Entry {
    session: ActiveSession,
    /// The session's own expiry, or the end of the entry's trust, whichever comes first.
    until: DateTime<Utc>,
}

#[derive(Default)]
struct Map {
    entries: HashMap<SessionId, Entry>,
    /// Moves on with every change announced.
    epoch: u64,
}

/// The cache. Starts off when changes can come from other instances, until their channel is
/// heard.
pub struct ActiveSessions {
    map: RwLock<Map>,
    on: AtomicBool,
}

impl ActiveSessions {
    pub fn new(on: bool) -> Self {
        Self {
            map: RwLock::new(Map::default()),
            on: AtomicBool::new(on),
        }
    }

    /// The session, if it is known to be active at `now`.
    pub fn get(&self, id: SessionId, now: DateTime<Utc>) -> Option<ActiveSession> {
        if !self.on.load(Ordering::Acquire) {
            return None;
        }
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        map.entries
            .get(&id)
            .filter(|entry| entry.until > now)
            .map(|entry| entry.session)
    }

    pub fn ticket(&self) -> Ticket {
        Ticket(
            self.map
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .epoch,
        )
    }

    /// Keeps what the database said at `now` of a session active until `expires`, unless a
    /// change was announced since `ticket` was taken.
    pub fn keep(
        &self,
        ticket: Ticket,
        id: SessionId,
        session: ActiveSession,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) {
        if !self.on.load(Ordering::Acquire) {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if map.epoch != ticket.0 {
            return;
        }
        if map.entries.len() >= CAPACITY {
            map.entries.clear();
        }
        let until = expires.min(now + MAX_AGE);
        map.entries.insert(id, Entry { session, until });
    }

    /// Drops what `change` makes stale.
    pub fn forget(&self, change: SessionChange) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        map.epoch += 1;
        match change {
            SessionChange::Session(id) => {
                map.entries.remove(&id);
            }
            SessionChange::Account(account) => {
                map.entries
                    .retain(|_, entry| entry.session.account != account);
            }
        }
    }

    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    /// Drops everything, on or off.
    pub fn forget_all(&self) {
        self.set_on(self.is_on());
    }

    /// Turns the cache on (changes from elsewhere are heard) or off (they may not be), dropping
    /// everything either way.
    pub fn set_on(&self, on: bool) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        map.epoch += 1;
        map.entries.clear();
        self.on.store(on, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
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
    fn a_read_that_raced_a_change_is_not_kept() {
        let cache = ActiveSessions::new(true);
        let now = Utc::now();
        let (id, active) = session();
        let ticket = cache.ticket();
        cache.forget(SessionChange::Session(id));
        cache.keep(ticket, id, active, now, now + TimeDelta::hours(1));
        assert_eq!(cache.get(id, now), None);
        cache.keep(cache.ticket(), id, active, now, now + TimeDelta::hours(1));
        assert_eq!(cache.get(id, now), Some(active));
    }

    #[test]
    fn entries_end_with_the_session_or_their_age() {
        let cache = ActiveSessions::new(true);
        let now = Utc::now();
        let (id, active) = session();
        cache.keep(cache.ticket(), id, active, now, now + TimeDelta::seconds(5));
        assert_eq!(cache.get(id, now + TimeDelta::seconds(4)), Some(active));
        assert_eq!(cache.get(id, now + TimeDelta::seconds(5)), None);
        let (long, active) = session();
        cache.keep(cache.ticket(), long, active, now, now + TimeDelta::days(1));
        assert_eq!(cache.get(long, now + MAX_AGE), None);
    }

    #[test]
    fn an_account_change_drops_all_its_sessions_and_no_other() {
        let cache = ActiveSessions::new(true);
        let now = Utc::now();
        let later = now + TimeDelta::hours(1);
        let (first, active) = session();
        let second = SessionId::generate();
        let (other, stranger) = session();
        for (id, session) in [(first, active), (second, active), (other, stranger)] {
            cache.keep(cache.ticket(), id, session, now, later);
        }
        cache.forget(SessionChange::Account(active.account));
        assert_eq!(cache.get(first, now), None);
        assert_eq!(cache.get(second, now), None);
        assert_eq!(cache.get(other, now), Some(stranger));
    }

    #[test]
    fn an_unheard_cache_answers_nothing() {
        let cache = ActiveSessions::new(false);
        let now = Utc::now();
        let (id, active) = session();
        cache.keep(cache.ticket(), id, active, now, now + TimeDelta::hours(1));
        assert_eq!(cache.get(id, now), None);
        cache.set_on(true);
        cache.keep(cache.ticket(), id, active, now, now + TimeDelta::hours(1));
        assert_eq!(cache.get(id, now), Some(active));
        cache.set_on(false);
        assert_eq!(cache.get(id, now), None);
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
