//! Access tokens whose signature was already checked, so that a client presenting the same
//! token on every request pays for one Ed25519 verification, not one per request.
//!
//! Only the exact token text that verified is ever a hit, so nothing can be forged through the
//! cache; it is kept by its SHA-256, so the cache holds no usable token. What can change after the check is not cached: the clock is asked on every hit (the
//! token still expires on time), and the caller asks the keyring that the signing key is still
//! trusted (a revoked key ends its tokens on the next request).

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
};

use sha2::{Digest, Sha256};

use crate::domain::{AccountId, Role, SessionId};

/// Tokens kept at most; past it the cache starts over, which costs one verification each.
const CAPACITY: usize = 10_000;

/// What a verified token said.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub account: AccountId,
    pub session: SessionId,
    pub role: Role,
    /// The signing key's id.
    pub kid: Arc<str>,
    /// `iat` and `exp`, in seconds since the epoch.
    pub issued_at: i64,
    pub expires_at: i64,
}

#[derive(Default)]
pub struct VerifiedTokens {
    map: RwLock<HashMap<[u8; 32], VerifiedToken>>,
}

impl VerifiedTokens {
    pub fn get(&self, token: &str) -> Option<VerifiedToken> {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&digest(token))
            .cloned()
    }

    /// Keeps a token that just verified. When full, the tokens that expired by `now` go first,
    /// and everything if that is not enough.
    pub fn keep(&self, token: &str, verified: VerifiedToken, now: i64) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= CAPACITY {
            map.retain(|_, kept| kept.expires_at > now);
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.insert(digest(token), verified);
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(expires_at: i64) -> VerifiedToken {
        VerifiedToken {
            account: AccountId::generate(),
            session: SessionId::generate(),
            role: Role::User,
            kid: "k".into(),
            issued_at: 0,
            expires_at,
        }
    }

    #[test]
    fn only_the_exact_token_is_a_hit() {
        let tokens = VerifiedTokens::default();
        tokens.keep("a.b.c", verified(10), 0);
        assert!(tokens.get("a.b.c").is_some());
        assert!(tokens.get("a.b.d").is_none());
        assert!(tokens.get("a.b.c ").is_none());
    }

    #[test]
    fn a_full_cache_drops_expired_tokens_first() {
        let tokens = VerifiedTokens::default();
        for n in 0..CAPACITY {
            let expires_at = if n == 0 { 100 } else { 1 };
            tokens.keep(&format!("t{n}"), verified(expires_at), 0);
        }
        tokens.keep("new", verified(100), 50);
        assert!(tokens.get("t0").is_some());
        assert!(tokens.get("t1").is_none());
        assert!(tokens.get("new").is_some());
    }
}
