use iso_currency::Currency;

use crate::error::AppError;

/// Codes ISO 4217 has withdrawn (its list three) since the euro, with the code that replaced
/// each: someone typing an old code learns the new one. The ISO data the currency crate
/// carries lists current codes only.
const WITHDRAWN: &[(&str, &str)] = &[
    ("AFA", "AFN"),
    ("ATS", "EUR"),
    ("AZM", "AZN"),
    ("BEF", "EUR"),
    ("BYB", "BYN"),
    ("BYR", "BYN"),
    ("CSD", "RSD"),
    ("CYP", "EUR"),
    ("DEM", "EUR"),
    ("ECS", "USD"),
    ("EEK", "EUR"),
    ("ESP", "EUR"),
    ("FIM", "EUR"),
    ("FRF", "EUR"),
    ("GHC", "GHS"),
    ("GRD", "EUR"),
    ("IEP", "EUR"),
    ("ITL", "EUR"),
    ("LTL", "EUR"),
    ("LUF", "EUR"),
    ("LVL", "EUR"),
    ("MGF", "MGA"),
    ("MRO", "MRU"),
    ("MTL", "EUR"),
    ("MZM", "MZN"),
    ("NLG", "EUR"),
    ("PTE", "EUR"),
    ("ROL", "RON"),
    ("RUR", "RUB"),
    ("SDD", "SDG"),
    ("SIT", "EUR"),
    ("SKK", "EUR"),
    ("SRG", "SRD"),
    ("STD", "STN"),
    ("TMM", "TMT"),
    ("TRL", "TRY"),
    ("VEB", "VES"),
    ("VEF", "VES"),
    ("XEU", "EUR"),
    ("YUM", "RSD"),
    ("ZMK", "ZMW"),
    ("ZWD", "ZWG"),
    ("ZWN", "ZWG"),
    ("ZWR", "ZWG"),
];

fn replaced(field: &str, successor: &str) -> AppError {
    AppError::bad_input(
        field,
        format!("is no longer in use; use {successor} instead"),
    )
}

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
        if let Some((_, successor)) = WITHDRAWN.iter().find(|(old, _)| *old == code) {
            return Err(replaced(field, successor));
        }
        let currency = Currency::from_code(&code).ok_or_else(unknown)?;
        if matches!(currency, Currency::XTS | Currency::XXX) {
            return Err(AppError::bad_input(
                field,
                "must be a real currency, not a testing or no-currency code",
            ));
        }
        // ISO 4217 still lists VES beside VED; the crate calls it replaced.
        if currency.is_superseded().is_some() && currency != Currency::VES {
            return Err(replaced(field, currency.latest().code()));
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
        for (old, new) in [
            ("hrk", "EUR"),
            ("DEM", "EUR"),
            ("vef", "VES"),
            ("ZWD", "ZWG"),
        ] {
            let err = CurrencyCode::parse(old, "currency").expect_err(old);
            assert_eq!(
                err.to_string(),
                format!("is no longer in use; use {new} instead")
            );
        }
    }

    #[test]
    fn every_successor_is_current() {
        for (old, new) in WITHDRAWN {
            assert!(Currency::from_code(old).is_none(), "{old} is still current");
            assert!(
                CurrencyCode::parse(new, "currency").is_ok(),
                "{new} is not current"
            );
        }
    }
}
