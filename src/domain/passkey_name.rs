//! What a person calls one of their passkeys.

use super::text::normalised;
use crate::error::AppError;

const MAX_CHARS: usize = 64;

/// A passkey's name, so its owner can tell "Work laptop" from "Phone": 1–64 characters of
/// text, trimmed and in NFC, without control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub fn parse(input: &str, field: &str) -> Result<Self, AppError> {
        let name = normalised(input, field, MAX_CHARS)?;
        if name.chars().any(char::is_control) {
            return Err(AppError::bad_input(
                field,
                "must be text on one line, without control characters",
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::PasskeyName;

    #[test]
    fn names_are_one_to_sixty_four_characters_of_text() {
        assert_eq!(
            PasskeyName::parse("  Work laptop ", "name")
                .unwrap()
                .as_str(),
            "Work laptop"
        );
        assert!(PasskeyName::parse(&"é".repeat(64), "name").is_ok());
        for bad in ["", "   ", "line\nbreak", "tab\there"] {
            assert!(PasskeyName::parse(bad, "name").is_err(), "{bad:?}");
        }
        assert!(PasskeyName::parse(&"é".repeat(65), "name").is_err());
    }
}
