//! Keying a trail written before the chain was keyed: checked under its old unkeyed links,
//! re-linked under the key once, and its old head recorded as the first keyed event.

use anyhow::bail;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::{
    Event, Kind,
    chain::{self, ChainBreak, GENESIS_HASH},
    record, sealer,
};
use crate::{crypto::envelope::DataKeys, db};

const PAGE: u64 = 1000;

/// Keys the trail if it was written before keying; `true` when it did. Runs in one
/// transaction holding the chain head, so instances starting together key it once, and a
/// trail that does not verify under its old links is refused rather than laundered.
pub async fn key_legacy_trail(
    db: &DatabaseConnection,
    keys: &DataKeys,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let txn = db::begin_write(db).await?;
    let head = db::audit_events::lock_head(&txn).await?;
    if head.seq == 0 || head.seal.is_some() {
        return Ok(false);
    }
    let walked = chain::walk(&txn, |event, _| {
        let link = chain::legacy_link(event);
        if event.hash.as_deref() == Some(link.as_str()) {
            Ok(link)
        } else {
            Err(ChainBreak::Altered {
                seq: event.seq.unwrap_or_default(),
                id: event.id.to_string(),
            })
        }
    })
    .await?;
    match walked {
        Ok((last, link)) if last == head.seq && link == head.hash => {}
        Ok((last, _)) => bail!(
            "the audit trail was altered before it could be keyed: {}",
            ChainBreak::Head {
                head_seq: head.seq,
                last_seq: last
            }
        ),
        Err(broken) => bail!("the audit trail was altered before it could be keyed: {broken}"),
    }
    db::audit_events::begin_maintenance(&txn).await?;
    let mut prev = GENESIS_HASH.to_owned();
    let mut from = 1;
    loop {
        let page = db::audit_events::chain_page(&txn, from, PAGE).await?;
        let done = (page.len() as u64) < PAGE;
        for mut event in page {
            event.client_commitment = chain::client_commitment(
                keys,
                event.id,
                event.ip_address.as_deref(),
                event.user_agent.as_deref(),
            );
            let link = chain::link(keys, &prev, &event);
            event.prev_hash = Some(std::mem::replace(&mut prev, link.clone()));
            event.hash = Some(link);
            db::audit_events::relink(&txn, &event).await?;
            from = event.seq.unwrap_or_default() + 1;
        }
        if done {
            break;
        }
    }
    let seal = chain::seal(keys, head.seq, &prev);
    db::audit_events::set_head(&txn, head.seq, &prev, &seal).await?;
    db::audit_events::end_maintenance(&txn).await?;
    let event = Event::new(Kind::AuditChainKeyed)
        .detail("previous_head_seq", head.seq)
        .detail("previous_head_hash", head.hash);
    record(&txn, keys, now, event).await?;
    sealer::seal_locked(&txn, keys, head.seq, prev).await?;
    txn.commit().await?;
    tracing::info!(events = head.seq, "keyed the audit trail");
    Ok(true)
}
