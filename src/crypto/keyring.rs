//! The token-signing keys held in memory: Ed25519, sealed at rest, published as a JWKS.
//!
//! A new key is published first and signs only from its activation time, once every relying
//! party's cached JWKS has had time to include it; from then on the key activated last signs.
//! A retired key keeps verifying, and stays in the JWKS, until every token it could have signed
//! has expired. A revoked key is gone at once: it neither signs, verifies nor is published.
//! Where the keys are stored, and when they are re-read, is the caller's business; this only
//! builds the ring from what was read.

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
use serde_json::json;

use super::{envelope::DataKeys, random_bytes};

/// The one algorithm keys are made for; stored keys of another are skipped.
pub const ALGORITHM: &str = "EdDSA";
/// How often a token naming an unknown `kid` may trigger a reload.
const UNKNOWN_KID_RELOAD_INTERVAL: Duration = Duration::from_secs(5);
/// How long relying parties may cache the JWKS (`Cache-Control: max-age`).
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(300);
/// How long a rotated key is published before it signs: longer than any cached JWKS lives,
/// with a minute to spare for instances to re-read the keys and for clocks to differ.
pub const PUBLISH_BEFORE_SIGNING: Duration = Duration::from_secs(JWKS_MAX_AGE.as_secs() + 60);

/// A stored key as read back.
pub struct StoredKey<'a> {
    pub kid: &'a str,
    pub algorithm: &'a str,
    /// The sealed Ed25519 seed.
    pub private_key: &'a str,
    /// The public key, base64url.
    pub public_key: &'a str,
    /// When it starts signing.
    pub activates_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

/// A key just made, to be stored.
pub struct NewKey {
    pub kid: String,
    pub private_key: String,
    pub public_key: String,
}

/// A key that signs, or will: from its activation until its retirement.
struct Signer {
    kid: String,
    key: Arc<EncodingKey>,
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
}

/// What one ring signs and verifies with.
struct Ring {
    /// The key activated (or activating) last, and the others that still sign now or will,
    /// latest activation first.
    latest: Signer,
    earlier: Vec<Signer>,
    verifiers: HashMap<String, Arc<DecodingKey>>,
    jwks: Arc<serde_json::Value>,
}

pub struct Keyring {
    keys: Arc<DataKeys>,
    /// How long a retired key must keep verifying: the access-token lifetime and a minute.
    verify_window: TimeDelta,
    ring: RwLock<Ring>,
    last_reload: Mutex<Instant>,
}

impl Keyring {
    pub fn new(
        keys: Arc<DataKeys>,
        access_ttl: Duration,
        stored: &[StoredKey<'_>],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let verify_window = TimeDelta::from_std(access_ttl)? + TimeDelta::minutes(1);
        let ring = build_ring(stored, &keys, now, verify_window)?;
        Ok(Self {
            keys,
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

    /// A fresh key, sealed under the current data key.
    pub fn generate(keys: &DataKeys) -> anyhow::Result<NewKey> {
        let seed = zeroize::Zeroizing::new(random_bytes::<32>());
        let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let kid = URL_SAFE_NO_PAD.encode(random_bytes::<12>());
        let private_key = keys
            .encrypt(seed.as_slice(), &sealing_context(&kid))
            .context("cannot encrypt the new signing key")?;
        Ok(NewKey {
            kid,
            private_key,
            public_key: URL_SAFE_NO_PAD.encode(public),
        })
    }

    /// Replaces the ring with one built from `keys`, newest first.
    pub fn replace(&self, keys: &[StoredKey<'_>], now: DateTime<Utc>) -> anyhow::Result<()> {
        let ring = build_ring(keys, &self.keys, now, self.verify_window)?;
        *self.ring.write().unwrap_or_else(PoisonError::into_inner) = ring;
        *self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        Ok(())
    }

    /// Whether a token naming an unknown kid may reload the keys now. Claimed before the
    /// reload starts, so a burst of forged kids costs one read, not one each.
    pub fn claim_reload(&self) -> bool {
        let mut last = self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let due = last.elapsed() >= UNKNOWN_KID_RELOAD_INTERVAL;
        if due {
            *last = Instant::now();
        }
        due
    }

    /// The kid and key that sign new tokens at `now`: the key activated last, or, when none is
    /// active yet, the one that activates first.
    pub fn signer(&self, now: DateTime<Utc>) -> (String, Arc<EncodingKey>) {
        let ring = self.ring.read().unwrap_or_else(PoisonError::into_inner);
        let mut signers = std::iter::once(&ring.latest).chain(&ring.earlier);
        let signer = signers
            .find(|signer| signer.from <= now && signer.until.is_none_or(|until| until > now))
            .unwrap_or_else(|| ring.earlier.last().unwrap_or(&ring.latest));
        (signer.kid.clone(), Arc::clone(&signer.key))
    }

    /// The key that verifies tokens signed under `kid`, if this ring has it.
    pub fn verifier(&self, kid: &str) -> Option<Arc<DecodingKey>> {
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

/// The associated data a key's sealed seed is bound to.
pub fn sealing_context(kid: &str) -> String {
    format!("signing_key:{kid}")
}

fn build_ring(
    keys: &[StoredKey<'_>],
    data_keys: &DataKeys,
    now: DateTime<Utc>,
    verify_window: TimeDelta,
) -> anyhow::Result<Ring> {
    let mut signers = Vec::new();
    let mut verifiers = HashMap::new();
    let mut jwks = Vec::new();
    for key in keys {
        let still_verifies = key
            .retired_at
            .is_none_or(|retired| retired + verify_window > now);
        if key.algorithm != ALGORITHM || key.revoked || !still_verifies {
            continue;
        }
        if key.retired_at.is_none_or(|retired| retired > now) {
            signers.push(Signer {
                kid: key.kid.to_owned(),
                key: Arc::new(encoding_key(key, data_keys)?),
                from: key.activates_at,
                until: key.retired_at,
            });
        }
        let public = URL_SAFE_NO_PAD
            .decode(key.public_key)
            .with_context(|| format!("public key {} is malformed", key.kid))?;
        verifiers.insert(
            key.kid.to_owned(),
            Arc::new(DecodingKey::from_ed_der(&public)),
        );
        jwks.push(json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "use": "sig",
            "alg": ALGORITHM,
            "kid": key.kid,
            "x": key.public_key,
        }));
    }
    signers.sort_by_key(|signer| signer.from);
    let latest = signers
        .pop()
        .ok_or_else(|| anyhow!("no active token-signing key"))?;
    signers.reverse();
    Ok(Ring {
        latest,
        earlier: signers,
        verifiers,
        jwks: Arc::new(json!({ "keys": jwks })),
    })
}

fn encoding_key(key: &StoredKey<'_>, data_keys: &DataKeys) -> anyhow::Result<EncodingKey> {
    let seed = data_keys
        .decrypt(key.private_key, &sealing_context(key.kid))
        .with_context(|| format!("cannot decrypt signing key {}", key.kid))?;
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| anyhow!("signing key {} is malformed", key.kid))?;
    let der = SigningKey::from_bytes(&seed)
        .to_pkcs8_der()
        .map_err(|err| anyhow!("cannot encode signing key {}: {err}", key.kid))?;
    Ok(EncodingKey::from_ed_der(der.as_bytes()))
}
