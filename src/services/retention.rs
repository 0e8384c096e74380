//! Retention: the IP addresses and user agents kept for security (in the audit trail and on
//! sessions) are erased once older than `CUSTODIAN_CLIENT_DATA_RETENTION_DAYS`. The trail's
//! chain holds only commitments to them, so it verifies as before.

use chrono::TimeDelta;

use crate::{db, error::AppResult, state::AppState};

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
