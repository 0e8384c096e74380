use std::{fmt, str::FromStr};

use unicode_normalization::UnicodeNormalization;

use crate::error::AppError;

const MAX_LEN: usize = 254;

/// An email address in one canonical form, so that one mailbox is one account however it is
/// typed, and a look-alike (full-width letters, a combining accent typed apart) is the address
/// it looks like: the local part in NFKC and lower case, the domain lower-cased and
/// IDNA-normalised (UTS 46). Its `Debug` hides the address: emails never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

/// The canonical form of a trimmed address, if its domain is a valid IDNA name.
fn canonical(input: &str) -> Option<String> {
    let (local, domain) = input.rsplit_once('@')?;
    let local: String = local.nfkc().collect::<String>().to_lowercase();
    let ascii = idna::domain_to_ascii(domain).ok()?;
    let (domain, checked) = idna::domain_to_unicode(&ascii);
    checked.ok()?;
    Some(format!("{local}@{domain}"))
}

impl Email {
    /// Parses the input of the field named `field`.
    pub fn parse(input: &str, field: &str) -> Result<Self, AppError> {
        let invalid = || AppError::bad_input(field, "must be a valid email address");
        let candidate = canonical(input.trim()).ok_or_else(invalid)?;
        if candidate.is_empty() || candidate.len() > MAX_LEN {
            return Err(invalid());
        }
        let parsed = email_address::EmailAddress::from_str(&candidate).map_err(|_| invalid())?;
        let domain = parsed.domain();
        // Mail to bare hosts or address literals never reaches a real person.
        if !domain.contains('.')
            || domain.starts_with('[')
            || candidate.chars().any(char::is_control)
        {
            return Err(invalid());
        }
        Ok(Self(candidate))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`, which a password must not be built from.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses_are_normalised() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ", "email").expect("valid");
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
        assert_eq!(email.local_part(), "ada.lovelace");
    }

    #[test]
    fn look_alikes_are_the_address_they_look_like() {
        let canonical = |text: &str| Email::parse(text, "email").expect(text).as_str().to_owned();
        assert_eq!(canonical("\u{ff50}robe1@example.com"), "probe1@example.com");
        assert_eq!(
            canonical("pro\u{301}be1@example.com"),
            "pr\u{f3}be1@example.com"
        );
        assert_eq!(
            canonical("Pr\u{d3}be1@Example.COM"),
            "pr\u{f3}be1@example.com"
        );
        assert_eq!(
            canonical("ada@B\u{dc}CHER.example"),
            "ada@b\u{fc}cher.example"
        );
        assert_eq!(
            canonical("ada@xn--bcher-kva.example"),
            "ada@b\u{fc}cher.example"
        );
    }

    #[test]
    fn invalid_addresses_name_the_field() {
        for input in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "a b@example.com",
            "ada@[127.0.0.1]",
        ] {
            let err = Email::parse(input, "email").expect_err(input);
            assert_eq!(err.field(), Some("email"), "{input}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long, "email").is_err());
    }

    #[test]
    fn debug_hides_the_address() {
        let email = Email::parse("ada@example.com", "email").expect("valid");
        assert!(!format!("{email:?}").contains("ada"));
    }
}
