//! Token-signing keys: Ed25519, stored encrypted in the database, published as a JWKS.
//!
//! The newest unretired key signs. A retired key keeps verifying, and stays in the JWKS, until
//! every token it could have signed has expired. Instances re-read the table every minute, and
//! at once (at most every few seconds) when a token names a key they have not seen, so a
//! rotation by one instance or by `custodian keys rotate` reaches all of them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, Utc};
use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
use jsonwebtoken::{DecodingKey, EncodingKey};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde_json::json;

use super::audit::{self, Event, Kind};
use crate::{
    clock::SharedClock,
    crypto::{Cipher, random_bytes},
    db::{self, entities::signing_keys::Model},
};

const ALGORITHM: &str = "EdDSA";
/// How often a token naming an unknown `kid` may trigger a reload.
const UNKNOWN_KID_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// The keys this instance signs and verifies with.
struct Keyring {
    signer: (String, Arc<EncodingKey>),
    verifiers: HashMap<String, Arc<DecodingKey>>,
    jwks: Arc<serde_json::Value>,
}

pub struct SigningKeys {
    db: DatabaseConnection,
    cipher: Arc<Cipher>,
    clock: SharedClock,
    /// How long a retired key must keep verifying: the access-token lifetime.
    verify_window: TimeDelta,
    ring: RwLock<Keyring>,
    last_reload: Mutex<Instant>,
}

impl SigningKeys {
    /// Loads the keys, creating the first one if the table is empty.
    pub async fn load(
        db: DatabaseConnection,
        cipher: Arc<Cipher>,
        clock: SharedClock,
        access_ttl: Duration,
    ) -> anyhow::Result<Self> {
        let verify_window = TimeDelta::from_std(access_ttl)? + TimeDelta::minutes(1);
        let mut rows = db::signing_keys::all(&db).await?;
        if !rows.iter().any(|row| row.retired_at.is_none()) {
            create(&db, &cipher, clock.now()).await?;
            rows = db::signing_keys::all(&db).await?;
        }
        let ring = build_ring(&rows, &cipher, clock.now(), verify_window)?;
        Ok(Self {
            db,
            cipher,
            clock,
            verify_window,
            ring: RwLock::new(ring),
            // The first unknown kid may reload at once.
            last_reload: Mutex::new(
                Instant::now()
                    .checked_sub(UNKNOWN_KID_RELOAD_INTERVAL)
                    .unwrap_or_else(Instant::now),
            ),
        })
    }

    /// Adds a new signing key and retires the others (`custodian keys rotate`). Returns its kid.
    pub async fn rotate(
        db: &DatabaseConnection,
        cipher: &Cipher,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let txn = db.begin().await?;
        let kid = create(&txn, cipher, now).await?;
        db::signing_keys::retire_all_except(&txn, &kid, now).await?;
        let event = Event::new(Kind::SigningKeyRotated).detail("kid", kid.as_str());
        audit::record(&txn, now, event)
            .await
            .context("cannot record the rotation in the audit trail")?;
        txn.commit().await?;
        Ok(kid)
    }

    /// Re-reads the table.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let rows = db::signing_keys::all(&self.db).await?;
        let ring = build_ring(&rows, &self.cipher, self.clock.now(), self.verify_window)?;
        *self.ring.write().unwrap_or_else(PoisonError::into_inner) = ring;
        *self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        Ok(())
    }

    /// The kid and key that sign new tokens.
    pub fn signer(&self) -> (String, Arc<EncodingKey>) {
        let ring = self.ring.read().unwrap_or_else(PoisonError::into_inner);
        (ring.signer.0.clone(), Arc::clone(&ring.signer.1))
    }

    /// The key that verifies tokens signed under `kid`, reloading once if it is unknown.
    pub async fn verifier(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        if let Some(key) = self.cached_verifier(kid) {
            return Some(key);
        }
        // Claimed before the reload starts, so a burst of forged kids costs one query, not one
        // each.
        let due = {
            let mut last = self
                .last_reload
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due = last.elapsed() >= UNKNOWN_KID_RELOAD_INTERVAL;
            if due {
                *last = Instant::now();
            }
            due
        };
        if due {
            if let Err(err) = self.reload().await {
                tracing::warn!(error = format!("{err:#}"), "cannot reload signing keys");
            }
            return self.cached_verifier(kid);
        }
        None
    }

    fn cached_verifier(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        let ring = self.ring.read().unwrap_or_else(PoisonError::into_inner);
        ring.verifiers.get(kid).cloned()
    }

    /// The public keys as a JSON Web Key Set.
    pub fn jwks(&self) -> Arc<serde_json::Value> {
        Arc::clone(
            &self
                .ring
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .jwks,
        )
    }
}

fn context(kid: &str) -> String {
    format!("signing_key:{kid}")
}

async fn create(
    db: &impl ConnectionTrait,
    cipher: &Cipher,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let seed = zeroize::Zeroizing::new(random_bytes::<32>());
    let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    let kid = URL_SAFE_NO_PAD.encode(random_bytes::<12>());
    let private_key = cipher
        .encrypt(seed.as_slice(), &context(&kid))
        .context("cannot encrypt the new signing key")?;
    db::signing_keys::insert(
        db,
        Model {
            id: kid.clone(),
            algorithm: ALGORITHM.into(),
            private_key,
            public_key: URL_SAFE_NO_PAD.encode(public),
            created_at: now,
            retired_at: None,
        },
    )
    .await?;
    tracing::info!(kid, "created a token-signing key");
    Ok(kid)
}

fn build_ring(
    rows: &[Model],
    cipher: &Cipher,
    now: DateTime<Utc>,
    verify_window: TimeDelta,
) -> anyhow::Result<Keyring> {
    let mut signer = None;
    let mut verifiers = HashMap::new();
    let mut jwks = Vec::new();
    // Rows come newest first, so the first unretired one is the signer.
    for row in rows {
        let still_verifies = row
            .retired_at
            .is_none_or(|retired| retired + verify_window > now);
        if row.algorithm != ALGORITHM || !still_verifies {
            continue;
        }
        if signer.is_none() && row.retired_at.is_none() {
            let seed = cipher
                .decrypt(&row.private_key, &context(&row.id))
                .with_context(|| {
                    format!(
                        "cannot decrypt signing key {} (is CUSTODIAN_ENCRYPTION_KEY right?)",
                        row.id
                    )
                })?;
            let seed: [u8; 32] = seed
                .as_slice()
                .try_into()
                .map_err(|_| anyhow!("signing key {} is malformed", row.id))?;
            let der = SigningKey::from_bytes(&seed)
                .to_pkcs8_der()
                .map_err(|err| anyhow!("cannot encode signing key {}: {err}", row.id))?;
            signer = Some((
                row.id.clone(),
                Arc::new(EncodingKey::from_ed_der(der.as_bytes())),
            ));
        }
        let public = URL_SAFE_NO_PAD
            .decode(&row.public_key)
            .with_context(|| format!("public key {} is malformed", row.id))?;
        verifiers.insert(row.id.clone(), Arc::new(DecodingKey::from_ed_der(&public)));
        jwks.push(json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "use": "sig",
            "alg": ALGORITHM,
            "kid": row.id,
            "x": row.public_key,
        }));
    }
    let signer = signer.ok_or_else(|| anyhow!("no active token-signing key"))?;
    Ok(Keyring {
        signer,
        verifiers,
        jwks: Arc::new(json!({ "keys": jwks })),
    })
}
