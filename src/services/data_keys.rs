//! The data keys of envelope encryption in storage: made at the first start (or, on a database
//! written before them, adopted from the master key), re-read while serving so a key added
//! elsewhere reaches every instance, re-sealed under a new master (`keys rewrap`), and rotated
//! with the data re-encrypted in small batches while the service runs (`keys rotate-data`).

use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::{
    audit::{self, Event, Kind},
    signing_keys,
};
use crate::{
    crypto::{
        Cipher,
        envelope::{DataKeys, HashPurpose, MasterKeys, NewDataKey, Purpose, StoredDataKey},
    },
    db::{
        self,
        accounts::{SealedColumn, SealedRow},
        entities::data_keys::Model,
    },
    domain::AccountId,
    error::AppResult,
    state::AppState,
};

/// Passes over the data one `rotate-data` run makes before it reports what is left: rows
/// rewritten meanwhile by an instance still on the older key are caught by the next pass.
const ROTATION_PASSES: usize = 3;

fn stored(rows: &[Model]) -> Vec<StoredDataKey<'_>> {
    rows.iter()
        .map(|row| StoredDataKey {
            id: &row.id,
            purpose: &row.purpose,
            sealed: &row.sealed,
        })
        .collect()
}

/// Opens the data keys, making the first ones if there are none.
pub async fn load(
    db: &DatabaseConnection,
    masters: MasterKeys,
    now: DateTime<Utc>,
) -> anyhow::Result<DataKeys> {
    let mut rows = db::data_keys::all(db).await?;
    if rows.is_empty() {
        let created = create_first(db, &masters, now).await;
        rows = db::data_keys::all(db).await?;
        // Another instance starting at the same moment may have won: its keys serve as well.
        if rows.is_empty() {
            created?;
        }
    }
    DataKeys::open(masters, &stored(&rows))
}

async fn create_first(
    db: &DatabaseConnection,
    masters: &MasterKeys,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let txn = db::begin_write(db).await?;
    let existing_data =
        db::accounts::any(&txn).await? || !db::signing_keys::all(&txn).await?.is_empty();
    let (index, encryption) = if existing_data {
        (
            masters.adopt_current(Purpose::Index)?,
            masters.adopt_current(Purpose::Encryption)?,
        )
    } else {
        (
            masters.generate(Purpose::Index)?,
            masters.generate(Purpose::Encryption)?,
        )
    };
    insert(&txn, &index, now).await?;
    insert(&txn, &encryption, now).await?;
    if existing_data {
        // Recovery codes were stored as bare SHA-256; key them in the same step, so no code
        // is ever checked against the wrong form.
        for (id, digest) in db::mfa::all_recovery_code_hashes(&txn).await? {
            let keyed = masters.keyed_hash_as_adopted(HashPurpose::RecoveryCode, digest.as_bytes());
            db::mfa::set_recovery_code_hash(&txn, id, &keyed).await?;
        }
    }
    txn.commit().await?;
    if existing_data {
        tracing::warn!(
            "adopted the master key as the first data keys of data written before envelope \
             encryption; run `custodian keys rotate-data` to move the data to a fresh key"
        );
    } else {
        tracing::info!("created the data keys");
    }
    Ok(())
}

async fn insert(
    db: &impl ConnectionTrait,
    key: &NewDataKey,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    db::data_keys::insert(db, key.purpose.as_str(), &key.id, &key.sealed, now)
        .await
        .context("cannot store a data key")
}

/// Re-reads the keys: one added by `keys rotate-data` starts encrypting here too.
pub async fn reload(state: &AppState) -> anyhow::Result<()> {
    absorb(&state.db, &state.keys).await
}

async fn absorb(db: &DatabaseConnection, keys: &DataKeys) -> anyhow::Result<()> {
    let rows = db::data_keys::all(db).await?;
    for skipped in keys.absorb(&stored(&rows)) {
        tracing::warn!(error = format!("{skipped:#}"), "cannot open a data key");
    }
    Ok(())
}

/// Makes sure this instance holds the keys the given ciphertexts name, re-reading them once if
/// not (another instance or `keys rotate-data` may have just added one).
pub async fn ensure_readable(state: &AppState, sealed: &[Option<&str>]) -> AppResult<()> {
    let unknown = sealed
        .iter()
        .flatten()
        .any(|ciphertext| !state.keys.can_open(ciphertext));
    if unknown && state.keys.claim_reload() {
        reload(state).await?;
    }
    Ok(())
}

/// What `keys rewrap` did.
pub struct Rewrap {
    pub master: String,
    pub resealed: usize,
}

/// Seals every data key under the current master, so previous masters can be destroyed.
/// Every key is opened before anything is written: a key no configured master opens stops it.
pub async fn rewrap(
    db: &DatabaseConnection,
    masters: MasterKeys,
    now: DateTime<Utc>,
) -> anyhow::Result<Rewrap> {
    let rows = db::data_keys::all(db).await?;
    if rows.is_empty() {
        bail!("this database has no data keys yet: start the server once to create them");
    }
    let master = masters.current_id().to_owned();
    let mut resealed = Vec::new();
    for (row, key) in rows.iter().zip(stored(&rows)) {
        if !masters.seals_currently(&key) {
            resealed.push((row, masters.reseal(&key)?));
        }
    }
    if resealed.is_empty() {
        return Ok(Rewrap {
            master,
            resealed: 0,
        });
    }
    let keys = DataKeys::open(masters, &stored(&rows))?;
    let txn = db::begin_write(db).await?;
    for (row, sealed) in &resealed {
        if !db::data_keys::reseal(&txn, row, sealed).await? {
            bail!(
                "data key {} changed while being re-sealed; run the command again",
                row.id
            );
        }
    }
    let event = Event::new(Kind::DataKeysResealed)
        .detail("master", master.as_str())
        .detail("count", resealed.len());
    audit::record(&txn, &keys, now, event).await?;
    txn.commit().await?;
    Ok(Rewrap {
        master,
        resealed: resealed.len(),
    })
}

/// What `keys rotate-data` did.
pub struct Rotation {
    /// The data key everything is now encrypted under.
    pub key: String,
    /// `false` when an earlier, unfinished rotation was resumed instead.
    pub added: bool,
    pub reencrypted: u64,
    /// Ciphertexts still under an older key (written meanwhile by an instance that had not yet
    /// read the new key); a later run moves them.
    pub remaining: u64,
}

/// Adds a data key and re-encrypts every ciphertext under it, `batch` accounts at a time, each
/// value replaced only if it did not change meanwhile, so the service keeps running. When
/// ciphertexts under an older key remain from an interrupted run, it resumes that run instead
/// of adding another key.
pub async fn rotate(
    db: &DatabaseConnection,
    masters: MasterKeys,
    batch: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<Rotation> {
    let keys = load(db, masters, now).await?;
    let stale = reencrypt(db, &keys, batch, false).await?.remaining;
    let added = stale == 0;
    if added {
        let key = keys.masters().generate(Purpose::Encryption)?;
        // The newest key encrypts: make sure this one is, whatever this machine's clock says.
        let newest = db::data_keys::all(db)
            .await?
            .first()
            .map(|key| key.created_at);
        let at = newest.map_or(now, |newest| now.max(newest + TimeDelta::milliseconds(1)));
        let txn = db::begin_write(db).await?;
        insert(&txn, &key, at).await?;
        let event = Event::new(Kind::DataKeyAdded).detail("key", key.id.as_str());
        audit::record(&txn, &keys, now, event).await?;
        txn.commit().await?;
        absorb(db, &keys).await?;
        if keys.current_id() != key.id {
            bail!("the new data key {} does not encrypt", key.id);
        }
    }
    let mut rotation = Rotation {
        key: keys.current_id(),
        added,
        reencrypted: 0,
        remaining: 0,
    };
    for _ in 0..ROTATION_PASSES {
        let pass = reencrypt(db, &keys, batch, true).await?;
        rotation.reencrypted += pass.moved;
        rotation.remaining = pass.remaining;
        if pass.remaining == 0 {
            break;
        }
    }
    Ok(rotation)
}

struct Pass {
    moved: u64,
    remaining: u64,
}

/// One walk over every ciphertext not under the current key: counts them, and re-encrypts
/// them when `write` is set.
async fn reencrypt(
    db: &DatabaseConnection,
    keys: &DataKeys,
    batch: u64,
    write: bool,
) -> anyhow::Result<Pass> {
    let current = keys.current_id();
    let stale = |sealed: &str| Cipher::key_id_of(sealed) != Some(current.as_str());
    let mut pass = Pass {
        moved: 0,
        remaining: 0,
    };
    let mut after = None;
    loop {
        let rows = db::accounts::sealed_page(db, after, batch.max(1)).await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = Some(last.id);
        for SealedRow { id, sealed } in &rows {
            for (column, value) in SealedColumn::ALL.into_iter().zip(sealed) {
                let Some(old) = value.as_deref().filter(|old| stale(old)) else {
                    continue;
                };
                if write && reseal_column(db, keys, *id, column, old).await? {
                    pass.moved += 1;
                } else {
                    pass.remaining += 1;
                }
            }
        }
    }
    let (moved, remaining) = signing_keys::reencrypt(db, keys, write).await?;
    pass.moved += moved;
    pass.remaining += remaining;
    Ok(pass)
}

async fn reseal_column(
    db: &DatabaseConnection,
    keys: &DataKeys,
    id: AccountId,
    column: SealedColumn,
    old: &str,
) -> anyhow::Result<bool> {
    let context = column.context(id);
    let plain = keys
        .decrypt(old, &context)
        .with_context(|| format!("cannot open {column:?} of account {id}"))?;
    let new = keys.encrypt(&plain, &context)?;
    Ok(db::accounts::reseal(db, id, column, old, &new).await?)
}
