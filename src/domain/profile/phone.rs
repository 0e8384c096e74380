use phonenumber::country::Id;

use super::CountryCode;
use crate::error::AppError;

/// Longer than any phone number written with spaces and punctuation; bounds the work handed to
/// the parser.
const MAX_CHARS: usize = 32;

/// A phone number that exists in the numbering plan, kept in E.164 (`+14155552671`) so one
/// line is one value however it was typed, and SMS providers take it as is. Personal data:
/// `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Phone([REDACTED])")
    }
}

impl Phone {
    /// `region` is the country a number written in national form (`(415) 555-2671`) is read
    /// in; without one only the `+` and country code can say where the number is.
    pub fn parse(input: &str, field: &str, region: Option<&CountryCode>) -> Result<Self, AppError> {
        let number = input.trim();
        if number.is_empty() {
            return Err(AppError::bad_input(field, "must not be empty"));
        }
        if number.chars().count() > MAX_CHARS {
            return Err(AppError::bad_input(
                field,
                format!("must be at most {MAX_CHARS} characters long"),
            ));
        }
        if number.chars().any(char::is_control) {
            return Err(AppError::bad_input(
                field,
                "must not contain control characters",
            ));
        }
        // Refused rather than left to the parser, which would read vanity letters as digits
        // and drop an extension that E.164 cannot hold.
        let (plus, rest) = match number.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, number),
        };
        let punctuation = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')');
        if !rest.chars().all(punctuation) {
            return Err(AppError::bad_input(
                field,
                "may contain only digits, spaces, hyphens, periods, parentheses and a leading +",
            ));
        }
        let region = region.and_then(|country| country.as_str().parse::<Id>().ok());
        if !plus && region.is_none() {
            return Err(AppError::bad_input(
                field,
                "must start with + and the country code",
            ));
        }
        let invalid = || AppError::bad_input(field, "must be a valid phone number");
        let parsed = phonenumber::parse(region, number).map_err(|_| invalid())?;
        if !phonenumber::is_valid(&parsed) {
            return Err(invalid());
        }
        Ok(Self(format!(
            "+{}{}",
            parsed.code().value(),
            parsed.national()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> CountryCode {
        CountryCode::parse(code, "country").expect(code)
    }

    #[test]
    fn valid_numbers_are_stored_in_e164() {
        let longest = format!("+1{}4155552671", " ".repeat(20));
        for (input, region, expected) in [
            ("+14155552671", None, "+14155552671"),
            ("+1 (415) 555-2671", None, "+14155552671"),
            (" +1 415.555.2671 ", None, "+14155552671"),
            ("(415) 555-2671", Some("US"), "+14155552671"),
            ("415-555-2671", Some("us"), "+14155552671"),
            ("1 415 555 2671", Some("US"), "+14155552671"),
            ("+44 20 7946 0958", None, "+442079460958"),
            ("020 7946 0958", Some("GB"), "+442079460958"),
            ("+44 20 7946 0958", Some("US"), "+442079460958"),
            ("030 123456", Some("DE"), "+4930123456"),
            ("+39 06 6982 1234", None, "+390669821234"),
            ("06 6982 1234", Some("IT"), "+390669821234"),
            ("+81 3-1234-5678", None, "+81312345678"),
            ("090-1234-5678", Some("JP"), "+819012345678"),
            (longest.as_str(), None, "+14155552671"),
        ] {
            let region = region.map(country);
            let phone = Phone::parse(input, "phone", region.as_ref()).expect(input);
            assert_eq!(phone.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn invalid_numbers_name_the_field() {
        let long = format!("+1{}4155552671", " ".repeat(21));
        for (input, region) in [
            ("", None),
            ("   ", Some("US")),
            ("4155552671", None),
            ("(415) 555-2671", None),
            ("+1 123 456 7890", None),
            ("+1 415 555", None),
            ("+999 1234 5678", None),
            ("12", Some("US")),
            ("415 555 2671", Some("AQ")),
            ("+1 415 555 2671 ext. 12", None),
            ("+1 415 555 2671;ext=12", None),
            ("tel:+14155552671", None),
            ("1-800-FLOWERS", Some("US")),
            ("++14155552671", None),
            ("+1 415 555 2671 +1", None),
            ("+1 415\n555 2671", None),
            ("+1 415\u{0000}555 2671", None),
            ("+１４１５５５５２６７１", None),
            (long.as_str(), None),
        ] {
            let region = region.map(country);
            let err = Phone::parse(input, "phone", region.as_ref()).expect_err(input);
            assert_eq!(err.field(), Some("phone"), "{input:?}");
        }
    }

    #[test]
    fn debug_hides_the_number() {
        let phone = Phone::parse("+14155552671", "phone", None).expect("valid");
        assert_eq!(format!("{phone:?}"), "Phone([REDACTED])");
    }
}
