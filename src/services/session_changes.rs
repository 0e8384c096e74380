//! Keeps this instance's caches of sessions and account rows true to the changes every
//! instance makes.
//!
//! The cache is on only while the channel is known to be heard: the instance sends itself a
//! ping through the database every few seconds and turns the cache off when one does not come
//! back in time. That covers what a listening connection cannot tell by itself: a connection
//! that died silently, or a pooler in transaction mode that accepts `LISTEN` and never
//! delivers.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use crate::{
    cache::{accounts::changed_row, sessions::SessionChange},
    db::session_changes::{self, Listener},
    state::AppState,
};

/// How long to wait before listening again after the channel broke.
const RETRY: Duration = Duration::from_secs(1);
/// How often the channel is proved to work, and how long a proof may take.
const PING_EVERY: Duration = Duration::from_secs(5);
const PING_WITHIN: Duration = Duration::from_secs(2);
const PING: &str = "ping:";

/// Listens for session changes until the task is stopped; from the moment the channel breaks
/// until it is back, every request asks the database.
pub async fn follow(state: AppState) {
    loop {
        match Listener::connect(&state.db).await {
            // One instance: it makes every change itself, so its cache is already exact.
            Ok(None) => {
                state.metrics.session_channel_heard(true);
                return;
            }
            Ok(Some(mut listener)) => {
                hear(&state, &mut listener).await;
                caches_on(&state, false);
                state.metrics.session_channel_heard(false);
                tracing::warn!(
                    "lost the session-change channel: sessions are read from the database until it is back"
                );
            }
            Err(err) => tracing::warn!(
                error = format!("{err:#}"),
                "cannot listen for session changes: sessions are read from the database"
            ),
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Applies the changes heard until the channel fails to carry this instance's own ping.
async fn hear(state: &AppState, listener: &mut Listener) {
    let ping = format!("{PING}{}", uuid::Uuid::new_v4().simple());
    // The moment the next ping is due, or the moment the one sent must have come back by.
    let mut deadline = Instant::now();
    let mut awaiting = false;
    loop {
        tokio::select! {
            () = sleep_until(deadline) => {
                if awaiting {
                    return;
                }
                if let Err(err) = session_changes::announce(&state.db, &ping).await {
                    tracing::warn!(error = %err, "cannot ping the session-change channel");
                    return;
                }
                awaiting = true;
                deadline = Instant::now() + PING_WITHIN;
            }
            heard = listener.next() => {
                let Some(heard) = heard else {
                    return;
                };
                if heard == ping {
                    if !state.sessions.is_on() {
                        caches_on(state, true);
                        state.metrics.session_channel_heard(true);
                    }
                    awaiting = false;
                    deadline = Instant::now() + PING_EVERY;
                } else if heard.starts_with(PING) {
                    // Another instance proving its own channel.
                } else if let Some(change) = SessionChange::decode(&heard) {
                    forget(state, change);
                } else if let Some(account) = changed_row(&heard) {
                    state.accounts.forget(&account);
                } else {
                    // Whatever it meant, forgetting everything is safe.
                    tracing::warn!(change = heard, "unreadable change: caches emptied");
                    state.sessions.forget_all();
                    state.accounts.forget_all();
                }
            }
        }
    }
}

/// Drops what `change` makes stale: the sessions, and with an account's sessions its row (the
/// changes that end them, suspension or a new role, change the row as well).
pub fn forget(state: &AppState, change: SessionChange) {
    state.sessions.apply(change);
    if let SessionChange::Account(account) = change {
        state.accounts.forget(&account);
    }
}

/// Turns both caches on, or off while changes made elsewhere may go unheard.
fn caches_on(state: &AppState, on: bool) {
    state.sessions.set_on(on);
    state.accounts.set_on(on);
}
