//! Token-signing keys in storage: loading them into the keyring, rotating and revoking them,
//! and re-reading them so a change by `custodian keys rotate` or `revoke` reaches every
//! instance. Instances re-read the table every few seconds, and at once (at most every few
//! seconds) when a token names a key they have not seen.

use std::{sync::Arc, time::Duration};

use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::DecodingKey;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::audit::{self, Event, Kind};
use crate::{
    crypto::{
        Cipher,
        envelope::DataKeys,
        keyring::{ALGORITHM, Keyring, PUBLISH_BEFORE_SIGNING, StoredKey, sealing_context},
    },
    db::{self, entities::signing_keys::Model},
    state::AppState,
};

fn stored(rows: &[Model]) -> Vec<StoredKey<'_>> {
    rows.iter()
        .map(|row| StoredKey {
            kid: &row.id,
            algorithm: &row.algorithm,
            private_key: &row.private_key,
            public_key: &row.public_key,
            activates_at: row.activates_at.unwrap_or(row.created_at),
            retired_at: row.retired_at,
            revoked: row.revoked_at.is_some(),
        })
        .collect()
}

/// Loads the keys, creating the first one if the table is empty.
pub async fn load(
    db: &DatabaseConnection,
    keys: Arc<DataKeys>,
    access_ttl: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<Keyring> {
    let mut rows = db::signing_keys::all(db).await?;
    let usable = |row: &Model| row.retired_at.is_none() && row.revoked_at.is_none();
    if !rows.iter().any(usable) {
        create(db, &keys, now, now).await?;
        rows = db::signing_keys::all(db).await?;
    }
    Keyring::new(keys, access_ttl, &stored(&rows), now)
}

/// What `keys rotate` did.
pub struct Rotation {
    pub kid: String,
    /// When it starts signing; the others retire then.
    pub activates_at: DateTime<Utc>,
}

/// Adds a new signing key, published at once and signing from [`PUBLISH_BEFORE_SIGNING`] on
/// (or at once when `immediately`); the others retire when it takes over.
pub async fn rotate(
    db: &DatabaseConnection,
    keys: &DataKeys,
    now: DateTime<Utc>,
    immediately: bool,
) -> anyhow::Result<Rotation> {
    let activates_at = if immediately {
        now
    } else {
        now + TimeDelta::from_std(PUBLISH_BEFORE_SIGNING)?
    };
    let txn = db::begin_write(db).await?;
    let kid = create(&txn, keys, now, activates_at).await?;
    db::signing_keys::retire_all_except(&txn, &kid, activates_at).await?;
    let event = Event::new(Kind::SigningKeyRotated)
        .detail("kid", kid.as_str())
        .detail("activates_at", activates_at.to_rfc3339());
    audit::record(&txn, keys, now, event)
        .await
        .context("cannot record the rotation in the audit trail")?;
    txn.commit().await?;
    Ok(Rotation { kid, activates_at })
}

/// Revokes key `kid` (`keys revoke`): it stops verifying and leaves the JWKS on every instance
/// at their next re-read. When no other key is signing, a new one signs at once (a leaked key
/// cannot wait for a publication delay); its kid is returned.
pub async fn revoke(
    db: &DatabaseConnection,
    keys: &DataKeys,
    kid: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let txn = db::begin_write(db).await?;
    if !db::signing_keys::revoke(&txn, kid, now).await? {
        bail!("there is no signing key {kid}, or it is revoked already");
    }
    let signing = db::signing_keys::all(&txn).await?.iter().any(|row| {
        row.revoked_at.is_none()
            && row.activates_at.unwrap_or(row.created_at) <= now
            && row.retired_at.is_none_or(|retired| retired > now)
    });
    let replacement = if signing {
        None
    } else {
        let new = create(&txn, keys, now, now).await?;
        db::signing_keys::retire_all_except(&txn, &new, now).await?;
        Some(new)
    };
    let mut event = Event::new(Kind::SigningKeyRevoked).detail("kid", kid);
    if let Some(new) = &replacement {
        event = event.detail("replaced_by", new.as_str());
    }
    audit::record(&txn, keys, now, event)
        .await
        .context("cannot record the revocation in the audit trail")?;
    txn.commit().await?;
    Ok(replacement)
}

/// Re-reads the table into the keyring.
pub async fn reload(state: &AppState) -> anyhow::Result<()> {
    let rows = db::signing_keys::all(&state.db).await?;
    state.keyring.replace(&stored(&rows), state.clock.now())
}

/// The key that verifies tokens signed under `kid`, re-reading the table once if it is
/// unknown.
pub async fn verifier(state: &AppState, kid: &str) -> Option<Arc<DecodingKey>> {
    if let Some(key) = state.keyring.verifier(kid) {
        return Some(key);
    }
    if !state.keyring.claim_reload() {
        return None;
    }
    if let Err(err) = reload(state).await {
        tracing::warn!(error = format!("{err:#}"), "cannot reload signing keys");
    }
    state.keyring.verifier(kid)
}

async fn create(
    db: &impl ConnectionTrait,
    keys: &DataKeys,
    now: DateTime<Utc>,
    activates_at: DateTime<Utc>,
) -> anyhow::Result<String> {
    let key = Keyring::generate(keys)?;
    db::signing_keys::insert(
        db,
        Model {
            id: key.kid.clone(),
            algorithm: ALGORITHM.into(),
            private_key: key.private_key,
            public_key: key.public_key,
            created_at: now,
            retired_at: None,
            activates_at: Some(activates_at),
            revoked_at: None,
        },
    )
    .await?;
    tracing::info!(kid = key.kid, "created a token-signing key");
    Ok(key.kid)
}

/// Re-encrypts the sealed private keys not under the current data key (when `write`); answers
/// how many moved and how many are left.
pub(super) async fn reencrypt(
    db: &DatabaseConnection,
    keys: &DataKeys,
    write: bool,
) -> anyhow::Result<(u64, u64)> {
    let current = keys.current_id();
    let (mut moved, mut remaining) = (0, 0);
    for row in db::signing_keys::all(db).await? {
        if Cipher::key_id_of(&row.private_key) == Some(current.as_str()) {
            continue;
        }
        let context = sealing_context(&row.id);
        let resealed = if write {
            let seed = keys
                .decrypt(&row.private_key, &context)
                .with_context(|| format!("cannot open signing key {}", row.id))?;
            let new = keys.encrypt(&seed, &context)?;
            db::signing_keys::reseal(db, &row.id, &row.private_key, &new).await?
        } else {
            false
        };
        if resealed {
            moved += 1;
        } else {
            remaining += 1;
        }
    }
    Ok((moved, remaining))
}
