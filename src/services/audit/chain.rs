//! The hash chain that makes the trail tamper-evident.
//!
//! Event `n` stores `prev_hash` (the hash of event `n − 1`, or 64 zeros for the first) and
//! `hash = SHA-256(prev_hash ‖ "\n" ‖ canonical(event))`, where `canonical` is a JSON array of
//! every other column in a fixed order. Positions (`seq`) run 1, 2, 3… without gaps, and the
//! chain head records the last position and hash. Editing an event breaks its hash; removing
//! one leaves a gap or a head that points past the end; inserting one breaks the next event's
//! `prev_hash` or the head. Someone able to rewrite every later event and the head can hide a
//! change, which is why `custodian audit verify` prints the head hash: kept elsewhere, it pins
//! the whole history up to that point.

use std::fmt;

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{
    crypto::sha256_hex,
    db::{self, entities::audit_events::Model},
};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const PAGE: u64 = 1000;

fn canonical(event: &Model) -> String {
    json!([
        event.seq,
        event.id,
        event.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        event.kind,
        event.outcome,
        event.actor_id,
        event.subject_id,
        event.session_id,
        event.ip_address,
        event.user_agent,
        event.request_id,
        event.details,
    ])
    .to_string()
}

/// The hash `event` must carry, given its `prev_hash`.
pub fn hash(event: &Model) -> String {
    sha256_hex(format!("{}\n{}", event.prev_hash, canonical(event)).as_bytes())
}

/// An intact chain: how long it is and the hash at its head.
#[derive(Debug)]
pub struct ChainReport {
    pub events: i64,
    pub head_hash: String,
}

/// The first place the chain is broken, and how.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainBreak {
    /// Positions jump from `expected` to `found`: events were removed.
    Missing { expected: i64, found: i64 },
    /// The event's content no longer matches its hash: it was edited.
    Altered { seq: i64, id: String },
    /// The event does not follow the one before it: it was inserted or the chain reordered.
    Unlinked { seq: i64, id: String },
    /// The head disagrees with the last event: events were removed from, or added after,
    /// the end.
    Head { head_seq: i64, last_seq: i64 },
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { expected, found } => write!(
                f,
                "event #{expected} is missing (the next is #{found}): events were removed or inserted out of order"
            ),
            Self::Altered { seq, id } => write!(
                f,
                "event #{seq} ({id}) does not match its hash: it was altered"
            ),
            Self::Unlinked { seq, id } => write!(
                f,
                "event #{seq} ({id}) does not follow the event before it: an event was inserted or altered"
            ),
            Self::Head { head_seq, last_seq } => write!(
                f,
                "the chain head (#{head_seq}) does not match the last event (#{last_seq}): events were removed from, added at or altered at the end"
            ),
        }
    }
}

/// Walks the whole chain in order and reports the first break, if any.
pub async fn verify(
    db: &impl ConnectionTrait,
) -> Result<Result<ChainReport, ChainBreak>, sea_orm::DbErr> {
    let mut expected = 1;
    let mut prev_hash = GENESIS_HASH.to_owned();
    loop {
        let page = db::audit_events::chain_page(db, expected, PAGE).await?;
        let done = (page.len() as u64) < PAGE;
        for event in page {
            if event.seq != expected {
                return Ok(Err(ChainBreak::Missing {
                    expected,
                    found: event.seq,
                }));
            }
            if event.prev_hash != prev_hash {
                return Ok(Err(ChainBreak::Unlinked {
                    seq: event.seq,
                    id: event.id.to_string(),
                }));
            }
            if hash(&event) != event.hash {
                return Ok(Err(ChainBreak::Altered {
                    seq: event.seq,
                    id: event.id.to_string(),
                }));
            }
            prev_hash = event.hash;
            expected += 1;
        }
        if done {
            break;
        }
    }
    let last_seq = expected - 1;
    let head = db::audit_events::head(db).await?;
    match head {
        Some(head) if head.seq == last_seq && head.hash == prev_hash => Ok(Ok(ChainReport {
            events: last_seq,
            head_hash: prev_hash,
        })),
        Some(head) => Ok(Err(ChainBreak::Head {
            head_seq: head.seq,
            last_seq,
        })),
        None => Ok(Err(ChainBreak::Head {
            head_seq: 0,
            last_seq,
        })),
    }
}
