use crate::error::AppError;

/// A country as its ISO 3166-1 alpha-2 code (`US`): the key that phone regions, postal-code
/// formats and state rules are looked up by, so it must be one the standard assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(input: &str, field: &str) -> Result<Self, AppError> {
        let code = input.trim();
        // ASCII first: Unicode upper-casing would turn look-alikes such as `ſ` into `S`.
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(invalid(field));
        }
        let code = code.to_ascii_uppercase();
        isocountry::CountryCode::for_alpha2(&code).map_err(|_| invalid(field))?;
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn invalid(field: &str) -> AppError {
    AppError::bad_input(field, "must be an ISO 3166-1 alpha-2 country code like US")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_codes_are_upper_cased() {
        for (input, expected) in [
            ("US", "US"),
            ("us", "US"),
            (" gb ", "GB"),
            ("De", "DE"),
            ("jp", "JP"),
            ("AQ", "AQ"),
        ] {
            let code = CountryCode::parse(input, "country").expect(input);
            assert_eq!(code.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn invalid_codes_name_the_field() {
        for input in [
            "",
            "  ",
            "U",
            "USA",
            "XX",
            "ZZ",
            "UK",
            "1A",
            "U S",
            "uſ",
            "ÜS",
            "U\u{0000}",
            "US\u{0000}",
        ] {
            let err = CountryCode::parse(input, "country").expect_err(input);
            assert_eq!(err.field(), Some("country"), "{input:?}");
        }
    }
}
