//! What the database said, trusted for a while: the one shape both the session and the
//! account caches take.
//!
//! Correctness rests on three rules:
//! - every change that could alter an answer is announced after it commits, on this instance
//!   at once and on the others through the database's notifications, and removes the entries
//!   it concerns;
//! - an answer read from the database is kept only if no change was announced while it was
//!   being read (the epoch check), so a read that raced a change cannot put the old answer
//!   back;
//! - while changes made elsewhere might go unheard (no notification channel yet, or it broke),
//!   the cache is off and every request asks the database.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{
        PoisonError, RwLock,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::{DateTime, TimeDelta, Utc};

/// How long an entry is trusted at most, even if no change is announced: the bound on any
/// notification lost without the channel noticing.
pub const MAX_AGE: TimeDelta = TimeDelta::seconds(60);

/// Taken before reading from the database; an answer is kept only if no change was announced
/// since.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

struct Entry<V> {
    value: V,
    /// When the answer stops being true by itself (a session's expiry), or the end of the
    /// entry's trust, whichever comes first.
    until: DateTime<Utc>,
}

struct Map<K, V> {
    entries: HashMap<K, Entry<V>>,
    /// Moves on with every change announced.
    epoch: u64,
}

/// Answers kept by key. Starts off when changes can come from other instances, until their
/// channel is heard.
pub struct Trusted<K, V> {
    map: RwLock<Map<K, V>>,
    on: AtomicBool,
    /// Entries kept at most; past it the cache starts over, which costs one lookup each.
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> Trusted<K, V> {
    pub fn new(on: bool, capacity: usize) -> Self {
        Self {
            map: RwLock::new(Map {
                entries: HashMap::new(),
                epoch: 0,
            }),
            on: AtomicBool::new(on),
            capacity,
        }
    }

    /// The answer kept for `key`, if it is still true at `now`.
    pub fn get(&self, key: &K, now: DateTime<Utc>) -> Option<V> {
        if !self.is_on() {
            return None;
        }
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        map.entries
            .get(key)
            .filter(|entry| entry.until > now)
            .map(|entry| entry.value.clone())
    }

    pub fn ticket(&self) -> Ticket {
        Ticket(
            self.map
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .epoch,
        )
    }

    /// Keeps what the database said at `now`, true until `expires` at the latest, unless a
    /// change was announced since `ticket` was taken.
    pub fn keep(
        &self,
        ticket: Ticket,
        key: K,
        value: V,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) {
        if !self.is_on() {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if map.epoch != ticket.0 {
            return;
        }
        if map.entries.len() >= self.capacity {
            map.entries.clear();
        }
        let until = expires.min(now + MAX_AGE);
        map.entries.insert(key, Entry { value, until });
    }

    /// Drops the answer for `key`.
    pub fn forget(&self, key: &K) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        map.epoch += 1;
        map.entries.remove(key);
    }

    /// Drops every answer that `stale` says a change concerns.
    pub fn forget_where(&self, stale: impl Fn(&V) -> bool) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        map.epoch += 1;
        map.entries.retain(|_, entry| !stale(&entry.value));
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

    fn cache(on: bool) -> Trusted<u32, &'static str> {
        Trusted::new(on, 100)
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let cache = cache(true);
        let now = Utc::now();
        let ticket = cache.ticket();
        cache.forget(&1);
        cache.keep(ticket, 1, "old", now, now + TimeDelta::hours(1));
        assert_eq!(cache.get(&1, now), None);
        cache.keep(cache.ticket(), 1, "new", now, now + TimeDelta::hours(1));
        assert_eq!(cache.get(&1, now), Some("new"));
    }

    #[test]
    fn entries_end_with_their_answer_or_their_age() {
        let cache = cache(true);
        let now = Utc::now();
        cache.keep(cache.ticket(), 1, "short", now, now + TimeDelta::seconds(5));
        assert_eq!(cache.get(&1, now + TimeDelta::seconds(4)), Some("short"));
        assert_eq!(cache.get(&1, now + TimeDelta::seconds(5)), None);
        cache.keep(cache.ticket(), 2, "long", now, now + TimeDelta::days(1));
        assert_eq!(cache.get(&2, now + MAX_AGE), None);
    }

    #[test]
    fn a_change_drops_what_it_concerns_and_nothing_else() {
        let cache = cache(true);
        let now = Utc::now();
        let later = now + TimeDelta::hours(1);
        for (key, value) in [(1, "a"), (2, "a"), (3, "b")] {
            cache.keep(cache.ticket(), key, value, now, later);
        }
        cache.forget_where(|value| *value == "a");
        assert_eq!(cache.get(&1, now), None);
        assert_eq!(cache.get(&2, now), None);
        assert_eq!(cache.get(&3, now), Some("b"));
        cache.forget(&3);
        assert_eq!(cache.get(&3, now), None);
    }

    #[test]
    fn an_unheard_cache_answers_nothing() {
        let cache = cache(false);
        let now = Utc::now();
        cache.keep(cache.ticket(), 1, "a", now, now + TimeDelta::hours(1));
        assert_eq!(cache.get(&1, now), None);
        cache.set_on(true);
        cache.keep(cache.ticket(), 1, "a", now, now + TimeDelta::hours(1));
        assert_eq!(cache.get(&1, now), Some("a"));
        cache.set_on(false);
        assert_eq!(cache.get(&1, now), None);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache: Trusted<u32, u32> = Trusted::new(true, 2);
        let now = Utc::now();
        let later = now + TimeDelta::hours(1);
        for key in 0..3 {
            cache.keep(cache.ticket(), key, key, now, later);
        }
        assert_eq!(cache.get(&0, now), None);
        assert_eq!(cache.get(&2, now), Some(2));
    }
}
