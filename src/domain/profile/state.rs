use super::CountryCode;
use crate::{domain::text::normalised, error::AppError};

const MAX_CHARS: usize = 64;

/// USPS codes: the 50 states, DC, the inhabited territories and the military "states".
const US_STATES: [&str; 59] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "PR", "GU", "VI", "AS", "MP", "AA", "AE", "AP",
];

/// Canada Post codes of the ten provinces and three territories.
const CA_PROVINCES: [&str; 13] = [
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];

/// The state, province or region line of an address. Where the post uses fixed codes (US,
/// Canada) only those pass, upper-cased; elsewhere it is free text, trimmed and NFC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State(String);

impl State {
    pub fn parse(
        input: &str,
        field: &str,
        country: Option<&CountryCode>,
    ) -> Result<Self, AppError> {
        let codes = match country.map(CountryCode::as_str) {
            Some("US") => Some((&US_STATES[..], "must be a two-letter US state code like CA")),
            Some("CA") => Some((
                &CA_PROVINCES[..],
                "must be a two-letter Canadian province or territory code like ON",
            )),
            _ => None,
        };
        if let Some((codes, expected)) = codes {
            let code = input.trim().to_ascii_uppercase();
            return if codes.contains(&code.as_str()) {
                Ok(Self(code))
            } else {
                Err(AppError::bad_input(field, expected))
            };
        }
        let name = normalised(input, field, MAX_CHARS)?;
        if name.chars().any(char::is_control) {
            return Err(AppError::bad_input(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(name))
    }

    /// Mail to these countries is sorted by state or province, so an address needs one.
    pub fn required_for(country: &CountryCode) -> bool {
        matches!(country.as_str(), "US" | "CA")
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
    fn valid_states_are_normalised() {
        let long = "é".repeat(MAX_CHARS);
        let decomposed = "e\u{0301}".repeat(MAX_CHARS);
        for (country_code, input, expected) in [
            (Some("US"), "CA", "CA"),
            (Some("US"), " ny ", "NY"),
            (Some("US"), "dc", "DC"),
            (Some("US"), "PR", "PR"),
            (Some("US"), "AE", "AE"),
            (Some("US"), "Wy", "WY"),
            (Some("CA"), "on", "ON"),
            (Some("CA"), "QC", "QC"),
            (Some("CA"), "YT", "YT"),
            (Some("DE"), " Bayern ", "Bayern"),
            (Some("FR"), "Île-de-France", "Île-de-France"),
            (Some("FR"), "I\u{0302}le-de-France", "Île-de-France"),
            (Some("JP"), "東京都", "東京都"),
            (Some("GB"), "Greater London", "Greater London"),
            (Some("MX"), "Ciudad de México", "Ciudad de México"),
            (Some("IN"), "तमिलनाडु", "तमिलनाडु"),
            (None, "ca", "ca"),
            (None, long.as_str(), long.as_str()),
            (None, decomposed.as_str(), long.as_str()),
        ] {
            let country_code = country_code.map(country);
            let state = State::parse(input, "state", country_code.as_ref()).expect(input);
            assert_eq!(state.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn invalid_states_name_the_field() {
        let too_long = "é".repeat(MAX_CHARS + 1);
        let decomposed_too_long = "e\u{0301}".repeat(MAX_CHARS + 1);
        for (country_code, input) in [
            (Some("US"), ""),
            (Some("US"), "California"),
            (Some("US"), "XX"),
            (Some("US"), "ON"),
            (Some("US"), "C A"),
            (Some("US"), "ＣＡ"),
            (Some("CA"), "CA"),
            (Some("CA"), "Ontario"),
            (Some("CA"), "PQ"),
            (Some("DE"), ""),
            (Some("DE"), "   "),
            (Some("DE"), "Bay\nern"),
            (Some("DE"), "Bayern\u{0000}"),
            (Some("DE"), "Bay\u{0085}ern"),
            (None, too_long.as_str()),
            (None, decomposed_too_long.as_str()),
        ] {
            let country_code = country_code.map(country);
            let err = State::parse(input, "state", country_code.as_ref()).expect_err(input);
            assert_eq!(err.field(), Some("state"), "{input:?}");
        }
    }

    #[test]
    fn only_us_and_canada_require_a_state() {
        for (code, required) in [("US", true), ("CA", true), ("GB", false), ("DE", false)] {
            assert_eq!(State::required_for(&country(code)), required, "{code}");
        }
    }
}
