use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Fills an array from the operating system's CSPRNG.
///
/// # Panics
/// Never in practice: the OS generator failing means the machine cannot be trusted to make
/// any secret, and continuing would be worse than stopping.
#[allow(clippy::expect_used)]
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    bytes
}

/// A fresh 256-bit secret, base64url without padding (43 characters).
pub fn random_token() -> SecretString {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>()).into()
}

/// How an opaque token is stored: SHA-256, hex. A 256-bit random token needs no salt or slow
/// hash, and the hex digest can be looked up by an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(token: &SecretString) -> Self {
        Self::of_bytes(token.expose_secret().as_bytes())
    }

    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(sha256_hex(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<TokenHash> for String {
    fn from(hash: TokenHash) -> Self {
        hash.0
    }
}

/// Compares two secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex digits.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// HMAC-SHA-256 of `message` under `key`, as hex: keyed lookups (blind indexes, counters)
/// that reveal nothing without the key.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm cannot run.
        Err(_) => return sha256_hex(message),
    };
    mac.update(message);
    hex(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        let hash = TokenHash::of(&SecretString::from("abc"));
        assert_eq!(
            hash.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
