//! Why an administrator acts on someone else's account.

use crate::error::AppError;

/// How long a reason must be, in characters: long enough to say something, short enough to
/// keep beside an event.
const CHARS: std::ops::RangeInclusive<usize> = 10..=500;

/// An administrator's stated reason for an act on someone's account (reading their SSN,
/// suspending them, resetting their second factor): 10–500 characters of text, trimmed. It
/// is kept beside the audit event, never in it, so it can be erased with the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(input: &str, field: &str) -> Result<Self, AppError> {
        let text = input.trim();
        let length = text.chars().count();
        if !CHARS.contains(&length) || text.chars().any(char::is_control) {
            return Err(AppError::bad_input(
                field,
                "must say why, in 10 to 500 characters of text",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Reason;

    #[test]
    fn reasons_are_ten_to_five_hundred_characters_of_text() {
        assert!(Reason::parse("too short", "reason").is_err());
        assert!(Reason::parse("  fraud report #1234  ", "reason").is_ok());
        assert_eq!(
            Reason::parse("  fraud report #1234  ", "reason")
                .unwrap()
                .as_str(),
            "fraud report #1234"
        );
        assert!(Reason::parse(&"é".repeat(500), "reason").is_ok());
        assert!(Reason::parse(&"é".repeat(501), "reason").is_err());
        assert!(Reason::parse("line one\u{0}line two", "reason").is_err());
    }
}
