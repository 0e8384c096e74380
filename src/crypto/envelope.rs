//! Envelope encryption. Personal data and every keyed hash use data keys that live in the
//! database, sealed under a master key that never does. A new master re-seals a few rows
//! (`keys rewrap`) instead of every ciphertext; a new data key re-encrypts the data in the
//! background (`keys rotate-data`). The index key behind every keyed hash is made once and
//! never changes, so blind indexes, counters and stored hashes outlive both rotations.

use std::{
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail};
use zeroize::Zeroizing;

use super::{Cipher, CipherError, EncryptionKey, hex};

/// How often a ciphertext under an unknown data key may trigger a reload: a key added by
/// another instance or by `keys rotate-data` is read once, a corrupt row does not hammer the
/// database.
const UNKNOWN_KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// What a data key is for; part of the context it is sealed under, so an encryption key
/// cannot be swapped in as the index key or the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Encryption,
    Index,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Encryption => "encryption",
            Self::Index => "index",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "encryption" => Some(Self::Encryption),
            "index" => Some(Self::Index),
            _ => None,
        }
    }
}

/// Every keyed hash Custodian stores or compares, each under its own sub-key of the index key.
/// The labels are part of the derivation: they never change.
#[derive(Debug, Clone, Copy)]
pub enum HashPurpose {
    /// The SSN's blind index, which makes SSNs unique without comparing plaintext.
    SsnIndex,
    /// The per-address sign-in backoff counter.
    LoginBackoff,
    /// The successor of a refresh token, so a retry within the grace window gets the same one.
    RefreshSuccessor,
    /// The signature of the device cookie.
    DeviceCookie,
    /// Stored recovery codes: 60 bits is little, so a dump without the key must not test them.
    RecoveryCode,
    /// The audit trail's links and head seal: nobody without the key can recompute them.
    AuditChain,
    /// The audit trail's commitments to client addresses and agents, which are erasable.
    AuditClient,
    /// The MAC of an audit event appended pending: only this service can write one the sealer
    /// chains.
    AuditEvent,
}

impl HashPurpose {
    fn label(self) -> &'static str {
        match self {
            Self::SsnIndex => "ssn-blind-index",
            Self::LoginBackoff => "login-backoff",
            Self::RefreshSuccessor => "refresh-token-successor",
            Self::DeviceCookie => "device-cookie",
            Self::RecoveryCode => "recovery-code",
            Self::AuditChain => "audit-chain",
            Self::AuditClient => "audit-client",
            Self::AuditEvent => "audit-event",
        }
    }
}

/// A data key as stored: its id, what it is for, and its bytes sealed under a master key.
pub struct StoredDataKey<'a> {
    pub id: &'a str,
    pub purpose: &'a str,
    pub sealed: &'a str,
}

/// A data key just made, sealed and ready to store.
pub struct NewDataKey {
    pub id: String,
    pub purpose: Purpose,
    pub sealed: String,
}

/// The master keys: the current one seals, older ones (kept until `keys rewrap` has run) only
/// open.
pub struct MasterKeys {
    cipher: Cipher,
    current: EncryptionKey,
}

impl MasterKeys {
    pub fn new(current: EncryptionKey, previous: &[EncryptionKey]) -> Self {
        Self {
            cipher: Cipher::new(&current, previous),
            current,
        }
    }

    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// Whether `stored` is sealed under the current master key.
    pub fn seals_currently(&self, stored: &StoredDataKey<'_>) -> bool {
        Cipher::key_id_of(stored.sealed) == Some(self.current_id())
    }

    /// A fresh random data key, sealed under the current master.
    pub fn generate(&self, purpose: Purpose) -> anyhow::Result<NewDataKey> {
        self.seal(&EncryptionKey::generate(), purpose)
    }

    /// The current master itself as a data key: what a database written before envelope
    /// encryption was encrypted and hashed under, so every existing ciphertext still opens and
    /// every existing hash still matches. `keys rotate-data` then moves the data to a fresh key.
    pub fn adopt_current(&self, purpose: Purpose) -> anyhow::Result<NewDataKey> {
        self.seal(&self.current, purpose)
    }

    /// What [`DataKeys::keyed_hash`] gives once the current master is adopted as the index key.
    pub fn keyed_hash_as_adopted(&self, purpose: HashPurpose, message: &[u8]) -> String {
        hex(&keyed_mac(&self.current, purpose, message))
    }

    fn seal(&self, key: &EncryptionKey, purpose: Purpose) -> anyhow::Result<NewDataKey> {
        let sealed = self
            .cipher
            .encrypt(key.expose(), &context(key.id(), purpose))
            .context("cannot seal a data key")?;
        Ok(NewDataKey {
            id: key.id().to_owned(),
            purpose,
            sealed,
        })
    }

    /// `stored` sealed again under the current master.
    pub fn reseal(&self, stored: &StoredDataKey<'_>) -> anyhow::Result<String> {
        let (key, purpose) = self.open(stored)?;
        Ok(self.seal(&key, purpose)?.sealed)
    }

    fn open(&self, stored: &StoredDataKey<'_>) -> anyhow::Result<(EncryptionKey, Purpose)> {
        let purpose = Purpose::parse(stored.purpose).ok_or_else(|| {
            anyhow!(
                "data key {} has unknown purpose `{}`",
                stored.id,
                stored.purpose
            )
        })?;
        let bytes = self
            .cipher
            .decrypt(stored.sealed, &context(stored.id, purpose))
            .map_err(|err| match err {
                CipherError::UnknownKey(master) => anyhow!(
                    "data key {} is sealed under master key {master}, which is neither \
                     CUSTODIAN_ENCRYPTION_KEY nor in CUSTODIAN_PREVIOUS_ENCRYPTION_KEYS",
                    stored.id
                ),
                other => anyhow!("cannot open data key {}: {other}", stored.id),
            })?;
        let key = EncryptionKey::from_slice(&bytes)
            .map_err(|_| anyhow!("data key {} is malformed", stored.id))?;
        if key.id() != stored.id {
            bail!("data key {} does not match its id", stored.id);
        }
        Ok((key, purpose))
    }
}

fn context(id: &str, purpose: Purpose) -> String {
    format!("data_key:{}:{id}", purpose.as_str())
}

/// The data keys held in memory: the encryption keys (the newest encrypts, every one
/// decrypts) and the index key. Encryption keys can be added while serving.
pub struct DataKeys {
    masters: MasterKeys,
    index: EncryptionKey,
    encryption: RwLock<Arc<Cipher>>,
    last_reload: Mutex<Instant>,
}

impl DataKeys {
    /// Opens the stored keys, newest first. Every key must open: a key this instance cannot
    /// read is data it cannot serve.
    pub fn open(masters: MasterKeys, stored: &[StoredDataKey<'_>]) -> anyhow::Result<Self> {
        let mut index = None;
        let mut encryption: Vec<EncryptionKey> = Vec::new();
        for key in stored {
            match masters.open(key)? {
                (key, Purpose::Index) if index.is_none() => index = Some(key),
                (_, Purpose::Index) => bail!("more than one index key is stored"),
                (key, Purpose::Encryption) => encryption.push(key),
            }
        }
        let index = index.ok_or_else(|| anyhow!("no index key is stored"))?;
        let (current, older) = encryption
            .split_first()
            .ok_or_else(|| anyhow!("no data encryption key is stored"))?;
        Ok(Self {
            index,
            encryption: RwLock::new(Arc::new(Cipher::new(current, older))),
            masters,
            // The first unknown key may reload at once.
            last_reload: Mutex::new(
                Instant::now()
                    .checked_sub(UNKNOWN_KEY_RELOAD_INTERVAL)
                    .unwrap_or_else(Instant::now),
            ),
        })
    }

    /// Fresh keys under a fresh master, held nowhere: for unit tests.
    #[cfg(test)]
    pub fn ephemeral() -> Self {
        let masters = MasterKeys::new(EncryptionKey::generate(), &[]);
        let index = masters.generate(Purpose::Index).expect("seals");
        let data = masters.generate(Purpose::Encryption).expect("seals");
        let stored = [&data, &index].map(|key| StoredDataKey {
            id: &key.id,
            purpose: key.purpose.as_str(),
            sealed: &key.sealed,
        });
        Self::open(masters, &stored).expect("opens")
    }

    pub fn masters(&self) -> &MasterKeys {
        &self.masters
    }

    /// Adds the encryption keys of `stored` (newest first) that are not known yet; the newest
    /// of them encrypts from now on. Keys this instance cannot open are skipped and returned
    /// with why, so one instance on an old master keeps serving what it can.
    pub fn absorb(&self, stored: &[StoredDataKey<'_>]) -> Vec<anyhow::Error> {
        let is_encryption = |key: &&StoredDataKey<'_>| key.purpose == Purpose::Encryption.as_str();
        let mut skipped = Vec::new();
        let mut next = Cipher::clone(&self.cipher());
        for key in stored.iter().filter(is_encryption) {
            if next.has_key(key.id) {
                continue;
            }
            match self.masters.open(key) {
                Ok((opened, _)) => next.add_key(&opened),
                Err(err) => skipped.push(err),
            }
        }
        if let Some(newest) = stored.iter().find(is_encryption) {
            next.make_current(newest.id);
        }
        *self
            .encryption
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        skipped
    }

    fn cipher(&self) -> Arc<Cipher> {
        Arc::clone(
            &self
                .encryption
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The id of the data key that encrypts now.
    pub fn current_id(&self) -> String {
        self.cipher().current_id().to_owned()
    }

    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Result<String, CipherError> {
        self.cipher().encrypt(plaintext, context)
    }

    pub fn decrypt(&self, stored: &str, context: &str) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        self.cipher().decrypt(stored, context)
    }

    /// Whether this instance holds the key `stored` names (or `stored` is no ciphertext, which
    /// a reload would not cure).
    pub fn can_open(&self, stored: &str) -> bool {
        Cipher::key_id_of(stored).is_none_or(|id| self.cipher().has_key(id))
    }

    /// Whether a ciphertext naming an unknown key may reload the keys now. Claimed before the
    /// reload starts, so a burst costs one read.
    pub fn claim_reload(&self) -> bool {
        let mut last = self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let due = last.elapsed() >= UNKNOWN_KEY_RELOAD_INTERVAL;
        if due {
            *last = Instant::now();
        }
        due
    }

    /// HMAC-SHA-256 of `message` under the sub-key for `purpose`.
    pub fn keyed_mac(&self, purpose: HashPurpose, message: &[u8]) -> [u8; 32] {
        keyed_mac(&self.index, purpose, message)
    }

    /// [`DataKeys::keyed_mac`] as lower-case hex, for columns and lookups.
    pub fn keyed_hash(&self, purpose: HashPurpose, message: &[u8]) -> String {
        hex(&self.keyed_mac(purpose, message))
    }
}

fn keyed_mac(index: &EncryptionKey, purpose: HashPurpose, message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;
    // HMAC pads a key shorter than the hash's block to the block with zeros; doing it here
    // gives the infallible constructor exactly what `new_from_slice` would build.
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(index.derive(purpose.label()).as_slice());
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*block).into());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(new: &NewDataKey) -> StoredDataKey<'_> {
        StoredDataKey {
            id: &new.id,
            purpose: new.purpose.as_str(),
            sealed: &new.sealed,
        }
    }

    #[test]
    fn data_keys_open_under_a_previous_master_and_reseal_under_the_new_one() {
        let first = EncryptionKey::generate();
        let masters = MasterKeys::new(
            EncryptionKey::from_base64(&first.to_base64()).expect("valid"),
            &[],
        );
        let index = masters.generate(Purpose::Index).expect("index");
        let data = masters.generate(Purpose::Encryption).expect("data");
        let keys = DataKeys::open(masters, &[stored(&data), stored(&index)]).expect("opens");
        let sealed = keys.encrypt(b"1990-01-01", "c").expect("encrypts");
        let hash = keys.keyed_hash(HashPurpose::SsnIndex, b"123456789");

        let second = EncryptionKey::generate();
        let first_again = EncryptionKey::from_base64(&first.to_base64()).expect("valid");
        let both = MasterKeys::new(
            EncryptionKey::from_base64(&second.to_base64()).expect("valid"),
            &[first_again],
        );
        assert!(!both.seals_currently(&stored(&index)));
        let index_resealed = both.reseal(&stored(&index)).expect("reseals");
        let data_resealed = both.reseal(&stored(&data)).expect("reseals");

        let only_second = || {
            MasterKeys::new(
                EncryptionKey::from_base64(&second.to_base64()).expect("valid"),
                &[],
            )
        };
        assert!(DataKeys::open(only_second(), &[stored(&data), stored(&index)]).is_err());
        let rewrapped = [
            StoredDataKey {
                id: &data.id,
                purpose: "encryption",
                sealed: &data_resealed,
            },
            StoredDataKey {
                id: &index.id,
                purpose: "index",
                sealed: &index_resealed,
            },
        ];
        let reopened = DataKeys::open(only_second(), &rewrapped).expect("opens");
        assert_eq!(
            reopened.decrypt(&sealed, "c").expect("decrypts").as_slice(),
            b"1990-01-01"
        );
        assert_eq!(
            reopened.keyed_hash(HashPurpose::SsnIndex, b"123456789"),
            hash
        );
    }

    #[test]
    fn a_sealed_key_cannot_change_purpose() {
        let masters = MasterKeys::new(EncryptionKey::generate(), &[]);
        let data = masters.generate(Purpose::Encryption).expect("data");
        let as_index = StoredDataKey {
            id: &data.id,
            purpose: "index",
            sealed: &data.sealed,
        };
        assert!(masters.reseal(&as_index).is_err());
    }

    #[test]
    fn an_absorbed_newer_key_encrypts_and_older_ciphertexts_still_open() {
        let masters = MasterKeys::new(EncryptionKey::generate(), &[]);
        let index = masters.generate(Purpose::Index).expect("index");
        let old = masters.generate(Purpose::Encryption).expect("data");
        let keys = DataKeys::open(masters, &[stored(&old), stored(&index)]).expect("opens");
        let before = keys.encrypt(b"x", "c").expect("encrypts");
        let new = keys.masters().generate(Purpose::Encryption).expect("data");
        assert!(
            !keys.can_open(
                &Cipher::new(&EncryptionKey::generate(), &[])
                    .encrypt(b"x", "c")
                    .expect("encrypts")
            )
        );
        let skipped = keys.absorb(&[stored(&new), stored(&old), stored(&index)]);
        assert!(skipped.is_empty());
        assert_eq!(keys.current_id(), new.id);
        let after = keys.encrypt(b"y", "c").expect("encrypts");
        assert_eq!(Cipher::key_id_of(&after), Some(new.id.as_str()));
        assert_eq!(
            keys.decrypt(&before, "c").expect("decrypts").as_slice(),
            b"x"
        );
    }

    #[test]
    fn an_adopted_master_opens_what_it_encrypted_and_hashes_as_before() {
        let master = EncryptionKey::generate();
        let copy = || EncryptionKey::from_base64(&master.to_base64()).expect("valid");
        let before = Cipher::new(&master, &[])
            .encrypt(b"1990-01-01", "c")
            .expect("encrypts");
        let hashed_before = crate::crypto::hmac_sha256_hex(
            master.derive("ssn-blind-index").as_slice(),
            b"123456789",
        );
        let masters = MasterKeys::new(copy(), &[]);
        let index = masters.adopt_current(Purpose::Index).expect("index");
        let data = masters.adopt_current(Purpose::Encryption).expect("data");
        let adopted = masters.keyed_hash_as_adopted(HashPurpose::SsnIndex, b"123456789");
        let keys = DataKeys::open(masters, &[stored(&data), stored(&index)]).expect("opens");
        assert_eq!(
            keys.decrypt(&before, "c").expect("decrypts").as_slice(),
            b"1990-01-01"
        );
        assert_eq!(
            keys.keyed_hash(HashPurpose::SsnIndex, b"123456789"),
            hashed_before
        );
        assert_eq!(adopted, hashed_before);
    }
}
