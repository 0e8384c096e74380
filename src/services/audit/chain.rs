//! The keyed chain that makes the trail tamper-evident, even to someone who can write the
//! database.
//!
//! Event `n` stores `prev_hash` (the link of event `n − 1`, or 64 zeros for the first) and its
//! link `hash = HMAC(chain key, prev_hash ‖ "\n" ‖ canonical(event))`, where `canonical` is a
//! JSON array of the event's columns in a fixed order. The client's IP address and user agent
//! enter only as a keyed commitment, so they can be erased (closure, retention) and the chain
//! still verifies. The chain key is a sub-key of the index data key, sealed under the master
//! key: without the master key no link can be recomputed, so an edit, a removal or an
//! insertion anywhere shows. The head holds the last position and link and a keyed seal over
//! both, so a trail cut short shows too. A signed checkpoint of (position, link), kept
//! elsewhere, shows a year later that nothing up to it changed, whoever held the key meanwhile.

use std::{collections::BTreeMap, fmt};

use sea_orm::ConnectionTrait;
use serde_json::json;

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

fn canonical(event: &Model) -> String {
    json!([
        event.seq,
        event.id,
        timestamp(event),
        event.kind,
        event.outcome,
        event.actor_id,
        event.subject_id,
        event.session_id,
        event.client_commitment,
        event.request_id,
        event.details,
    ])
    .to_string()
}

/// The link `event` must carry, given its `prev_hash`.
pub fn link(keys: &DataKeys, event: &Model) -> String {
    keys.keyed_hash(
        HashPurpose::AuditChain,
        format!("{}\n{}", event.prev_hash, canonical(event)).as_bytes(),
    )
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
    sha256_hex(format!("{}\n{record}", event.prev_hash).as_bytes())
}

/// A position and link the trail must still have: from a signed checkpoint.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub seq: i64,
    pub link: String,
}

/// An intact chain: how long it is and the link at its head.
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
        }
    }
}

/// Walks the whole chain in order, asking `check` about each event with the link before it;
/// answers the last position and link, or the first break.
pub(super) async fn walk(
    db: &impl ConnectionTrait,
    mut check: impl FnMut(&Model) -> Result<String, ChainBreak>,
) -> Result<Result<(i64, String), ChainBreak>, sea_orm::DbErr> {
    let mut expected = 1;
    let mut prev = GENESIS_HASH.to_owned();
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
            if event.prev_hash != prev {
                return Ok(Err(ChainBreak::Unlinked {
                    seq: event.seq,
                    id: event.id.to_string(),
                }));
            }
            match check(&event) {
                Ok(link) => prev = link,
                Err(broken) => return Ok(Err(broken)),
            }
            expected += 1;
        }
        if done {
            return Ok(Ok((expected - 1, prev)));
        }
    }
}

/// Checks every link, every commitment to client data still held, the head and its seal, and
/// that the trail still holds each anchor; reports the first break.
pub async fn verify(
    db: &impl ConnectionTrait,
    keys: &DataKeys,
    anchors: &[Anchor],
) -> Result<Result<ChainReport, ChainBreak>, sea_orm::DbErr> {
    let anchored: BTreeMap<i64, &str> = anchors
        .iter()
        .map(|anchor| (anchor.seq, anchor.link.as_str()))
        .collect();
    let walked = walk(db, |event| {
        let id = || event.id.to_string();
        if link(keys, event) != event.hash {
            return Err(ChainBreak::Altered {
                seq: event.seq,
                id: id(),
            });
        }
        let held = event.ip_address.is_some() || event.user_agent.is_some();
        let committed = client_commitment(
            keys,
            event.id,
            event.ip_address.as_deref(),
            event.user_agent.as_deref(),
        );
        if held && committed != event.client_commitment {
            return Err(ChainBreak::ClientData {
                seq: event.seq,
                id: id(),
            });
        }
        if anchored
            .get(&event.seq)
            .is_some_and(|anchor| *anchor != event.hash)
        {
            return Err(ChainBreak::Checkpoint { seq: event.seq });
        }
        Ok(event.hash.clone())
    })
    .await?;
    let (last_seq, last_link) = match walked {
        Ok(last) => last,
        Err(broken) => return Ok(Err(broken)),
    };
    if let Some((&checkpoint, _)) = anchored.range(last_seq + 1..).next() {
        return Ok(Err(ChainBreak::Short {
            last_seq,
            checkpoint,
        }));
    }
    let head = db::audit_events::head(db).await?;
    let sealed = |head: &db::entities::audit_chain_head::Model| match &head.seal {
        Some(seal_value) => *seal_value == seal(keys, head.seq, &head.hash),
        None => head.seq == 0,
    };
    match head {
        Some(head) if head.seq == last_seq && head.hash == last_link && sealed(&head) => {
            Ok(Ok(ChainReport {
                events: last_seq,
                head_hash: last_link,
            }))
        }
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
