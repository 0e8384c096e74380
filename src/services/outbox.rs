//! The mail outbox: an email is a row written in the transaction of the change that causes
//! it, sealed because it holds the recipient and tokens; a worker delivers due rows with
//! retries and backoff, at least once, under the message's one `Message-ID`. A process that
//! dies loses no email: the next one to start sends what is left.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::{
    db::{self, entities::mail_outbox::Model, mail_outbox::NewMessage},
    error::AppResult,
    mail::{Mail, Outbound},
    state::AppState,
};

/// Waits between attempts: the first retry after a second, the last after about an hour.
const BACKOFF: [Duration; 8] = [
    Duration::from_secs(1),
    Duration::from_secs(4),
    Duration::from_secs(16),
    Duration::from_secs(60),
    Duration::from_secs(240),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
];
/// Messages a worker takes at once.
const BATCH: u64 = 8;
/// How long a worker holds the messages it took: past it, another may send them again.
const LEASE: TimeDelta = TimeDelta::minutes(2);
/// How often the worker looks for due messages when nothing woke it.
const POLL: Duration = Duration::from_secs(1);

fn context(id: Uuid) -> String {
    format!("mail_outbox:{id}")
}

/// Stores `mail` for `to` in `txn`: it leaves once the transaction commits, and only then.
pub async fn enqueue(
    state: &AppState,
    txn: &DatabaseTransaction,
    to: &str,
    name: &str,
    mail: &Mail,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let outbound = state.mailer.compose(to, Some(name), mail)?;
    let id = Uuid::now_v7();
    let sealed = state
        .keys
        .encrypt(&outbound.to_json()?, &context(id))
        .map_err(|err| anyhow::anyhow!("cannot seal an email: {err}"))?;
    let message = NewMessage {
        message_id: &outbound.message_id,
        kind: &outbound.kind,
        sealed,
    };
    db::mail_outbox::insert(txn, id, message, now).await?;
    tracing::info!(
        kind = outbound.kind,
        message_id = outbound.message_id,
        "email queued"
    );
    Ok(())
}

/// Delivers due messages until the process ends: when woken by a new one, and every second.
pub async fn run(state: AppState) {
    loop {
        if let Err(err) = deliver_due(&state).await {
            tracing::warn!(error = format!("{err:#}"), "cannot deliver queued email");
        }
        state.mailer.wait_for_work(POLL).await;
    }
}

/// Takes the due messages a batch at a time and sends them.
async fn deliver_due(state: &AppState) -> anyhow::Result<()> {
    loop {
        let now = state.clock.now();
        let txn = db::begin_write(&state.db).await?;
        let due = db::mail_outbox::claim_due(&txn, now, now + LEASE, BATCH).await?;
        txn.commit().await?;
        if due.is_empty() {
            return Ok(());
        }
        for message in due {
            deliver(state, message).await?;
        }
    }
}

async fn deliver(state: &AppState, message: Model) -> anyhow::Result<()> {
    let now = state.clock.now();
    let outbound = state
        .keys
        .decrypt(&message.sealed, &context(message.id))
        .map_err(|err| anyhow::anyhow!("cannot open a queued email: {err}"))
        .and_then(|plain| Outbound::from_json(&plain))
        .context("a queued email");
    let sent = match &outbound {
        Ok(outbound) => state.mailer.deliver(outbound).await,
        Err(err) => Err(anyhow::anyhow!("{err:#}")),
    };
    match sent {
        Ok(()) => {
            db::mail_outbox::mark_delivered(&state.db, message.id, now).await?;
            state.metrics.mail_delivered(true);
            tracing::info!(
                message_id = message.message_id,
                kind = message.kind,
                "email delivered"
            );
        }
        Err(err) => {
            let attempts = message.attempts + 1;
            let wait = usize::try_from(message.attempts)
                .ok()
                .and_then(|index| BACKOFF.get(index));
            let next = wait
                .and_then(|wait| TimeDelta::from_std(*wait).ok())
                .map(|wait| now + wait);
            let error = format!("{err:#}");
            db::mail_outbox::mark_failed_attempt(
                &state.db, message.id, attempts, next, now, &error,
            )
            .await?;
            if let Some(wait) = wait {
                tracing::warn!(
                    message_id = message.message_id,
                    error,
                    retry_in_secs = wait.as_secs(),
                    "email not delivered; will retry"
                );
            } else {
                state.metrics.mail_delivered(false);
                tracing::error!(
                    message_id = message.message_id,
                    error,
                    "email not delivered; giving up (kept in the outbox)"
                );
            }
        }
    }
    Ok(())
}
