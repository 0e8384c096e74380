use super::CountryCode;
use crate::error::AppError;

const GENERIC_MIN_CHARS: usize = 2;
const GENERIC_MAX_CHARS: usize = 10;

/// A postal code in its country's canonical form (`SW1A 1AA`, `K1A 0B1`, `100-0001`), so one
/// code is one value however it was spaced or cased. Countries without a known format get a
/// loose check that still keeps markup and stray text out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalCode(String);

/// A country's postal-code shapes, written in a small pattern language: `9` is a digit, `A` a
/// letter, and anything else that very character.
struct Format {
    /// Each shape with its canonical separators.
    shapes: &'static [&'static str],
    /// Whether the spaces and hyphens of a shape may be left out; they are put back on storage.
    separators_optional: bool,
    /// Rules the shapes cannot say, checked on the canonical form.
    also: fn(&str) -> bool,
    /// The error message, naming the expected shape.
    expected: &'static str,
}

fn no_extra_rule(_: &str) -> bool {
    true
}

fn format_for(country: &str) -> Option<Format> {
    let format = match country {
        "US" => Format {
            shapes: &["99999", "99999-9999"],
            separators_optional: false,
            also: no_extra_rule,
            expected: "must be a US ZIP code like 94105 or 94105-1234",
        },
        "CA" => Format {
            shapes: &["A9A 9A9"],
            separators_optional: true,
            also: canadian_letters,
            expected: "must be a Canadian postal code like K1A 0B1",
        },
        "GB" => Format {
            shapes: &[
                "A9 9AA", "A99 9AA", "AA9 9AA", "AA99 9AA", "A9A 9AA", "AA9A 9AA",
            ],
            separators_optional: true,
            also: no_extra_rule,
            expected: "must be a UK postcode like SW1A 1AA",
        },
        "DE" => Format {
            shapes: &["99999"],
            separators_optional: false,
            also: no_extra_rule,
            expected: "must be a German postal code of five digits like 10115",
        },
        "FR" => Format {
            shapes: &["99999"],
            separators_optional: false,
            also: no_extra_rule,
            expected: "must be a French postal code of five digits like 75001",
        },
        "NL" => Format {
            shapes: &["9999 AA"],
            separators_optional: true,
            also: no_leading_zero,
            expected: "must be a Dutch postcode like 1012 AB",
        },
        "IN" => Format {
            shapes: &["999999"],
            separators_optional: false,
            also: no_leading_zero,
            expected: "must be an Indian PIN code of six digits like 110001, not starting with 0",
        },
        "AU" => Format {
            shapes: &["9999"],
            separators_optional: false,
            also: no_extra_rule,
            expected: "must be an Australian postcode of four digits like 2000",
        },
        "JP" => Format {
            shapes: &["999-9999"],
            separators_optional: true,
            also: no_extra_rule,
            expected: "must be a Japanese postal code like 100-0001",
        },
        _ => return None,
    };
    Some(format)
}

/// Canada Post never uses D, F, I, O, Q or U (too easily misread), nor W or Z first.
fn canadian_letters(code: &str) -> bool {
    !code.contains(['D', 'F', 'I', 'O', 'Q', 'U']) && !code.starts_with(['W', 'Z'])
}

/// Dutch postcodes run from 1000 and Indian PIN codes from 110000.
fn no_leading_zero(code: &str) -> bool {
    !code.starts_with('0')
}

/// `input` in the canonical form of `shape`, if it has that shape. Where separators are
/// optional a missing one is put back, so `SW1A1AA` fits `AA9A 9AA` as `SW1A 1AA`.
fn fit(shape: &str, input: &str, separators_optional: bool) -> Option<String> {
    let mut chars = input.chars().peekable();
    let mut canonical = String::with_capacity(shape.len());
    for expected in shape.chars() {
        match expected {
            '9' | 'A' => {
                let c = chars.next()?;
                let fits = if expected == '9' {
                    c.is_ascii_digit()
                } else {
                    c.is_ascii_uppercase()
                };
                if !fits {
                    return None;
                }
                canonical.push(c);
            }
            literal => {
                if chars.peek() == Some(&literal) {
                    chars.next();
                } else if !(separators_optional && matches!(literal, ' ' | '-')) {
                    return None;
                }
                canonical.push(literal);
            }
        }
    }
    chars.next().is_none().then_some(canonical)
}

impl PostalCode {
    /// `country` selects the format; without one, or for a country with no format here, only
    /// the loose check applies.
    pub fn parse(
        input: &str,
        field: &str,
        country: Option<&CountryCode>,
    ) -> Result<Self, AppError> {
        let code = input.trim().to_ascii_uppercase();
        if code.is_empty() {
            return Err(AppError::bad_input(field, "must not be empty"));
        }
        match country.and_then(|country| format_for(country.as_str())) {
            Some(format) => format
                .shapes
                .iter()
                .find_map(|shape| fit(shape, &code, format.separators_optional))
                .filter(|canonical| (format.also)(canonical))
                .map(Self)
                .ok_or_else(|| AppError::bad_input(field, format.expected)),
            None => {
                let count = code.chars().count();
                let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-');
                if !(GENERIC_MIN_CHARS..=GENERIC_MAX_CHARS).contains(&count)
                    || !code.chars().all(allowed)
                    || !code.chars().any(|c| c.is_ascii_alphanumeric())
                {
                    return Err(AppError::bad_input(
                        field,
                        format!(
                            "must be {GENERIC_MIN_CHARS} to {GENERIC_MAX_CHARS} letters, digits, spaces or hyphens"
                        ),
                    ));
                }
                Ok(Self(code))
            }
        }
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
    fn valid_codes_take_their_canonical_form() {
        for (country_code, input, expected) in [
            (Some("US"), "94105", "94105"),
            (Some("US"), " 94105-1234 ", "94105-1234"),
            (Some("CA"), "K1A 0B1", "K1A 0B1"),
            (Some("CA"), "k1a0b1", "K1A 0B1"),
            (Some("CA"), "v6b 4y8", "V6B 4Y8"),
            (Some("GB"), "M1 1AE", "M1 1AE"),
            (Some("GB"), "B338TH", "B33 8TH"),
            (Some("GB"), "cr2 6xh", "CR2 6XH"),
            (Some("GB"), "DN551PT", "DN55 1PT"),
            (Some("GB"), "W1A 1HQ", "W1A 1HQ"),
            (Some("GB"), "ec1a1bb", "EC1A 1BB"),
            (Some("DE"), "10115", "10115"),
            (Some("FR"), "75001", "75001"),
            (Some("NL"), "1012 AB", "1012 AB"),
            (Some("NL"), "1012ab", "1012 AB"),
            (Some("IN"), "110001", "110001"),
            (Some("AU"), "2000", "2000"),
            (Some("AU"), "0800", "0800"),
            (Some("JP"), "100-0001", "100-0001"),
            (Some("JP"), "1000001", "100-0001"),
            (Some("BR"), "01310-100", "01310-100"),
            (Some("IE"), "d02 x285", "D02 X285"),
            (None, "ab", "AB"),
            (None, "1234567890", "1234567890"),
            (None, " sw1a 1aa ", "SW1A 1AA"),
        ] {
            let country_code = country_code.map(country);
            let code = PostalCode::parse(input, "postalCode", country_code.as_ref()).expect(input);
            assert_eq!(code.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn invalid_codes_name_the_field() {
        for (country_code, input) in [
            (Some("US"), ""),
            (Some("US"), "   "),
            (Some("US"), "9410"),
            (Some("US"), "941051"),
            (Some("US"), "941051234"),
            (Some("US"), "94105 1234"),
            (Some("US"), "94105-123"),
            (Some("US"), "ABCDE"),
            (Some("US"), "９４１０５"),
            (Some("CA"), "K1A  0B1"),
            (Some("CA"), "K1A-0B1"),
            (Some("CA"), "D1A 0B1"),
            (Some("CA"), "K1O 0B1"),
            (Some("CA"), "W1A 0B1"),
            (Some("CA"), "Z1A 0B1"),
            (Some("CA"), "11A 0B1"),
            (Some("GB"), "SW1A 1A"),
            (Some("GB"), "SW1A 1AAA"),
            (Some("GB"), "1W1A 1AA"),
            (Some("GB"), "SWAA 1AA"),
            (Some("GB"), "SW1A-1AA"),
            (Some("DE"), "1011"),
            (Some("DE"), "101155"),
            (Some("FR"), "7500A"),
            (Some("NL"), "0123 AB"),
            (Some("NL"), "1012 A"),
            (Some("NL"), "1012 A1"),
            (Some("IN"), "011001"),
            (Some("IN"), "11001"),
            (Some("AU"), "20000"),
            (Some("JP"), "100 0001"),
            (Some("JP"), "100-001"),
            (None, "1"),
            (None, "12345678901"),
            (None, "--"),
            (None, "  -  "),
            (None, "12_34"),
            (None, "<b>1</b>"),
            (None, "12\n34"),
            (None, "12\u{0000}34"),
            (None, "Zürich"),
            (Some("BR"), "01310/100"),
        ] {
            let country_code = country_code.map(country);
            let err =
                PostalCode::parse(input, "postalCode", country_code.as_ref()).expect_err(input);
            assert_eq!(err.field(), Some("postalCode"), "{input:?}");
        }
    }

    #[test]
    fn errors_name_the_expected_shape() {
        let us = country("US");
        let err = PostalCode::parse("9410", "zip", Some(&us)).expect_err("short");
        assert_eq!(
            err.to_string(),
            "must be a US ZIP code like 94105 or 94105-1234"
        );
    }
}
