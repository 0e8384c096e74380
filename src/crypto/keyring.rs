//! The token-signing keys held in memory: Ed25519, sealed at rest, published as a JWKS.
//!
//! The newest unretired key signs. A retired key keeps verifying, and stays in the JWKS, until
//! every token it could have signed has expired. Where the keys are stored, and when they are
//! re-read, is the caller's business; this only builds the ring from what was read.

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

/// A stored key as read back.
pub struct StoredKey<'a> {
    pub kid: &'a str,
    pub algorithm: &'a str,
    /// The sealed Ed25519 seed.
    pub private_key: &'a str,
    /// The public key, base64url.
    pub public_key: &'a str,
    pub retired_at: Option<DateTime<Utc>>,
}

/// A key just made, to be stored.
pub struct NewKey {
    pub kid: String,
    pub private_key: String,
    pub public_key: String,
}

/// What one ring signs and verifies with.
struct Ring {
    signer: (String, Arc<EncodingKey>),
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

    /// The kid and key that sign new tokens.
    pub fn signer(&self) -> (String, Arc<EncodingKey>) {
        let ring = self.ring.read().unwrap_or_else(PoisonError::into_inner);
        (ring.signer.0.clone(), Arc::clone(&ring.signer.1))
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
    let mut signer = None;
    let mut verifiers = HashMap::new();
    let mut jwks = Vec::new();
    // Keys come newest first, so the first unretired one is the signer.
    for key in keys {
        let still_verifies = key
            .retired_at
            .is_none_or(|retired| retired + verify_window > now);
        if key.algorithm != ALGORITHM || !still_verifies {
            continue;
        }
        if signer.is_none() && key.retired_at.is_none() {
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
            signer = Some((
                key.kid.to_owned(),
                Arc::new(EncodingKey::from_ed_der(der.as_bytes())),
            ));
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
    let signer = signer.ok_or_else(|| anyhow!("no active token-signing key"))?;
    Ok(Ring {
        signer,
        verifiers,
        jwks: Arc::new(json!({ "keys": jwks })),
    })
}
