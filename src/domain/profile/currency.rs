use iso_currency::Currency;

use crate::error::AppError;

/// A currency as its ISO 4217 code (`EUR`). Only codes money can be held in today pass:
/// the testing and no-currency codes, and codes a newer one has replaced, do not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyCode(String);

impl CurrencyCode {
    pub fn parse(input: &str, field: &str) -> Result<Self, AppError> {
        let code = input.trim();
        let unknown = || AppError::bad_input(field, "must be an ISO 4217 currency code like USD");
        // ASCII first: Unicode upper-casing would turn look-alikes such as `ſ` into `S`.
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(unknown());
        }
        let code = code.to_ascii_uppercase();
        let currency = Currency::from_code(&code).ok_or_else(unknown)?;
        if matches!(currency, Currency::XTS | Currency::XXX) {
            return Err(AppError::bad_input(
                field,
                "must be a real currency, not a testing or no-currency code",
            ));
        }
        // ISO 4217 still lists VES beside VED; the crate calls it replaced.
        if currency.is_superseded().is_some() && currency != Currency::VES {
            return Err(AppError::bad_input(
                field,
                format!(
                    "is no longer in use; use {} instead",
                    currency.latest().code()
                ),
            ));
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_codes_are_upper_cased() {
        for (input, expected) in [
            ("USD", "USD"),
            ("eur", "EUR"),
            (" Jpy ", "JPY"),
            ("chf", "CHF"),
            ("VED", "VED"),
            ("SLE", "SLE"),
            ("XAU", "XAU"),
        ] {
            let code = CurrencyCode::parse(input, "currency").expect(input);
            assert_eq!(code.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn invalid_codes_name_the_field() {
        for input in [
            "", "   ", "US", "USDX", "ABC", "US1", "U D", "XTS", "xxx", "HRK", "SLL", "ZWL", "ſek",
            "€",
        ] {
            let err = CurrencyCode::parse(input, "currency").expect_err(input);
            assert_eq!(err.field(), Some("currency"), "{input:?}");
        }
    }

    #[test]
    fn the_bolivar_soberano_is_still_current() {
        assert_eq!(
            CurrencyCode::parse("ves", "currency")
                .expect("current")
                .as_str(),
            "VES"
        );
    }

    #[test]
    fn replaced_codes_name_their_successor() {
        let err = CurrencyCode::parse("hrk", "currency").expect_err("withdrawn");
        assert_eq!(err.to_string(), "is no longer in use; use EUR instead");
    }
}
