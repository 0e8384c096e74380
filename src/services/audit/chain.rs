//! The keyed chain that makes the trail tamper-evident, even to someone who can write the
//! database.
//!
//! Event `n` stores `prev_hash` (the link of event `n − 1`, or 64 zeros for the first) and its
//! link `hash = HMAC(chain key, prev_hash ‖ "\n" ‖ canonical(event))`, where `canonical` is a
//! JSON array of the event's columns in a fixed order. An event is appended pending, without
//! position or links, carrying `event_mac = HMAC(event key, canonical(event) without its
//! position)`; the sealer (see [`super::sealer`]) checks that MAC before it gives the event its
//! position and links, so a pending row written by anyone without the key is never chained,
//! and `verify` names it. The client's IP address and user agent enter only as a keyed
//! commitment, so they can be erased (closure, retention) and the chain still verifies. The
//! chain key is a sub-key of the index data key, sealed under the master key: without the
//! master key no link can be recomputed, so an edit, a removal or an insertion anywhere shows.
//! The head holds the last position and link and a keyed seal over both, so a trail cut short
//! shows too. A signed checkpoint of (position, link), kept elsewhere, shows a year later that
//! nothing up to it changed, whoever held the key meanwhile.

use std::{collections::BTreeMap, fmt};

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    crypto::{
        envelope::{DataKeys, HashPurpose},
        sha256_hex,
    },
    db::{self, entities::audit_events::Model},
};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const PAGE: u64 = 1000;

/// The format of `at` in every record: what PostgreSQL keeps.
fn timestamp(event: &Model) -> String {
    event.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The event's columns in a fixed order, all but its position: what its MAC covers while it
/// is pending, and, after its position, what its link covers once sealed.
fn columns(event: &Model) -> Vec<Value> {
    vec![
        json!(event.id),
        json!(timestamp(event)),
        json!(event.kind),
        json!(event.outcome),
        json!(event.actor_id),
        json!(event.subject_id),
        json!(event.session_id),
        json!(event.client_commitment),
        json!(event.request_id),
        json!(event.details),
    ]
}

fn canonical(event: &Model) -> String {
    let mut record = vec![json!(event.seq)];
    record.extend(columns(event));
    Value::Array(record).to_string()
}

/// The record a pending event's MAC covers: the chained record without the position, which
/// the sealer assigns.
fn pending_record(event: &Model) -> String {
    Value::Array(columns(event)).to_string()
}

/// The link `event` must carry at its position, after the link `prev`.
pub fn link(keys: &DataKeys, prev: &str, event: &Model) -> String {
    keys.keyed_hash(
        HashPurpose::AuditChain,
        format!("{prev}\n{}", canonical(event)).as_bytes(),
    )
}

/// The MAC a pending event carries from its append on.
pub fn event_mac(keys: &DataKeys, event: &Model) -> String {
    keys.keyed_hash(HashPurpose::AuditEvent, pending_record(event).as_bytes())
}

/// Whether a pending event is one this service wrote: its MAC matches its record, and its
/// client data, while held, matches the commitment.
pub fn pending_intact(keys: &DataKeys, event: &Model) -> bool {
    event.event_mac.as_deref() == Some(event_mac(keys, event).as_str())
        && client_data_intact(keys, event)
}

/// Whether the event's IP address and user agent, while held, are the ones committed to.
fn client_data_intact(keys: &DataKeys, event: &Model) -> bool {
    let held = event.ip_address.is_some() || event.user_agent.is_some();
    !held
        || client_commitment(
            keys,
            event.id,
            event.ip_address.as_deref(),
            event.user_agent.as_deref(),
        ) == event.client_commitment
}

/// The head's seal over its position and link.
pub fn seal(keys: &DataKeys, seq: i64, link: &str) -> String {
    keys.keyed_hash(
        HashPurpose::AuditChain,
        format!("head\n{seq}\n{link}").as_bytes(),
    )
}

/// The commitment to an event's client data, when it has any.
pub fn client_commitment(
    keys: &DataKeys,
    event: uuid::Uuid,
    ip_address: Option<&str>,
    user_agent: Option<&str>,
) -> Option<String> {
    if ip_address.is_none() && user_agent.is_none() {
        return None;
    }
    let record = json!([event, ip_address, user_agent]).to_string();
    Some(keys.keyed_hash(HashPurpose::AuditClient, record.as_bytes()))
}

/// The unkeyed SHA-256 links of trails written before keying, read once to check such a trail
/// before it is keyed.
pub(super) fn legacy_link(event: &Model) -> String {
    let record = json!([
        event.seq,
        event.id,
        timestamp(event),
        event.kind,
        event.outcome,
        event.actor_id,
        event.subject_id,
        event.session_id,
        event.ip_address,
        event.user_agent,
        event.request_id,
        event.details,
    ]);
    let prev = event.prev_hash.as_deref().unwrap_or_default();
    sha256_hex(format!("{prev}\n{record}").as_bytes())
}

/// A position and link the trail must still have: from a signed checkpoint.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub seq: i64,
    pub link: String,
}

/// An intact chain: how long it is and the link at its head, and how many newer events await
/// sealing (each matching its MAC).
#[derive(Debug)]
pub struct ChainReport {
    pub events: i64,
    pub head_hash: String,
    pub pending: u64,
}

/// The first place the chain is broken, and how.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainBreak {
    /// Positions jump from `expected` to `found`: events were removed.
    Missing { expected: i64, found: i64 },
    /// The event's content no longer matches its link: it was edited.
    Altered { seq: i64, id: String },
    /// The event's IP address or user agent is not what was recorded.
    ClientData { seq: i64, id: String },
    /// The event does not follow the one before it: it was inserted or the chain reordered.
    Unlinked { seq: i64, id: String },
    /// The head disagrees with the last event, or its seal is wrong: events were removed
    /// from, or added after, the end.
    Head { head_seq: i64, last_seq: i64 },
    /// The event at a checkpoint's position is not the one the checkpoint signed.
    Checkpoint { seq: i64 },
    /// The trail ends before a checkpoint's position: events were removed from the end.
    Short { last_seq: i64, checkpoint: i64 },
    /// A pending event does not match its MAC (or its client data its commitment): it was
    /// written or altered by someone without the key, and is never sealed.
    Forged { id: String },
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
                "event #{seq} ({id}) does not match its link: it was altered"
            ),
            Self::ClientData { seq, id } => write!(
                f,
                "the IP address or user agent of event #{seq} ({id}) is not the one recorded: it was altered"
            ),
            Self::Unlinked { seq, id } => write!(
                f,
                "event #{seq} ({id}) does not follow the event before it: an event was inserted or altered"
            ),
            Self::Head { head_seq, last_seq } => write!(
                f,
                "the chain head (#{head_seq}) does not match the last event (#{last_seq}) or its seal is wrong: events were removed from, added at or altered at the end"
            ),
            Self::Checkpoint { seq } => write!(
                f,
                "event #{seq} is not the event the checkpoint signed: the trail up to it was rewritten"
            ),
            Self::Short {
                last_seq,
                checkpoint,
            } => write!(
                f,
                "the trail ends at #{last_seq}, before checkpoint #{checkpoint}: events were removed from the end"
            ),
            Self::Forged { id } => write!(
                f,
                "event {id}, awaiting sealing, does not match its MAC: it was forged or altered, and is not sealed"
            ),
        }
    }
}

/// Where a walk of the chain stands: the next position it expects and the link before it.
struct Walk {
    expected: i64,
    prev: String,
}

impl Walk {
    fn new() -> Self {
        Self {
            expected: 1,
            prev: GENESIS_HASH.to_owned(),
        }
    }

    /// The last position walked and its link.
    fn last(&self) -> (i64, &str) {
        (self.expected - 1, &self.prev)
    }

    /// Walks the sealed events from where it stands to the end of the chain as it is now,
    /// asking `check` about each event with the link before it; stops at the first break.
    async fn walk_on(
        &mut self,
        db: &impl ConnectionTrait,
        check: &mut impl FnMut(&Model, &str) -> Result<String, ChainBreak>,
    ) -> Result<Result<(), ChainBreak>, sea_orm::DbErr> {
        loop {
            let page = db::audit_events::chain_page(db, self.expected, PAGE).await?;
            let done = (page.len() as u64) < PAGE;
            for event in page {
                let seq = event.seq.unwrap_or_default();
                if seq != self.expected {
                    return Ok(Err(ChainBreak::Missing {
                        expected: self.expected,
                        found: seq,
                    }));
                }
                if event.prev_hash.as_deref() != Some(self.prev.as_str()) {
                    return Ok(Err(ChainBreak::Unlinked {
                        seq,
                        id: event.id.to_string(),
                    }));
                }
                match check(&event, &self.prev) {
                    Ok(link) => self.prev = link,
                    Err(broken) => return Ok(Err(broken)),
                }
                self.expected += 1;
            }
            if done {
                return Ok(Ok(()));
            }
        }
    }
}

/// Walks the whole chain in order, asking `check` about each event with the link before it;
/// answers the last position and link, or the first break.
pub(super) async fn walk(
    db: &impl ConnectionTrait,
    mut check: impl FnMut(&Model, &str) -> Result<String, ChainBreak>,
) -> Result<Result<(i64, String), ChainBreak>, sea_orm::DbErr> {
    let mut walk = Walk::new();
    if let Err(broken) = walk.walk_on(db, &mut check).await? {
        return Ok(Err(broken));
    }
    let (last, link) = walk.last();
    Ok(Ok((last, link.to_owned())))
}

/// Whether the head's seal is the keyed seal over its position and link (a head that never
/// moved has none).
pub(super) fn head_sealed(keys: &DataKeys, head: &db::entities::audit_chain_head::Model) -> bool {
    match &head.seal {
        Some(seal_value) => *seal_value == seal(keys, head.seq, &head.hash),
        None => head.seq == 0,
    }
}

/// How many times `verify` follows a head that moved on while it walked (a sealer running
/// beside it) before it calls the chain broken.
const HEAD_CHASES: usize = 20;

/// Checks every link, every commitment to client data still held, the head and its seal, and
/// that the trail still holds each anchor; then the MAC of every event still pending. Reports
/// the first break.
pub async fn verify(
    db: &impl ConnectionTrait,
    keys: &DataKeys,
    anchors: &[Anchor],
) -> Result<Result<ChainReport, ChainBreak>, sea_orm::DbErr> {
    let anchored: BTreeMap<i64, &str> = anchors
        .iter()
        .map(|anchor| (anchor.seq, anchor.link.as_str()))
        .collect();
    let mut check = |event: &Model, prev: &str| {
        let seq = event.seq.unwrap_or_default();
        let id = || event.id.to_string();
        let hash = event.hash.as_deref().unwrap_or_default();
        if link(keys, prev, event) != hash {
            return Err(ChainBreak::Altered { seq, id: id() });
        }
        if !client_data_intact(keys, event) {
            return Err(ChainBreak::ClientData { seq, id: id() });
        }
        if anchored.get(&seq).is_some_and(|anchor| *anchor != hash) {
            return Err(ChainBreak::Checkpoint { seq });
        }
        Ok(hash.to_owned())
    };
    let mut walk = Walk::new();
    let mut chases = 0;
    let head = loop {
        if let Err(broken) = walk.walk_on(db, &mut check).await? {
            return Ok(Err(broken));
        }
        let (last_seq, _) = walk.last();
        let head = db::audit_events::head(db).await?;
        // A sealer that committed after the walk passed the end moved the head on: walk on
        // to it. The head never trails the events it sealed, so behind is a break.
        match &head {
            Some(head) if head.seq > last_seq && chases < HEAD_CHASES => chases += 1,
            _ => break head,
        }
    };
    let (last_seq, last_link) = walk.last();
    if let Some((&checkpoint, _)) = anchored.range(last_seq + 1..).next() {
        return Ok(Err(ChainBreak::Short {
            last_seq,
            checkpoint,
        }));
    }
    match head {
        Some(head)
            if head.seq == last_seq && head.hash == last_link && head_sealed(keys, &head) => {}
        Some(head) => {
            return Ok(Err(ChainBreak::Head {
                head_seq: head.seq,
                last_seq,
            }));
        }
        None => {
            return Ok(Err(ChainBreak::Head {
                head_seq: 0,
                last_seq,
            }));
        }
    }
    let head_hash = last_link.to_owned();
    let mut pending = 0;
    let mut after = None;
    loop {
        let page = db::audit_events::pending(db, after, PAGE).await?;
        let done = (page.len() as u64) < PAGE;
        for event in &page {
            if !pending_intact(keys, event) {
                return Ok(Err(ChainBreak::Forged {
                    id: event.id.to_string(),
                }));
            }
            pending += 1;
            after = Some(event.id);
        }
        if done {
            break;
        }
    }
    Ok(Ok(ChainReport {
        events: last_seq,
        head_hash,
        pending,
    }))
}
