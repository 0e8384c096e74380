//! The one signature scheme tokens use, plugged into `jsonwebtoken`: Ed25519 through
//! `ed25519-dalek`. The crate's own RustCrypto backend would bring every algorithm it knows,
//! RSA among them (`rsa`, RUSTSEC-2023-0071, no fixed release); this backend knows EdDSA only,
//! so nothing else can even be asked for.

use ed25519_dalek::{Signature, SigningKey, VerifyingKey, pkcs8::DecodePrivateKey};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey,
    crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils},
    errors::{ErrorKind, Result},
};
use signature::{Error, Signer, Verifier};

static EDDSA_ONLY: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes the EdDSA-only backend the process's; call before the first token is signed or read.
/// Later calls change nothing.
pub fn install() {
    // An `Err` means a provider is installed already: this one, by an earlier call.
    let _ = EDDSA_ONLY.install_default();
}

fn signer_factory(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let key = SigningKey::from_pkcs8_der(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdDsaSigner(key)))
}

fn verifier_factory(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let bytes: &[u8; 32] = key
        .try_get_as_bytes()?
        .try_into()
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdDsaVerifier(key)))
}

struct EdDsaSigner(SigningKey);

impl Signer<Vec<u8>> for EdDsaSigner {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, Error> {
        Ok(self.0.sign(message).to_bytes().to_vec())
    }
}

impl JwtSigner for EdDsaSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct EdDsaVerifier(VerifyingKey);

impl Verifier<Vec<u8>> for EdDsaVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        self.0
            .verify_strict(message, &Signature::from_slice(signature)?)
    }
}

impl JwtVerifier for EdDsaVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use jsonwebtoken::{Header, Validation};
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn signs_and_verifies_eddsa_and_nothing_else() {
        install();
        let key = SigningKey::from_bytes(&crate::crypto::random_bytes());
        let der = key.to_pkcs8_der().expect("encodes");
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        let decoding = DecodingKey::from_ed_der(key.verifying_key().as_bytes());
        let claims = json!({ "sub": "a", "exp": 4_102_444_800_u64 });
        let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &encoding)
            .expect("signs");
        let read =
            jsonwebtoken::decode::<Value>(&token, &decoding, &Validation::new(Algorithm::EdDSA))
                .expect("verifies");
        assert_eq!(read.claims["sub"], "a");

        let other = SigningKey::from_bytes(&crate::crypto::random_bytes());
        let wrong = DecodingKey::from_ed_der(other.verifying_key().as_bytes());
        assert!(
            jsonwebtoken::decode::<Value>(&token, &wrong, &Validation::new(Algorithm::EdDSA))
                .is_err()
        );
        assert!(
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(b"k").expect("a key")
            )
            .is_err()
        );
    }
}
