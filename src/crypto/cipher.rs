use std::collections::HashMap;

use aes_gcm::{
    Aes256Gcm, Key, KeyInit,
    aead::{Aead, Payload},
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::random_bytes;

/// Ciphertext format version; the prefix of every stored ciphertext.
const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

/// A 256-bit key and the id derived from it, which every ciphertext names so keys can rotate.
pub struct EncryptionKey {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl EncryptionKey {
    /// Parses base64 of exactly 32 bytes.
    pub fn from_base64(encoded: &SecretString) -> Result<Self, CipherError> {
        let decoded = Zeroizing::new(
            STANDARD
                .decode(encoded.expose_secret().trim())
                .map_err(|_| CipherError::BadKey)?,
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| CipherError::BadKey)?;
        Ok(Self::from_bytes(bytes))
    }

    /// A new random key (development only: production is given its key).
    pub fn generate() -> Self {
        Self::from_bytes(random_bytes())
    }

    fn from_bytes(bytes: [u8; 32]) -> Self {
        // The id is a short fingerprint: enough to pick the key, useless to recover it.
        let digest = Sha256::new()
            .chain_update(b"custodian key id\0")
            .chain_update(bytes)
            .finalize();
        Self {
            id: URL_SAFE_NO_PAD.encode(&digest[..6]),
            bytes: Zeroizing::new(bytes),
        }
    }

    pub fn to_base64(&self) -> SecretString {
        STANDARD.encode(*self.bytes).into()
    }

    /// The fingerprint ciphertexts name this key by.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The raw key, to be sealed under another key (envelope encryption).
    pub(super) fn expose(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key whose raw bytes `bytes` are, if there are exactly 32 of them.
    pub(super) fn from_slice(bytes: &[u8]) -> Result<Self, CipherError> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| CipherError::BadKey)?;
        Ok(Self::from_bytes(bytes))
    }

    /// Derives an independent sub-key for another purpose (HMAC keys, blind indexes), so that
    /// one secret serves every use without any two sharing key material.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        let digest = Sha256::new()
            .chain_update(b"custodian derive\0")
            .chain_update(purpose.as_bytes())
            .chain_update([0u8])
            .chain_update(*self.bytes)
            .finalize();
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&digest);
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    #[error("the encryption key must be base64 of exactly 32 bytes")]
    BadKey,
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("ciphertext names key `{0}`, which is not configured")]
    UnknownKey(String),
    #[error("ciphertext failed authentication (wrong key, wrong context or altered)")]
    Authentication,
}

/// AES-256-GCM under a current key, with older keys kept for decryption only.
///
/// A ciphertext is `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. Every call names a
/// context (for example `signing_key:<kid>`) that is bound as associated data, so a ciphertext
/// copied to another row or column fails to decrypt instead of being accepted.
#[derive(Clone)]
pub struct Cipher {
    current: String,
    keys: HashMap<String, Aes256Gcm>,
}

impl Cipher {
    pub fn new(current: &EncryptionKey, previous: &[EncryptionKey]) -> Self {
        let mut keys: HashMap<String, Aes256Gcm> = previous
            .iter()
            .map(|key| (key.id.clone(), aes(key)))
            .collect();
        keys.insert(current.id.clone(), aes(current));
        Self {
            current: current.id.clone(),
            keys,
        }
    }

    /// The id of the key that encrypts.
    pub fn current_id(&self) -> &str {
        &self.current
    }

    /// Whether `id` is one of this cipher's keys.
    pub fn has_key(&self, id: &str) -> bool {
        self.keys.contains_key(id)
    }

    /// Adds `key` for decryption.
    pub fn add_key(&mut self, key: &EncryptionKey) {
        self.keys.insert(key.id.clone(), aes(key));
    }

    /// Encrypts with the key `id` from now on, if this cipher has it.
    pub fn make_current(&mut self, id: &str) {
        if self.keys.contains_key(id) {
            id.clone_into(&mut self.current);
        }
    }

    /// The id of the key `stored` was encrypted under, if it is a ciphertext at all.
    pub fn key_id_of(stored: &str) -> Option<&str> {
        let mut parts = stored.splitn(3, '.');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(VERSION), Some(id), Some(_)) => Some(id),
            _ => None,
        }
    }

    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Result<String, CipherError> {
        let cipher = self.keys.get(&self.current).ok_or(CipherError::BadKey)?;
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let sealed = cipher
            .encrypt(
                &nonce_bytes.into(),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CipherError::Authentication)?;
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce_bytes);
        blob.extend_from_slice(&sealed);
        Ok(format!(
            "{VERSION}.{}.{}",
            self.current,
            URL_SAFE_NO_PAD.encode(blob)
        ))
    }

    pub fn decrypt(&self, stored: &str, context: &str) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        let mut parts = stored.splitn(3, '.');
        let (Some(VERSION), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CipherError::Malformed);
        };
        let cipher = self
            .keys
            .get(key_id)
            .ok_or_else(|| CipherError::UnknownKey(key_id.to_owned()))?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CipherError::Malformed)?;
        if blob.len() < NONCE_LEN {
            return Err(CipherError::Malformed);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CipherError::Malformed)?;
        cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CipherError::Authentication)
    }
}

fn aes(key: &EncryptionKey) -> Aes256Gcm {
    Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_binds_the_context() {
        let cipher = Cipher::new(&EncryptionKey::generate(), &[]);
        let sealed = cipher.encrypt(b"123-45-6789", "ssn:a").expect("encrypts");
        assert!(!sealed.contains("6789"));
        assert_eq!(
            cipher
                .decrypt(&sealed, "ssn:a")
                .expect("decrypts")
                .as_slice(),
            b"123-45-6789"
        );
        assert!(matches!(
            cipher.decrypt(&sealed, "ssn:b"),
            Err(CipherError::Authentication)
        ));
    }

    #[test]
    fn same_plaintext_gives_different_ciphertexts() {
        let cipher = Cipher::new(&EncryptionKey::generate(), &[]);
        let a = cipher.encrypt(b"x", "c").expect("encrypts");
        let b = cipher.encrypt(b"x", "c").expect("encrypts");
        assert_ne!(a, b);
    }

    #[test]
    fn old_keys_still_decrypt_after_rotation() {
        let old = EncryptionKey::generate();
        let old_copy = EncryptionKey::from_base64(&old.to_base64()).expect("valid");
        let sealed = Cipher::new(&old, &[])
            .encrypt(b"secret", "c")
            .expect("encrypts");
        let rotated = Cipher::new(&EncryptionKey::generate(), &[old_copy]);
        assert_eq!(
            rotated.decrypt(&sealed, "c").expect("decrypts").as_slice(),
            b"secret"
        );
        let forgotten = Cipher::new(&EncryptionKey::generate(), &[]);
        assert!(matches!(
            forgotten.decrypt(&sealed, "c"),
            Err(CipherError::UnknownKey(_))
        ));
    }

    #[test]
    fn tampering_is_detected() {
        let cipher = Cipher::new(&EncryptionKey::generate(), &[]);
        let sealed = cipher.encrypt(b"secret", "c").expect("encrypts");
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(cipher.decrypt(&tampered, "c").is_err());
        assert!(matches!(
            cipher.decrypt("garbage", "c"),
            Err(CipherError::Malformed)
        ));
    }
}
