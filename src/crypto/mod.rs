//! Encryption at rest, random secrets and the hashes they are stored as.

mod cipher;
pub mod envelope;
pub mod jwt;
pub mod keyring;
pub mod passwords;
mod secrets;

pub use cipher::{Cipher, CipherError, EncryptionKey};
pub use secrets::{
    TokenHash, constant_time_eq, hex, hmac_sha256_hex, random_bytes, random_token, sha256_hex,
};
