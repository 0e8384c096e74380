//! Keeps this instance's session cache true to the changes every instance makes.

use std::time::Duration;

use crate::{cache::sessions::SessionChange, db::session_changes::Listener, state::AppState};

/// How long to wait before listening again after the channel broke.
const RETRY: Duration = Duration::from_secs(1);

/// Listens for session changes until the task is stopped. The cache is on only while the
/// channel is heard: from the moment it breaks until it is back, every request asks the
/// database.
pub async fn follow(state: AppState) {
    loop {
        match Listener::connect(&state.db).await {
            // One instance: it makes every change itself, so its cache is already exact.
            Ok(None) => return,
            Ok(Some(mut listener)) => {
                state.sessions.set_on(true);
                while let Some(change) = listener.next().await {
                    match SessionChange::decode(&change) {
                        Some(change) => state.sessions.forget(change),
                        None => {
                            // Whatever it meant, forgetting everything is safe.
                            tracing::warn!(change, "unreadable session change: cache emptied");
                            state.sessions.set_on(true);
                        }
                    }
                }
                state.sessions.set_on(false);
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
