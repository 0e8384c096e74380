use secrecy::{ExposeSecret, SecretString};

use subtle::ConstantTimeEq;

use crate::error::AppError;

/// Numbers the SSA voided after they were printed on sample cards and in advertising.
const PUBLISHED: [&str; 2] = ["078051120", "219099999"];

/// A US Social Security number, held as its nine digits in a secret that is wiped on drop.
/// It has no `Display` and its `Debug` hides it, so it only leaves through `digits`, on its
/// way to encryption, or as the last four.
#[derive(Clone)]
pub struct Ssn(SecretString);

impl std::fmt::Debug for Ssn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ssn([REDACTED])")
    }
}

/// Compared without leaking through timing how much of the number matched.
impl PartialEq for Ssn {
    fn eq(&self, other: &Self) -> bool {
        self.digits()
            .as_bytes()
            .ct_eq(other.digits().as_bytes())
            .into()
    }
}

impl Eq for Ssn {}

impl Ssn {
    /// Accepts `123-45-6789` or `123456789`. No message repeats the input: it is the number.
    pub fn parse(input: &str, field: &str) -> Result<Self, AppError> {
        let written = input.trim();
        let bytes = written.as_bytes();
        let hyphenated = bytes.len() == 11;
        let well_formed = (bytes.len() == 9 || hyphenated)
            && bytes.iter().enumerate().all(|(i, &b)| {
                if hyphenated && (i == 3 || i == 6) {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !well_formed {
            return Err(AppError::bad_input(
                field,
                "must be 9 digits, written 123-45-6789 or 123456789",
            ));
        }
        // Sized up front so no copy of the digits is left behind by a reallocation.
        let mut nine = String::with_capacity(9);
        nine.extend(written.chars().filter(char::is_ascii_digit));
        let digits = SecretString::from(nine);
        let number = digits.expose_secret();
        let (area, rest) = number.split_at(3);
        let (group, serial) = rest.split_at(2);
        if area == "000"
            || area == "666"
            || area.starts_with('9')
            || group == "00"
            || serial == "0000"
            || PUBLISHED.contains(&number)
        {
            return Err(AppError::bad_input(
                field,
                "is not a valid Social Security number",
            ));
        }
        Ok(Self(digits))
    }

    /// The nine digits without hyphens, for encrypting at rest.
    pub fn digits(&self) -> &str {
        self.0.expose_secret()
    }

    /// The last four digits: the only part stored in the clear, to show the number masked.
    pub fn last4(&self) -> &str {
        self.digits().get(5..).unwrap_or_default()
    }

    /// How a stored number is shown: only the last four, which identify it to its owner.
    pub fn masked(last4: &str) -> String {
        format!("***-**-{last4}")
    }
}

/// The last four digits of an SSN, as administrators search by them (and as accounts show
/// them, masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsnLast4(String);

impl SsnLast4 {
    pub fn parse(input: &str, field: &str) -> Result<Self, AppError> {
        let digits = input.trim();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::bad_input(
                field,
                "must be the last 4 digits of an SSN",
            ));
        }
        Ok(Self(digits.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers_keep_their_nine_digits() {
        for (input, expected) in [
            ("123-45-6789", "123456789"),
            ("123456789", "123456789"),
            (" 123-45-6789\n", "123456789"),
            ("001-01-0001", "001010001"),
            ("665-99-9999", "665999999"),
            ("667-01-0001", "667010001"),
            ("899-99-9999", "899999999"),
            ("078-05-1121", "078051121"),
        ] {
            let ssn = Ssn::parse(input, "ssn").expect(input);
            assert_eq!(ssn.digits(), expected, "{input:?}");
            assert_eq!(ssn.last4(), &expected[5..], "{input:?}");
        }
    }

    #[test]
    fn invalid_numbers_name_the_field_and_do_not_echo_it() {
        for input in [
            "",
            "   ",
            "12345678",
            "1234567890",
            "123-456-789",
            "12-345-6789",
            "123 45 6789",
            "123-45 6789",
            "123-456789",
            "12345-6789",
            "--123456789",
            "123456789--",
            "123-45-678a",
            "１２３４５６７８９",
            "123-45-\u{0000}789",
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "999-99-9999",
            "123-00-4567",
            "123-45-0000",
            "078-05-1120",
            "078051120",
            "219-09-9999",
        ] {
            let err = Ssn::parse(input, "ssn").expect_err(input);
            assert_eq!(err.field(), Some("ssn"), "{input:?}");
            // Fixed sentences only, so no part of the input can be in them.
            let message = err.to_string();
            assert!(
                [
                    "must be 9 digits, written 123-45-6789 or 123456789",
                    "is not a valid Social Security number",
                ]
                .contains(&message.as_str()),
                "{message}"
            );
        }
    }

    #[test]
    fn only_the_last_four_show() {
        let ssn = Ssn::parse("123-45-6789", "ssn").expect("valid");
        assert_eq!(Ssn::masked(ssn.last4()), "***-**-6789");
        assert_eq!(format!("{ssn:?}"), "Ssn([REDACTED])");
    }

    #[test]
    fn equal_numbers_compare_equal_however_written() {
        let hyphenated = Ssn::parse("123-45-6789", "ssn").expect("valid");
        let plain = Ssn::parse("123456789", "ssn").expect("valid");
        let other = Ssn::parse("123-45-6780", "ssn").expect("valid");
        assert_eq!(hyphenated, plain);
        assert_ne!(hyphenated, other);
    }
}
