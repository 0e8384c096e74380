//! Secrets a client presents back: tokens it was handed, and codes a person types. Neither is
//! ever refused for its shape at the edge: a wrong one is simply wrong, and counts as a wrong
//! attempt wherever attempts are counted.

use secrecy::{ExposeSecret, SecretString};

/// A token handed out earlier (a reset or verification link's, an MFA challenge's): opaque,
/// only ever hashed and compared with what was stored.
pub struct OpaqueToken(SecretString);

impl OpaqueToken {
    pub fn new(token: String) -> Self {
        Self(token.into())
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

/// A code from an authenticator app (six digits) or from a recovery sheet (twelve letters and
/// digits, dashes and spaces as people type them).
pub struct OneTimeCode(SecretString);

impl OneTimeCode {
    pub fn parse(input: &str) -> Self {
        Self(input.trim().to_owned().into())
    }

    /// The code, when it has an app code's shape.
    pub fn totp(&self) -> Option<&str> {
        let code = self.0.expose_secret();
        (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
    }

    /// The code upper-cased without separators, when it has a recovery code's shape.
    pub fn recovery(&self) -> Option<SecretString> {
        let normalised: String = self
            .0
            .expose_secret()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (normalised.len() == 12).then(|| normalised.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_in_the_shapes_people_type() {
        assert_eq!(OneTimeCode::parse(" 123456 ").totp(), Some("123456"));
        for not_totp in ["12345", "1234567", "12345a", "123 456", ""] {
            assert_eq!(OneTimeCode::parse(not_totp).totp(), None, "{not_totp}");
        }
        let recovery = OneTimeCode::parse("abcd-EFGH ijk2").recovery();
        assert_eq!(
            recovery.as_ref().map(ExposeSecret::expose_secret),
            Some("ABCDEFGHIJK2")
        );
        for not_recovery in ["ABCD-EFGH-IJK", "ABCD-EFGH-IJKL-M", "123456"] {
            assert!(OneTimeCode::parse(not_recovery).recovery().is_none());
        }
    }
}
