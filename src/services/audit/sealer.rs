//! Sealing: chaining pending events in batches, so that appends never wait for each other.
//!
//! An append writes its event pending (no position, no links) with a keyed MAC, inside the
//! transaction of the change it records, and touches nothing shared. A sealer, on every
//! instance, takes the chain head's lock, checks the head (its seal, and that the last event is
//! the one it names), reads the pending events in id order, checks each one's MAC, gives those
//! that match the next positions and links, moves the head and its seal, and commits: the chain
//! order is the sealing order. A pending event whose MAC does not match is left pending, logged
//! and named by `audit verify`; a head that does not verify is not extended (that would seal
//! over a truncation), so the events wait, and `verify` names the break.
//!
//! Each instance seals soon after one of its commits recorded events (woken in-process, at
//! most every [`GATHER`]), and every [`POLL`] for the events of other instances and commands;
//! readers of the trail seal first, so they list every event that committed before them.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use anyhow::bail;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use uuid::Uuid;

use super::chain::{self, ChainBreak};
use crate::{
    crypto::envelope::DataKeys,
    db::{self, audit_events::Seal, entities::audit_chain_head},
    state::AppState,
};

/// How often an instance seals when nothing woke it: the bound on how long an event written
/// by another instance or a command waits while this one runs.
pub const POLL: Duration = Duration::from_millis(250);
/// The least time between two sealings on an instance: the events that commit meanwhile are
/// sealed together. A sealing is about ten statements, as many as the sign-in whose event it
/// seals; at a few hundred sign-ins a second, sealing each on its own took a fifth of the
/// database's work.
const GATHER: Duration = Duration::from_millis(50);
/// Events sealed per transaction.
const BATCH: u64 = 500;
/// How often the same sealing failure is logged again.
const REPEAT_ERROR: Duration = Duration::from_secs(60);

/// What one sealing did.
#[derive(Debug, Default)]
pub struct Sealed {
    /// Events given a position.
    pub events: u64,
    /// Pending events whose MAC does not match: left pending.
    pub refused: Vec<Uuid>,
}

/// What the background sealer has said: each refused event once, and a failure once a minute
/// while it lasts.
#[derive(Default)]
struct Reports {
    refused: HashSet<Uuid>,
    last_error: Option<(String, Instant)>,
}

impl Reports {
    fn report(&mut self, result: &anyhow::Result<Sealed>) {
        match result {
            Ok(sealed) => {
                for id in &sealed.refused {
                    if self.refused.insert(*id) {
                        tracing::error!(event = %id, "a pending audit event does not match its MAC: it was not written by this service, and is not sealed");
                    }
                }
                self.last_error = None;
            }
            Err(err) => {
                let text = format!("{err:#}");
                let repeat = self
                    .last_error
                    .as_ref()
                    .is_some_and(|(previous, at)| *previous == text && at.elapsed() < REPEAT_ERROR);
                if !repeat {
                    tracing::error!(error = text, "cannot seal the audit trail");
                    self.last_error = Some((text, Instant::now()));
                }
            }
        }
    }
}

/// Seals every event that committed before the call (and any after), unless the head does not
/// verify; one pass at a time on this instance. Readers call it before they list events.
pub async fn seal_now(state: &AppState) -> anyhow::Result<Sealed> {
    let _pass = state.sealing.lock().await;
    seal(&state.db, &state.keys).await
}

/// Seals until the process ends: when a commit recorded events, and every [`POLL`]; never
/// sooner than [`GATHER`] after the previous sealing began.
pub async fn run(state: AppState) {
    let mut reports = Reports::default();
    loop {
        let began = tokio::time::Instant::now();
        reports.report(&seal_now(&state).await);
        let _ = tokio::time::timeout(POLL, state.seal_wanted.notified()).await;
        tokio::time::sleep_until(began + GATHER).await;
    }
}

/// Seals the pending events, a batch per transaction, each holding the chain head: those that
/// committed before the call are all sealed when it returns (or refused, if forged).
pub async fn seal(db: &DatabaseConnection, keys: &DataKeys) -> anyhow::Result<Sealed> {
    let mut sealed = Sealed::default();
    let mut after = None;
    loop {
        if !db::audit_events::any_pending(db, after).await? {
            return Ok(sealed);
        }
        let txn = db::begin_write(db).await?;
        let head = db::audit_events::lock_head(&txn).await?;
        check_head(&txn, keys, &head).await?;
        let mut at = (head.seq, head.hash);
        let read = seal_batch(&txn, keys, &mut at, &mut after, &mut sealed).await?;
        txn.commit().await?;
        if read < BATCH {
            return Ok(sealed);
        }
    }
}

/// Seals every pending event inside `txn`, which holds the head at position `seq` and link
/// `link` (checked by the caller): for keying, which moves the head itself.
pub(super) async fn seal_locked(
    txn: &DatabaseTransaction,
    keys: &DataKeys,
    seq: i64,
    link: String,
) -> anyhow::Result<Sealed> {
    let mut sealed = Sealed::default();
    let mut after = None;
    let mut at = (seq, link);
    loop {
        let read = seal_batch(txn, keys, &mut at, &mut after, &mut sealed).await?;
        if read < BATCH {
            return Ok(sealed);
        }
    }
}

/// Refuses to extend a head that does not verify: its seal, and the last event it names.
/// Extending it would give a trail cut short (or rewritten at its end) a valid seal.
async fn check_head(
    txn: &DatabaseTransaction,
    keys: &DataKeys,
    head: &audit_chain_head::Model,
) -> anyhow::Result<()> {
    let last = if head.seq == 0 {
        None
    } else {
        db::audit_events::at_position(txn, head.seq).await?
    };
    let last_matches = match &last {
        None => head.seq == 0,
        Some(event) => event.hash.as_deref() == Some(head.hash.as_str()),
    };
    if !chain::head_sealed(keys, head) || !last_matches {
        bail!(
            "{}; pending events stay pending until it is repaired",
            ChainBreak::Head {
                head_seq: head.seq,
                last_seq: last.and_then(|event| event.seq).unwrap_or_default(),
            }
        );
    }
    Ok(())
}

/// Seals the next batch of pending events after `after` onto the head `at` (position, link),
/// moving it; answers how many pending events it read (sealed or refused).
async fn seal_batch(
    txn: &DatabaseTransaction,
    keys: &DataKeys,
    at: &mut (i64, String),
    after: &mut Option<Uuid>,
    sealed: &mut Sealed,
) -> anyhow::Result<u64> {
    let (seq, link) = at;
    let pending = db::audit_events::pending(txn, *after, BATCH).await?;
    let read = pending.len() as u64;
    let mut seals = Vec::with_capacity(pending.len());
    for mut event in pending {
        *after = Some(event.id);
        if !chain::pending_intact(keys, &event) {
            sealed.refused.push(event.id);
            continue;
        }
        *seq += 1;
        event.seq = Some(*seq);
        let hash = chain::link(keys, link, &event);
        seals.push(Seal {
            id: event.id,
            seq: *seq,
            prev_hash: std::mem::replace(link, hash.clone()),
            hash,
        });
    }
    if !seals.is_empty() {
        db::audit_events::seal(txn, &seals).await?;
        db::audit_events::set_head(txn, *seq, link, &chain::seal(keys, *seq, link)).await?;
        sealed.events += seals.len() as u64;
    }
    Ok(read)
}
