use unicode_normalization::char::is_combining_mark;

use super::text::normalised;
use crate::error::AppError;

const MAX_CHARS: usize = 100;

/// A first or last name: trimmed, NFC, 1–100 characters of letters, combining marks, spaces,
/// apostrophes, hyphens and periods. Names from every script pass; markup and control
/// characters do not.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonName(String);

/// Personal data: a stray `{:?}` in a log line must not print it.
impl std::fmt::Debug for PersonName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonName([REDACTED])")
    }
}

impl PersonName {
    pub fn parse(input: &str, field: &str) -> Result<Self, AppError> {
        let name = normalised(input, field, MAX_CHARS)?;
        let allowed = |c: char| {
            c.is_alphabetic() || is_combining_mark(c) || matches!(c, ' ' | '\'' | '’' | '-' | '.')
        };
        if !name.chars().all(allowed) {
            return Err(AppError::bad_input(
                field,
                "may contain only letters, spaces, apostrophes, hyphens and periods",
            ));
        }
        if !name.chars().any(char::is_alphabetic) {
            return Err(AppError::bad_input(field, "must contain a letter"));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_many_scripts_are_accepted() {
        for name in [
            "Ada",
            "O'Brien",
            "Jean-Luc",
            "J. R. R.",
            "Zoë",
            "Łukasz",
            "李",
            "Николай",
            "محمد",
            "Nguyễn",
            "D’Angelo",
        ] {
            assert!(PersonName::parse(name, "firstName").is_ok(), "{name}");
        }
    }

    #[test]
    fn names_are_trimmed_and_nfc() {
        let decomposed = "Zoe\u{0308}";
        let name = PersonName::parse(&format!("  {decomposed} "), "firstName").expect("valid");
        assert_eq!(name.as_str(), "Zoë");
    }

    #[test]
    fn invalid_names_name_the_field() {
        let long = "a".repeat(101);
        for input in [
            "",
            "   ",
            "<script>",
            "Ada\u{0000}",
            "Ada\nLovelace",
            "R2D2",
            "--",
            long.as_str(),
        ] {
            let err = PersonName::parse(input, "lastName").expect_err(input);
            assert_eq!(err.field(), Some("lastName"), "{input:?}");
        }
    }
}
