//! Retention. The IP addresses and user agents kept for security (in the audit trail and on
//! sessions) are erased once older than `CUSTODIAN_CLIENT_DATA_RETENTION_DAYS`; the trail's
//! chain holds only commitments to them, so it verifies as before. Rows no rule reads any more
//! (expired refresh tokens, sessions ended longer ago than `CUSTODIAN_SESSION_RETENTION_DAYS`,
//! expired challenges, passkey ceremonies and links, old sign-in failures, changes of address
//! once their revert window is over, with the addresses they held) are deleted in small
//! batches, by one instance at a time. Audit events are never deleted.

use chrono::TimeDelta;

use super::throttle::BACKOFF_WINDOW;
use crate::{
    db::{self, retention::Table},
    error::AppResult,
    state::AppState,
};

/// Rows deleted per transaction: small enough that no table is locked for long.
const BATCH: u64 = 500;

/// What one pass erased.
pub struct Erased {
    pub events: u64,
    pub sessions: u64,
}

/// Erases client data older than the retention period; safe to run on every instance at once.
pub async fn erase_expired_client_data(state: &AppState) -> AppResult<Erased> {
    let period =
        TimeDelta::from_std(state.settings.retention.client_data).map_err(anyhow::Error::from)?;
    let cutoff = state.clock.now() - period;
    Ok(Erased {
        events: db::audit_events::erase_client_data_before(&state.db, cutoff).await?,
        sessions: db::sessions::erase_client_details_ended_before(&state.db, cutoff).await?,
    })
}

/// Deletes what no rule needs any more; answers how many rows went from each table. Another
/// instance pruning at the same time (PostgreSQL) makes this one stop at once.
pub async fn prune(state: &AppState) -> AppResult<Vec<(&'static str, u64)>> {
    let now = state.clock.now();
    let grace =
        TimeDelta::from_std(state.settings.sessions.refresh_grace).map_err(anyhow::Error::from)?;
    let sessions =
        TimeDelta::from_std(state.settings.retention.sessions).map_err(anyhow::Error::from)?;
    let mail = TimeDelta::from_std(state.settings.retention.delivered_mail)
        .map_err(anyhow::Error::from)?;
    let mut deleted = Vec::new();
    for table in Table::ALL {
        let cutoff = match table {
            Table::RefreshTokens => now - grace,
            Table::Sessions => now - sessions,
            Table::MfaChallenges
            | Table::AccountTokens
            | Table::EmailChanges
            | Table::WebauthnCeremonies => now,
            Table::LoginFailures | Table::BackoffLocks => now - BACKOFF_WINDOW,
            Table::MailOutbox => now - mail,
        };
        let mut total = 0;
        loop {
            let txn = db::begin_write(&state.db).await?;
            if !db::retention::claim(&txn).await? {
                return Ok(deleted);
            }
            let gone = db::retention::delete_batch(&txn, table, cutoff, BATCH).await?;
            txn.commit().await?;
            total += gone;
            if gone < BATCH {
                break;
            }
        }
        state.metrics.retention_deleted(table.name(), total);
        deleted.push((table.name(), total));
    }
    Ok(deleted)
}
